// Search latency over many stored spans, against the built worker in local
// workerd (Miniflare, real local D1 and R2), bounded: SPANS spans (default
// 1,000,000) stored inline by exports of 1,000 spans (100 traces of 10 spans
// over three services, one R2 block each), then sequential searches that
// match nothing and one that matches, median and p90.
//   npm run bench:search            (after `npm run build`)
//   SPANS=200000 ROUNDS=20 npm run bench:search
import { apiTimer } from "./api-timing.mjs";
import { startCollector } from "../tests/e2e/harness.mjs";
import { span, request, json } from "../tests/e2e/otlp.mjs";

const SPANS = Number(process.env.SPANS ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 30);
const CLIENTS = 2;
/** Ingest gives up after this long (a bounded run). */
const INGEST_LIMIT_MS = 20 * 60_000;
const EXPORT_TRACES = 100;
const SERVICES = ["frontend", "orders", "payments"];

/** Export `e`: traces `e * 100 …`, 10 spans each, spread over the export's second. */
function exportBody(e) {
  const byService = {};
  for (let t = 0; t < EXPORT_TRACES; t++) {
    const trace = e * EXPORT_TRACES + t + 1;
    for (let i = 0; i < 10; i++) {
      const s = span({
        trace, id: trace * 16 + i, parent: i ? trace * 16 + Math.floor((i - 1) / 3) : undefined,
        name: i ? `op-${i % 7}` : "GET /checkout", kind: i % 3 === 0 ? 2 : 3, startMs: e * 1000 + t * 10 + i, durationMs: 5,
        attributes: { "http.route": `/route-${trace % 50}`, "http.request.method": "GET", "user.tier": "gold" },
      });
      (byService[SERVICES[i % 3]] ??= []).push(s);
    }
  }
  return json(request(byService));
}

const c = await startCollector();
try {
  const exports = Math.ceil(SPANS / (EXPORT_TRACES * 10));
  const started = Date.now();
  let next = 0;
  const client = async () => {
    while (next < exports) {
      if (Date.now() - started > INGEST_LIMIT_MS) throw new Error(`ingest of ${SPANS} spans took over 20 minutes`);
      const res = await c.ingest(exportBody(next++));
      if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const seconds = (Date.now() - started) / 1000;
  const stored = (await c.db.prepare("SELECT count(*) AS blocks, sum(span_count) AS spans FROM span_blocks").first());
  console.log(`stored ${stored.spans} spans in ${stored.blocks} blocks in ${seconds.toFixed(0)} s (${(stored.spans / seconds).toFixed(0)} spans/s)`);

  const measure = apiTimer(c, ROUNDS);

  await measure("GET /api/traces?service=<unknown>", "/api/traces?service=nobody", (b) => b.traces.length === 0);
  await measure("GET /api/traces?attr.http.route=<a value no span has> (an indexed key)", "/api/traces?attr.http.route=/nowhere", (b) => b.traces.length === 0);
  await measure("GET /api/traces?service=orders&attr.http.route=<none> ", "/api/traces?service=orders&attr.http.route=/nowhere", (b) => b.traces.length === 0);
  await measure("GET /api/traces?attr.http.route=/route-7&limit=20 (matches)", "/api/traces?attr.http.route=/route-7&limit=20", (b) => { console.log(`  (${b.traces.length} traces${b.nextCursor ? ", more after a cursor" : ""})`); return b.traces.length > 0; });
} finally {
  await c.stop();
}
