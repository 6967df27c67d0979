// What storing spans costs, counted the way production bills it: D1 rows
// written and database bytes from D1's own `meta` (tests/e2e/d1-counter.mjs),
// R2 objects in the local bucket. The load mix of issue 12: traces of 10
// spans over three services, 4 attributes per span, 10 traces per export.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCollector } from "./harness.mjs";
import { span, request, json, traceId } from "./otlp.mjs";

let c;
before(async () => { c = await startCollector(); });
after(async () => { await c?.stop(); });

const SERVICES = ["gateway", "checkout", "payments"];

/** One export: `traces` traces of 10 spans, numbered from `first`. */
function loadMix(first, traces) {
  const byService = {};
  for (let t = first; t < first + traces; t++) {
    for (let i = 0; i < 10; i++) {
      const service = SERVICES[i % 3];
      const s = span({
        trace: t, id: t * 100 + i, parent: i ? t * 100 + Math.floor((i - 1) / 3) : undefined,
        name: i ? `op-${i % 7}` : "GET /checkout", kind: i % 3 === 0 ? 2 : 3, startMs: i, durationMs: 5,
        attributes: { "http.route": "/checkout", "http.request.method": "GET", "user.tier": "gold", "peer.service": "inventory" },
      });
      (byService[service] ??= []).push(s);
    }
  }
  return json(request(byService));
}

/** D1 batches since `from` (an index into the round trips). */
async function billedSince(from) {
  await new Promise((r) => setTimeout(r, 300));
  const batches = c.d1RoundTrips.slice(from).filter((t) => t.kind === "batch");
  return {
    rowsWritten: batches.reduce((n, b) => n + (b.rowsWritten ?? 0), 0),
    rowsRead: batches.reduce((n, b) => n + (b.rowsRead ?? 0), 0),
    sizeAfter: Math.max(0, ...batches.map((b) => b.sizeAfter ?? 0)),
    batches: batches.length,
  };
}

async function blocks() {
  const bucket = await c.mf.getR2Bucket("BLOCKS");
  return (await bucket.list({ prefix: "spans/" })).objects;
}

async function blockCount() {
  return (await blocks()).length;
}

test("inline exports of the load mix: D1 rows written, bytes and R2 objects per span", async () => {
  const warm = c.d1RoundTrips.length;
  assert.equal((await c.ingest(loadMix(1, 10))).status, 200);
  const { sizeAfter: sizeBefore } = await billedSince(warm);
  const from = c.d1RoundTrips.length;
  const exports = 20;
  for (let e = 0; e < exports; e++) assert.equal((await c.ingest(loadMix(100 + e * 10, 10))).status, 200);
  const billed = await billedSince(from);
  const spans = exports * 100;
  const rowsPerSpan = billed.rowsWritten / spans;
  const bytesPerSpan = (billed.sizeAfter - sizeBefore) / spans;
  const r2Bytes = (await blocks()).reduce((n, o) => n + o.size, 0) / (spans + 100);
  console.log(`load mix inline: ${rowsPerSpan.toFixed(3)} D1 rows written/span, ${(billed.rowsRead / spans).toFixed(2)} D1 rows read/span, ${bytesPerSpan.toFixed(1)} D1 bytes/span, ${r2Bytes.toFixed(0)} R2 bytes/span, ${billed.batches / exports} D1 batches/export`);
  // Trace records (0.1/span) and the block row are the floor; the rest is the
  // roll-up keys each inline export upserts. The queue's merged batches go lower.
  assert.ok(rowsPerSpan <= 0.45, `${rowsPerSpan} rows written per span`);
  assert.ok(bytesPerSpan <= 40, `${bytesPerSpan} D1 bytes per span`);
  assert.equal(billed.batches, exports * 2, "two D1 round trips per export");
  assert.equal(await blockCount(), exports + 1, "one R2 object per inline export");

  const { body } = await c.api(`/api/traces/${traceId(105)}`);
  assert.equal(body.spanCount, 10);
  assert.equal(body.spans.length, 10);
});

test("an export retried as is writes no D1 row and no R2 object", async () => {
  const body = loadMix(900, 10);
  assert.equal((await c.ingest(body)).status, 200);
  const blocks = await blockCount();
  const from = c.d1RoundTrips.length;
  assert.equal((await c.ingest(body)).status, 200);
  const billed = await billedSince(from);
  assert.equal(billed.rowsWritten, 0);
  assert.equal(billed.batches, 1, "only the records are read");
  assert.equal(await blockCount(), blocks);
});
