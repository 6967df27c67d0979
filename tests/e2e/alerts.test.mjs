// Alerting end to end in local workerd: rules and channels through the API,
// error-heavy traces fire a span.error_rate rule (evaluate route and cron),
// the webhook receiver on 127.0.0.1 gets the signed, documented payload
// exactly once, acknowledgement, recovery with a failed-then-retried resolve
// notification delivered once, re-fire, and rule deletion.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startCollector } from "./harness.mjs";
import { request, json, span } from "./otlp.mjs";
import { startReceiver } from "./receiver.mjs";

let c, receiver;
before(async () => {
  c = await startCollector();
  receiver = await startReceiver();
});
after(async () => {
  await c?.stop();
  await receiver?.close();
});

const SECRET = "webhook-secret";
let nextTrace = 1;

/** `count` SERVER spans of `service`, `errors` of them failed, each its own trace, at `atMs`. */
function checkoutRequests(count, errors, atMs, service = "checkout") {
  const shift = atMs - 1_763_900_000_123;
  const spans = Array.from({ length: count }, (_, i) => {
    const trace = 0x7000 + nextTrace++;
    return span({ trace, id: trace * 10, name: "POST /orders", kind: 2, startMs: shift, durationMs: 40, error: i < errors });
  });
  return json(request({ [service]: spans }));
}

const evaluate = () => c.send("POST", "/api/alerts/evaluate");
const incidents = async (state) => (await c.api(`/api/alerts/incidents${state ? `?state=${state}` : ""}`)).body.incidents;
const cron = async (atMs) => {
  const result = await (await c.mf.getWorker()).scheduled({ cron: "* * * * *", scheduledTime: new Date(atMs) });
  assert.equal(result.outcome, "ok");
};

test("rules and channels validate, keep the original minimal body working, and never show secrets", async () => {
  const minimal = await c.send("POST", "/api/alerts/configs", {
    name: "High Error Rate", description: "Triggers when error rate exceeds 5%", serviceId: "gateway-production",
    metricName: "http_requests_total", condition: "gt", threshold: 5, windowSeconds: 300, severity: "critical",
  });
  assert.equal(minimal.status, 201);
  assert.match(minimal.body.id, /^[0-9a-f]{16}$/);
  assert.deepEqual(
    [minimal.body.aggregation, minimal.body.forSeconds, minimal.body.enabled, minimal.body.channels, minimal.body.labels],
    ["avg", 0, true, [], {}],
  );
  const bad = await c.send("POST", "/api/alerts/configs", { name: "x", metricName: "span.count", condition: "above", threshold: 1 });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^condition: /);
  const unknownChannel = await c.send("POST", "/api/alerts/configs", { name: "x", metricName: "span.count", condition: "gt", threshold: 1, channels: ["nope"] });
  assert.equal(unknownChannel.status, 400);
  assert.match(unknownChannel.body.error.message, /^channels: /);
  assert.equal((await c.send("POST", "/api/alerts/configs", "{not json")).status, 400);

  const channel = await c.send("POST", "/api/alerts/channels", { name: "ops", kind: "webhook", url: receiver.url, secret: SECRET });
  assert.equal(channel.status, 201);
  assert.equal(channel.body.hasSecret, true);
  assert.ok(!JSON.stringify(channel.body).includes(SECRET));
  const listed = (await c.api("/api/alerts/channels")).body.channels;
  assert.ok(!JSON.stringify(listed).includes(SECRET));
  assert.equal((await c.send("POST", "/api/alerts/channels", { name: "s", kind: "slack", url: "http://hooks.slack.test/x" })).body.error.message.split(":")[0], "url");
  const slack = await c.send("POST", "/api/alerts/channels", { name: "s", kind: "slack", url: "https://hooks.slack.test/services/T0/B0/XYZ" });
  assert.equal(slack.body.url, "https://hooks.slack.test/…", "a Slack URL is a credential: shown as its host");
  // Replacing a channel without `secret` keeps the stored one; null removes it.
  const renamed = await c.send("PUT", `/api/alerts/channels/${channel.body.id}`, { name: "ops", kind: "webhook", url: receiver.url });
  assert.deepEqual([renamed.status, renamed.body.hasSecret], [200, true]);
  const scratch = await c.send("POST", "/api/alerts/channels", { name: "scratch", kind: "webhook", url: receiver.url, secret: "x" });
  const cleared = await c.send("PUT", `/api/alerts/channels/${scratch.body.id}`, { name: "scratch", kind: "webhook", url: receiver.url, secret: null });
  assert.equal(cleared.body.hasSecret, false);
  assert.equal((await c.send("DELETE", `/api/alerts/channels/${scratch.body.id}`)).status, 204);
  assert.equal((await c.send("DELETE", `/api/alerts/channels/${slack.body.id}`)).status, 204);

  const replaced = await c.send("PUT", `/api/alerts/configs/${minimal.body.id}`, { name: "Renamed", metricName: "http_requests_total", condition: "gt", threshold: 10 });
  assert.equal(replaced.status, 200);
  assert.equal((await c.api(`/api/alerts/configs/${minimal.body.id}`)).body.name, "Renamed");
  assert.equal((await c.send("PUT", "/api/alerts/configs/missing", { name: "n", metricName: "m", condition: "gt", threshold: 1 })).status, 404);
  assert.equal((await c.send("DELETE", `/api/alerts/configs/${minimal.body.id}`)).status, 204);
  assert.equal((await c.api(`/api/alerts/configs/${minimal.body.id}`)).status, 404);
  assert.equal((await c.send("DELETE", `/api/alerts/configs/${minimal.body.id}`)).status, 404);
});

test("error-heavy traffic fires once, notifies once, is acknowledged, recovers and notifies the resolve once", async () => {
  const channel = (await c.api("/api/alerts/channels")).body.channels.find((ch) => ch.name === "ops");
  const rule = await c.send("POST", "/api/alerts/configs", {
    name: "Checkout errors", serviceId: "checkout", metricName: "span.error_rate", condition: "gt", threshold: 0.1,
    windowSeconds: 300, severity: "critical", labels: { team: "payments" }, channels: [channel.id],
  });
  assert.equal(rule.status, 201);
  const perService = await c.send("POST", "/api/alerts/configs", { name: "Any service p95", metricName: "span.duration.p95", condition: "gt", threshold: 10000 });
  assert.equal(perService.status, 201);

  const now = Date.now();
  const at = now - 30_000;
  assert.equal((await c.ingest(checkoutRequests(10, 5, at))).status, 200);

  const first = await evaluate();
  assert.equal(first.status, 200);
  const fired = first.body.changes.filter((ch) => ch.transition === "fired");
  assert.deepEqual(fired.map((ch) => [ch.ruleId, ch.serviceId, ch.value]), [[rule.body.id, "checkout", 0.5]]);
  assert.equal(first.body.opened.length, 1);
  assert.equal(first.body.notifications.delivered, 1);
  assert.ok(first.body.evaluations >= 2, "the rule without serviceId is evaluated per service");

  // Overlapping evaluations (route and cron) open nothing new and notify nobody again.
  const overlapping = await Promise.all([evaluate(), evaluate(), cron(now)]);
  assert.ok(overlapping.slice(0, 2).every((r) => r.status === 200 && r.body.opened.length === 0));
  const open = await incidents("firing");
  assert.equal(open.length, 1);
  const incident = open[0];
  assert.deepEqual(
    [incident.ruleId, incident.serviceId, incident.metricName, incident.value, incident.threshold, incident.severity, incident.state],
    [rule.body.id, "checkout", "span.error_rate", 0.5, 0.1, "critical", "firing"],
  );

  assert.equal(receiver.requests.length, 1);
  const hook = receiver.requests[0];
  const expected = "sha256=" + createHmac("sha256", SECRET).update(hook.body).digest("hex");
  assert.equal(hook.headers["x-collector-signature-256"], expected);
  assert.equal(hook.headers["x-collector-event"], "firing");
  assert.equal(hook.headers["content-type"], "application/json");
  const payload = JSON.parse(hook.body);
  assert.equal(payload.id, `${incident.id}:firing`);
  assert.equal(payload.event, "firing");
  assert.deepEqual(payload.incident, { ...incident, notificationError: null });
  assert.deepEqual(payload.rule, { id: rule.body.id, name: "Checkout errors", description: "", labels: { team: "payments" } });

  const state = JSON.parse(await c.mf.getKVNamespace("ALERT_STATE").then((kv) => kv.get(`alert:${rule.body.id}`)));
  assert.equal(state.checkout.phase, "firing");

  // Acknowledge: validation, 404, 200, then 409.
  const ackPath = `/api/alerts/incidents/${incident.id}/acknowledge`;
  assert.equal((await c.send("POST", ackPath, {})).status, 400);
  assert.equal((await c.send("POST", "/api/alerts/incidents/nope/acknowledge", { acknowledgedBy: "alice" })).status, 404);
  const ack = await c.send("POST", ackPath, { acknowledgedBy: "alice" });
  assert.equal(ack.status, 200);
  assert.deepEqual([ack.body.state, ack.body.acknowledgedBy], ["acknowledged", "alice"]);
  assert.ok(ack.body.acknowledgedAt);
  const again = await c.send("POST", ackPath, { acknowledgedBy: "bob" });
  assert.equal(again.status, 409);
  assert.equal((await incidents("acknowledged")).length, 1);

  // Healthy traffic in the same minute brings the error rate to 5/100; the
  // receiver fails the first resolve delivery, a later cycle retries it.
  assert.equal((await c.ingest(checkoutRequests(90, 0, at))).status, 200);
  receiver.failNext(1);
  const recovered = await evaluate();
  assert.deepEqual(recovered.body.resolved.map((i) => [i.id, i.resolvedValue, i.resolution]), [[incident.id, 0.05, "recovered"]]);
  assert.equal(recovered.body.notifications.retrying, 1);
  const pending = (await c.api(`/api/alerts/incidents/${incident.id}`)).body;
  assert.equal(pending.state, "resolved");
  assert.equal(pending.notificationError, "receiver answered HTTP 500");
  const resolveNotification = pending.notifications.find((n) => n.event === "resolved");
  assert.deepEqual([resolveNotification.status, resolveNotification.attempts], ["pending", 1]);

  await cron(now + 90_000); // the retry is due a minute after the failure
  await evaluate();
  const resolves = receiver.requests.filter((r) => r.headers["x-collector-event"] === "resolved");
  assert.deepEqual(resolves.map((r) => r.status), [500, 200], "failed once, delivered once, never again");
  assert.equal(JSON.parse(resolves[1].body).incident.resolvedValue, 0.05);
  assert.equal(resolves[0].body, resolves[1].body, "a retry sends the same bytes");
  const delivered = (await c.api(`/api/alerts/incidents/${incident.id}`)).body.notifications;
  assert.deepEqual(delivered.map((n) => [n.event, n.status]), [["firing", "delivered"], ["resolved", "delivered"]]);

  // A new breach after resolving opens a new incident.
  assert.equal((await c.ingest(checkoutRequests(20, 20, at))).status, 200);
  const refired = await evaluate();
  assert.equal(refired.body.opened.length, 1);
  assert.notEqual(refired.body.opened[0].id, incident.id);
  assert.equal((await incidents()).filter((i) => i.ruleId === rule.body.id).length, 2);

  // Deleting the rule closes its open incident without a notification.
  const before = receiver.requests.length;
  assert.equal((await c.send("DELETE", `/api/alerts/configs/${rule.body.id}`)).status, 204);
  const closed = (await c.api(`/api/alerts/incidents/${refired.body.opened[0].id}`)).body;
  assert.deepEqual([closed.state, closed.resolution], ["resolved", "rule_removed"]);
  await evaluate();
  assert.equal(receiver.requests.length, before, "closing a deleted rule's incident notifies nobody");
  assert.equal(await c.mf.getKVNamespace("ALERT_STATE").then((kv) => kv.get(`alert:${rule.body.id}`)), null);
});

test("a resolve waits until the firing notification of its incident is delivered", async () => {
  const channel = (await c.api("/api/alerts/channels")).body.channels.find((ch) => ch.name === "ops");
  const rule = await c.send("POST", "/api/alerts/configs", {
    name: "Ledger errors", serviceId: "ledger", metricName: "span.error_count", aggregation: "sum", condition: "gte", threshold: 3,
    channels: [channel.id],
  });
  const now = Date.now();
  const seen = () => receiver.requests.filter((r) => JSON.parse(r.body).rule.id === rule.body.id).map((r) => [r.headers["x-collector-event"], r.status]);
  assert.equal((await c.ingest(checkoutRequests(5, 5, now - 30_000, "ledger"))).status, 200);
  receiver.failNext(1);
  assert.equal((await evaluate()).body.opened.length, 1);
  assert.deepEqual(seen(), [["firing", 500]]);
  // Recovered while the firing notification waits for its retry: the resolve must not overtake it.
  await c.send("PUT", `/api/alerts/configs/${rule.body.id}`, { ...rule.body, id: undefined, createdAt: undefined, updatedAt: undefined, threshold: 100 });
  assert.equal((await evaluate()).body.resolved.length, 1);
  assert.deepEqual(seen(), [["firing", 500]]);
  await cron(now + 90_000);
  assert.deepEqual(seen(), [["firing", 500], ["firing", 200]], "the resolve stays queued while the firing is pending");
  await cron(now + 95_000);
  assert.deepEqual(seen(), [["firing", 500], ["firing", 200], ["resolved", 200]]);
});

test("incident queries validate their parameters", async () => {
  assert.equal((await c.api("/api/alerts/incidents?state=open")).status, 400);
  assert.equal((await c.api("/api/alerts/incidents?limit=0")).status, 400);
  assert.equal((await c.api("/api/alerts/incidents/nope")).status, 404);
  assert.equal((await c.api("/api/alerts/incidents?limit=1")).body.incidents.length, 1);
});
