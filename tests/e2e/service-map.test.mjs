// GET /api/service-map (Cytoscape.js elements) and /api/service-map/cycles
// over five services with a cycle and an uninstrumented database.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import cytoscape from "cytoscape";
import { startCollector } from "./harness.mjs";
import { request, json, fleetTrace } from "./otlp.mjs";

let c;
before(async () => {
  c = await startCollector();
  // As in production, the call totals trail the clock (migration 0012 starts them 10 minutes ahead):
  // recent calls are in the minutes until the cron rolls them forward.
  await c.db.prepare("UPDATE rollup_marks SET minute_ms = ?").bind(Date.now() - 300_000).run();
});
after(async () => { await c?.stop(); });

test("the service map loads in Cytoscape with real call counts, error rates and latencies", async () => {
  const atMs = Date.now() - 60_000;
  for (const trace of [1, 2]) assert.equal((await c.ingest(json(request(fleetTrace(trace, { atMs }))))).status, 200);
  const { status, body } = await c.api("/api/service-map");
  assert.equal(status, 200);
  const cy = cytoscape({ headless: true, elements: body });
  assert.deepEqual(cy.nodes().map((n) => n.id()).sort(), ["audit", "checkout", "gateway", "ledger", "orders-db", "payments"]);
  assert.equal(cy.edges().length, 5);
  const db = cy.getElementById("orders-db");
  assert.equal(db.data("instrumented"), false);
  assert.equal(db.data("type"), "external");
  assert.equal(cy.getElementById("gateway").data("environment"), "production");
  const edge = cy.getElementById("ledger->checkout");
  assert.equal(edge.source().id(), "ledger");
  assert.equal(edge.target().id(), "checkout");
  assert.equal(edge.data("requestCount"), 2);
  assert.equal(edge.data("errorCount"), 2);
  assert.equal(edge.data("errorRate"), 1);
  assert.equal(edge.data("avgLatencyMs"), 20);
  const toPayments = cy.getElementById("checkout->payments").data();
  assert.deepEqual([toPayments.requestCount, toPayments.errorRate, toPayments.avgLatencyMs], [2, 0, 50]);
  assert.equal(cy.getElementById("checkout->orders-db").data("avgLatencyMs"), 10);
  // Cytoscape's own graph algorithms agree there is a path around the cycle.
  assert.ok(cy.elements().aStar({ root: "#checkout", goal: "#ledger", directed: true }).found);
});

test("the cron rolls the calls into the totals once: the map is the same before and after", async () => {
  const before = (await c.api("/api/service-map")).body;
  assert.equal((await c.db.prepare("SELECT count(*) AS n FROM service_dependencies").first()).n, 0, "batches wrote minutes only");
  for (let run = 0; run < 2; run++) {
    const result = await (await c.mf.getWorker()).scheduled({ cron: "* * * * *", scheduledTime: new Date() });
    assert.equal(result.outcome, "ok");
  }
  assert.equal((await c.db.prepare("SELECT count(*) AS n FROM service_dependencies").first()).n, 5);
  const mark = (await c.db.prepare("SELECT minute_ms FROM rollup_marks").first()).minute_ms;
  assert.ok(mark > Date.now() - 180_000, "the mark follows the clock");
  assert.deepEqual((await c.api("/api/service-map")).body, before);
});

test("cycles are listed once each in canonical rotation, with their components", async () => {
  const { status, body } = await c.api("/api/service-map/cycles");
  assert.equal(status, 200);
  assert.deepEqual(body, {
    cycles: [["checkout", "payments", "ledger", "checkout"]],
    hasCycles: true,
    truncated: false,
    stronglyConnectedComponents: [["checkout", "ledger", "payments"]],
  });
});

test("the environment filter keeps that environment's services", async () => {
  const staging = await c.api("/api/service-map?environment=staging");
  assert.deepEqual(staging.body, { nodes: [], edges: [] });
  const production = await c.api("/api/service-map?environment=production");
  assert.equal(production.body.nodes.length, 6);
  assert.deepEqual((await c.api("/api/service-map/cycles?environment=staging")).body.cycles, []);
});

test("the map needs the API token", async () => {
  assert.equal((await c.request("/api/service-map")).status, 401);
  assert.equal((await c.request("/api/service-map/cycles")).status, 401);
});

test("services list with the RED of their entry spans over the window", async () => {
  const { status, body } = await c.api("/api/services");
  assert.equal(status, 200);
  assert.equal(body.window.seconds, 3600);
  const byId = Object.fromEntries(body.services.map((s) => [s.id, s]));
  assert.deepEqual(Object.keys(byId).sort(), ["audit", "checkout", "gateway", "ledger", "payments"]);
  const checkout = byId.checkout;
  assert.equal(checkout.version, "1.0.0");
  assert.equal(checkout.environment, "production");
  assert.match(checkout.firstSeen, /^\d{4}-\d\d-\d\dT/);
  // Entry spans: POST /checkout (80 ms) and POST /refund-hook (20 ms, error), in each of two traces.
  assert.equal(checkout.red.requests, 4);
  assert.equal(checkout.red.errors, 2);
  assert.equal(checkout.red.errorRate, 0.5);
  assert.equal(checkout.red.avgMs, 50);
  assert.ok(Math.abs(checkout.red.requestRate - 4 / 3600) < 1e-12);
  assert.equal(checkout.red.p50Ms, 25);
  assert.equal(checkout.red.p99Ms, 99);
  assert.equal(byId.audit.red.requests, 2, "a root span is an entry span whatever its kind");
  const past = await c.api("/api/services?start=2000-01-01T00:00:00Z&end=2000-01-02T00:00:00Z");
  assert.equal(past.body.services.find((s) => s.id === "checkout").red.requests, 0);
  assert.equal(past.body.services.find((s) => s.id === "checkout").red.p50Ms, null);
  assert.equal((await c.api("/api/services?window=soon")).status, 400);
});

test("a service shows its callers and callees with counts and latency; unknown ids are 404", async () => {
  const { status, body } = await c.api("/api/services/checkout?window=2h");
  assert.equal(status, 200);
  assert.equal(body.id, "checkout");
  assert.equal(body.window.seconds, 7200);
  assert.deepEqual(body.upstream.map((n) => [n.service, n.requestCount, n.errorCount, n.avgLatencyMs]), [
    ["gateway", 2, 0, 80],
    ["ledger", 2, 2, 20],
  ]);
  assert.deepEqual(body.downstream.map((n) => [n.service, n.requestCount, n.errorRate, n.avgLatencyMs]), [
    ["orders-db", 2, 0, 10],
    ["payments", 2, 0, 50],
  ]);
  assert.equal((await c.api("/api/services/nope")).status, 404);
  assert.equal((await c.api("/api/services/checkout?start=5&end=1")).status, 400);
});

test("the map and its cycles can be limited to a time window", async () => {
  const past = await c.api("/api/service-map?start=2000-01-01T00:00:00Z&end=2000-01-02T00:00:00Z");
  assert.equal(past.body.edges.length, 0);
  const recent = await c.api("/api/service-map?window=1h");
  assert.equal(recent.body.edges.length, 5);
  assert.equal(recent.body.edges.find((e) => e.data.id === "ledger->checkout").data.requestCount, 2);
  assert.equal((await c.api("/api/service-map/cycles?window=1h")).body.cycles.length, 1);
  assert.equal((await c.api("/api/service-map/cycles?start=2000-01-01T00:00:00Z&end=2000-01-02T00:00:00Z")).body.hasCycles, false);
});
