// Times `POST /api/alerts/evaluate` with 1,000 rules (half of them per
// service) over 50 services with traffic in local workerd (Miniflare, real
// local D1 and KV): the full cycle — D1 reads, KV bulk reads, evaluation,
// incident writes, KV writes. Run after a release build:
//   node benches/alert_cycle.mjs          (RULES=1000 SERVICES=50 RUNS=7)
import { startCollector, API_TOKEN } from "../tests/e2e/harness.mjs";
import { request, json, span } from "../tests/e2e/otlp.mjs";

const RULES = Number(process.env.RULES ?? 1000);
const SERVICES = Number(process.env.SERVICES ?? 50);
const RUNS = Number(process.env.RUNS ?? 7);
const metrics = ["span.count", "span.error_rate", "span.error_count", "span.duration.p95", "span.duration.avg"];

const c = await startCollector();
try {
  const now = Date.now();
  for (let s = 0; s < SERVICES; s++) {
    const spans = Array.from({ length: 20 }, (_, i) => span({
      trace: 0x100000 + s * 100 + i, id: 0x100000 + s * 100 + i, name: "GET /", kind: 2,
      startMs: now - 120_000 - 1_763_900_000_123 + i * 1000, durationMs: 5 + i, error: i % 10 === 0,
    }));
    await c.ingest(json(request({ [`service-${s}`]: spans })));
  }
  const post = (path, body) => c.request(path, {
    method: "POST", token: API_TOKEN, headers: { "content-type": "application/json" }, body: body && JSON.stringify(body),
  });
  for (let i = 0; i < RULES; i += 25) {
    await Promise.all(Array.from({ length: Math.min(25, RULES - i) }, (_, k) => {
      const n = i + k;
      return post("/api/alerts/configs", {
        name: `rule ${n}`, serviceId: n % 2 ? `service-${n % SERVICES}` : undefined, metricName: metrics[n % metrics.length],
        condition: "gt", threshold: 1e9, windowSeconds: 300 + 60 * (n % 10), forSeconds: 60,
      }).then((r) => { if (r.status !== 201) throw new Error(`rule ${n}: ${r.status}`); });
    }));
  }
  const times = [];
  let report;
  for (let run = 0; run < RUNS; run++) {
    const trips = c.d1RoundTrips.length;
    const t0 = performance.now();
    const res = await post("/api/alerts/evaluate");
    times.push(performance.now() - t0);
    report = await res.json();
    if (run === RUNS - 1) report.d1RoundTrips = c.d1RoundTrips.length - trips;
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({
    rules: report.rules, evaluations: report.evaluations, d1RoundTrips: report.d1RoundTrips,
    slowestMs: Math.round(times.at(-1)), medianMs: Math.round(times[Math.floor(times.length / 2)]), minMs: Math.round(times[0]),
  }));
} finally {
  await c.stop();
}
