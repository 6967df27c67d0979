// Fault injection on D1 (tests/e2e/d1-counter.mjs fails every batch that
// holds a statement with a chosen SQL fragment): inline ingest answers 503
// with Retry-After and leaves nothing half-stored (no block without its
// rows); the queue consumer retries, and a message that keeps failing ends
// in the dead-letter queue, from where it is replayed and stored once.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startCollector, INGEST_TOKEN } from "./harness.mjs";
import { span, request, json, traceId, attrs } from "./otlp.mjs";

const started = [];
after(async () => { await Promise.all(started.map((c) => c.stop())); });
const start = async (options) => { const c = await startCollector(options); started.push(c); return c; };

const trace = (n) => json(request({ checkout: [
  span({ trace: n, id: n * 10, name: "GET /cart", kind: 2 }),
  span({ trace: n, id: n * 10 + 1, parent: n * 10, name: "SELECT cart", kind: 3, attributes: { "peer.service": "postgres" } }),
] }));

const logs = (service, count) => json({ resourceLogs: [{
  resource: { attributes: attrs({ "service.name": service }) },
  scopeLogs: [{ logRecords: Array.from({ length: count }, (_, i) => ({
    timeUnixNano: String(BigInt(Date.now() - 5_000 + i) * 1_000_000n), severityNumber: 9, body: { stringValue: `${service} ${i}` },
  })) }],
}] });

const sendLogs = (c, body) => c.request("/v1/logs", {
  method: "POST", body, token: INGEST_TOKEN, headers: { "content-type": "application/json" },
});

async function objects(c, prefix) {
  return (await (await c.mf.getR2Bucket("BLOCKS")).list({ prefix })).objects.length;
}

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

test("D1 failing at the write of an inline export: 503 with Retry-After, no block left, the retry stores and counts once", async () => {
  const c = await start({ d1Faults: true });
  c.faults.d1 = "INSERT INTO span_blocks";
  const refused = await c.ingest(trace(1));
  assert.equal(refused.status, 503);
  assert.ok(Number(refused.headers.get("retry-after")) > 0);
  assert.equal(await objects(c, "spans/"), 0, "the block of the failed write is deleted");
  assert.equal((await c.api(`/api/traces/${traceId(1)}`)).status, 404);
  c.faults.d1 = false;
  assert.equal((await c.ingest(trace(1))).status, 200);
  assert.equal((await c.api(`/api/traces/${traceId(1)}`)).body.spanCount, 2);
  const points = (await c.waitForPoints(2)).filter((p) => p.dataset === "distributed_traces");
  assert.equal(points.length, 2, "each span counted once");
  const [service] = (await c.api("/api/services?start=1763900000000&end=1763900060000")).body.services;
  assert.equal(service.red.requests, 1, "and in the roll-ups");

  c.faults.d1 = "INSERT INTO log_segments";
  const refusedLogs = await sendLogs(c, logs("cart", 5));
  assert.equal(refusedLogs.status, 503);
  assert.ok(Number(refusedLogs.headers.get("retry-after")) > 0);
  assert.equal(await objects(c, "logs/"), 0);
  c.faults.d1 = false;
  assert.equal((await sendLogs(c, logs("cart", 5))).status, 200);
  assert.equal((await c.api("/api/logs?service=cart")).body.logs.length, 5);
  await settle();
  assert.equal(c.points.filter((p) => p.dataset === "worker_logs").length, 5);

  // Reads failing answer 503 too, with a message.
  c.faults.d1 = "FROM log_segments";
  const read = await c.api("/api/logs");
  assert.equal(read.status, 503);
  assert.match(read.body.error.message, /storage unavailable: D1: D1_ERROR: injected fault/);
  c.faults.d1 = false;
});

test("the queue consumer's D1 write failing: retried until stored once; a message failing every delivery reaches the dead-letter queue and is replayed once", async () => {
  const c = await start({ queue: true, d1Faults: true });
  // A failure on the first delivery only.
  c.faults.d1 = "INSERT INTO span_blocks";
  assert.equal((await c.ingest(trace(2))).status, 200);
  await settle(1_500);
  assert.equal((await c.api(`/api/traces/${traceId(2)}`)).status, 404, "not stored while D1 fails");
  c.faults.d1 = false;
  const deadline = Date.now() + 5_000;
  while ((await c.api(`/api/traces/${traceId(2)}`)).status !== 200) {
    assert.ok(Date.now() < deadline, "stored by a redelivery");
    await settle(100);
  }
  assert.equal((await c.api(`/api/traces/${traceId(2)}`)).body.spanCount, 2);
  assert.equal(await objects(c, "spans/"), 1, "failed attempts left no object");

  // A failure on every delivery: after the retries (2 in the harness, 5 in wrangler.toml) the dead-letter queue.
  c.faults.d1 = "INSERT INTO log_segments";
  assert.equal((await sendLogs(c, logs("dlq", 3))).status, 200);
  const dlqDeadline = Date.now() + 15_000;
  while (c.deadLetters.length === 0) {
    assert.ok(Date.now() < dlqDeadline, "the message reaches the dead-letter queue");
    await settle(200);
  }
  assert.equal((await c.api("/api/logs?service=dlq")).body.logs.length, 0);
  // Replayed (docs/storage.md): sent back to the ingest queue once D1 is back, stored once.
  c.faults.d1 = false;
  const queue = await c.mf.getQueueProducer("INGEST_QUEUE", "main");
  for (const body of c.deadLetters) await queue.send(body, { contentType: "text" });
  await queue.send(c.deadLetters[0], { contentType: "text" });
  const replayDeadline = Date.now() + 5_000;
  while ((await c.api("/api/logs?service=dlq")).body.logs.length < 3) {
    assert.ok(Date.now() < replayDeadline, "the replayed message is stored");
    await settle(100);
  }
  await settle(1_500);
  assert.equal((await c.api("/api/logs?service=dlq")).body.logs.length, 3, "replayed twice, stored once");
  assert.equal(c.points.filter((p) => p.dataset === "worker_logs").length, 3, "and counted once");
});
