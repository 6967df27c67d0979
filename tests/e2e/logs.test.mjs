// Logs end to end: the stock OpenTelemetry JS logs SDK and exporters
// (OTLP/HTTP protobuf and JSON, gzip) send records correlated with a trace;
// they read back through GET /api/logs with every filter and paging, the
// trace reports its log count, retries store nothing twice, Analytics
// Engine gets one worker_logs point per new record, and the cron trigger
// prunes past LOG_RETENTION_DAYS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { context, trace, TraceFlags } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { OTLPLogExporter as ProtoExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPLogExporter as JsonExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { startCollector, INGEST_TOKEN } from "./harness.mjs";
import { request, json, span } from "./otlp.mjs";

let c;
before(async () => { c = await startCollector({ vars: { LOG_RETENTION_DAYS: "7" } }); });
after(async () => { await c?.stop(); });

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";

function provider(service, Exporter, options = {}) {
  const exporter = new Exporter({ url: `${c.url}/v1/logs`, headers: { authorization: `Bearer ${INGEST_TOKEN}` }, ...options });
  return new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": service, "service.version": "1.4.0", "deployment.environment.name": "prod" }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
}

const logs = async (query) => {
  const res = await c.api(`/api/logs${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
};

test("records exported by the OpenTelemetry JS SDK read back with their trace correlation", async () => {
  const checkout = provider("checkout", ProtoExporter);
  const payments = provider("payments", JsonExporter, { compression: "gzip" });
  const inSpan = trace.setSpanContext(context.active(), { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
  const now = Date.now();
  checkout.getLogger("orders").emit({ severityNumber: SeverityNumber.INFO, severityText: "INFO", body: "order 42 placed", attributes: { "order.id": 42 }, timestamp: now - 3000, context: inSpan });
  checkout.getLogger("orders").emit({ severityNumber: SeverityNumber.WARN, severityText: "WARN", body: "inventory low for sku-7", timestamp: now - 2000 });
  payments.getLogger("charges").emit({ severityNumber: SeverityNumber.ERROR, severityText: "ERROR", body: { event: "charge_failed", cents: 1999 }, attributes: { "exception.type": "CardDeclined" }, timestamp: now - 1000, context: inSpan });
  await Promise.all([checkout, payments].map((p) => p.forceFlush()));
  await Promise.all([checkout, payments].map((p) => p.shutdown()));

  const all = await logs("");
  assert.deepEqual(all.logs.map((l) => l.serviceName), ["payments", "checkout", "checkout"], "newest first");
  const [charge, warn, placed] = all.logs;
  assert.deepEqual(charge.body, { event: "charge_failed", cents: 1999 });
  assert.deepEqual([charge.severityNumber, charge.severity, charge.severityText], [17, "ERROR", "ERROR"]);
  assert.deepEqual([charge.traceId, charge.spanId], [TRACE_ID, SPAN_ID]);
  assert.equal(charge.attributes["exception.type"], "CardDeclined");
  assert.equal(charge.resource["service.version"], "1.4.0");
  assert.equal(charge.scope.name, "charges");
  assert.equal(placed.body, "order 42 placed");
  assert.equal(placed.attributes["order.id"], 42);
  assert.equal(placed.timeUnixNano, String(BigInt(now - 3000) * 1_000_000n));
  assert.equal(warn.traceId, null);

  // Filters.
  assert.deepEqual((await logs("?service=checkout")).logs.map((l) => l.body), ["inventory low for sku-7", "order 42 placed"]);
  assert.deepEqual((await logs(`?traceId=${TRACE_ID}`)).logs.length, 2);
  assert.deepEqual((await logs(`?traceId=${TRACE_ID}&spanId=${SPAN_ID}&service=payments`)).logs.length, 1);
  assert.deepEqual((await logs("?severity=warn")).logs.map((l) => l.severity), ["ERROR", "WARN"]);
  assert.deepEqual((await logs("?q=SKU-7")).logs.map((l) => l.body), ["inventory low for sku-7"], "case-insensitive substring");
  assert.deepEqual((await logs("?q=charge_failed")).logs.length, 1, "structured bodies are searched as JSON");
  assert.deepEqual((await logs(`?start=${now - 2500}&end=${now - 500}`)).logs.length, 2);

  // Paging: two pages of one and two, then none.
  const first = await logs("?limit=2");
  assert.equal(first.logs.length, 2);
  assert.ok(first.nextCursor);
  const second = await logs(`?limit=2&cursor=${first.nextCursor}`);
  assert.deepEqual(second.logs.map((l) => l.body), ["order 42 placed"]);
  assert.equal(second.nextCursor, null);

  // The trace counts its records (its span arrives from the trace exporter).
  const shift = now - 3000 - 1_763_900_000_123;
  const s = span({ trace: 0, id: 0, name: "POST /orders", kind: 2, startMs: shift });
  s.traceId = TRACE_ID;
  s.spanId = SPAN_ID;
  assert.equal((await c.ingest(json(request({ checkout: [s] })))).status, 200);
  assert.equal((await c.api(`/api/traces/${TRACE_ID}`)).body.logCount, 2);

  // Analytics Engine: one worker_logs point per record, in the documented layout.
  const points = (await c.waitForPoints(4)).filter((p) => p.dataset === "worker_logs");
  assert.equal(points.length, 3);
  const chargePoint = points.find((p) => p.indexes[0] === "payments");
  assert.equal(chargePoint.blobs[0], TRACE_ID);
  assert.equal(chargePoint.blobs[3], "ERROR");
  assert.equal(chargePoint.blobs[5], '{"event":"charge_failed","cents":1999}');
  assert.equal(chargePoint.doubles[2], 17);
});

test("a retried export stores and counts nothing twice; bad input gets 4xx", async () => {
  const body = json({ resourceLogs: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "retry" } }] },
    scopeLogs: [{ logRecords: [{ timeUnixNano: String(BigInt(Date.now()) * 1_000_000n), severityNumber: 9, body: { stringValue: "once" } },
      { timeUnixNano: "1", body: { stringValue: "bad id" }, traceId: "abc" }] }] }] });
  const before = c.points.filter((p) => p.dataset === "worker_logs").length;
  for (let i = 0; i < 3; i++) {
    const res = await c.request("/v1/logs", { method: "POST", body, token: INGEST_TOKEN, headers: { "content-type": "application/json" } });
    assert.equal(res.status, 200);
    const answer = await res.json();
    assert.equal(answer.partialSuccess.rejectedLogRecords, "1");
    assert.match(answer.partialSuccess.errorMessage, /trace id/);
  }
  assert.equal((await logs("?service=retry")).logs.length, 1);
  await c.waitForPoints(before + 1);
  assert.equal(c.points.filter((p) => p.dataset === "worker_logs").length, before + 1);
  const bad = await c.request("/v1/logs", { method: "POST", body: "{not json", token: INGEST_TOKEN, headers: { "content-type": "application/json" } });
  assert.equal(bad.status, 400);
  assert.equal((await c.api("/api/logs?severity=loud")).status, 400);
  assert.equal((await c.api("/api/logs?cursor=nope")).status, 400);
  assert.equal((await c.request("/v1/logs", { method: "POST", body: "{}" })).status, 401);
});

test("the cron trigger prunes records past LOG_RETENTION_DAYS", async () => {
  const old = BigInt(Date.now() - 30 * 86_400_000) * 1_000_000n;
  const body = json({ resourceLogs: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "old" } }] },
    scopeLogs: [{ logRecords: [{ timeUnixNano: String(old), body: { stringValue: "ancient" } }] }] }] });
  assert.equal((await c.request("/v1/logs", { method: "POST", body, token: INGEST_TOKEN, headers: { "content-type": "application/json" } })).status, 200);
  assert.equal((await logs("?service=old")).logs.length, 1);
  const result = await (await c.mf.getWorker()).scheduled({ cron: "* * * * *", scheduledTime: new Date() });
  assert.equal(result.outcome, "ok");
  assert.equal((await logs("?service=old")).logs.length, 0);
  assert.ok((await logs("?service=checkout")).logs.length > 0, "recent records stay");
});
