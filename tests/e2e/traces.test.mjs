// POST /v1/traces → D1 + Analytics Engine → GET /api/traces(/:id), against
// the built worker in local workerd.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startCollector, root, INGEST_TOKEN, API_TOKEN, INTERNAL_TOKEN } from "./harness.mjs";
import { checkoutTrace, request, json, gzip, span, traceId, spanId, BASE_NS } from "./otlp.mjs";

let c;
before(async () => { c = await startCollector({ runtimeLog: true }); });
after(async () => { await c?.stop(); });

/** The blob/double names of a dataset, in position order, from docs/analytics-engine.md. */
function documentedLayout(dataset) {
  const doc = readFileSync(join(root, "docs/analytics-engine.md"), "utf8");
  const section = doc.split(/^## /m).find((s) => s.startsWith(`\`${dataset}\``));
  assert.ok(section, `docs/analytics-engine.md documents ${dataset}`);
  const rows = [...section.matchAll(/^\| `(index1|blob\d+|double\d+)` \| `(\w+)` \|/gm)].map((m) => [m[1], m[2]]);
  return Object.fromEntries(rows);
}

function named(point, layout) {
  const out = {};
  for (const [column, name] of Object.entries(layout)) {
    const [, kind, n] = column.match(/^(index|blob|double)(\d+)$/);
    out[name] = (kind === "index" ? point.indexes : kind === "blob" ? point.blobs : point.doubles)[Number(n) - 1];
  }
  return out;
}

test("health answers without a token and reports D1", async () => {
  const res = await c.request("/health");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, "healthy");
  assert.equal(body.service, "observability-collector");
  assert.equal(body.checks.d1, "ok");
});

test("every other route needs the right bearer token", async () => {
  const none = await c.request("/api/traces");
  assert.equal(none.status, 401);
  assert.match((await none.json()).error.message, /Bearer/);
  // The ingest token is a known key without the read scope: 403 (tests/e2e/api-keys.test.mjs has every route × scope).
  assert.equal((await c.request("/api/traces", { token: INGEST_TOKEN })).status, 403);
  const ingestWithoutToken = await c.request("/v1/traces", { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  assert.equal(ingestWithoutToken.status, 401);
  assert.equal((await c.request("/v1/traces", { method: "POST", body: "{}", token: "wrong", headers: { "content-type": "application/json" } })).status, 401);
  assert.equal((await c.request("/nope", { token: API_TOKEN })).status, 404);
});

test("a trace across three services sent out of order reads back whole, with its root", async () => {
  const t = checkoutTrace(1);
  // The root arrives last, in a later request; payments first.
  for (const part of [{ payments: t.payments }, { checkout: t.checkout }, { gateway: t.gateway }]) {
    const res = await c.ingest(json(request(part)));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
  }
  const { status, body } = await c.api(`/api/traces/${traceId(1)}`);
  assert.equal(status, 200);
  assert.equal(body.traceId, traceId(1));
  assert.equal(body.rootSpanId, spanId(101));
  assert.equal(body.rootService, "gateway");
  assert.equal(body.rootOperation, "GET /checkout");
  assert.equal(body.hasRoot, true);
  assert.equal(body.spanCount, 6);
  assert.equal(body.errorCount, 1);
  assert.equal(body.status, "error");
  assert.equal(body.durationMs, 120);
  assert.equal(body.startTimeUnixNano, String(BASE_NS));
  assert.deepEqual([...body.services].sort(), ["checkout", "gateway", "payments"]);
  assert.equal(body.spans.length, 6);
  const byId = Object.fromEntries(body.spans.map((s) => [s.spanId, s]));
  const root = byId[spanId(101)];
  assert.equal(root.parentSpanId, null);
  assert.equal(root.kind, "server");
  assert.equal(root.service, "gateway");
  assert.equal(root.startTimeUnixNano, String(BASE_NS));
  assert.equal(root.endTimeUnixNano, String(BASE_NS + 120_000_000n));
  assert.deepEqual(root.attributes, { "http.request.method": "GET", "http.route": "/checkout", "http.response.status_code": 200 });
  assert.equal(root.resource["service.name"], "gateway");
  assert.deepEqual(root.scope, { name: "e2e", version: "1" });
  const charge = byId[spanId(106)];
  assert.equal(charge.parentSpanId, spanId(105));
  assert.deepEqual(charge.status, { code: "error", message: "boom" });
  assert.equal(charge.events[0].name, "exception");
  assert.equal(charge.events[0].attributes["exception.type"], "CardDeclined");
  assert.equal(charge.events[0].timeUnixNano, String(BASE_NS + 40_000_000n));
  // From the resource, and the callee the service map counts for a call nothing instrumented answers.
  assert.deepEqual([root.serviceVersion, root.environment, root.callee], ["1.0.0", "production", null]);
  assert.deepEqual(body.spans.filter((s) => s.callee).map((s) => [s.service, s.callee]).sort(), [["checkout", "orders-db"], ["gateway", "checkout"]]);
  // Spans stored by three exports come back in start order (then span id).
  const order = body.spans.map((s) => [BigInt(s.startTimeUnixNano), s.spanId]);
  assert.deepEqual(order, [...order].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1)));
});

test("services are registered and dependencies derived, uninstrumented callees included", async () => {
  const rows = (await c.db.prepare("SELECT id, version, environment FROM services ORDER BY id").all()).results;
  assert.deepEqual(rows, [
    { id: "checkout", version: "1.0.0", environment: "production" },
    { id: "gateway", version: "1.0.0", environment: "production" },
    { id: "payments", version: "1.0.0", environment: "production" },
  ]);
  const deps = (await c.db.prepare("SELECT caller_service, callee_service, call_count, error_count, total_duration_ms FROM service_dependencies ORDER BY 1, 2").all()).results;
  assert.deepEqual(deps, [
    { caller_service: "checkout", callee_service: "orders-db", call_count: 1, error_count: 0, total_duration_ms: 20 },
    { caller_service: "checkout", callee_service: "payments", call_count: 1, error_count: 1, total_duration_ms: 55 },
    { caller_service: "gateway", callee_service: "checkout", call_count: 1, error_count: 0, total_duration_ms: 100 },
  ]);
});

test("one Analytics Engine point per span, in the documented layout and within the limits", async () => {
  const points = (await c.waitForPoints(6)).filter((p) => p.blobs[0] === traceId(1));
  assert.equal(points.length, 6);
  const layout = documentedLayout("distributed_traces");
  for (const p of points) {
    assert.equal(p.dataset, "distributed_traces");
    assert.equal(p.indexes.length, 1);
    assert.ok(Buffer.byteLength(p.indexes[0]) <= 96);
    assert.ok(p.blobs.length <= 20 && p.doubles.length <= 20);
    assert.ok(p.blobs.reduce((n, b) => n + Buffer.byteLength(b), 0) <= 16 * 1024);
  }
  const charge = named(points.find((p) => p.blobs[1] === spanId(106)), layout);
  assert.equal(charge.service_name, "payments");
  assert.equal(charge.trace_id, traceId(1));
  assert.equal(charge.parent_span_id, spanId(105));
  assert.equal(charge.operation, "POST /charge");
  assert.equal(charge.span_kind, "server");
  assert.equal(charge.status_code, "error");
  assert.equal(charge.exception_type, "CardDeclined");
  assert.equal(charge.environment, "production");
  assert.equal(charge.duration_ms, 55);
  assert.equal(charge.is_error, 1);
  assert.equal(charge.is_entry, 1);
  const db = named(points.find((p) => p.blobs[1] === spanId(104)), layout);
  assert.equal(db.callee, "orders-db");
  assert.equal(db.db_system, "postgresql");
  const root = named(points.find((p) => p.blobs[1] === spanId(101)), layout);
  assert.equal(root.http_status_code, 200);
  assert.equal(root.is_root, 1);
  assert.ok(Math.abs(root.start_time_ms - Number(BASE_NS) / 1e6) < 1e-3, String(root.start_time_ms));
});

test("sending the same batch again stores nothing twice and writes no new points", async () => {
  const t = checkoutTrace(2);
  const body = json(request(t));
  assert.equal((await c.ingest(body)).status, 200);
  await c.waitForPoints(12);
  const before = c.points.length;
  assert.equal((await c.ingest(body)).status, 200);
  assert.equal((await c.ingest(gzip(body), { "content-encoding": "gzip" })).status, 200);
  await c.waitForPoints(before + 1, { timeoutMs: 500 });
  assert.equal(c.points.length, before);
  const { body: trace } = await c.api(`/api/traces/${traceId(2)}`);
  assert.equal(trace.spanCount, 6);
  assert.equal(trace.spans.length, 6);
  const deps = (await c.db.prepare("SELECT callee_service, call_count FROM service_dependencies WHERE caller_service = 'gateway'").all()).results;
  assert.deepEqual(deps, [{ callee_service: "checkout", call_count: 2 }]);
});

test("search filters by service, operation, status, duration, time and attributes", async () => {
  const ok = { edge: [span({ trace: 3, id: 301, name: "GET /fast", kind: 2, startMs: 5000, durationMs: 5, attributes: { "customer.tier": "silver", "http.response.status_code": 200 } })] };
  assert.equal((await c.ingest(json(request(ok)))).status, 200);
  const ids = async (query) => {
    const { status, body } = await c.api(`/api/traces?${query}`);
    assert.equal(status, 200, query);
    return body.traces.map((t) => t.traceId).sort();
  };
  const [t1, t2, t3] = [traceId(1), traceId(2), traceId(3)];
  assert.deepEqual(await ids(""), [t1, t2, t3]);
  assert.deepEqual(await ids("service=edge"), [t3]);
  assert.deepEqual(await ids("service=payments"), [t1, t2]);
  assert.deepEqual(await ids("operation=charge"), [t1, t2]);
  assert.deepEqual(await ids("operation=FAST"), [t3]);
  assert.deepEqual(await ids("status=error"), [t1, t2]);
  assert.deepEqual(await ids("status=ok"), [t3]);
  assert.deepEqual(await ids("minDuration=100"), [t1, t2]);
  assert.deepEqual(await ids("maxDuration=10"), [t3]);
  const startMs = Number(BASE_NS / 1_000_000n);
  assert.deepEqual(await ids(`start=${startMs + 1000}`), [t3]);
  assert.deepEqual(await ids(`end=${new Date(startMs + 1000).toISOString()}`), [t1, t2]);
  assert.deepEqual(await ids("attr.customer.tier=gold"), [t1, t2]);
  assert.deepEqual(await ids("attr.http.response.status_code=200"), [t1, t2, t3]);
  assert.deepEqual(await ids("attr.service.version=1.0.0&service=edge"), [t3]);
  assert.deepEqual(await ids("limit=1"), [t3]);
  const { body } = await c.api("/api/traces?service=edge");
  assert.equal(body.traces[0].rootOperation, "GET /fast");
  assert.equal(body.traces[0].durationMs, 5);
  for (const bad of ["status=maybe", "limit=0", "minDuration=x", "start=soon"]) {
    const res = await c.api(`/api/traces?${bad}`);
    assert.equal(res.status, 400, bad);
    assert.equal(res.body.error.code, "bad_request");
  }
});

test("unknown and malformed trace ids are 404 and 400", async () => {
  assert.equal((await c.api(`/api/traces/${traceId(999)}`)).status, 404);
  const bad = await c.api("/api/traces/not-hex");
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /traceId/);
});

test("spans with invalid ids are rejected in partialSuccess and the rest stored", async () => {
  const good = span({ trace: 4, id: 401, name: "kept" });
  const badId = { ...span({ trace: 4, id: 402, name: "short id" }), spanId: "abcd" };
  const res = await c.ingest(json(request({ edge: [good, badId] })));
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.partialSuccess.rejectedSpans, "1");
  assert.match(body.partialSuccess.errorMessage, /span id must be 8 bytes/);
  assert.equal((await c.api(`/api/traces/${traceId(4)}`)).body.spanCount, 1);
});

test("bad input gets a clear 4xx and leaves earlier data intact", async () => {
  const cases = [
    ["malformed JSON", "{not json", { "content-type": "application/json" }, 400, /invalid OTLP\/JSON/],
    ["malformed protobuf", Buffer.from([0x0a, 0xff, 0xff]), { "content-type": "application/x-protobuf" }, 400, null],
    ["corrupt gzip", Buffer.from("not gzip"), { "content-type": "application/json", "content-encoding": "gzip" }, 400, /gzip/],
    ["unsupported media type", "x", { "content-type": "text/plain" }, 415, /unsupported content type/],
    ["unsupported encoding", "x", { "content-type": "application/json", "content-encoding": "br" }, 415, /content encoding/],
    ["gzip bomb", gzip("{" + " ".repeat(12 * 1024 * 1024) + "}"), { "content-type": "application/json", "content-encoding": "gzip" }, 413, /after decompression/],
  ];
  for (const [name, body, headers, status, message] of cases) {
    const res = await c.request("/v1/traces", { method: "POST", body, token: INGEST_TOKEN, headers });
    assert.equal(res.status, status, name);
    if (message) assert.match((await res.json()).error.message, message, name);
    else {
      assert.equal(res.headers.get("content-type"), "application/x-protobuf", name);
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.deepEqual([...bytes.slice(0, 2)], [0x08, 3], `${name}: google.rpc.Status INVALID_ARGUMENT`);
    }
  }
  const { status, body } = await c.api(`/api/traces/${traceId(1)}`);
  assert.equal(status, 200);
  assert.equal(body.spanCount, 6);
});

test("a batch of more than 250 spans writes every Analytics Engine point across invocations", async () => {
  const spans = Array.from({ length: 600 }, (_, i) => span({ trace: 5, id: 1000 + i, parent: i ? 1000 : undefined, name: `op ${i}` }));
  const already = c.points.length;
  const res = await c.ingest(json(request({ bulk: spans })));
  assert.equal(res.status, 200);
  const points = await c.waitForPoints(already + 600);
  const mine = points.filter((p) => p.blobs[0] === traceId(5));
  assert.equal(mine.length, 600);
  assert.equal(new Set(mine.map((p) => p.blobs[1])).size, 600);
  assert.equal((await c.api(`/api/traces/${traceId(5)}`)).body.spanCount, 600);
});

test("the hand-over route takes the worker's own token only, writes points as writeDataPoint takes them, reads the previous version's form, and refuses what breaks a limit", async () => {
  const post = (body, token = INTERNAL_TOKEN) => c.request("/internal/analytics-engine/points", { method: "POST", token, body: JSON.stringify(body) });
  const already = c.points.length;
  const current = { indexes: ["handover-current"], blobs: ["a", "b"], doubles: [1.5] };
  for (const [token, status] of [[INGEST_TOKEN, 403], [API_TOKEN, 403], ["guess", 401], [null, 401]]) {
    const res = await post({ binding: "AE_TRACES", points: [current] }, token);
    assert.equal(res.status, status, `with ${token}`);
  }
  const previous = { index: "handover-previous", blobs: ["c"], doubles: [2] };
  assert.equal((await post({ binding: "AE_TRACES", points: [current] })).status, 204);
  assert.equal((await post({ binding: "AE_TRACES", points: [previous] })).status, 204);
  const points = (await c.waitForPoints(already + 2)).slice(already);
  const written = (index) => points.find((p) => p.indexes[0] === index);
  assert.deepEqual(written("handover-current"), { dataset: "distributed_traces", ...current });
  assert.deepEqual(written("handover-previous"), { dataset: "distributed_traces", indexes: ["handover-previous"], blobs: ["c"], doubles: [2] });
  for (const body of [
    { binding: "AE_TRACES", points: [{ indexes: ["x".repeat(97)], blobs: [], doubles: [] }] },
    { binding: "AE_TRACES", points: [{ indexes: ["a", "b"], blobs: [], doubles: [] }] },
    { binding: "AE_TRACES", points: Array.from({ length: 251 }, () => current) },
    { binding: "NOT_A_BINDING", points: [current] },
  ]) {
    const res = await post(body);
    assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
    assert.match((await res.json()).error.message, /./);
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(c.points.length, already + 2, "nothing of a refused hand-over written");
  // A 204 with an empty (not null) body makes workerd warn on every hand-over: under a
  // debugger (wrangler dev) that is one console message per request.
  assert.doesNotMatch(c.runtimeLog.map((l) => l.message).join("\n"), /null body status/);
});

test("an ingest request costs two D1 round trips (read the trace records, one guarded write), whatever its size", async () => {
  for (const [trace, count] of [[6, 10], [7, 500]]) {
    const spans = Array.from({ length: count }, (_, i) => span({ trace, id: 5000 + i, parent: i ? 5000 : undefined, name: `op ${i}`, attributes: { "http.route": "/x".repeat(50) } }));
    const before = c.d1RoundTrips.length;
    assert.equal((await c.ingest(json(request({ bulk: spans })))).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    const trips = c.d1RoundTrips.slice(before);
    assert.deepEqual(trips.map((t) => t.kind), ["batch", "batch"], JSON.stringify(trips));
  }
});

test("trace metadata and dependencies converge whatever order and batching spans arrive in", async () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const outcomes = new Set();
  const edges = async () => Object.fromEntries((await c.db.prepare("SELECT caller_service, callee_service, call_count FROM service_dependencies").all())
    .results.map((e) => [`${e.caller_service} → ${e.callee_service}`, e.call_count]));
  const before = await edges();
  for (let round = 0; round < 8; round++) {
    const trace = 40 + round;
    const spans = Object.entries(checkoutTrace(trace)).flatMap(([service, list]) => list.map((s) => [service, s]));
    spans.sort(() => random() - 0.5);
    const cut = 1 + Math.floor(random() * (spans.length - 1));
    for (const part of [spans.slice(0, cut), spans.slice(cut), spans]) {
      const byService = {};
      for (const [service, s] of part) (byService[service] ??= []).push(s);
      assert.equal((await c.ingest(json(request(byService)))).status, 200);
    }
    const { body } = await c.api(`/api/traces/${traceId(trace)}`);
    const rootOffset = BigInt(body.startTimeUnixNano) - BigInt(body.spans[0].startTimeUnixNano);
    const rootIndex = parseInt(body.rootSpanId, 16) - parseInt(spanId(trace * 100), 16);
    outcomes.add(JSON.stringify([rootIndex, body.rootService, body.hasRoot, body.spanCount, body.errorCount, body.durationMs, String(rootOffset), [...body.services].sort()]));
  }
  assert.equal(outcomes.size, 1, [...outcomes].join("\n"));
  const [rootIndex, rootService, hasRoot, spanCount, errorCount, durationMs] = JSON.parse([...outcomes][0]);
  assert.deepEqual([rootIndex, rootService, hasRoot, spanCount, errorCount, durationMs], [1, "gateway", true, 6, 1, 120]);
  // Each trace's three calls counted once, whatever the order: 8 traces, 8 calls per edge.
  const after = await edges();
  const added = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]).filter(([, n]) => n !== 0));
  assert.deepEqual(added, { "checkout → orders-db": 8, "checkout → payments": 8, "gateway → checkout": 8 });
});

test("a trace stored before the span blocks (the D1-only `spans` table) is still served: detail, search and Jaeger", async () => {
  const trace = traceId(9100);
  const startNs = BASE_NS + 5_000_000_000n;
  const insert = c.db.prepare(`INSERT INTO spans (trace_id, span_id, parent_span_id, service_name, name, kind, start_ns, end_ns,
    start_ms, duration_ms, status_code, attributes, events, resource, ingested_at_ms) VALUES (?, ?, ?, 'legacy-svc', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`);
  const row = (id, parent, name, kind, offsetMs, status, attributes, events) => {
    const start = startNs + BigInt(offsetMs) * 1_000_000n;
    return insert.bind(trace, spanId(id), parent ? spanId(parent) : "", name, kind, String(start).padStart(20, "0"),
      String(start + 7_000_000n).padStart(20, "0"), Number(start / 1_000_000n), 7, status, attributes, events,
      JSON.stringify({ "service.name": "legacy-svc", "host.name": "old-box" }));
  };
  await c.db.batch([
    row(1, null, "GET /old", 2, 0, 1, JSON.stringify({ "http.route": "/old", "http.response.status_code": 200 }), "[]"),
    row(2, 1, "SELECT", 3, 1, 2, JSON.stringify({ "db.system": "d1" }),
      JSON.stringify([{ timeUnixNano: String(startNs + 2_000_000n), name: "exception", attributes: { "exception.message": "gone" }, droppedAttributesCount: 0 }])),
  ]);

  const { status, body } = await c.api(`/api/traces/${trace}`);
  assert.equal(status, 200);
  assert.equal(body.spanCount, 2);
  assert.deepEqual(body.spans.map((s) => [s.spanId, s.name, s.status.code]), [[spanId(1), "GET /old", "ok"], [spanId(2), "SELECT", "error"]]);
  assert.deepEqual(body.spans[0].attributes, { "http.route": "/old", "http.response.status_code": 200 });
  assert.equal(body.spans[1].events[0].attributes["exception.message"], "gone");
  assert.deepEqual(body.spans[0].resource, { "service.name": "legacy-svc", "host.name": "old-box" });

  const found = await c.api("/api/traces?service=legacy-svc&attr.db.system=d1");
  assert.deepEqual(found.body.traces.map((t) => t.traceId), [trace]);

  const jaeger = await c.api(`/jaeger/api/traces/${trace}`);
  const spans = jaeger.body.data[0].spans;
  assert.deepEqual(spans.map((s) => s.operationName).sort(), ["GET /old", "SELECT"]);
  const select = spans.find((s) => s.operationName === "SELECT");
  assert.ok(select.tags.some((t) => t.key === "db.system" && t.value === "d1"));
  assert.equal(select.logs[0].fields.find((f) => f.key === "exception.message").value, "gone");
});
