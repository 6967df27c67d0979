// The stock OpenTelemetry JS exporters (OTLP/HTTP protobuf, OTLP/HTTP JSON,
// gzip) send one trace across three services; it reads back whole.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { context, trace, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { startCollector, INGEST_TOKEN } from "./harness.mjs";

let c;
before(async () => { c = await startCollector(); });
after(async () => { await c?.stop(); });

function provider(service, Exporter, options = {}) {
  const exporter = new Exporter({ url: `${c.url}/v1/traces`, headers: { authorization: `Bearer ${INGEST_TOKEN}` }, ...options });
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": service, "service.version": "2.3.4", "deployment.environment.name": "staging" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
}

test("a trace exported by the OpenTelemetry JS SDK over protobuf, JSON and gzip reads back", async () => {
  const gateway = provider("gateway", ProtoExporter);
  const checkout = provider("checkout", JsonExporter);
  const payments = provider("payments", ProtoExporter, { compression: "gzip" });

  const root = gateway.getTracer("e2e").startSpan("GET /checkout", { kind: SpanKind.SERVER, attributes: { "http.route": "/checkout", "http.response.status_code": 200 } });
  const rootCtx = trace.setSpan(context.active(), root);
  const call = gateway.getTracer("e2e").startSpan("POST", { kind: SpanKind.CLIENT, attributes: { "server.address": "checkout.internal" } }, rootCtx);
  const order = checkout.getTracer("e2e").startSpan("POST /orders", { kind: SpanKind.SERVER, attributes: { "order.items": 3, "order.total": 41.5, "order.gift": true, "order.tags": ["a", "b"] } }, trace.setSpan(rootCtx, call));
  const orderCtx = trace.setSpan(rootCtx, order);
  const db = checkout.getTracer("e2e").startSpan("INSERT", { kind: SpanKind.CLIENT, attributes: { "db.system": "postgresql" } }, orderCtx);
  db.end();
  const charge = payments.getTracer("e2e").startSpan("POST /charge", { kind: SpanKind.SERVER }, orderCtx);
  charge.recordException(new Error("card declined"));
  charge.setStatus({ code: SpanStatusCode.ERROR, message: "declined" });
  charge.end();
  order.end();
  call.end();
  root.end();
  await Promise.all([gateway, checkout, payments].map((p) => p.forceFlush()));
  await Promise.all([gateway, checkout, payments].map((p) => p.shutdown()));

  const traceId = root.spanContext().traceId;
  const { status, body } = await c.api(`/api/traces/${traceId}`);
  assert.equal(status, 200);
  assert.equal(body.spanCount, 5);
  assert.equal(body.rootService, "gateway");
  assert.equal(body.rootOperation, "GET /checkout");
  assert.equal(body.errorCount, 1);
  assert.deepEqual([...body.services].sort(), ["checkout", "gateway", "payments"]);
  const byName = Object.fromEntries(body.spans.map((s) => [s.name, s]));
  assert.equal(byName["POST /orders"].parentSpanId, call.spanContext().spanId);
  assert.equal(byName["POST /orders"].kind, "server");
  assert.deepEqual(byName["POST /orders"].attributes, { "order.items": 3, "order.total": 41.5, "order.gift": true, "order.tags": ["a", "b"] });
  assert.equal(byName["POST /orders"].resource["service.version"], "2.3.4");
  assert.equal(byName["POST /charge"].service, "payments");
  assert.deepEqual(byName["POST /charge"].status, { code: "error", message: "declined" });
  assert.equal(byName["POST /charge"].events[0].name, "exception");
  assert.equal(byName["POST /charge"].events[0].attributes["exception.message"], "card declined");
  assert.equal(byName.INSERT.kind, "client");

  const deps = (await c.db.prepare("SELECT caller_service, callee_service, call_count FROM service_dependencies ORDER BY 1, 2").all()).results;
  assert.deepEqual(deps, [
    { caller_service: "checkout", callee_service: "payments", call_count: 1 },
    { caller_service: "checkout", callee_service: "postgresql", call_count: 1 },
    { caller_service: "gateway", callee_service: "checkout", call_count: 1 },
  ]);
  const services = (await c.db.prepare("SELECT id, version, environment FROM services ORDER BY id").all()).results;
  assert.deepEqual(services.map((s) => [s.id, s.version, s.environment]), [
    ["checkout", "2.3.4", "staging"], ["gateway", "2.3.4", "staging"], ["payments", "2.3.4", "staging"],
  ]);
  const points = await c.waitForPoints(5);
  assert.equal(points.filter((p) => p.blobs[0] === traceId).length, 5);
});
