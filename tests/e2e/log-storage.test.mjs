// What storing log records costs, counted the way production bills it: D1
// rows written and database bytes from D1's own `meta`
// (tests/e2e/d1-counter.mjs), R2 objects in the local bucket, Analytics
// Engine points. Records are stored in R2 blocks, one D1 row per segment (a
// minute of record time) of each stored batch.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCollector, INGEST_TOKEN } from "./harness.mjs";
import { span, request, json, traceId, spanId, attrs, BASE_NS } from "./otlp.mjs";

let c;
before(async () => { c = await startCollector(); });
after(async () => { await c?.stop(); });

const SERVICES = ["gateway", "checkout", "payments"];
const SEVERITIES = [9, 9, 13, 17];

/** An export of `count` records numbered from `first`, over three services, 4 attributes each, times `atMs` on. */
function logExport(first, count, atMs) {
  const byService = {};
  for (let i = first; i < first + count; i++) {
    (byService[SERVICES[i % 3]] ??= []).push({
      timeUnixNano: String(BigInt(atMs + (i - first)) * 1_000_000n),
      severityNumber: SEVERITIES[i % 4],
      body: { stringValue: `request ${i} handled` },
      traceId: traceId(7000 + Math.floor(i / 10)),
      spanId: spanId(i),
      attributes: attrs({ "http.route": "/checkout", "http.request.method": "GET", "user.tier": "gold", "log.seq": i }),
    });
  }
  return json({
    resourceLogs: Object.entries(byService).map(([service, logRecords]) => ({
      resource: { attributes: attrs({ "service.name": service }) },
      scopeLogs: [{ scope: { name: "app" }, logRecords }],
    })),
  });
}

const sendLogs = (collector, body) => collector.request("/v1/logs", {
  method: "POST", body, token: INGEST_TOKEN, headers: { "content-type": "application/json" },
});

/** D1 batches since `from` (an index into the round trips). */
async function billedSince(collector, from) {
  await new Promise((r) => setTimeout(r, 300));
  const batches = collector.d1RoundTrips.slice(from).filter((t) => t.kind === "batch");
  return {
    rowsWritten: batches.reduce((n, b) => n + (b.rowsWritten ?? 0), 0),
    sizeAfter: Math.max(0, ...batches.map((b) => b.sizeAfter ?? 0)),
    batches: batches.length,
  };
}

async function logObjects(collector) {
  const bucket = await collector.mf.getR2Bucket("BLOCKS");
  return (await bucket.list({ prefix: "logs/" })).objects;
}

test("inline exports of 100 records: D1 rows written and bytes per record, one R2 object per export", async () => {
  const now = Date.now() - 60_000;
  assert.equal((await sendLogs(c, logExport(0, 100, now))).status, 200);
  const { sizeAfter: sizeBefore } = await billedSince(c, 0);
  const from = c.d1RoundTrips.length;
  const exports = 20;
  for (let e = 1; e <= exports; e++) assert.equal((await sendLogs(c, logExport(e * 100, 100, now + e * 100))).status, 200);
  const billed = await billedSince(c, from);
  const records = exports * 100;
  const rowsPerRecord = billed.rowsWritten / records;
  const bytesPerRecord = (billed.sizeAfter - sizeBefore) / records;
  const objects = await logObjects(c);
  const r2Bytes = objects.reduce((n, o) => n + o.size, 0) / (records + 100);
  console.log(`logs inline, 100-record exports: ${rowsPerRecord.toFixed(3)} D1 rows written/record, ${bytesPerRecord.toFixed(1)} D1 bytes/record, ${r2Bytes.toFixed(0)} R2 bytes/record, ${billed.batches / exports} D1 batches/export`);
  assert.ok(rowsPerRecord <= 0.03, `${rowsPerRecord} rows written per record`);
  assert.ok(bytesPerRecord <= 16, `${bytesPerRecord} D1 bytes per record`);
  assert.equal(billed.batches, exports * 2, "a read of the stored message hashes, then one write");
  assert.equal(objects.length, exports + 1);
  const page = (await c.api("/api/logs?service=checkout&limit=1000")).body;
  assert.equal(page.logs.length, 700);
  assert.equal(page.logs[0].body, "request 2098 handled", "newest first");
});

test("an export retried as is writes no D1 row, no R2 object and no point", async () => {
  const body = logExport(50_000, 100, Date.now() - 30_000);
  assert.equal((await sendLogs(c, body)).status, 200);
  const points = (await c.waitForPoints(0)).filter((p) => p.dataset === "worker_logs").length;
  const objects = (await logObjects(c)).length;
  const from = c.d1RoundTrips.length;
  assert.equal((await sendLogs(c, body)).status, 200);
  const billed = await billedSince(c, from);
  assert.equal(billed.rowsWritten, 0);
  assert.equal(billed.batches, 1, "only the message hashes are read");
  assert.equal((await logObjects(c)).length, objects);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(c.points.filter((p) => p.dataset === "worker_logs").length, points);
});

test("queued small exports of logs and spans end up in large blocks, readable within 5 s, each record stored and counted once", async () => {
  const q = await startCollector({ queue: true });
  try {
    // 200 exports of 5 records, and the spans of the traces they belong to, in the same queue batches.
    const at = Date.now() - 10_000;
    const exports = [];
    for (let e = 0; e < 200; e++) exports.push({ path: "/v1/logs", body: logExport(e * 5, 5, at + e) });
    const startMs = at - Number(BASE_NS / 1_000_000n);
    for (let t = 0; t < 10; t++) {
      exports.push({ path: "/v1/traces", body: json(request({ checkout: [span({ trace: 7000 + t, id: 9000 + t, name: "GET /checkout", kind: 2, startMs, durationMs: 5 })] })) });
    }
    const from = q.d1RoundTrips.length;
    const send = async (list) => {
      for (let i = 0; i < list.length; i += 20) {
        const answers = await Promise.all(list.slice(i, i + 20).map((x) => q.request(x.path, {
          method: "POST", body: x.body, token: INGEST_TOKEN, headers: { "content-type": "application/json" },
        })));
        assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
      }
    };
    await send(exports);
    const accepted = Date.now();
    while ((await q.api("/api/logs?limit=1000")).body.logs.length < 1000) {
      assert.ok(Date.now() - accepted < 5_000, "every record readable within 5 s of its export being accepted");
      await new Promise((r) => setTimeout(r, 100));
    }
    const readableMs = Date.now() - accepted;
    await new Promise((r) => setTimeout(r, 300));
    const batches = q.d1RoundTrips.slice(from).filter((t) => t.kind === "batch" && t.rowsWritten > 0);
    const spanRows = 10 * 0.1; // each trace's record, counted in the span batches of the same writes
    const rowsWritten = batches.reduce((n, b) => n + b.rowsWritten, 0);
    const objects = (await logObjects(q)).length;
    console.log(`logs queued, 200 exports of 5 records: ${objects} R2 puts per 1,000 records, ${(rowsWritten / 1000).toFixed(3)} D1 rows written/record (spans' included), readable after ${readableMs} ms`);
    assert.ok(objects <= 2, `${objects} blocks for 1,000 records`);
    assert.ok(rowsWritten / 1000 <= 0.2 + spanRows, `${rowsWritten / 1000} rows written per record`);
    const points = (await q.waitForPoints(1010)).filter((p) => p.dataset === "worker_logs");
    assert.equal(points.length, 1000, "one Analytics Engine point per record");

    // A trace's detail counts its records; the logs of the trace read back by its id alone.
    const { body: trace } = await q.api(`/api/traces/${traceId(7003)}`);
    assert.equal(trace.logCount, 10);
    const byTrace = (await q.api(`/api/logs?traceId=${traceId(7003)}`)).body.logs;
    assert.deepEqual(byTrace.map((l) => l.spanId).sort(), Array.from({ length: 10 }, (_, i) => spanId(30 + i)));
    assert.ok(byTrace.every((l, i) => i === 0 || byTrace[i - 1].timeUnixNano >= l.timeUnixNano), "newest first");

    // The same exports again: nothing new anywhere.
    const again = q.d1RoundTrips.length;
    await send(exports.slice(0, 50));
    await new Promise((r) => setTimeout(r, 2_500));
    const rewritten = q.d1RoundTrips.slice(again).reduce((n, b) => n + (b.rowsWritten ?? 0), 0);
    assert.equal(rewritten, 0, "a retried export writes nothing");
    assert.equal((await logObjects(q)).length, objects);
    assert.equal(q.points.filter((p) => p.dataset === "worker_logs").length, 1000);
    assert.equal((await q.api("/api/logs?limit=1000")).body.logs.length, 1000);
  } finally {
    await q.stop();
  }
});
