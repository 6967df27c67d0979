// Starts the built worker (build/) in local workerd through Miniflare, with
// real local D1 and KV, fresh state per start, the migrations applied, and
// Analytics Engine writes captured. Each test file starts its own collector.
import { Miniflare } from "miniflare";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const INGEST_TOKEN = "test-ingest-token";
export const API_TOKEN = "test-api-token";
export const INTERNAL_TOKEN = "test-internal-token";

/** Splits a migration file into statements, keeping trigger bodies whole. */
export function splitSql(sql) {
  const statements = [];
  let current = [];
  let inTrigger = false;
  for (const line of sql.split("\n")) {
    const trimmed = line.trim();
    if (!current.length && (trimmed === "" || trimmed.startsWith("--"))) continue;
    current.push(line);
    if (/^CREATE\s+TRIGGER/i.test(trimmed)) inTrigger = true;
    const ends = inTrigger ? /^END;$/i.test(trimmed) : trimmed.endsWith(";");
    if (ends) {
      statements.push(current.join("\n").replace(/;\s*$/, ""));
      current = [];
      inTrigger = false;
    }
  }
  if (current.join("").trim()) statements.push(current.join("\n"));
  return statements;
}

export async function applySql(db, sql) {
  await db.batch(splitSql(sql).map((s) => db.prepare(s)));
}

export function migrationFiles() {
  const dir = join(root, "migrations");
  return readdirSync(dir).filter((f) => f.endsWith(".sql")).sort().map((f) => join(dir, f));
}

/**
 * Starts a collector. Returns { url, mf, points, waitForPoints, d1RoundTrips, runtimeLog, ingest, api, db, stop }.
 * The worker's D1 binding goes through tests/e2e/d1-counter.mjs, which records each round trip.
 * `vars` override worker variables (e.g. MAX_BODY_BYTES); `queue` adds the ingest queue and its consumer;
 * `r2Faults` puts tests/e2e/r2-faults.mjs in front of the R2 bucket, `queueFaults` (with `queue`)
 * tests/e2e/queue-faults.mjs in front of the queue producer, `d1Faults` lets tests/e2e/d1-counter.mjs
 * fail batches (see `faults`), `kvFaults` puts tests/e2e/kv-faults.mjs in front of the alert-state KV
 * namespace (fails its puts). With `queue`, messages reaching the dead-letter queue are kept in `deadLetters`.
 * `rateLimits: { ingest, api }` adds wrangler.toml's rate-limiting bindings with these limits per 60 s.
 * `runtimeLog: true` keeps workerd's verbose log in `runtimeLog` (off by default: workerd writes it to a
 * pipe this process reads, and a test that blocks this process, e.g. with spawnSync, would stall workerd).
 * `extraWorkers` are more Miniflare worker definitions run beside the collector (named "main"), e.g.
 * instrumented Workers with a service binding to it; reach them with `mf.getWorker(name)`.
 */
export async function startCollector({ extraWorkers = [], vars = {}, queue = false, r2Faults = false, queueFaults = false, d1Faults = false, kvFaults = false, rateLimits, runtimeLog: keepLog = false } = {}) {
  const faults = { put: false, delete: false, send: false, d1: false, kvPut: false };
  const control = async (req) => {
    const fault = faults[new URL(req.url).pathname.slice(1)];
    return new Response(fault === true ? "fail" : fault || "ok");
  };
  const points = [];
  const deadLetters = [];
  const d1RoundTrips = [];
  const runtimeLog = [];
  const mf = new Miniflare({
    // With `runtimeLog`: workerd's log, verbose (console calls and the runtime's own warnings,
    // e.g. on a 204 with a body), kept for the tests; warnings and errors also shown on stderr.
    ...(keepLog ? {
      verbose: true,
      handleStructuredLogs(log) {
        runtimeLog.push(log);
        if (log.level === "warn" || log.level === "error") process.stderr.write(`[workerd ${log.level}] ${log.message}\n`);
      },
    } : {}),
    workers: [
      {
        name: "main",
        modules: true,
        scriptPath: join(root, "build/worker/shim.mjs"),
        modulesRoot: join(root, "build"),
        modulesRules: [
          { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
          { type: "CompiledWasm", include: ["**/*.wasm"] },
        ],
        compatibilityDate: "2026-04-01",
        // As wrangler.toml's [assets]: files in public/ are served before the worker runs.
        assets: { directory: join(root, "public"), routerConfig: { has_user_worker: true } },
        d1Databases: { SCHEMA_CHECK: "schema-check-db" },
        ...(kvFaults ? {} : { kvNamespaces: { ALERT_STATE: "test-kv" } }),
        ...(r2Faults ? {} : { r2Buckets: { BLOCKS: "test-blocks" } }),
        // As wrangler.toml's ingest queue, when asked for (else spans are stored inline).
        ...(queue ? {
          ...(queueFaults ? {} : { queueProducers: { INGEST_QUEUE: { queueName: "ingest" } } }),
          queueConsumers: { ingest: { maxBatchSize: 100, maxBatchTimeout: 2, maxRetries: 2, deadLetterQueue: "ingest-dlq" } },
        } : {}),
        bindings: { INGEST_TOKEN, API_TOKEN, INTERNAL_TOKEN, MAX_BODY_BYTES: "10485760", ...vars },
        ...(rateLimits ? { ratelimits: {
          INGEST_RATE_LIMITER: { simple: { limit: rateLimits.ingest, period: 60 } },
          API_RATE_LIMITER: { simple: { limit: rateLimits.api, period: 60 } },
        } } : {}),
        serviceBindings: { SELF: "main" },
        wrappedBindings: {
          DB: { scriptName: "d1-counter" },
          ...(r2Faults ? { BLOCKS: { scriptName: "r2-faults" } } : {}),
          ...(queueFaults ? { INGEST_QUEUE: { scriptName: "queue-faults" } } : {}),
          ...(kvFaults ? { ALERT_STATE: { scriptName: "kv-faults" } } : {}),
          AE_TRACES: { scriptName: "ae-capture", bindings: { dataset: "distributed_traces" } },
          AE_METRICS: { scriptName: "ae-capture", bindings: { dataset: "worker_metrics" } },
          AE_LOGS: { scriptName: "ae-capture", bindings: { dataset: "worker_logs" } },
        },
      },
      {
        name: "ae-capture",
        modules: [{ type: "ESModule", path: join(root, "tests/e2e/ae-capture.mjs") }],
        serviceBindings: {
          SINK: async (req) => {
            points.push(await req.json());
            return new Response(null, { status: 204 });
          },
        },
      },
      ...(r2Faults ? [{
        name: "r2-faults",
        modules: [{ type: "ESModule", path: join(root, "tests/e2e/r2-faults.mjs") }],
        r2Buckets: { INNER: "test-blocks" },
        serviceBindings: { CONTROL: control },
      }] : []),
      ...(kvFaults ? [{
        name: "kv-faults",
        modules: [{ type: "ESModule", path: join(root, "tests/e2e/kv-faults.mjs") }],
        kvNamespaces: { INNER: "test-kv" },
        serviceBindings: { CONTROL: control },
      }] : []),
      ...(queueFaults ? [{
        name: "queue-faults",
        modules: [{ type: "ESModule", path: join(root, "tests/e2e/queue-faults.mjs") }],
        queueProducers: { INNER: { queueName: "ingest" } },
        serviceBindings: { CONTROL: control },
      }] : []),
      ...(queue ? [{
        // The dead-letter queue's stand-in consumer: what reaches it, kept for the test.
        name: "dead-letters",
        modules: true,
        script: `export default { async queue(batch, env) {
          for (const m of batch.messages) { await env.SINK.fetch("http://sink/", { method: "POST", body: m.body }); m.ack(); }
        } };`,
        queueConsumers: { "ingest-dlq": { maxBatchSize: 100, maxBatchTimeout: 1 } },
        serviceBindings: {
          SINK: async (req) => {
            deadLetters.push(await req.text());
            return new Response(null, { status: 204 });
          },
        },
      }] : []),
      {
        name: "d1-counter",
        modules: [{ type: "ESModule", path: join(root, "tests/e2e/d1-counter.mjs") }],
        d1Databases: { INNER: "test-db" },
        serviceBindings: {
          SINK: async (req) => {
            d1RoundTrips.push(await req.json());
            return new Response(null, { status: 204 });
          },
          ...(d1Faults ? { CONTROL: control } : {}),
        },
      },
      ...extraWorkers,
    ],
  });
  const url = String(await mf.ready).replace(/\/$/, "");
  const db = await mf.getD1Database("INNER", "d1-counter");
  for (const file of migrationFiles()) await applySql(db, readFileSync(file, "utf8"));

  /** Waits until at least `n` points arrived, then a settle time, and returns them. */
  async function waitForPoints(n, { timeoutMs = 10000, settleMs = 300 } = {}) {
    const deadline = Date.now() + timeoutMs;
    while (points.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, settleMs));
    return points;
  }

  const request = (path, { token, headers = {}, ...init } = {}) =>
    fetch(url + path, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

  return {
    url,
    mf,
    db,
    /**
     * With `r2Faults` / `queueFaults`: `faults.put` / `faults.delete` / `faults.send = true` make R2 puts / R2 deletes / queue sends fail;
     * with `d1Faults`: `faults.d1 = "<SQL fragment>"` fails every D1 batch with a statement containing it.
     */
    faults,
    /** With `queue`: the bodies of the messages that reached the dead-letter queue. */
    deadLetters,
    points,
    waitForPoints,
    /** With `runtimeLog: true`, workerd's log so far: `{ timestamp, level, message }`. */
    runtimeLog,
    /** Every D1 round trip the worker made: `{ kind, statements (a count), sql (their texts) }`. */
    d1RoundTrips,
    /** POST /v1/traces with the ingest token. */
    ingest: (body, headers = {}) =>
      request("/v1/traces", { method: "POST", body, token: INGEST_TOKEN, headers: { "content-type": "application/json", ...headers } }),
    /** Any method with the API token and an optional JSON body (an object, or text sent as is); parses the answer. */
    send: async (method, path, body) => {
      const res = await request(path, {
        method,
        token: API_TOKEN,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    /** GET with the API token; parses JSON. */
    api: async (path) => {
      const res = await request(path, { token: API_TOKEN });
      return { status: res.status, headers: res.headers, body: await res.json() };
    },
    request,
    stop: () => mf.dispose(),
  };
}
