// The collector under `wrangler dev` (what `npm start` runs), with local D1
// and KV persisted to a temporary directory: the cron trigger fired through
// wrangler's `/__scheduled` evaluates alert rules like the evaluate route.
// Uses the built worker (the copy of wrangler.toml drops the build command).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "./harness.mjs";
import { request, span } from "./otlp.mjs";

const TOKEN = "wrangler-test-token";
let dir, wrangler, url;

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "collector-wrangler-"));
  const config = readFileSync(join(root, "wrangler.toml"), "utf8")
    .replace(/^\[build\]\n(?:.*\n)*?command = .*\n/m, "")
    .replace('main = "build/worker/shim.mjs"', `main = "${join(root, "build/worker/shim.mjs")}"`)
    .replace('migrations_dir = "migrations"', `migrations_dir = "${join(root, "migrations")}"`)
    .replace('directory = "public"', `directory = "${join(root, "public")}"`);
  assert.ok(!config.includes("[build]"), "the test config must not rebuild the worker");
  const configPath = join(dir, "wrangler.toml");
  writeFileSync(configPath, config);
  const env = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" };
  const wranglerBin = join(root, "node_modules/.bin/wrangler");
  execFileSync(wranglerBin, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", dir, "-c", configPath], { env, stdio: "ignore" });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  wrangler = spawn(wranglerBin, [
    "dev", "-c", configPath, "--local", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", dir,
    "--test-scheduled", "--var", `INGEST_TOKEN:${TOKEN}`, "--var", `API_TOKEN:${TOKEN}`, "--var", "INTERNAL_TOKEN:wrangler-internal-token",
  ], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let log = "";
  wrangler.stdout.on("data", (d) => { log += d; });
  wrangler.stderr.on("data", (d) => { log += d; });
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch {}
    if (Date.now() > deadline || wrangler.exitCode !== null) throw new Error(`wrangler dev did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const openapi = await fetch(`${url}/openapi.json`);
  assert.equal(openapi.status, 200, "wrangler dev serves the OpenAPI document from [assets]");
  assert.equal((await openapi.json()).openapi, "3.0.3");
});

after(() => {
  if (wrangler && wrangler.exitCode === null) process.kill(-wrangler.pid, "SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const call = async (method, path, body) => {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
};

test("GET /__scheduled runs the alert cycle: error-heavy traffic opens an incident", async () => {
  const rule = await call("POST", "/api/alerts/configs", { name: "Orders failing", serviceId: "orders", metricName: "span.error_count", aggregation: "sum", condition: "gte", threshold: 3 });
  assert.equal(rule.status, 201);
  const shift = Date.now() - 20_000 - 1_763_900_000_123;
  const spans = [1, 2, 3, 4].map((n) => span({ trace: 0x9000 + n, id: 0x9000 + n, name: "GET /orders", kind: 2, startMs: shift, error: n <= 3 }));
  assert.equal((await call("POST", "/v1/traces", request({ orders: spans }))).status, 200);
  // wrangler.toml's ingest queue delivers to the consumer within its 2 s batch timeout.
  const deadline = Date.now() + 15_000;
  let stored = 0;
  while (stored < 4 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    stored = JSON.parse((await call("GET", "/api/traces?service=orders")).text).traces.length;
  }
  assert.equal(stored, 4, "the queue consumer stored the export");

  const before = JSON.parse((await call("GET", "/api/alerts/incidents")).text).incidents;
  assert.equal(before.length, 0, "nothing fires before the cron runs");
  const ran = await fetch(`${url}/__scheduled?cron=*+*+*+*+*`);
  assert.equal(ran.status, 200);
  assert.match(await ran.text(), /Ran scheduled event/);

  const firing = JSON.parse((await call("GET", "/api/alerts/incidents?state=firing")).text).incidents;
  assert.deepEqual(firing.map((i) => [i.ruleId, i.serviceId, i.value]), [[JSON.parse(rule.text).id, "orders", 3]]);
});
