// The Jaeger query API under /jaeger/api, in the shapes Jaeger's query
// service returns and Grafana's Jaeger data source reads.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCollector } from "./harness.mjs";
import { request, json, fleetTrace, traceId, spanId } from "./otlp.mjs";

let c;
const atMs = Date.now() - 60_000;
before(async () => {
  c = await startCollector();
  for (const trace of [1, 2]) assert.equal((await c.ingest(json(request(fleetTrace(trace, { atMs }))))).status, 200);
});
after(async () => { await c?.stop(); });

const jaeger = (path) => c.api(`/jaeger/api${path}`);

function assertEnvelope(body, total) {
  assert.deepEqual(Object.keys(body).sort(), ["data", "errors", "limit", "offset", "total"]);
  assert.equal(body.total, total);
  assert.equal(body.limit, 0);
  assert.equal(body.offset, 0);
  assert.equal(body.errors, null);
}

test("services and operations", async () => {
  const services = await jaeger("/services");
  assert.equal(services.status, 200);
  assertEnvelope(services.body, 5);
  assert.deepEqual(services.body.data, ["audit", "checkout", "gateway", "ledger", "payments"]);
  const ops = await jaeger("/services/checkout/operations");
  assertEnvelope(ops.body, 4);
  assert.deepEqual(ops.body.data, ["INSERT", "POST /checkout", "POST /refund-hook", "call payments"]);
  const server = await jaeger("/operations?service=checkout&spanKind=server");
  assert.deepEqual(server.body.data, [{ name: "POST /checkout", spanKind: "server" }, { name: "POST /refund-hook", spanKind: "server" }]);
  assert.equal((await jaeger("/operations?service=checkout")).body.total, 4);
  assert.deepEqual((await jaeger("/services/unknown/operations")).body.data, []);
});

test("a trace in the Jaeger model", async () => {
  const { status, body } = await jaeger(`/traces/${traceId(1)}`);
  assert.equal(status, 200);
  assertEnvelope(body, 1);
  const [trace] = body.data;
  assert.equal(trace.traceID, traceId(1));
  assert.equal(trace.spans.length, 11);
  assert.equal(Object.keys(trace.processes).length, 5);
  const byId = Object.fromEntries(trace.spans.map((s) => [s.spanID, s]));
  const checkout = byId[spanId(103)];
  assert.equal(checkout.operationName, "POST /checkout");
  assert.deepEqual(checkout.references, [{ refType: "CHILD_OF", traceID: traceId(1), spanID: spanId(102) }]);
  const sent = fleetTrace(1, { atMs }).checkout[0];
  assert.equal(checkout.startTime, Number(BigInt(sent.startTimeUnixNano) / 1000n));
  assert.equal(checkout.duration, 80_000);
  assert.equal(trace.processes[checkout.processID].serviceName, "checkout");
  assert.ok(trace.processes[checkout.processID].tags.some((t) => t.key === "service.version" && t.value === "1.0.0"));
  assert.ok(checkout.tags.some((t) => t.key === "span.kind" && t.value === "server"));
  const hook = byId[spanId(110)];
  assert.ok(hook.tags.some((t) => t.key === "error" && t.type === "bool" && t.value === true));
  const root = byId[spanId(101)];
  assert.deepEqual(root.references, []);
  assert.deepEqual(root.logs, []);
});

test("trace search with Jaeger's parameters", async () => {
  const ids = async (query) => {
    const { status, body } = await jaeger(`/traces?${query}`);
    assert.equal(status, 200, query);
    return body.data.map((t) => t.traceID).sort();
  };
  const both = [traceId(1), traceId(2)];
  const start = (atMs - 1000) * 1000;
  const end = (atMs + 10_000) * 1000;
  assert.deepEqual(await ids("service=checkout&lookback=1h&limit=20"), both);
  assert.deepEqual(await ids(`service=checkout&start=${start}&end=${end}`), both);
  assert.deepEqual(await ids(`service=checkout&start=${end}&end=${end + 1000}`), []);
  assert.deepEqual(await ids("service=checkout&operation=POST%20%2Frefund-hook"), both);
  assert.deepEqual(await ids("service=gateway&operation=POST%20%2Frefund-hook"), [], "the operation must belong to the service");
  assert.deepEqual(await ids(`service=checkout&tags=${encodeURIComponent('{"error":"true"}')}`), both);
  assert.deepEqual(await ids(`service=checkout&tags=${encodeURIComponent('{"db.name":"orders-db"}')}`), both);
  assert.deepEqual(await ids("service=checkout&tag=db.name:other"), []);
  assert.deepEqual(await ids("service=gateway&minDuration=90ms"), both);
  assert.deepEqual(await ids("service=gateway&maxDuration=50ms"), []);
  assert.equal((await jaeger("/traces?service=checkout&limit=1")).body.data.length, 1);
  const { body } = await jaeger("/traces?service=audit");
  assert.equal(body.data[0].spans.length, 11, "search results carry whole traces");
});

test("dependencies for Grafana's node graph", async () => {
  const { status, body } = await jaeger(`/dependencies?endTs=${Date.now()}&lookback=3600000`);
  assert.equal(status, 200);
  assertEnvelope(body, 5);
  assert.deepEqual(body.data.find((d) => d.parent === "ledger"), { parent: "ledger", child: "checkout", callCount: 2 });
  assert.deepEqual((await jaeger(`/dependencies?endTs=${atMs - 3_600_000}&lookback=60000`)).body.data, []);
});

test("errors answer in the Jaeger envelope", async () => {
  const missing = await jaeger(`/traces/${traceId(999)}`);
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: "trace not found" }] });
  const bad = await jaeger("/traces?minDuration=fast");
  assert.equal(bad.status, 400);
  assert.match(bad.body.errors[0].msg, /minDuration/);
  assert.equal((await jaeger("/traces/xyz")).status, 400);
  assert.equal((await jaeger("/dependencies?lookback=-1")).status, 400);
  assert.equal((await c.request("/jaeger/api/services")).status, 401);
});
