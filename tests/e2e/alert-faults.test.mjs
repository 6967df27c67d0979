// Faults in the cron's jobs (tests/e2e/d1-counter.mjs fails every D1 batch
// holding a statement with a chosen SQL fragment): an alert cycle that D1
// interrupts at its incident write opens and notifies nothing, and the next
// cycle opens one incident and sends one notification; KV failing at the
// state save leaves the incident and its queued notification in D1, and the
// next cycle sends it once without a second incident; a webhook endpoint
// that hangs is given up after the delivery timeout, retried a minute later,
// and does not hold back another channel's delivery; pruning that D1
// interrupts deletes nothing half-way, and the next run prunes the rest;
// pruning while R2 refuses deletes still prunes the index (the objects left
// behind are the lifecycle rule's).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { startCollector } from "./harness.mjs";
import { checkoutTrace, json, request, span, traceId } from "./otlp.mjs";
import { startReceiver } from "./receiver.mjs";

let c, receiver, hanging;
before(async () => {
  c = await startCollector({ d1Faults: true, kvFaults: true, r2Faults: true, vars: { SPAN_RETENTION_DAYS: "7" } });
  receiver = await startReceiver();
  hanging = await startHangingEndpoint();
});
after(async () => {
  await c?.stop();
  await receiver?.close();
  await hanging?.close();
});

/** An HTTP endpoint on 127.0.0.1 that reads requests and never answers. */
async function startHangingEndpoint() {
  const sockets = new Set();
  let received = 0;
  const server = createServer((req) => { req.resume(); received++; });
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks`,
    received: () => received,
    close: () => { for (const s of sockets) s.destroy(); return new Promise((resolve) => server.close(resolve)); },
  };
}

let nextTrace = 1;
/** `count` failed SERVER spans of `service`, each its own trace, 30 s ago. */
const failures = (service, count) => json(request({ [service]: Array.from({ length: count }, () => {
  const trace = 0x9000 + nextTrace++;
  return span({ trace, id: trace * 10, name: "POST /pay", kind: 2, startMs: Date.now() - 30_000 - 1_763_900_000_123, error: true });
}) }));

const evaluate = () => c.send("POST", "/api/alerts/evaluate");
const incidentsOf = async (ruleId) => (await c.api("/api/alerts/incidents")).body.incidents.filter((i) => i.ruleId === ruleId);
const cron = async (atMs) => {
  const result = await (await c.mf.getWorker()).scheduled({ cron: "* * * * *", scheduledTime: new Date(atMs) });
  assert.equal(result.outcome, "ok");
};

async function rule(name, service, channels) {
  const created = await c.send("POST", "/api/alerts/configs", {
    name, serviceId: service, metricName: "span.error_count", aggregation: "sum", condition: "gte", threshold: 1, channels,
  });
  assert.equal(created.status, 201);
  return created.body.id;
}

async function channel(name, url) {
  const created = await c.send("POST", "/api/alerts/channels", { name, kind: "webhook", url });
  assert.equal(created.status, 201);
  return created.body.id;
}

test("an alert cycle D1 interrupts at its incident write opens and notifies nothing; the next opens one and notifies once", async () => {
  const ops = await channel("ops", receiver.url);
  const ruleId = await rule("Ledger failures", "ledger", [ops]);
  assert.equal((await c.ingest(failures("ledger", 3))).status, 200);

  c.faults.d1 = "INTO alert_incidents";
  const interrupted = await evaluate();
  c.faults.d1 = false;
  assert.equal(interrupted.status, 503, JSON.stringify(interrupted.body));
  assert.deepEqual(await incidentsOf(ruleId), []);
  assert.equal(receiver.requests.length, 0, "nothing is sent for an incident that was not stored");

  const resumed = await evaluate();
  assert.equal(resumed.status, 200);
  assert.equal(resumed.body.opened.length, 1);
  assert.equal(resumed.body.notifications.delivered, 1);
  assert.equal((await evaluate()).body.opened.length, 0);
  assert.equal((await incidentsOf(ruleId)).length, 1);
  assert.deepEqual(receiver.requests.map((r) => r.headers["x-collector-event"]), ["firing"]);
});

test("KV failing at the alert state save: the incident and its notification are kept in D1 and sent once by the next cycle", async () => {
  const ops = await channel("kv-ops", receiver.url);
  const ruleId = await rule("Archive failures", "archive", [ops]);
  assert.equal((await c.ingest(failures("archive", 2))).status, 200);
  const sent = () => receiver.requests.filter((r) => JSON.parse(r.body).rule.id === ruleId).map((r) => r.headers["x-collector-event"]);

  c.faults.kvPut = true;
  const interrupted = await evaluate();
  c.faults.kvPut = false;
  assert.equal(interrupted.status, 503, JSON.stringify(interrupted.body));
  assert.equal((await incidentsOf(ruleId)).length, 1, "written to D1 before the states");
  assert.deepEqual(sent(), [], "nothing sent by a cycle that did not finish");

  assert.equal((await evaluate()).status, 200);
  assert.equal((await evaluate()).status, 200);
  assert.equal((await incidentsOf(ruleId)).length, 1, "no second incident");
  assert.deepEqual(sent(), ["firing"], "the queued notification, once");
});

test("a webhook that hangs is given up after the timeout and retried later, without holding back another channel", async () => {
  const slow = await channel("slow", hanging.url);
  const fast = await channel("fast", receiver.url);
  const ruleId = await rule("Vault failures", "vault", [slow, fast]);
  assert.equal((await c.ingest(failures("vault", 2))).status, 200);
  const before = receiver.requests.length;

  const started = Date.now();
  const cycle = await evaluate();
  assert.equal(cycle.status, 200);
  assert.deepEqual([cycle.body.notifications.delivered, cycle.body.notifications.retrying], [1, 1]);
  assert.ok(Date.now() - started < 20_000, "one delivery timeout (10 s), not one per channel");
  assert.equal(receiver.requests.length, before + 1, "the other channel got its notification in the same cycle");
  assert.equal(hanging.received(), 1);
  const [incident] = await incidentsOf(ruleId);
  const detail = (await c.api(`/api/alerts/incidents/${incident.id}`)).body;
  assert.match(detail.notificationError, /no answer within 10 s/);
  const bySlow = detail.notifications.find((n) => n.channelId === slow);
  assert.deepEqual([bySlow.status, bySlow.attempts], ["pending", 1]);

  await evaluate();
  assert.equal(hanging.received(), 1, "not retried before it is due");
  await cron(Date.now() + 90_000);
  assert.equal(hanging.received(), 2, "retried once it is due");
  assert.equal(receiver.requests.length, before + 1, "the delivered channel is not sent again");
});

test("pruning D1 interrupts deletes nothing half-way; the next run prunes what is past retention, and only that", async () => {
  const now = Date.now();
  assert.equal((await c.ingest(json(request(checkoutTrace(41, { atMs: now - 30 * 86_400_000 }))))).status, 200);
  assert.equal((await c.ingest(json(request(checkoutTrace(42, { atMs: now - 3_600_000 }))))).status, 200);
  const count = async (sql) => (await c.db.prepare(sql).first()).n;
  const indexRows = () => count("SELECT count(*) AS n FROM trace_index");
  const rowsBefore = await indexRows();

  c.faults.d1 = "DELETE FROM trace_index";
  await cron(now);
  c.faults.d1 = false;
  assert.equal(await indexRows(), rowsBefore, "the interrupted batch deleted nothing");
  const old = await c.api(`/api/traces/${traceId(41)}`);
  assert.deepEqual([old.status, old.body.spanCount], [200, 6], "the old trace is still whole");

  await cron(now);
  assert.equal((await c.api(`/api/traces/${traceId(41)}`)).status, 404);
  const recent = await c.api(`/api/traces/${traceId(42)}`);
  assert.equal(recent.status, 200);
  assert.equal(recent.body.spanCount, 6);
});

test("pruning while R2 refuses deletes prunes the index; the objects left behind are the lifecycle rule's", async () => {
  const now = Date.now();
  assert.equal((await c.ingest(json(request(checkoutTrace(43, { atMs: now - 30 * 86_400_000 }))))).status, 200);
  const bucket = await c.mf.getR2Bucket("INNER", "r2-faults");
  const objects = async () => (await bucket.list({ prefix: "spans/" })).objects.map((o) => o.key);
  const blocksBefore = await objects();
  assert.ok(blocksBefore.length > 0);
  c.faults.delete = true;
  await cron(now);
  c.faults.delete = false;
  assert.equal((await c.api(`/api/traces/${traceId(43)}`)).status, 404, "the index no longer lists the trace");
  const left = await objects();
  assert.ok(blocksBefore.every((key) => left.includes(key)), "R2 kept the objects it refused to delete");
  const recent = await c.api(`/api/traces/${traceId(42)}`);
  assert.deepEqual([recent.status, recent.body.spanCount], [200, 6], "a trace within retention is untouched");
});
