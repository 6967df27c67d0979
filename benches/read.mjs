// Read latency against the built worker in local workerd (Miniflare, real
// local D1 and R2), bounded: a 1,000-span trace stored by 10 exports with 50
// log records, then sequential requests of each kind, median and p90.
// Stored inline by default (one block per export: the trace is in EXPORTS
// segments); QUEUE=1 sends the exports through the ingest queue, as the
// default deployment does, where they are stored together.
//   npm run bench:read            (after `npm run build`)
//   ROUNDS=100 EXPORTS=1 npm run bench:read
//   QUEUE=1 npm run bench:read
import { apiTimer } from "./api-timing.mjs";
import { startCollector, INGEST_TOKEN } from "../tests/e2e/harness.mjs";
import { span, request, json, traceId, spanId, attrs, BASE_NS } from "../tests/e2e/otlp.mjs";

const ROUNDS = Number(process.env.ROUNDS ?? 50);
/** Exports (hence R2 segments) the trace is stored by. */
const EXPORTS = Number(process.env.EXPORTS ?? 10);
const TRACE = 424242;
const c = await startCollector({ queue: process.env.QUEUE === "1" });
try {
  const perExport = 1000 / EXPORTS;
  for (let e = 0; e < EXPORTS; e++) {
    const spans = Array.from({ length: perExport }, (_, i) => {
      const n = e * perExport + i;
      return span({ trace: TRACE, id: n + 1, parent: n ? Math.floor(n / 4) + 1 : undefined, name: `op-${n % 13}`, kind: n ? 1 : 2, startMs: n, durationMs: 3, attributes: { "http.route": "/bench" } });
    });
    const res = await c.ingest(json(request({ [`svc-${e % 3}`]: spans })));
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
  }
  const baseMs = Number(BASE_NS / 1_000_000n);
  const logs = json({ resourceLogs: [{ resource: { attributes: attrs({ "service.name": "svc-0" }) }, scopeLogs: [{ logRecords:
    Array.from({ length: 50 }, (_, i) => ({ timeUnixNano: String(BigInt(baseMs + i * 10) * 1_000_000n), severityNumber: 9, body: { stringValue: `line ${i}` }, traceId: traceId(TRACE), spanId: spanId(i + 1) })) }] }] });
  const logRes = await c.request("/v1/logs", { method: "POST", body: logs, token: INGEST_TOKEN, headers: { "content-type": "application/json" } });
  if (logRes.status !== 200) throw new Error(`log ingest answered ${logRes.status}`);

  // Through the queue the trace is stored by the consumer, a moment later.
  for (let tries = 0; ; tries++) {
    const { status, body } = await c.api(`/api/traces/${traceId(TRACE)}`);
    if (status === 200 && body.spans.length === 1000 && body.logCount === 50) break;
    if (tries > 100) throw new Error(`the trace is not stored: ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const measure = apiTimer(c, ROUNDS);

  await measure(`GET /api/traces/:id, 1,000 spans by ${EXPORTS} exports ${process.env.QUEUE === "1" ? "through the queue" : "stored inline"}, logCount 50`, `/api/traces/${traceId(TRACE)}`, (b) => b.spans.length === 1000 && b.logCount === 50);
  await measure("GET /api/logs?traceId= (50 records)", `/api/logs?traceId=${traceId(TRACE)}`, (b) => b.logs.length === 50);
  await measure("GET /api/traces?service=<unknown>", "/api/traces?service=nobody", (b) => b.traces.length === 0);
  await measure("GET /api/logs?service=<unknown>", "/api/logs?service=nobody", (b) => b.logs.length === 0);
} finally {
  await c.stop();
}
