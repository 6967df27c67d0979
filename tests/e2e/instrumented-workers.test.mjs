// Instrumented Workers end to end. The example Rust Workers `frontend` and
// `orders` (examples/, built with the worker-otel crate) run beside the
// collector in local workerd, export through service bindings, and the
// collector's API shows one trace across both, the D1 spans, the error, the
// service-map edge and the trace's logs. Copies of both Workers bound to a
// broken collector answer exactly the same, at the cost of one failed
// subrequest each. The example JavaScript Worker (examples/js-frontend, with
// @microlabs/otel-cf-workers from npm) exports to the collector's URL and
// calls the Rust `orders`: one trace across both languages.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import { startCollector, applySql, root, INGEST_TOKEN } from "./harness.mjs";

const PARENT_TRACE = "5b8efff798038103d269b633813fc60c";
const PARENT_SPAN = "eee19b7ec3c1b174";

/** A Miniflare definition of an example Worker built under examples/<dir>/build. */
function example(name, dir, { serviceBindings = {}, d1, bindings = {} }) {
  return {
    name,
    modules: true,
    scriptPath: join(root, `examples/${dir}/build/worker/shim.mjs`),
    modulesRoot: join(root, `examples/${dir}/build`),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
    bindings: {
      OTEL_SERVICE_NAME: dir,
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test",
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${INGEST_TOKEN}`,
      ...bindings,
    },
    serviceBindings,
    ...(d1 ? { d1Databases: { DB: d1 } } : {}),
  };
}

/** examples/js-frontend bundled with its npm packages, as wrangler would. */
async function bundleJsFrontend() {
  const outfile = join(root, "examples/js-frontend/build/index.mjs");
  await build({
    entryPoints: [join(root, "examples/js-frontend/src/index.mjs")],
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    external: ["node:*", "cloudflare:*"],
    logLevel: "error",
  });
  return outfile;
}

let c;
let frontend;
let frontendCut;
let jsFrontend;
const brokenCalls = { throws: 0, refuses: 0 };
const statusRequests = [];

before(async () => {
  const jsBundle = await bundleJsFrontend();
  c = await startCollector({
    extraWorkers: [
      {
        name: "js-frontend",
        modules: true,
        scriptPath: jsBundle,
        modulesRoot: dirname(jsBundle),
        compatibilityDate: "2026-04-01",
        compatibilityFlags: ["nodejs_compat"],
        bindings: { SERVICE_NAME: "js-frontend", COLLECTOR_URL: "https://collector.example.com", COLLECTOR_INGEST_KEY: INGEST_TOKEN },
        serviceBindings: { ORDERS: "orders" },
        // The exporter's fetch to COLLECTOR_URL reaches the collector, as the internet would.
        outboundService: "main",
      },
      {
        ...example("frontend", "frontend", { serviceBindings: { ORDERS: "orders", COLLECTOR: "main" } }),
        // The internet, as frontend's `span.fetch` reaches it: a status page that keeps what it was sent.
        outboundService: async (req) => {
          statusRequests.push({ url: req.url, traceparent: req.headers.get("traceparent"), baggage: req.headers.get("baggage") });
          return new Response("all good");
        },
      },
      example("orders", "orders", { serviceBindings: { COLLECTOR: "main" }, d1: "orders-db" }),
      // orders exporting to the collector's URL instead of a binding (the internet leads to the collector).
      {
        ...example("orders-by-url", "orders", {
          d1: "orders-by-url-db",
          bindings: { OTEL_SERVICE_NAME: "orders-by-url", OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.example.com/" },
        }),
        outboundService: "main",
      },
      // The same Workers with a collector that is down: one binding throws, the other answers 503.
      example("frontend-cut", "frontend", {
        serviceBindings: {
          ORDERS: "orders-cut",
          COLLECTOR: async () => {
            brokenCalls.throws++;
            throw new Error("collector unreachable");
          },
        },
      }),
      example("orders-cut", "orders", {
        serviceBindings: {
          COLLECTOR: async () => {
            brokenCalls.refuses++;
            return new Response("down for maintenance", { status: 503 });
          },
        },
        d1: "orders-cut-db",
      }),
    ],
  });
  const migration = readFileSync(join(root, "examples/orders/migrations/0001_orders.sql"), "utf8");
  for (const worker of ["orders", "orders-cut", "orders-by-url"]) await applySql(await c.mf.getD1Database("DB", worker), migration);
  frontend = await c.mf.getWorker("frontend");
  frontendCut = await c.mf.getWorker("frontend-cut");
  jsFrontend = await c.mf.getWorker("js-frontend");
});

after(() => c?.stop());

async function get(worker, path, headers = {}) {
  const res = await worker.fetch(`https://shop.example.com${path}`, { headers });
  return { status: res.status, body: await res.text() };
}

/** Polls `read` until `done(value)` holds (10 s at most) and returns the last value. */
async function eventually(read, done) {
  const deadline = Date.now() + 10_000;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

const trace = (id) => c.api(`/api/traces/${id}`);
const logsOf = (id) => c.api(`/api/logs?traceId=${id}`);
const byName = (spans, service, name) => spans.find((s) => s.service === service && s.name === name);

test("one trace across frontend and orders, with parentage, D1 spans and logs", async () => {
  const answer = await get(frontend, "/orders/1", { traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01` });
  assert.equal(answer.status, 200);
  assert.match(answer.body, /teapot/);

  const found = await eventually(() => trace(PARENT_TRACE), (r) => r.status === 200 && r.body.spanCount === 6);
  assert.equal(found.status, 200, "the trace is stored");
  const spans = found.body.spans;
  assert.equal(spans.length, 6, JSON.stringify(spans.map((s) => [s.service, s.name])));
  const frontServer = byName(spans, "frontend", "GET /orders/:id");
  const call = byName(spans, "frontend", "GET");
  const render = byName(spans, "frontend", "render");
  const ordersServer = byName(spans, "orders", "GET /orders/:id");
  const select = byName(spans, "orders", "SELECT orders");
  const update = byName(spans, "orders", "UPDATE orders");
  for (const span of [frontServer, call, render, ordersServer, select, update]) assert.ok(span, JSON.stringify(spans));

  assert.equal(frontServer.parentSpanId, PARENT_SPAN, "frontend continues the caller's traceparent");
  assert.equal(frontServer.kind, "server");
  assert.equal(call.parentSpanId, frontServer.spanId);
  assert.equal(call.kind, "client");
  assert.equal(render.parentSpanId, frontServer.spanId);
  assert.equal(render.kind, "internal");
  assert.equal(ordersServer.parentSpanId, call.spanId, "orders' server span is a child of frontend's call");
  assert.equal(select.parentSpanId, ordersServer.spanId);
  assert.equal(update.parentSpanId, ordersServer.spanId);

  assert.equal(frontServer.attributes["http.route"], "/orders/:id");
  assert.equal(frontServer.attributes["http.request.method"], "GET");
  assert.equal(frontServer.attributes["http.response.status_code"], 200);
  assert.equal(frontServer.attributes["url.path"], "/orders/1");
  assert.equal(call.attributes["url.full"], "https://orders/orders/1");
  assert.equal(call.attributes["http.response.status_code"], 200);
  assert.equal(ordersServer.attributes["http.response.status_code"], 200);
  assert.equal(render.attributes["order.found"], true);
  for (const span of [frontServer, ordersServer]) {
    assert.equal(span.serviceVersion, "1.0.0");
    assert.equal(span.environment, "test");
    assert.equal(span.resource["telemetry.sdk.name"], "worker-otel");
    assert.equal(span.status.code, "unset");
  }

  assert.equal(select.kind, "client");
  assert.equal(select.attributes["db.system.name"], "cloudflare-d1");
  assert.equal(select.attributes["db.namespace"], "DB");
  assert.equal(select.attributes["db.operation.name"], "SELECT");
  assert.equal(select.attributes["db.collection.name"], "orders");
  assert.equal(select.attributes["db.query.text"], "SELECT id, item, quantity FROM orders WHERE id = ?1");
  assert.ok(select.attributes["cloudflare.d1.rows_read"] >= 1);
  assert.equal(select.attributes["cloudflare.d1.rows_written"], 0);
  assert.equal(update.attributes["db.query.text"], "UPDATE orders SET views = views + ? WHERE id = ?1", "the literal 1 is not exported");
  assert.equal(update.attributes["cloudflare.d1.rows_written"], 1);
  for (const span of spans) assert.ok(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano));

  const logs = await eventually(() => logsOf(PARENT_TRACE), (r) => r.body.logs?.length === 2);
  const lines = Object.fromEntries(logs.body.logs.map((l) => [l.body, l]));
  assert.equal(lines["looking up order 1"]?.serviceName, "frontend");
  assert.equal(lines["looking up order 1"].spanId, frontServer.spanId);
  assert.equal(lines["looking up order 1"].severity, "INFO");
  assert.equal(lines["order 1 read"]?.serviceName, "orders");
  assert.equal(lines["order 1 read"].spanId, ordersServer.spanId);
});

test("a call to a URL: a CLIENT span, and the trace context on the request", async () => {
  const caller = "3e1f0c9a8b7d6e5f4a3b2c1d0e9f8a7b";
  const answer = await get(frontend, "/status", { traceparent: `00-${caller}-1a2b3c4d5e6f7a8b-01`, baggage: "tenant=acme" });
  assert.equal(answer.status, 200);
  assert.equal(answer.body, "upstream status: all good");
  const [sent] = statusRequests;
  assert.equal(sent.url, "https://status.example.com/api/status");
  const found = await eventually(() => trace(caller), (r) => r.status === 200 && r.body.spanCount === 2);
  const call = found.body.spans.find((s) => s.kind === "client");
  const server = found.body.spans.find((s) => s.kind === "server");
  assert.equal(sent.traceparent, `00-${caller}-${call.spanId}-01`, "the outgoing request carries the CLIENT span's context");
  assert.equal(sent.baggage, "tenant=acme", "baggage is carried on");
  assert.equal(server.name, "GET /status");
  assert.equal(call.parentSpanId, server.spanId);
  assert.equal(call.attributes["url.full"], "https://status.example.com/api/status");
  assert.equal(call.attributes["server.address"], "status.example.com");
  assert.equal(call.attributes["server.port"], 443);
  assert.equal(call.attributes["http.response.status_code"], 200);
  assert.equal(call.callee, "status.example.com", "the service map draws the status page as an external callee");
});

test("without a collector binding the spans go to OTEL_EXPORTER_OTLP_ENDPOINT", async () => {
  const caller = "77777777777777777777777777777777";
  const worker = await c.mf.getWorker("orders-by-url");
  const answer = await get(worker, "/orders/1", { traceparent: `00-${caller}-7777777777777777-01` });
  assert.equal(answer.status, 200);
  const found = await eventually(() => trace(caller), (r) => r.status === 200 && r.body.spanCount === 3);
  assert.deepEqual(found.body.spans.map((s) => `${s.service} ${s.name}`).sort(), [
    "orders-by-url GET /orders/:id",
    "orders-by-url SELECT orders",
    "orders-by-url UPDATE orders",
  ]);
  const logs = await eventually(() => logsOf(caller), (r) => r.body.logs?.length === 1);
  assert.equal(logs.body.logs[0].body, "order 1 read");
});

test("a failure in orders: the D1 error, the 500 and the 502 are recorded with their logs", async () => {
  const answer = await get(frontend, "/orders/broken");
  assert.equal(answer.status, 502);
  assert.match(answer.body, /orders is unavailable \(500\)/);

  const search = await eventually(
    () => c.api("/api/traces?service=orders&status=error"),
    (r) => r.body.traces?.length === 1 && r.body.traces[0].spanCount === 4,
  );
  const [summary] = search.body.traces;
  assert.ok(summary, "the failed trace is found by status");
  assert.equal(summary.rootService, "frontend", "a new trace started at frontend");
  const { spans } = (await trace(summary.traceId)).body;
  const select = byName(spans, "orders", "SELECT missing_orders");
  assert.equal(select.status.code, "error");
  assert.match(select.status.message, /no such table: missing_orders/);
  const exception = select.events.find((e) => e.name === "exception");
  assert.equal(exception.attributes["exception.type"], "D1Error");
  assert.match(exception.attributes["exception.message"], /no such table/);
  const ordersServer = byName(spans, "orders", "GET /orders/:id");
  assert.equal(ordersServer.status.code, "error");
  assert.equal(ordersServer.attributes["http.response.status_code"], 500);
  const call = byName(spans, "frontend", "GET");
  assert.equal(call.status.code, "error", "a 5xx fails the client span");
  const frontServer = byName(spans, "frontend", "GET /orders/:id");
  assert.equal(frontServer.attributes["http.response.status_code"], 502);
  assert.equal(frontServer.status.code, "error");

  const logs = await eventually(() => logsOf(summary.traceId), (r) => r.body.logs?.length === 3);
  const bodies = logs.body.logs.map((l) => `${l.serviceName} ${l.severity} ${l.body}`).sort();
  assert.deepEqual(bodies.map((b) => b.replace(/: .*/, "")), [
    "frontend ERROR orders answered 500 for order broken",
    "frontend INFO looking up order broken",
    "orders ERROR order lookup failed",
  ]);
});

test("the service map draws frontend → orders, and orders → its D1 database", async () => {
  const map = await eventually(
    () => c.api("/api/service-map"),
    (r) => r.body.edges?.find((e) => e.data.id === "frontend->orders")?.data.requestCount >= 2,
  );
  const edge = map.body.edges.find((e) => e.data.id === "frontend->orders");
  assert.ok(edge, JSON.stringify(map.body.edges));
  assert.ok(edge.data.errorCount >= 1, "the failed call is counted");
  const nodes = Object.fromEntries(map.body.nodes.map((n) => [n.data.id, n.data]));
  assert.equal(nodes.frontend?.instrumented, true);
  assert.equal(nodes.orders?.instrumented, true);
  assert.ok(map.body.edges.some((e) => e.data.source === "orders" && e.data.target === "DB"), "D1 is orders' callee");
});

test("an unsampled caller: no span is exported by either Worker, logs still are", async () => {
  const unsampled = "0af7651916cd43dd8448eb211c80319c";
  const answer = await get(frontend, "/orders/2", { traceparent: `00-${unsampled}-b7ad6b7169203331-00` });
  assert.equal(answer.status, 200);
  const logs = await eventually(() => logsOf(unsampled), (r) => r.body.logs?.length === 2);
  assert.deepEqual(logs.body.logs.map((l) => l.flags), [0, 0]);
  assert.equal((await trace(unsampled)).status, 404, "no span of an unsampled trace is stored");
});

test("a collector that is down changes nothing for the user and costs one subrequest per request", async () => {
  for (const path of ["/orders/1", "/orders/broken", "/orders/9", "/elsewhere"]) {
    const healthy = await get(frontend, path);
    const cut = await get(frontendCut, path);
    assert.equal(cut.status, healthy.status, path);
    assert.equal(cut.body, healthy.body, path);
  }
  // Each request's export gives up after its first failed post (spans), logs are not tried.
  const settle = await eventually(async () => ({ ...brokenCalls }), (b) => b.throws === 4 && b.refuses === 3);
  assert.deepEqual(settle, { throws: 4, refuses: 3 });
});

test("a JavaScript Worker with @microlabs/otel-cf-workers and the Rust orders share one trace", async () => {
  const caller = "8c5a1d0e3f7b4a2c9d6e1f0a2b3c4d5e";
  const answer = await get(jsFrontend, "/orders/2", { traceparent: `00-${caller}-a1b2c3d4e5f60718-01` });
  assert.equal(answer.status, 200);
  assert.match(answer.body, /kettle/);

  const found = await eventually(
    () => trace(caller),
    (r) => r.status === 200 && r.body.spans?.some((s) => s.service === "js-frontend" && s.kind === "server"),
  );
  assert.equal(found.status, 200, "the JavaScript Worker's spans are stored under the caller's trace");
  const spans = found.body.spans;
  const jsServer = spans.find((s) => s.service === "js-frontend" && s.kind === "server");
  const jsCall = spans.find((s) => s.service === "js-frontend" && s.kind === "client");
  const ordersServer = byName(spans, "orders", "GET /orders/:id");
  assert.ok(jsServer && jsCall && ordersServer, JSON.stringify(spans.map((s) => [s.service, s.kind, s.name])));
  assert.equal(jsServer.parentSpanId, "a1b2c3d4e5f60718");
  assert.equal(jsServer.attributes["order.id"], "2");
  assert.equal(jsServer.serviceVersion, "1.0.0");
  assert.equal(jsCall.parentSpanId, jsServer.spanId);
  assert.equal(ordersServer.parentSpanId, jsCall.spanId, "the Rust Worker continues the JavaScript Worker's call");
  assert.ok(byName(spans, "orders", "SELECT orders"));

  const map = await eventually(
    () => c.api("/api/service-map"),
    (r) => r.body.edges?.some((e) => e.data.id === "js-frontend->orders"),
  );
  assert.ok(map.body.edges.some((e) => e.data.id === "js-frontend->orders"), JSON.stringify(map.body.edges));
});
