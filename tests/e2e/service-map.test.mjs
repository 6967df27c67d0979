// GET /api/service-map (Cytoscape.js elements) and /api/service-map/cycles
// over five services with a cycle and an uninstrumented database.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import cytoscape from "cytoscape";
import { startCollector } from "./harness.mjs";
import { request, json, span } from "./otlp.mjs";

let c;
before(async () => { c = await startCollector(); });
after(async () => { await c?.stop(); });

/** gateway → checkout → payments → ledger → checkout (a cycle); checkout → orders-db. */
function fleetTrace(trace) {
  const b = trace * 100;
  return {
    gateway: [
      span({ trace, id: b + 1, name: "GET /buy", kind: 2, durationMs: 100 }),
      span({ trace, id: b + 2, parent: b + 1, name: "call checkout", kind: 3, durationMs: 90 }),
    ],
    checkout: [
      span({ trace, id: b + 3, parent: b + 2, name: "POST /checkout", kind: 2, durationMs: 80 }),
      span({ trace, id: b + 4, parent: b + 3, name: "INSERT", kind: 3, durationMs: 10, attributes: { "db.system": "postgresql", "db.name": "orders-db" } }),
      span({ trace, id: b + 5, parent: b + 3, name: "call payments", kind: 3, durationMs: 60 }),
      span({ trace, id: b + 10, parent: b + 9, name: "POST /refund-hook", kind: 2, durationMs: 20, error: true }),
    ],
    payments: [
      span({ trace, id: b + 6, parent: b + 5, name: "POST /pay", kind: 2, durationMs: 50 }),
      span({ trace, id: b + 7, parent: b + 6, name: "call ledger", kind: 3, durationMs: 40 }),
    ],
    ledger: [
      span({ trace, id: b + 8, parent: b + 7, name: "POST /entries", kind: 2, durationMs: 30 }),
      span({ trace, id: b + 9, parent: b + 8, name: "notify checkout", kind: 3, durationMs: 25 }),
    ],
    audit: [span({ trace, id: b + 11, name: "nightly", kind: 1, durationMs: 5 })],
  };
}

test("the service map loads in Cytoscape with real call counts, error rates and latencies", async () => {
  for (const trace of [1, 2]) assert.equal((await c.ingest(json(request(fleetTrace(trace))))).status, 200);
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
