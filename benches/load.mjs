// Bounded load test against a running collector (`npm start`): CLIENTS
// concurrent exporters send OTLP/JSON batches of SPANS spans (one trace per
// batch, three services) for DURATION_S seconds or MAX_BATCHES batches, then
// every trace is read back through the API to prove nothing was lost.
// SIGNAL=logs sends batches of SPANS log records instead (all carrying the
// batch's trace id) and reads them back through GET /api/logs?traceId=.
// SIGNAL=metrics sends batches of SPANS data points (a cumulative counter
// and a gauge over 20 attribute sets per service, every point at its own
// time) and checks through GET /api/metrics/query that every point was stored.
//
// FORMAT=protobuf sends the trace batches as OTLP/protobuf (what the
// OpenTelemetry SDKs' OTLP/HTTP exporters send by default) instead of JSON.
//
//   COLLECTOR_URL=http://127.0.0.1:8787 CLIENTS=4 SPANS=100 DURATION_S=20 node benches/load.mjs
import { randomBytes } from "node:crypto";

const url = process.env.COLLECTOR_URL ?? "http://127.0.0.1:8787";
const ingestToken = process.env.INGEST_TOKEN ?? "dev-ingest-token";
const apiToken = process.env.API_TOKEN ?? "dev-api-token";
const clients = Number(process.env.CLIENTS ?? 4);
const spansPerBatch = Number(process.env.SPANS ?? 100);
const durationMs = Number(process.env.DURATION_S ?? 20) * 1000;
const maxBatches = Number(process.env.MAX_BATCHES ?? 5000);
const signal = process.env.SIGNAL ?? "traces";
const protobuf = process.env.FORMAT === "protobuf";
if (protobuf && signal !== "traces") throw new Error("FORMAT=protobuf is for SIGNAL=traces");
const services = ["gateway", "checkout", "payments"];
const runPrefix = randomBytes(8).toString("hex");

const attr = (key, value) => ({ key, value: typeof value === "number" ? { intValue: String(value) } : { stringValue: value } });

function batch(n) {
  const traceId = runPrefix + n.toString(16).padStart(16, "0");
  const now = BigInt(Date.now()) * 1_000_000n;
  const byService = services.map(() => []);
  for (let i = 0; i < spansPerBatch; i++) {
    const start = now + BigInt(i) * 1000n;
    byService[i % services.length].push({
      traceId,
      spanId: (i + 1).toString(16).padStart(16, "0"),
      parentSpanId: i === 0 ? "" : (Math.floor((i - 1) / 3) + 1).toString(16).padStart(16, "0"),
      name: i === 0 ? "GET /checkout" : `op-${i % 7}`,
      kind: i % 3 === 0 ? 2 : 3,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + 5_000_000n),
      attributes: [attr("http.request.method", "GET"), attr("http.route", "/checkout"), attr("http.response.status_code", 200), attr("peer.service", "inventory")],
      status: { code: i % 50 === 49 ? 2 : 1 },
    });
  }
  const request = {
    resourceSpans: services.map((s, k) => ({
      resource: { attributes: [attr("service.name", s), attr("service.version", "1.0.0")] },
      scopeSpans: [{ scope: { name: "load" }, spans: byService[k] }],
    })),
  };
  return { traceId, body: protobuf ? exportTraceServiceRequest(request) : JSON.stringify(request) };
}

/** Protobuf wire format, each piece a `Buffer`: a varint. */
function varint(value) {
  const out = [];
  let v = BigInt(value);
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? byte | 0x80 : byte);
  } while (v);
  return Buffer.from(out);
}
const cat = (...parts) => Buffer.concat(parts.flat());
const tag = (number, wireType) => varint((number << 3) | wireType);
const bytesField = (number, bytes) => cat(tag(number, 2), varint(bytes.length), bytes);
const textField = (number, text) => bytesField(number, Buffer.from(text));
const hexField = (number, hex) => (hex ? bytesField(number, Buffer.from(hex, "hex")) : Buffer.alloc(0));
const varintField = (number, value) => cat(tag(number, 0), varint(value));
function fixed64Field(number, value) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return cat(tag(number, 1), b);
}
const anyValue = (v) => (v.stringValue !== undefined ? textField(1, v.stringValue) : varintField(3, v.intValue));
const keyValue = ({ key, value }) => cat(textField(1, key), bytesField(2, anyValue(value)));

/** The OTLP/JSON trace request above as an `ExportTraceServiceRequest` message (opentelemetry-proto). */
function exportTraceServiceRequest(request) {
  return cat(request.resourceSpans.map((rs) => bytesField(1, cat(
    bytesField(1, cat(rs.resource.attributes.map((a) => bytesField(1, keyValue(a))))),
    rs.scopeSpans.map((ss) => bytesField(2, cat(
      bytesField(1, textField(1, ss.scope.name)),
      ss.spans.map((sp) => bytesField(2, cat(
        hexField(1, sp.traceId), hexField(2, sp.spanId), hexField(4, sp.parentSpanId), textField(5, sp.name),
        varintField(6, sp.kind), fixed64Field(7, sp.startTimeUnixNano), fixed64Field(8, sp.endTimeUnixNano),
        sp.attributes.map((a) => bytesField(9, keyValue(a))),
        bytesField(15, varintField(3, sp.status.code)),
      ))),
    ))),
  ))));
}

/** One batch of log records, all carrying the batch's trace id. */
function logBatch(n) {
  const traceId = runPrefix + n.toString(16).padStart(16, "0");
  const now = BigInt(Date.now()) * 1_000_000n;
  const byService = services.map(() => []);
  for (let i = 0; i < spansPerBatch; i++) {
    byService[i % services.length].push({
      timeUnixNano: String(now + BigInt(i) * 1000n),
      severityNumber: i % 10 === 9 ? 17 : 9,
      severityText: i % 10 === 9 ? "ERROR" : "INFO",
      body: { stringValue: `request ${i} of batch ${n} handled in ${i % 40} ms` },
      attributes: [attr("http.route", "/checkout"), attr("http.response.status_code", 200)],
      traceId,
      spanId: (i + 1).toString(16).padStart(16, "0"),
    });
  }
  return {
    traceId,
    body: JSON.stringify({
      resourceLogs: services.map((s, k) => ({
        resource: { attributes: [attr("service.name", s), attr("service.version", "1.0.0")] },
        scopeLogs: [{ scope: { name: "load" }, logRecords: byService[k] }],
      })),
    }),
  };
}

/** One batch of metric data points: new points of a fixed set of series. */
function metricBatch(n) {
  const base = BigInt(Date.now()) * 1_000_000n;
  const byService = services.map(() => ({ counter: [], gauge: [] }));
  for (let i = 0; i < spansPerBatch; i++) {
    const point = {
      attributes: [attr("http.route", `/r${i % 20}`)],
      startTimeUnixNano: String(BigInt(started0) * 1_000_000n),
      timeUnixNano: String(base + BigInt(n * spansPerBatch + i)),
    };
    const target = byService[i % services.length];
    if (i % 2 === 0) target.counter.push({ ...point, asInt: String(n * spansPerBatch + i) });
    else target.gauge.push({ ...point, asDouble: (i % 40) / 4 });
  }
  return {
    traceId: String(n),
    body: JSON.stringify({
      resourceMetrics: services.map((s, k) => ({
        resource: { attributes: [attr("service.name", `${s}-${runPrefix}`)] },
        scopeMetrics: [{
          scope: { name: "load" },
          metrics: [
            { name: "load.requests", sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: byService[k].counter } },
            { name: "load.queue", gauge: { dataPoints: byService[k].gauge } },
          ],
        }],
      })),
    }),
  };
}

const started0 = Date.now();
const sent = [];
const latencies = [];
let failures = 0;
let next = 0;
const started = performance.now();

async function client() {
  while (performance.now() - started < durationMs && next < maxBatches) {
    const build = { logs: logBatch, metrics: metricBatch }[signal] ?? batch;
    const { traceId, body } = build(next++);
    const t0 = performance.now();
    const res = await fetch(`${url}/v1/${signal}`, {
      method: "POST",
      headers: { "content-type": protobuf ? "application/x-protobuf" : "application/json", authorization: `Bearer ${ingestToken}` },
      body,
    });
    await res.arrayBuffer();
    latencies.push(performance.now() - t0);
    if (res.ok) sent.push(traceId);
    else failures++;
  }
}

await Promise.all(Array.from({ length: clients }, client));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]?.toFixed(1);

let missing = 0;
let checked = 0;
async function verifier() {
  while (checked < sent.length) {
    const traceId = sent[checked++];
    const path = signal === "logs" ? `/api/logs?traceId=${traceId}&limit=1000` : `/api/traces/${traceId}`;
    // With the ingest queue, the last batches are stored up to its batch timeout after their answer.
    const deadline = Date.now() + 10_000;
    let stored;
    do {
      const res = await fetch(url + path, { headers: { authorization: `Bearer ${apiToken}` } });
      const body = res.ok ? await res.json() : null;
      stored = signal === "logs" ? body?.logs.length : body?.spanCount === body?.spans.length && body?.spanCount;
      if (stored !== spansPerBatch) await new Promise((r) => setTimeout(r, 250));
    } while (stored !== spansPerBatch && Date.now() < deadline);
    if (stored !== spansPerBatch) missing++;
  }
}
/** Metrics: every point sent is counted once by the query API. */
async function metricVerifier() {
  let stored = 0;
  for (const name of ["load.requests", "load.queue"]) {
    for (const s of services) {
      const params = new URLSearchParams({ name, service: `${s}-${runPrefix}`, aggregation: "count", start: String(started0 - 60_000), end: String(Date.now() + 60_000), step: "1d" });
      const res = await fetch(`${url}/api/metrics/query?${params}`, { headers: { authorization: `Bearer ${apiToken}` } });
      const body = res.ok ? await res.json() : null;
      stored += body?.result.points.reduce((a, p) => a + (p.value ?? 0), 0) ?? 0;
    }
  }
  checked = sent.length;
  missing = sent.length * spansPerBatch - stored;
}
if (signal === "metrics") await metricVerifier();
else await Promise.all(Array.from({ length: 8 }, verifier));

const accepted = sent.length * spansPerBatch;
console.log(JSON.stringify({
  signal, format: protobuf ? "protobuf" : "json", clients, itemsPerBatch: spansPerBatch, batches: latencies.length, failedRequests: failures,
  seconds: Number(elapsed.toFixed(2)), itemsAccepted: accepted, itemsPerSecond: Math.round(accepted / elapsed),
  latencyMs: { p50: Number(pct(0.5)), p90: Number(pct(0.9)), p99: Number(pct(0.99)) },
  batchesVerified: sent.length, batchesIncomplete: missing,
}, null, 2));
process.exitCode = failures || missing ? 1 : 0;
