// Analytics Engine write failures are counted and visible: a binding that
// throws (tests/e2e/ae-capture.mjs throws for points of service "ae-fails")
// loses those points only; the export is stored as usual, and GET /health
// shows how many points were not written and when the last one failed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCollector } from "./harness.mjs";
import { json, request, span, traceId } from "./otlp.mjs";

let c;
before(async () => { c = await startCollector(); });
after(async () => { await c?.stop(); });

const health = async () => {
  const res = await c.request("/health");
  assert.equal(res.status, 200);
  return (await res.json()).checks.analyticsEngine;
};

/** Polls /health until `pointsNotWritten` is `n` (the count is added after the response). */
async function untilNotWritten(n) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const check = await health();
    if (check.pointsNotWritten === n || Date.now() > deadline) return check;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("points a binding refuses are counted in /health; the export is stored and later points are written", async () => {
  assert.deepEqual(await health(), { pointsNotWritten: 0, lastFailureAt: null });

  const spans = [0, 1, 2].map((i) => span({ trace: 900, id: 900 + i, parent: i ? 900 : undefined, name: `step ${i}`, startMs: i }));
  const started = Date.now();
  assert.equal((await c.ingest(json(request({ "ae-fails": spans })))).status, 200);
  const failed = await untilNotWritten(3);
  assert.equal(failed.pointsNotWritten, 3, "one per span");
  assert.ok(Date.parse(failed.lastFailureAt) >= started - 1000, failed.lastFailureAt);

  const trace = await c.api(`/api/traces/${traceId(900)}`);
  assert.equal(trace.status, 200);
  assert.equal(trace.body.spans.length, 3, "D1 and R2 storage do not depend on Analytics Engine");

  assert.equal((await c.ingest(json(request({ fine: [span({ trace: 901, id: 950, name: "ok" })] })))).status, 200);
  const written = await c.waitForPoints(1);
  assert.ok(written.some((p) => p.indexes[0] === "fine"));
  assert.equal((await health()).pointsNotWritten, 3, "a healthy write adds nothing");
});
