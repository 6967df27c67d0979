// API keys end to end in local workerd: created by an admin (the bootstrap
// API_TOKEN or an admin key), listed without their secret, each scope
// allowed or refused (403) on every route kind, unknown, wrong, revoked and
// expired keys refused alike (401), a rotation that keeps exports flowing,
// one D1 read per key per minute, and the per-caller rate limits (429 with
// Retry-After) of wrangler.toml's rate-limiting bindings.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCollector, API_TOKEN, INGEST_TOKEN } from "./harness.mjs";
import { request, json, span } from "./otlp.mjs";

let c;
before(async () => { c = await startCollector(); });
after(async () => { await c?.stop(); });

const call = async (method, path, token, body) => {
  const send = () => c.request(path, {
    method, token,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  // A refusal answered before the body was read ends that connection in local workerd; the
  // client's next request may have picked it from its pool: sent again on a new one.
  const res = await send().catch(send);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
};

const createKey = async (scope, extra = {}, token = API_TOKEN) => {
  const res = await call("POST", "/api/keys", token, { name: `${scope} key`, scope, ...extra });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
};

let nextTrace = 1;
const exportBody = () => json(request({ keys: [span({ trace: 0x9000 + nextTrace++, id: 1, name: "GET /keys" })] }));

/** One request of every route kind, and the scope it needs. */
const ROUTES = [
  ["POST", "/v1/traces", "ingest", exportBody],
  ["POST", "/v1/logs", "ingest", () => "{}"],
  ["POST", "/v1/metrics", "ingest", () => "{}"],
  ["GET", "/api/traces", "read"],
  ["GET", `/api/traces/${"ab".repeat(16)}`, "read"],
  ["GET", "/api/logs", "read"],
  ["GET", "/api/metrics", "read"],
  ["GET", "/api/services", "read"],
  ["GET", "/api/services/keys", "read"],
  ["GET", "/api/service-map", "read"],
  ["GET", "/api/service-map/cycles", "read"],
  ["GET", "/api/query/schema", "read"],
  ["POST", "/api/query", "read", () => "SELECT 1"],
  ["GET", "/jaeger/api/services", "read"],
  ["GET", "/api/alerts/configs", "read"],
  ["GET", "/api/alerts/channels", "read"],
  ["GET", "/api/alerts/incidents", "read"],
  ["GET", "/api/slos", "read"],
  ["POST", "/api/alerts/configs", "admin", () => "{}"],
  ["DELETE", "/api/alerts/channels/nope", "admin"],
  ["POST", "/api/alerts/incidents/nope/acknowledge", "admin", () => "{}"],
  ["POST", "/api/alerts/evaluate", "admin"],
  ["PUT", "/api/slos/nope", "admin", () => "{}"],
  ["GET", "/api/keys", "admin"],
  ["POST", "/api/keys", "admin", () => "{}"],
  ["DELETE", "/api/keys/nope", "admin"],
  ["POST", "/internal/analytics-engine/points", "internal", () => "{}"],
];
const GRANTS = { ingest: ["ingest"], read: ["read"], admin: ["ingest", "read", "admin"] };

test("each scope is allowed on its routes and refused with 403 elsewhere; bootstrap tokens are an ingest and an admin key", async () => {
  const keys = {
    ingest: (await createKey("ingest")).key,
    read: (await createKey("read")).key,
    admin: (await createKey("admin")).key,
  };
  const callers = [...Object.entries(keys), ["ingest", INGEST_TOKEN], ["admin", API_TOKEN]];
  for (const [scope, token] of callers) {
    for (const [method, path, needs, body] of ROUTES) {
      const res = await call(method, path, token, body?.());
      const label = `${scope} ${token.slice(0, 8)} ${method} ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`;
      if (GRANTS[scope].includes(needs)) {
        assert.ok(![401, 403].includes(res.status), label);
      } else {
        assert.equal(res.status, 403, label);
        assert.match(res.body.error.message, needs === "internal" ? /client tokens are not accepted/ : new RegExp(`^this key's scope \\(${scope}\\) does not cover this route`), label);
      }
    }
  }
});

test("keys are listed by prefix and status, never with their secret or its hash", async () => {
  const created = await createKey("read", { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  assert.match(created.key, /^oc_[0-9a-f]{12}_[0-9a-f]{64}$/);
  assert.equal(created.prefix, `oc_${created.id}`);
  assert.deepEqual([created.scope, created.status, created.name], ["read", "active", "read key"]);
  const listed = await call("GET", "/api/keys", API_TOKEN);
  const mine = listed.body.keys.find((k) => k.id === created.id);
  assert.deepEqual(Object.keys(mine).sort(), ["createdAt", "expiresAt", "id", "name", "prefix", "previousValidUntil", "revokedAt", "rotatedAt", "scope", "status"]);
  const secret = created.key.split("_")[2];
  assert.ok(!JSON.stringify(listed.body).includes(secret));
  const stored = await c.db.prepare("SELECT * FROM api_keys WHERE id = ?").bind(created.id).first();
  assert.ok(!JSON.stringify(stored).includes(secret), "only the hash is stored");
  // An admin key administers keys as the bootstrap token does.
  const admin = await createKey("admin");
  assert.equal((await createKey("ingest", {}, admin.key)).scope, "ingest");
  for (const [body, message] of [
    [{ name: "x", scope: "root" }, /^scope: must be one of ingest, read, admin$/],
    [{ name: "x", scope: "read", expiresAt: "2020-01-01T00:00:00Z" }, /^expiresAt: must be in the future$/],
    [{ name: "", scope: "read" }, /^name: is required$/],
    [{ name: "x", scope: "read", admin: true }, /unknown field "admin"/],
  ]) {
    const res = await call("POST", "/api/keys", API_TOKEN, body);
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, message);
  }
});

test("unknown, wrong, revoked and expired keys are the same 401", async () => {
  const key = await createKey("read");
  const expiring = await createKey("read", { expiresAt: new Date(Date.now() + 1500).toISOString() });
  assert.equal((await call("GET", "/api/services", key.key)).status, 200);
  assert.equal((await call("GET", "/api/services", expiring.key)).status, 200);
  const wrongSecret = `${key.prefix}_${"0".repeat(64)}`;
  const unknownId = `oc_${"0".repeat(12)}_${key.key.split("_")[2]}`;
  const revoked = await call("DELETE", `/api/keys/${key.id}`, API_TOKEN);
  assert.equal(revoked.status, 200);
  assert.equal(revoked.body.status, "revoked");
  await new Promise((r) => setTimeout(r, 1600));
  const refusals = [];
  for (const token of [wrongSecret, unknownId, key.key, expiring.key, "oc_short", "not-a-key"]) {
    const res = await call("GET", "/api/services", token);
    assert.equal(res.status, 401, token);
    refusals.push(JSON.stringify(res.body));
  }
  assert.equal(new Set(refusals).size, 1, "nothing tells which keys exist");
  assert.equal((await call("GET", "/api/keys", API_TOKEN)).body.keys.find((k) => k.id === expiring.id).status, "expired");
  assert.equal((await call("DELETE", `/api/keys/${key.id}`, API_TOKEN)).body.revokedAt, revoked.body.revokedAt, "revoking twice keeps the first time");
  assert.equal((await call("POST", `/api/keys/${key.id}/rotate`, API_TOKEN)).status, 409);
  assert.equal((await call("DELETE", "/api/keys/000000000000", API_TOKEN)).status, 404);
});

test("a rotation keeps exports flowing: both secrets work through the grace period, then only the new one", async () => {
  const old = await createKey("ingest");
  let current = old.key;
  const statuses = [];
  let running = true;
  const exporter = (async () => {
    while (running) {
      statuses.push((await c.request("/v1/traces", { method: "POST", token: current, headers: { "content-type": "application/json" }, body: exportBody() })).status);
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  const rotated = await call("POST", `/api/keys/${old.id}/rotate`, API_TOKEN, { graceSeconds: 2 });
  assert.equal(rotated.status, 200);
  assert.equal(rotated.body.id, old.id);
  assert.notEqual(rotated.body.key, old.key);
  assert.ok(rotated.body.previousValidUntil);
  await new Promise((r) => setTimeout(r, 300));
  current = rotated.body.key;
  await new Promise((r) => setTimeout(r, 300));
  running = false;
  await exporter;
  assert.ok(statuses.length > 5);
  assert.deepEqual([...new Set(statuses)], [200], "no export refused during the rotation");
  assert.equal((await call("POST", "/v1/traces", old.key, exportBody())).status, 200, "the old secret within the grace period");
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal((await call("POST", "/v1/traces", old.key, exportBody())).status, 401);
  assert.equal((await call("POST", "/v1/traces", rotated.body.key, exportBody())).status, 200);
});

test("a key's row is read from D1 once a minute per isolate, not on every request", async () => {
  const key = await createKey("read");
  const before = c.d1RoundTrips.length;
  for (let i = 0; i < 5; i++) assert.equal((await call("GET", "/api/alerts/configs", key.key)).status, 200);
  await new Promise((r) => setTimeout(r, 200));
  const lookups = c.d1RoundTrips.slice(before).filter((t) => t.sql.some((sql) => sql.includes("FROM api_keys")));
  assert.equal(lookups.length, 1);
});

test("callers over their rate limit get 429 with Retry-After, each caller counted apart", async () => {
  const limited = await startCollector({ rateLimits: { ingest: 4, api: 3 } });
  try {
    const key = (await limited.send("POST", "/api/keys", { name: "dashboards", scope: "read" })).body.key;
    const get = (token) => limited.request("/api/services", { token });
    // A window may end between two requests (the count starts over): the limit shows within 2 × limit + 1.
    const statuses = [];
    for (let i = 0; i < 7 && !statuses.includes(429); i++) statuses.push((await get(key)).status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(statuses.includes(429), JSON.stringify(statuses));
    assert.equal((await limited.api("/api/services")).status, 200, "another caller is not limited");
    const refused = await get(key);
    if (refused.status === 429) {
      assert.equal(refused.headers.get("retry-after"), "60");
      assert.match((await refused.json()).error.message, /rate limit of API_RATE_LIMITER reached/);
    }
    const ingest = [];
    for (let i = 0; i < 9 && !ingest.includes(429); i++) {
      ingest.push((await limited.request("/v1/traces", { method: "POST", token: INGEST_TOKEN, headers: { "content-type": "application/json" }, body: exportBody() })).status);
    }
    assert.deepEqual(ingest.slice(0, 4), [200, 200, 200, 200]);
    assert.ok(ingest.includes(429), JSON.stringify(ingest));
  } finally {
    await limited.stop();
  }
});
