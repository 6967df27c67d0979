// MAX_BODY_BYTES bounds request bodies before and after gzip decompression.
// A small limit keeps the refused bodies small enough to be fully written
// before the early 413 arrives (a 10 MiB upload would race the response).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCollector, INGEST_TOKEN } from "./harness.mjs";
import { request, json, gzip, span, traceId } from "./otlp.mjs";

const LIMIT = 64 * 1024;
let c;
before(async () => { c = await startCollector({ vars: { MAX_BODY_BYTES: String(LIMIT) } }); });
after(async () => { await c?.stop(); });

const post = (body, headers) =>
  c.request("/v1/traces", { method: "POST", body, token: INGEST_TOKEN, headers: { "content-type": "application/json", ...headers } });

test("a body over MAX_BODY_BYTES is 413 with the limit in the message", async () => {
  const res = await post("x".repeat(LIMIT + 1));
  assert.equal(res.status, 413);
  const body = await res.json();
  assert.equal(body.error.code, "payload_too_large");
  assert.equal(body.error.message, `request body exceeds ${LIMIT} bytes`);
});

test("a gzip body that inflates beyond MAX_BODY_BYTES is 413, however small it is compressed", async () => {
  const bomb = gzip("{" + " ".repeat(4 * LIMIT) + "}");
  assert.ok(bomb.length < 2048);
  const res = await post(bomb, { "content-encoding": "gzip" });
  assert.equal(res.status, 413);
  assert.match((await res.json()).error.message, /after decompression/);
});

test("a body within the limit is accepted, gzipped or not", async () => {
  const body = json(request({ edge: [span({ trace: 90, id: 9001, name: "small" })] }));
  assert.ok(body.length < LIMIT);
  assert.equal((await post(body)).status, 200);
  assert.equal((await post(gzip(body), { "content-encoding": "gzip" })).status, 200);
  assert.equal((await c.api(`/api/traces/${traceId(90)}`)).body.spanCount, 1);
});
