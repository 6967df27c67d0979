// Metrics end to end: the stock OpenTelemetry JS metrics SDK and exporters
// (OTLP/HTTP protobuf with cumulative temporality, JSON + gzip with delta)
// export a counter, an up-down counter, a histogram and a gauge; the values
// the client produced read back through GET /api/metrics/query; retries
// count nothing twice; series past the cardinality cap are refused in
// partialSuccess; Analytics Engine gets one worker_metrics point per new
// point (beyond 250 through the hand-over); steady exports cost ≤ 0.5 D1
// rows per point; span.* metrics answer from the RED roll-ups; the cron
// trigger prunes past METRIC_RETENTION_DAYS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  MeterProvider, PeriodicExportingMetricReader, AggregationTemporality,
} from "@opentelemetry/sdk-metrics";
import { OTLPMetricExporter as ProtoExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPMetricExporter as JsonExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { startCollector, INGEST_TOKEN } from "./harness.mjs";
import { attrs, request as spanRequest, span, json } from "./otlp.mjs";

const PER_METRIC_CAP = 40;
let c;
before(async () => {
  c = await startCollector({ vars: { METRIC_MAX_SERIES_PER_METRIC: String(PER_METRIC_CAP), METRIC_RETENTION_DAYS: "15" } });
});
after(async () => { await c?.stop(); });

const testStart = Date.now();

function meterProvider(service, Exporter, options = {}) {
  const exporter = new Exporter({ url: `${c.url}/v1/metrics`, headers: { authorization: `Bearer ${INGEST_TOKEN}` }, ...options });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": service, "service.version": "2.0.0", "deployment.environment.name": "prod" }),
    readers: [reader],
  });
  return provider;
}

const query = async (params) => {
  const res = await c.api(`/api/metrics/query?${new URLSearchParams(params)}`);
  return res;
};

/** One step covering the whole test so far (and a minute ahead). */
const wholeTest = () => ({ start: String(testStart - 120_000), end: String(Date.now() + 60_000), step: "1h" });

const value = async (params) => {
  const res = await query({ ...wholeTest(), ...params });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const values = res.body.result.points.map((p) => p.value).filter((v) => v !== null);
  assert.equal(values.length, 1, JSON.stringify(res.body));
  return values[0];
};

/** Prometheus-style interpolation inside the bucket holding the quantile. */
function expectedQuantile(bounds, values, q) {
  const counts = new Array(bounds.length + 1).fill(0);
  for (const v of values) counts[bounds.findIndex((b) => v <= b) === -1 ? bounds.length : bounds.findIndex((b) => v <= b)]++;
  const rank = q * values.length;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] > 0 && seen + counts[i] >= rank) {
      const upper = bounds[i];
      const lower = i === 0 ? Math.min(upper, 0) : bounds[i - 1];
      return lower + (upper - lower) * ((rank - seen) / counts[i]);
    }
    seen += counts[i];
  }
  return bounds.at(-1);
}

test("counter, up-down counter, histogram and gauge from the OpenTelemetry JS SDK read back as produced", async () => {
  const provider = meterProvider("checkout", ProtoExporter);
  const meter = provider.getMeter("shop");
  const requests = meter.createCounter("http.server.requests", { description: "Requests served", unit: "{request}" });
  const queue = meter.createUpDownCounter("queue.depth", { description: "Jobs waiting" });
  const boundaries = [0, 5, 10, 25, 50, 75, 100, 250, 500, 1000];
  const duration = meter.createHistogram("http.server.duration", { unit: "ms", advice: { explicitBucketBoundaries: boundaries } });
  const memory = meter.createGauge("memory.used", { unit: "By" });
  const durations = [3, 7, 12, 18, 30, 45, 60, 80, 95, 120, 180, 240, 400, 700, 9];

  requests.add(5, { route: "/a" });
  requests.add(7, { route: "/a" });
  requests.add(3, { route: "/b" });
  queue.add(10);
  queue.add(-4);
  durations.slice(0, 10).forEach((d) => duration.record(d, { route: "/a" }));
  memory.record(512);
  await provider.forceFlush();
  // The second export: cumulative points carry the totals so far.
  await new Promise((r) => setTimeout(r, 5));
  requests.add(10, { route: "/a" });
  queue.add(-1);
  durations.slice(10).forEach((d) => duration.record(d, { route: "/a" }));
  memory.record(1024);
  await provider.forceFlush();
  await provider.shutdown();

  const list = await c.api("/api/metrics?service=checkout");
  assert.equal(list.status, 200);
  const byName = Object.fromEntries(list.body.metrics.map((m) => [m.name, m]));
  assert.deepEqual(
    [byName["http.server.requests"].type, byName["http.server.requests"].temporality, byName["http.server.requests"].monotonic],
    ["sum", "cumulative", true],
  );
  assert.equal(byName["http.server.requests"].unit, "{request}");
  assert.equal(byName["http.server.requests"].description, "Requests served");
  assert.equal(byName["http.server.requests"].series, 2);
  assert.equal(byName["queue.depth"].monotonic, false);
  assert.equal(byName["http.server.duration"].type, "histogram");
  assert.equal(byName["memory.used"].type, "gauge");
  assert.ok(list.body.spanMetrics.includes("span.duration.p99"));

  // Counter: 5 + 7 + 3 + 10 counted once, though the second export repeats the totals.
  assert.equal(await value({ name: "http.server.requests", service: "checkout", aggregation: "sum" }), 25);
  assert.equal(await value({ name: "http.server.requests", service: "checkout", aggregation: "sum", "attr.route": "/a" }), 22);
  assert.equal(await value({ name: "http.server.requests", service: "checkout", aggregation: "last" }), 25);
  const rate = await query({ ...wholeTest(), name: "http.server.requests", service: "checkout" });
  assert.equal(rate.body.result.aggregation, "rate", "counters default to rate");
  assert.equal(rate.body.result.points.find((p) => p.value !== null).value, 25 / rate.body.step);
  // Up-down counter: a level.
  assert.equal(await value({ name: "queue.depth", service: "checkout", aggregation: "last" }), 5);
  assert.equal(await value({ name: "queue.depth", service: "checkout", aggregation: "max" }), 6);
  const refused = await query({ name: "queue.depth", aggregation: "rate" });
  assert.equal(refused.status, 400);
  assert.match(refused.body.error.message, /rate needs a counter/);
  // Histogram: exact count, sum and mean; quantiles interpolated in the buckets the client used.
  assert.equal(await value({ name: "http.server.duration", service: "checkout", aggregation: "count" }), durations.length);
  const total = durations.reduce((a, b) => a + b, 0);
  assert.equal(await value({ name: "http.server.duration", service: "checkout", aggregation: "sum" }), total);
  assert.equal(await value({ name: "http.server.duration", service: "checkout", aggregation: "avg" }), total / durations.length);
  assert.equal(await value({ name: "http.server.duration", service: "checkout", aggregation: "max" }), 700);
  assert.equal(await value({ name: "http.server.duration", service: "checkout", aggregation: "min" }), 3);
  for (const q of [0.5, 0.9, 0.95, 0.99]) {
    const got = await value({ name: "http.server.duration", service: "checkout", aggregation: `p${Math.round(q * 100)}` });
    assert.ok(Math.abs(got - expectedQuantile(boundaries, durations, q)) < 1e-9, `p${q * 100}: ${got}`);
  }
  // Gauge: 512 in the first export, 1024 in the second and in the one shutdown() makes.
  const exports = await value({ name: "memory.used", service: "checkout", aggregation: "count" });
  assert.equal(exports, 3);
  assert.equal(await value({ name: "memory.used", service: "checkout", aggregation: "last" }), 1024);
  assert.equal(await value({ name: "memory.used", service: "checkout", aggregation: "min" }), 512);
  assert.equal(await value({ name: "memory.used", service: "checkout", aggregation: "avg" }), (512 + 2 * 1024) / 3);
});

test("alert rules on OTLP metrics fire from the same roll-ups", async () => {
  const created = await c.send("POST", "/api/alerts/configs", {
    name: "queue backing up", serviceId: "checkout", metricName: "queue.depth",
    aggregation: "last", condition: "gt", threshold: 3, windowSeconds: 3600, severity: "warning",
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const report = await c.send("POST", "/api/alerts/evaluate");
  assert.equal(report.status, 200);
  const change = report.body.changes.find((ch) => ch.ruleId === created.body.id);
  assert.deepEqual([change.serviceId, change.transition, change.value], ["checkout", "fired", 5]);
  const incidents = await c.api("/api/alerts/incidents?state=firing");
  assert.equal(incidents.body.incidents.filter((i) => i.ruleId === created.body.id).length, 1);
  // A rule on a metric nobody sends has no data.
  const silent = await c.send("POST", "/api/alerts/configs", {
    name: "silent", serviceId: "checkout", metricName: "never.sent", condition: "gt", threshold: 1, windowSeconds: 300,
  });
  const again = await c.send("POST", "/api/alerts/evaluate");
  assert.equal(again.body.changes.find((ch) => ch.ruleId === silent.body.id).transition, "nodata");
  for (const id of [created.body.id, silent.body.id]) assert.equal((await c.send("DELETE", `/api/alerts/configs/${id}`)).status, 204);
});

test("delta temporality over OTLP/JSON with gzip adds up", async () => {
  const provider = meterProvider("payments", JsonExporter, {
    compression: "gzip",
    temporalityPreference: AggregationTemporality.DELTA,
  });
  const meter = provider.getMeter("payments");
  const charges = meter.createCounter("charges");
  const amounts = meter.createHistogram("charge.amount", { advice: { explicitBucketBoundaries: [10, 100, 1000] } });
  charges.add(4);
  amounts.record(50);
  await provider.forceFlush();
  charges.add(6);
  amounts.record(500);
  amounts.record(5);
  await provider.forceFlush();
  await provider.shutdown();

  const list = await c.api("/api/metrics?service=payments");
  assert.equal(list.body.metrics.find((m) => m.name === "charges").temporality, "delta");
  assert.equal(await value({ name: "charges", service: "payments", aggregation: "sum" }), 10);
  assert.equal(await value({ name: "charge.amount", service: "payments", aggregation: "count" }), 3);
  assert.equal(await value({ name: "charge.amount", service: "payments", aggregation: "sum" }), 555);
  assert.equal(await value({ name: "charge.amount", service: "payments", aggregation: "p50" }), 100 * 0.5 + 10 * 0.5);
});

/** An OTLP/JSON metrics body with one gauge point per (series, value). */
function gaugeBody(service, name, points) {
  return {
    resourceMetrics: [{
      resource: { attributes: attrs({ "service.name": service }) },
      scopeMetrics: [{
        scope: { name: "e2e" },
        metrics: [{
          name,
          unit: "1",
          gauge: {
            dataPoints: points.map(({ attributes = {}, value, timeMs }) => ({
              attributes: attrs(attributes),
              timeUnixNano: String(BigInt(timeMs) * 1_000_000n),
              asDouble: value,
            })),
          },
        }],
      }],
    }],
  };
}

const postMetrics = (body, headers = {}) =>
  c.request("/v1/metrics", { method: "POST", token: INGEST_TOKEN, body: json(body), headers: { "content-type": "application/json", ...headers } });

const metricPoints = () => c.points.filter((p) => p.dataset === "worker_metrics");

/** The latest millisecond not after `ms` that `nanos as f64 / 1e6` would not give back
 * exactly (one in four today): the time conversion is checked on a known-bad value
 * every run instead of on whatever the clock gives. */
function inexactMs(ms) {
  while (Number(BigInt(ms) * 1_000_000n) / 1e6 === ms) ms--;
  return ms;
}

test("retried exports count nothing twice and write no second Analytics Engine point", async () => {
  const now = inexactMs(Date.now());
  const body = gaugeBody("inventory", "stock.level", [{ value: 7, timeMs: now - 1000 }, { value: 9, timeMs: now }]);
  const stock = () => metricPoints().filter((p) => p.blobs[0] === "stock.level").length;
  const expected = c.points.length + 2;
  assert.equal((await postMetrics(body)).status, 200);
  await c.waitForPoints(expected);
  assert.equal((await postMetrics(body)).status, 200);
  await c.waitForPoints(0, { settleMs: 500 });
  assert.equal(stock(), 2, "one point each, though the export was sent twice");
  assert.equal(await value({ name: "stock.level", service: "inventory", aggregation: "count" }), 2);
  assert.equal(await value({ name: "stock.level", service: "inventory", aggregation: "sum" }), 16);

  const point = metricPoints().find((p) => p.blobs[0] === "stock.level" && p.doubles[0] === 9);
  assert.deepEqual(point.indexes, ["inventory"]);
  assert.deepEqual(point.blobs.slice(0, 5), ["stock.level", "inventory", "gauge", "", "1"]);
  assert.match(point.blobs[5], /^[0-9a-f]{32}$/);
  assert.equal(point.blobs[6], "{}");
  assert.deepEqual(point.doubles.slice(0, 5), [9, 0, 9, 9, now]);
});

test("series past the per-metric cap are refused in partialSuccess; known series go on", async () => {
  const now = Date.now();
  const series = (n, value) => Array.from({ length: n }, (_, i) => ({ attributes: { user: `u${i}` }, value, timeMs: now }));
  const res = await postMetrics(gaugeBody("bomb", "cardinality.bomb", series(PER_METRIC_CAP + 10, 1)));
  assert.equal(res.status, 200);
  const answer = await res.json();
  assert.equal(answer.partialSuccess.rejectedDataPoints, "10");
  assert.match(answer.partialSuccess.errorMessage, /series limit/);
  const later = gaugeBody("bomb", "cardinality.bomb", series(PER_METRIC_CAP, 2).map((p) => ({ ...p, timeMs: now + 1000 })));
  const again = await postMetrics(later);
  assert.deepEqual(await again.json(), {}, "the series that got in keep being accepted");
  const stored = await c.db.prepare("SELECT count(*) AS n FROM metric_series WHERE metric_name = 'cardinality.bomb'").first();
  assert.equal(stored.n, PER_METRIC_CAP);
});

test("an export of more than 250 points writes every Analytics Engine point", async () => {
  const now = Date.now();
  const points = Array.from({ length: 300 }, (_, i) => ({ attributes: { shard: `s${i % 20}` }, value: i, timeMs: now - i }));
  const bulk = () => metricPoints().filter((p) => p.blobs[0] === "bulk.gauge").length;
  const expected = c.points.length + 300;
  assert.equal((await postMetrics(gaugeBody("bulk", "bulk.gauge", points))).status, 200);
  await c.waitForPoints(expected);
  assert.equal(bulk(), 300);
  assert.equal(await value({ name: "bulk.gauge", service: "bulk", aggregation: "count" }), 300);
});

test("span metrics answer from the RED roll-ups under the same API", async () => {
  const now = Date.now();
  const startMs = now - Number(1_763_900_000_123_456_789n / 1_000_000n);
  const spans = Array.from({ length: 6 }, (_, i) =>
    span({ trace: 900 + i, id: 9000 + i, name: "GET /cart", kind: 2, startMs, durationMs: 40, error: i < 2 }));
  assert.equal((await c.ingest(json(spanRequest({ cart: spans })))).status, 200);
  assert.equal(await value({ name: "span.count", service: "cart", aggregation: "sum" }), 6);
  assert.equal(await value({ name: "span.error_count", service: "cart", aggregation: "sum", operation: "GET /cart" }), 2);
  const rate = await value({ name: "span.error_rate", service: "cart", aggregation: "avg" });
  assert.ok(Math.abs(rate - 2 / 6) < 1e-12, String(rate));
  assert.equal((await query({ name: "span.count" })).status, 400, "span metrics need a service");
  assert.equal((await query({ name: "span.count", service: "cart", aggregation: "p99" })).status, 400);
});

test("a metric export costs one D1 round trip, whatever its size", async () => {
  for (const count of [5, 400]) {
    const now = Date.now();
    const points = Array.from({ length: count }, (_, i) => ({ attributes: { shard: `t${i % 30}` }, value: i, timeMs: now - i }));
    const before = c.d1RoundTrips.length;
    assert.equal((await postMetrics(gaugeBody("trips", `trips.${count}`, points))).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    const trips = c.d1RoundTrips.slice(before);
    assert.equal(trips.length, 1, JSON.stringify(trips));
    assert.equal(trips[0].kind, "batch");
  }
});

test("steady SDK exports cost at most 0.5 D1 rows written per data point, and few bytes", async () => {
  const provider = meterProvider("billing", ProtoExporter);
  const meter = provider.getMeter("billing");
  const requests = meter.createCounter("billing.requests");
  const duration = meter.createHistogram("billing.duration", { unit: "ms" });
  const inflight = meter.createUpDownCounter("billing.inflight");
  const routes = ["/pay", "/refund", "/invoice", "/status"];
  const record = (i) => {
    for (const route of routes) {
      for (const status of ["200", "500"]) requests.add(1 + i, { route, status });
      duration.record(10 + i, { route });
    }
    inflight.add(1);
  };
  const billed = async (exports) => {
    const from = c.d1RoundTrips.length;
    for (let i = 0; i < exports; i++) {
      record(i);
      await provider.forceFlush();
    }
    await new Promise((r) => setTimeout(r, 300));
    const batches = c.d1RoundTrips.slice(from).filter((t) => t.kind === "batch");
    return {
      rows: batches.reduce((n, b) => n + (b.rowsWritten ?? 0), 0),
      sizeAfter: Math.max(0, ...batches.map((b) => b.sizeAfter ?? 0)),
    };
  };
  const perExport = routes.length * 2 + routes.length + 1;
  const first = await billed(1);
  const steady = await billed(20);
  await provider.shutdown();
  const points = 20 * perExport;
  const rowsPerPoint = steady.rows / points;
  const bytesPerPoint = (steady.sizeAfter - first.sizeAfter) / points;
  const packs = await c.db.prepare("SELECT sum(length(body)) AS bytes, sum(points) AS points FROM metric_packs WHERE service_name = 'billing'").first();
  const packBytes = packs.bytes / packs.points;
  console.log(`metrics, steady ${perExport}-point SDK exports: ${rowsPerPoint.toFixed(3)} D1 rows written/point, ${bytesPerPoint.toFixed(1)} D1 bytes/point (${packBytes.toFixed(1)} of pack body); the first export (${perExport} new series) ${first.rows} rows`);
  assert.equal(steady.rows, 20 * 3, "one pack per metric and export, no series row");
  assert.ok(rowsPerPoint <= 0.5, `${rowsPerPoint} rows written per point`);
  assert.ok(bytesPerPoint <= 150, `${bytesPerPoint} D1 bytes per point`);
  // 21 exports and the one shutdown() makes, 8 series each.
  assert.equal(await value({ name: "billing.requests", service: "billing", aggregation: "count" }), 22 * 8);
});

test("bad queries and bodies are clear 4xx errors", async () => {
  assert.equal((await query({})).status, 400);
  assert.equal((await query({ name: "nope.metric" })).status, 404);
  assert.equal((await query({ name: "memory.used", aggregation: "median" })).status, 400);
  assert.equal((await query({ name: "memory.used", start: "10", end: "5" })).status, 400);
  const res = await postMetrics("{not json");
  assert.equal(res.status, 400);
  assert.match((await res.json()).error.message, /JSON|json/);
  const noTime = await postMetrics(gaugeBody("x", "no.time", [{ value: 1, timeMs: 0 }]));
  assert.equal((await noTime.json()).partialSuccess.rejectedDataPoints, "1");
});

test("the cron trigger prunes metric packs and series past retention", async () => {
  const now = Date.now();
  const day = 86_400_000;
  const old = now - 20 * day;
  assert.equal((await postMetrics(gaugeBody("old", "old.gauge", [{ value: 1, timeMs: old }]))).status, 200);
  await c.db.prepare("UPDATE metric_series SET last_seen_ms = ? WHERE metric_name = 'old.gauge'").bind(old).run();
  const result = await (await c.mf.getWorker()).scheduled({ cron: "* * * * *", scheduledTime: new Date(now) });
  assert.equal(result.outcome, "ok");
  const count = async (sql) => (await c.db.prepare(sql).first()).n;
  assert.equal(await count("SELECT count(*) AS n FROM metric_series WHERE metric_name = 'old.gauge'"), 0);
  assert.equal(await count(`SELECT count(*) AS n FROM metric_packs WHERE end_ms < ${now - 15 * day}`), 0);
  assert.ok(await count(`SELECT count(*) AS n FROM metric_packs`) > 0, "recent packs stay");
  assert.equal(await count("SELECT series AS n FROM metric_series_counts WHERE service_name = 'old' AND metric_name = ''"), 0);
  assert.equal(await value({ name: "memory.used", service: "checkout", aggregation: "last" }), 1024, "recent metrics stay");
});
