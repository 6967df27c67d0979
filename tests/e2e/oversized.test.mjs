// Oversized fields on every signal (issue 15): a 1.5 MiB string in each
// field kind a client controls — attribute keys and values, resource
// attributes, scope names, span and metric names, log bodies, metric
// descriptions and units — is answered 2xx with the item rejected in
// `partialSuccess` or 4xx, never a 5xx or a hung worker; the export's other
// items are stored, and the next normal export is stored and read back.
// A field the collector keeps only a bounded prefix of (a metric's scope
// name, an Analytics Engine blob of 256 bytes) or does not keep at all (a
// metric resource's other attributes) may be accepted whole.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCollector, INGEST_TOKEN } from "./harness.mjs";
import { span, request, json, traceId, attrs } from "./otlp.mjs";

const HUGE = "x".repeat(1.5 * 1024 * 1024);
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

let c;
before(async () => { c = await startCollector(); });
after(async () => { await c?.stop(); });

const post = (path, body) =>
  c.request(path, { method: "POST", body: JSON.stringify(body), token: INGEST_TOKEN, headers: { "content-type": "application/json" } });

/** The answer is a clean refusal or a partial success: never a 5xx. */
async function refusedCleanly(res, what) {
  const text = await res.text();
  assert.ok(res.status < 500, `${what}: ${res.status} ${text.slice(0, 300)}`);
  if (res.status >= 400) {
    assert.ok(text.length > 0 && text.length < 4096, `${what}: a short message, got ${text.length} bytes`);
    return { status: res.status };
  }
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** The cases every signal shares: its name or body field, attribute keys and values, resource and scope. */
const huge = (signal, field, options) => [
  [`${signal} ${field}`, options],
  [`${signal} attribute key`, { attrKey: HUGE }],
  [`${signal} attribute value`, { attrValue: HUGE }],
  ["resource attribute value", { resourceValue: HUGE }],
  ["scope name", { scopeName: HUGE }],
];

// --- traces -----------------------------------------------------------------

function traceExport(n, { spanName = "ok", attrKey = "k", attrValue = "v", resourceValue = "r", scopeName = "lib" } = {}) {
  const big = span({ trace: n, id: 1, name: spanName, attributes: { [attrKey]: attrValue } });
  const fine = span({ trace: n + 1, id: 2, name: "fine" });
  const body = request({ svc: [big], other: [fine] });
  body.resourceSpans[0].resource.attributes.push(...attrs({ "deployment.note": resourceValue }));
  body.resourceSpans[0].scopeSpans[0].scope = { name: scopeName };
  return body;
}

for (const [field, options] of huge("span", "name", { spanName: HUGE })) {
  test(`traces: a 1.5 MiB ${field} is refused cleanly and a normal export then reads back`, async () => {
    const n = 40_000 + Math.floor(Math.random() * 1e6) * 2;
    const answer = await refusedCleanly(await post("/v1/traces", traceExport(n, options)), field);
    if (answer.status === 200) {
      assert.ok(answer.body.partialSuccess?.rejectedSpans >= 1, `${field}: rejected in partialSuccess`);
      assert.equal((await c.api(`/api/traces/${traceId(n + 1)}`)).body.spans[0].name, "fine", "the export's other span stored");
    }
    const next = n + 10_000_000;
    assert.equal((await post("/v1/traces", traceExport(next))).status, 200);
    const { status, body } = await c.api(`/api/traces/${traceId(next)}`);
    assert.equal(status, 200);
    assert.equal(body.spans[0].name, "ok");
  });
}

// --- logs -------------------------------------------------------------------

function logExport(tag, { body = "fine", attrKey = "k", attrValue = "v", resourceValue = "r", scopeName = "lib" } = {}) {
  return {
    resourceLogs: [{
      resource: { attributes: attrs({ "service.name": `logs-${tag}`, "deployment.note": resourceValue }) },
      scopeLogs: [{
        scope: { name: scopeName },
        logRecords: [{ timeUnixNano: String(nowNs()), severityNumber: 9, body: { stringValue: body }, attributes: attrs({ [attrKey]: attrValue }) }],
      }],
    }, {
      resource: { attributes: attrs({ "service.name": `logs-${tag}` }) },
      scopeLogs: [{ logRecords: [{ timeUnixNano: String(nowNs()), severityNumber: 9, body: { stringValue: `second ${tag}` } }] }],
    }],
  };
}

for (const [field, options] of huge("log", "body", { body: HUGE })) {
  test(`logs: a 1.5 MiB ${field} is refused cleanly and a normal export then reads back`, async () => {
    const tag = `${field.replaceAll(" ", "-")}-${Date.now()}`;
    const answer = await refusedCleanly(await post("/v1/logs", logExport(tag, options)), field);
    if (answer.status === 200) {
      assert.ok(answer.body.partialSuccess?.rejectedLogRecords >= 1, `${field}: rejected in partialSuccess`);
      const stored = (await c.api(`/api/logs?service=logs-${tag}`)).body.logs.map((l) => l.body);
      assert.ok(stored.includes(`second ${tag}`), `the export's other record stored: ${JSON.stringify(stored).slice(0, 200)}`);
    }
    assert.equal((await post("/v1/logs", logExport(`${tag}-next`))).status, 200);
    const { body } = await c.api(`/api/logs?service=logs-${tag}-next`);
    assert.equal(body.logs.length, 2);
  });
}

// --- metrics ----------------------------------------------------------------

function metricExport(tag, { name = "requests", description = "d", unit = "1", attrKey = "k", attrValue = "v", resourceValue = "r", scopeName = "lib" } = {}) {
  const point = (value, attributes) => ({ timeUnixNano: String(nowNs()), asDouble: value, attributes });
  return {
    resourceMetrics: [{
      resource: { attributes: attrs({ "service.name": `metrics-${tag}`, "deployment.note": resourceValue }) },
      scopeMetrics: [{
        scope: { name: scopeName },
        metrics: [{ name, description, unit, gauge: { dataPoints: [point(1, attrs({ [attrKey]: attrValue }))] } }],
      }],
    }, {
      resource: { attributes: attrs({ "service.name": `metrics-${tag}` }) },
      scopeMetrics: [{ metrics: [{ name: "other", gauge: { dataPoints: [point(2, [])] } }] }],
    }],
  };
}

for (const [field, options, acceptedWhole] of [
  ["metric name", { name: HUGE }],
  ["metric description", { description: HUGE }],
  ["metric unit", { unit: HUGE }],
  ["data point attribute key", { attrKey: HUGE }],
  ["data point attribute value", { attrValue: HUGE }],
  ["resource attribute value", { resourceValue: HUGE }, "not kept"],
  ["scope name", { scopeName: HUGE }, "kept as a 256-byte Analytics Engine blob"],
]) {
  test(`metrics: a 1.5 MiB ${field} is refused cleanly and a normal export then reads back`, async () => {
    const tag = `${field.replaceAll(" ", "-")}-${Date.now()}`;
    const answer = await refusedCleanly(await post("/v1/metrics", metricExport(tag, options)), field);
    if (answer.status === 200 && answer.body.partialSuccess?.rejectedDataPoints) {
      const { body } = await c.api(`/api/metrics?service=metrics-${tag}`);
      assert.ok(body.metrics.some((m) => m.name === "other"), "the export's other metric stored");
    } else if (answer.status === 200) {
      assert.ok(acceptedWhole, `${field}: rejected in partialSuccess`);
      const { body } = await c.api(`/api/metrics?service=metrics-${tag}`);
      assert.deepEqual(body.metrics.map((m) => m.name).sort(), ["other", "requests"], `${field} (${acceptedWhole}): stored whole`);
      await c.waitForPoints(c.points.length);
      const points = c.points.filter((p) => p.blobs.includes(`metrics-${tag}`));
      assert.equal(points.length, 2, "an Analytics Engine point per data point");
      assert.ok(points.every((p) => p.blobs.every((b) => String(b).length <= 256)), "Analytics Engine blobs stay bounded");
    }
    assert.equal((await post("/v1/metrics", metricExport(`${tag}-next`))).status, 200);
    const { body } = await c.api(`/api/metrics?service=metrics-${tag}-next`);
    assert.deepEqual(body.metrics.map((m) => m.name).sort(), ["other", "requests"]);
  });
}
