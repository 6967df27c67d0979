// Soak test against a running collector (`npm start`, which runs the cron
// with --test-scheduled): for DURATION_S (default 1800) it sends, every
// second, a trace of SPANS_PER_S spans, LOGS_PER_S log records and
// POINTS_PER_S metric points (a cumulative counter over 10 series), runs
// read queries all the while (trace search, logs, services, service map,
// metric query: QUERIES_PER_S), and fires the cron every minute. It samples
// workerd's resident memory every 10 s. Per minute it reports ingest
// latency (p50/p99, retries included), query latency, failed requests and
// memory (a 429 or 503 is retried after Retry-After, as exporters do, and
// counted); at the end
// it reads everything back: every trace whole, every log record by trace
// id, every counter point (counted per series). Every 10th trace is polled
// from its acceptance until it reads back whole (the read lag: the queue's
// consumer keeping up). Exit 1 if anything was lost or refused, a read lag
// passed MAX_READ_LAG_S (5), or memory grew past its bounds (below).
// CRON_PATH is the scheduled trigger's path (wrangler dev's by default).
// Resident memory includes
// garbage V8 collects lazily (Miniflare's queue simulator's heap grows by
// hundreds of MB between major collections), so memory growth is judged on
// the JavaScript heap every isolate retains after a full collection (a heap snapshot's),
// measured through workerd's inspector before the traffic and after the
// read-back (MAX_RETAINED_GROWTH_MB, 50); resident memory is reported and
// bounded by MAX_RSS_MB (4096). Needs Node's WebSocket (`npm run soak`
// passes --experimental-websocket on Node 20).
//
//   npm run soak                                       # 30 minutes
//   COLLECTOR_URL=http://127.0.0.1:8788 DURATION_S=60 SPANS_PER_S=100 npm run soak
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

const url = process.env.COLLECTOR_URL ?? "http://127.0.0.1:8787";
const ingestToken = process.env.INGEST_TOKEN ?? "dev-ingest-token";
const apiToken = process.env.API_TOKEN ?? "dev-api-token";
const durationMs = Number(process.env.DURATION_S ?? 1800) * 1000;
const spansPerSecond = Number(process.env.SPANS_PER_S ?? 200);
const logsPerSecond = Number(process.env.LOGS_PER_S ?? 100);
const pointsPerSecond = Number(process.env.POINTS_PER_S ?? 50);
const queriesPerSecond = Number(process.env.QUERIES_PER_S ?? 2);
const maxRetainedGrowthMb = Number(process.env.MAX_RETAINED_GROWTH_MB ?? 50);
const maxRssMb = Number(process.env.MAX_RSS_MB ?? 4096);
const maxReadLagS = Number(process.env.MAX_READ_LAG_S ?? 5);
const services = ["gateway", "checkout", "payments"];
const run = randomBytes(6).toString("hex");
const SERIES = 10;

const attr = (key, value) => ({ key, value: typeof value === "number" ? { intValue: String(value) } : { stringValue: value } });
const hex = (n, digits) => n.toString(16).padStart(digits, "0");
const resource = (service) => ({ attributes: [attr("service.name", `${service}-${run}`), attr("service.version", "1.0.0")] });

function traceBody(n) {
  const traceId = run + hex(n, 20);
  const now = BigInt(Date.now()) * 1_000_000n;
  const byService = services.map(() => []);
  for (let i = 0; i < spansPerSecond; i++) {
    const start = now + BigInt(i) * 1000n;
    byService[i % services.length].push({
      traceId, spanId: hex(i + 1, 16), parentSpanId: i === 0 ? "" : hex(Math.floor((i - 1) / 3) + 1, 16),
      name: i === 0 ? "GET /checkout" : `op-${i % 7}`, kind: i % 3 === 0 ? 2 : 3,
      startTimeUnixNano: String(start), endTimeUnixNano: String(start + 5_000_000n),
      attributes: [attr("http.route", "/checkout"), attr("http.response.status_code", 200)],
      status: { code: i % 50 === 49 ? 2 : 1 },
    });
  }
  const body = { resourceSpans: services.map((s, k) => ({ resource: resource(s), scopeSpans: [{ scope: { name: "soak" }, spans: byService[k] }] })) };
  return { traceId, body };
}

function logBody(traceId) {
  const now = BigInt(Date.now()) * 1_000_000n;
  const logRecords = Array.from({ length: logsPerSecond }, (_, i) => ({
    timeUnixNano: String(now + BigInt(i) * 1000n), severityNumber: i % 10 === 9 ? 17 : 9,
    body: { stringValue: `soak ${run} record ${i}` }, traceId, spanId: hex(i + 1, 16),
  }));
  return { resourceLogs: [{ resource: resource("checkout"), scopeLogs: [{ scope: { name: "soak" }, logRecords }] }] };
}

/** Cumulative counters: series i's value is the number of points it has been sent. */
const counters = Array(SERIES).fill(0);
const startNs = BigInt(Date.now()) * 1_000_000n;
function metricBody() {
  const now = BigInt(Date.now()) * 1_000_000n;
  const dataPoints = Array.from({ length: pointsPerSecond }, (_, i) => {
    const series = i % SERIES;
    counters[series] += 1;
    return { attributes: [attr("series", `s${series}`)], startTimeUnixNano: String(startNs), timeUnixNano: String(now + BigInt(i)), asInt: String(counters[series]) };
  });
  return { resourceMetrics: [{ resource: resource("payments"), scopeMetrics: [{ scope: { name: "soak" }, metrics: [
    { name: "soak.requests", sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints } },
  ] }] }] };
}

let retried = 0;

/** One request; a 429 or 503 is retried after its Retry-After (at most 3 times), as OTLP exporters do. */
async function call(path, { body, token = apiToken } = {}) {
  const t0 = performance.now();
  try {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(url + path, {
        method: body ? "POST" : "GET",
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if ((res.status === 429 || res.status === 503) && attempt < 3) {
        retried++;
        console.error(`${path.split("?")[0]} ${res.status}, retried: ${text.slice(0, 200)}`);
        await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get("retry-after") ?? 1)));
        continue;
      }
      const json = res.ok && res.headers.get("content-type")?.includes("json") && text ? JSON.parse(text) : null;
      return { ok: res.ok, status: res.status, ms: performance.now() - t0, json, error: res.ok ? undefined : text.slice(0, 200) };
    }
  } catch (e) {
    return { ok: false, status: 0, ms: performance.now() - t0, error: String(e) };
  }
}

/** The listening TCP ports of workerd processes started with an inspector (Linux /proc). */
function inspectorPorts() {
  const inodes = new Set();
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--inspector-addr")) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (link.startsWith("socket:[")) inodes.add(link.slice(8, -1));
      }
    } catch { /* the process ended */ }
  }
  return readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1).map((l) => l.trim().split(/\s+/))
    .filter((f) => f[3] === "0A" && inodes.has(f[9])).map((f) => parseInt(f[1].split(":")[1], 16));
}

/** Inspector calls on a target, in order, on one WebSocket: the last one's result, or null after 60 s. */
function inspect(webSocketUrl, calls) {
  return new Promise((resolve) => {
    const ws = new WebSocket(webSocketUrl);
    const timer = setTimeout(() => { ws.close(); resolve(null); }, 60_000);
    ws.onerror = () => { clearTimeout(timer); resolve(null); };
    ws.onopen = () => calls.forEach((method, id) => ws.send(JSON.stringify({ id, method })));
    ws.onmessage = (e) => {
      const message = JSON.parse(e.data);
      if (message.id === calls.length - 1) { clearTimeout(timer); ws.close(); resolve(message.result); }
    };
  });
}

/**
 * JavaScript heap every isolate of workerd retains, MB (null without an inspector). A heap
 * snapshot is taken first for the full, compacting collection it makes (`collectGarbage` left
 * a simulator's garbage of hundreds of MB in place); its chunks are ignored.
 */
async function retainedHeapMb() {
  let bytes = 0;
  let isolates = 0;
  for (const port of inspectorPorts()) {
    const targets = await fetch(`http://127.0.0.1:${port}/json`).then((r) => r.json()).catch(() => []);
    for (const target of Array.isArray(targets) ? targets : []) {
      const usage = await inspect(target.webSocketDebuggerUrl, ["HeapProfiler.takeHeapSnapshot", "Runtime.getHeapUsage"]);
      if (usage?.usedSize !== undefined) { bytes += usage.usedSize; isolates++; }
    }
  }
  return isolates ? { mb: Math.round(bytes / 1e5) / 10, isolates } : null;
}

/** Resident memory of every workerd process, MB (Linux /proc). */
function workerdMb() {
  let kb = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("workerd")) continue;
      kb += Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
    } catch { /* the process ended */ }
  }
  return Math.round(kb / 1024);
}

const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1)) : null;
};

const traces = [];
const window = { ingest: [], queries: [], lagS: [], failed: 0 };
const lags = [];
const minutes = [];
const memory = [];
let failedIngest = 0;
let failedQueries = 0;
const started = Date.now();

async function ingestSecond(n) {
  const { traceId, body } = traceBody(n);
  const answers = await Promise.all([
    call("/v1/traces", { body, token: ingestToken }),
    call("/v1/logs", { body: logBody(traceId), token: ingestToken }),
    call("/v1/metrics", { body: metricBody(), token: ingestToken }),
  ]);
  for (const a of answers) {
    window.ingest.push(a.ms);
    if (!a.ok) { failedIngest++; window.failed++; console.error(`ingest ${a.status} ${a.error ?? ""}`); }
  }
  if (answers.every((a) => a.ok)) {
    traces.push(traceId);
    if (n % 10 === 0) lags.push(readLag(traceId));
  }
}

/** Seconds from an export's acceptance until its trace reads back whole (polled every 250 ms, at most 60 s). */
async function readLag(traceId) {
  const accepted = Date.now();
  while (Date.now() - accepted < 60_000) {
    const trace = await call(`/api/traces/${traceId}`);
    if (trace.json?.spanCount === spansPerSecond) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const seconds = (Date.now() - accepted) / 1000;
  window.lagS.push(seconds);
  return seconds;
}

const readPaths = () => {
  const s = `${services[Math.floor(Math.random() * 3)]}-${run}`;
  return [
    `/api/traces?service=${s}&limit=20`,
    `/api/logs?service=checkout-${run}&limit=50`,
    "/api/services",
    "/api/service-map",
    // The metric exists once its first points are stored (before, the query is a 404).
    ...(second < 10 ? [] : [`/api/metrics/query?name=soak.requests&service=payments-${run}&aggregation=rate&step=1m&start=${Date.now() - 600_000}&end=${Date.now()}`]),
  ];
};

async function querySecond() {
  for (let i = 0; i < queriesPerSecond; i++) {
    const paths = readPaths();
    const answer = await call(paths[Math.floor(Math.random() * paths.length)]);
    window.queries.push(answer.ms);
    if (!answer.ok) { failedQueries++; window.failed++; console.error(`query ${answer.status} ${answer.error ?? ""}`); }
  }
}

const retainedBefore = await retainedHeapMb();
const sampler = setInterval(() => memory.push({ atS: Math.round((Date.now() - started) / 1000), mb: workerdMb() }), 10_000);
memory.push({ atS: 0, mb: workerdMb() });
let second = 0;
let lastMinute = Date.now();
while (Date.now() - started < durationMs) {
  const tick = Date.now();
  const pending = [ingestSecond(second++), querySecond()];
  if (Date.now() - lastMinute >= 60_000) {
    pending.push(call(process.env.CRON_PATH ?? "/__scheduled?cron=*+*+*+*+*").then((a) => { if (!a.ok) console.error(`cron ${a.status}`); }));
    minutes.push({
      minute: minutes.length + 1,
      ingestMs: { p50: pct(window.ingest, 0.5), p99: pct(window.ingest, 0.99) },
      queryMs: { p50: pct(window.queries, 0.5), p99: pct(window.queries, 0.99) },
      readLagMaxS: window.lagS.length ? Math.max(...window.lagS) : null, failed: window.failed, workerdMb: workerdMb(),
    });
    console.log(JSON.stringify(minutes.at(-1)));
    Object.assign(window, { ingest: [], queries: [], lagS: [], failed: 0 });
    lastMinute = Date.now();
  }
  await Promise.all(pending);
  await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - tick))));
}
clearInterval(sampler);
const readLagS = await Promise.all(lags);

// Read everything back (the queue's last batches land up to its batch timeout later).
await new Promise((r) => setTimeout(r, 10_000));
let tracesIncomplete = 0;
let logsMissing = 0;
let next = 0;
async function verifier() {
  while (next < traces.length) {
    const traceId = traces[next++];
    const trace = await call(`/api/traces/${traceId}`);
    if (trace.json?.spanCount !== spansPerSecond || trace.json?.spans.length !== spansPerSecond) tracesIncomplete++;
    const logs = await call(`/api/logs?traceId=${traceId}&limit=1000`);
    logsMissing += logsPerSecond - (logs.json?.logs.length ?? 0);
  }
}
await Promise.all(Array.from({ length: 4 }, verifier));
let countersWrong = 0;
for (let i = 0; i < SERIES; i++) {
  const metric = await call(`/api/metrics/query?${new URLSearchParams({
    name: "soak.requests", service: `payments-${run}`, "attr.series": `s${i}`, aggregation: "count",
    start: String(started - 60_000), end: String(Date.now() + 60_000), step: "1d",
  })}`);
  const stored = metric.json?.result?.points?.reduce((sum, point) => sum + (point.value ?? 0), 0);
  if (stored !== counters[i]) countersWrong++;
}

const retainedAfter = await retainedHeapMb();
const retainedGrowth = retainedBefore && retainedAfter ? retainedAfter.mb - retainedBefore.mb : null;
const maxRss = Math.max(...memory.map((m) => m.mb));
const summary = {
  seconds: Math.round((Date.now() - started) / 1000),
  sent: { traces: traces.length, spans: traces.length * spansPerSecond, logs: traces.length * logsPerSecond, points: counters.reduce((a, b) => a + b, 0) },
  retriedAfter429or503: retried, failedIngest, failedQueries, tracesIncomplete, logsMissing, countersWrong,
  ingestMsP99ByMinute: minutes.map((m) => m.ingestMs.p99),
  readLagS: { p50: pct(readLagS, 0.5), max: Math.max(...readLagS) },
  workerdRssMb: { first: memory[0]?.mb, max: maxRss, last: memory.at(-1)?.mb },
  retainedHeapMb: { before: retainedBefore, after: retainedAfter, growth: retainedGrowth },
};
console.log(JSON.stringify(summary, null, 2));
if (retainedGrowth === null) console.error("no inspector found: retained heap not measured (run against `npm start`)");
process.exitCode = failedIngest || failedQueries || tracesIncomplete || logsMissing || countersWrong || Math.max(...readLagS) > maxReadLagS
  || retainedGrowth === null || retainedGrowth > maxRetainedGrowthMb || maxRss > maxRssMb ? 1 : 0;
