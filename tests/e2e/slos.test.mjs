// SLOs end to end: definitions through the API, status (SLI, error budget,
// burn rates) from the per-operation roll-ups of real ingested spans, and
// multi-window burn-rate alerts opening incidents like rules do; burn rates
// over time.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCollector } from "./harness.mjs";
import { request, json, span } from "./otlp.mjs";
import { startReceiver } from "./receiver.mjs";

let c, receiver;
before(async () => {
  c = await startCollector();
  // As in production, the operation hours trail the clock (migration 0014 starts them 10 minutes
  // ahead): an SLO window reads the hours and the minutes the cron has not rolled forward yet.
  await c.db.prepare("UPDATE rollup_marks SET minute_ms = ?").bind(Date.now() - 300_000).run();
  receiver = await startReceiver();
});
after(async () => {
  await c?.stop();
  await receiver?.close();
});

/** `count` `name` SERVER spans of `service` taking `durationMs`, `errors` of them failed, at `atMs`. */
function requests(service, name, count, errors, atMs, durationMs, firstTrace) {
  const shift = atMs - 1_763_900_000_123;
  const spans = Array.from({ length: count }, (_, i) =>
    span({ trace: firstTrace + i, id: firstTrace + i, name, kind: 2, startMs: shift, durationMs, error: i < errors }));
  return json(request({ [service]: spans }));
}

const close = (actual, expected) => assert.ok(Math.abs(actual - expected) < 1e-6, `${actual} ≉ ${expected}`);

test("SLO definitions validate and round-trip", async () => {
  const bad = await c.send("POST", "/api/slos", { name: "n", serviceId: "s", kind: "latency", target: 99 });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^thresholdMs: /);
  assert.match((await c.send("POST", "/api/slos", { name: "n", serviceId: "s", kind: "availability", target: 100 })).body.error.message, /^target: /);
  assert.match((await c.send("POST", "/api/slos", { name: "n", serviceId: "s", kind: "availability", target: 99, channels: ["nope"] })).body.error.message, /^channels: /);
  const created = await c.send("POST", "/api/slos", { name: "Temp", serviceId: "s", kind: "availability", target: 99.5 });
  assert.equal(created.status, 201);
  assert.deepEqual([created.body.windowDays, created.body.operation, created.body.enabled], [30, null, true]);
  const replaced = await c.send("PUT", `/api/slos/${created.body.id}`, { name: "Temp 2", serviceId: "s", kind: "availability", target: 99, windowDays: 7 });
  assert.deepEqual([replaced.status, replaced.body.name, replaced.body.windowDays], [200, "Temp 2", 7]);
  assert.equal((await c.api("/api/slos")).body.slos.length, 1);
  assert.equal((await c.send("DELETE", `/api/slos/${created.body.id}`)).status, 204);
  assert.equal((await c.api(`/api/slos/${created.body.id}`)).status, 404);
  assert.equal((await c.api(`/api/slos/${created.body.id}/status`)).status, 404);
  assert.equal((await c.send("PUT", "/api/slos/nope", { name: "n", serviceId: "s", kind: "availability", target: 99 })).status, 404);
});

test("status reports SLI, budget and burn rates; fast and slow burn open incidents and notify", async () => {
  const channel = await c.send("POST", "/api/alerts/channels", { name: "slo pager", kind: "webhook", url: receiver.url });
  const availability = await c.send("POST", "/api/slos", {
    name: "Checkout availability", serviceId: "checkout", operation: "POST /orders", kind: "availability", target: 99,
    channels: [channel.body.id],
  });
  assert.equal(availability.status, 201);
  const latency = await c.send("POST", "/api/slos", { name: "Checkout latency", serviceId: "checkout", kind: "latency", thresholdMs: 100, target: 95 });
  assert.equal(latency.status, 201);

  // 90 s ago: a minute the cron below rolls forward (it rolls the minutes that ended), whatever the clock's second.
  const at = Date.now() - 90_000;
  // 100 orders, 20 failed, 40 ms each; 50 health checks (another operation), all fine, 150 ms each.
  assert.equal((await c.ingest(requests("checkout", "POST /orders", 100, 20, at, 40, 0x10000))).status, 200);
  assert.equal((await c.ingest(requests("checkout", "GET /health", 50, 0, at, 150, 0x20000))).status, 200);

  const st = (await c.api(`/api/slos/${availability.body.id}/status`)).body;
  assert.equal(st.name, "Checkout availability");
  close(st.sli, 80);
  assert.deepEqual(st.events, { total: 100, good: 80, bad: 20 });
  close(st.errorBudget.total, 1);
  assert.equal(st.errorBudget.consumed, 20);
  close(st.errorBudget.remaining, -19);
  for (const w of ["5m", "30m", "1h", "6h", "1d", "3d"]) close(st.burnRates[w], 20);
  assert.deepEqual(st.alerts.map((a) => [a.name, a.factor, a.longWindow, a.shortWindow, a.burning]),
    [["fast", 14.4, "1h", "5m", true], ["slow", 6, "6h", "30m", true]]);

  // All operations: 100 at 40 ms and 50 at 150 ms; 100 ms splits the (100, 250] bucket at 0 → 100 of 150 good.
  const lat = (await c.api(`/api/slos/${latency.body.id}/status`)).body;
  assert.deepEqual(lat.events, { total: 150, good: 100, bad: 50 });
  close(lat.sli, 100 * 100 / 150);
  // A third bad against a 5 % budget burns 6.67×: slow (6×) but not fast (14.4×).
  close(lat.burnRates["1h"], 20 / 3);
  assert.deepEqual(lat.alerts.map((a) => a.burning), [false, true]);

  const evaluated = (await c.send("POST", "/api/alerts/evaluate")).body;
  const opened = evaluated.opened.map((i) => [i.ruleId, i.severity, i.metricName, i.serviceId]).sort();
  assert.deepEqual(opened, [
    [`slo:${availability.body.id}:fast`, "critical", "slo.burn_rate.fast", "checkout"],
    [`slo:${availability.body.id}:slow`, "warning", "slo.burn_rate.slow", "checkout"],
    [`slo:${latency.body.id}:slow`, "warning", "slo.burn_rate.slow", "checkout"],
  ].sort());
  close(evaluated.opened.find((i) => i.ruleId.endsWith(`${availability.body.id}:fast`)).value, 20);
  // Only the availability SLO has a channel: two notifications.
  assert.deepEqual(receiver.requests.map((r) => JSON.parse(r.body).rule.labels.slo), [availability.body.id, availability.body.id]);
  assert.equal((await c.send("POST", "/api/alerts/evaluate")).body.opened.length, 0);

  // The cron rolls the minutes into hours: the status reads the same.
  assert.equal((await c.db.prepare("SELECT count(*) AS n FROM operation_red_hours").first()).n, 0);
  const cron = await (await c.mf.getWorker()).scheduled({ cron: "* * * * *", scheduledTime: new Date() });
  assert.equal(cron.outcome, "ok");
  assert.equal((await c.db.prepare("SELECT sum(requests) AS n FROM operation_red_hours").first()).n, 150);
  const rolled = (await c.api(`/api/slos/${availability.body.id}/status`)).body;
  assert.deepEqual({ ...rolled, evaluatedAt: st.evaluatedAt }, st);

  // Ids are matched exactly: a wildcard-looking id deletes nothing and resolves nothing.
  assert.equal((await c.send("DELETE", "/api/slos/%25")).status, 404);
  assert.equal((await c.send("DELETE", `/api/alerts/configs/slo:${availability.body.id}:fast`)).status, 404);
  assert.equal((await c.api("/api/alerts/incidents?state=firing")).body.incidents.length, 3);
  assert.equal((await c.send("DELETE", `/api/slos/${availability.body.id}`)).status, 204);
  const open = (await c.api("/api/alerts/incidents?state=firing")).body.incidents.map((i) => i.ruleId).sort();
  assert.deepEqual(open, [`slo:${latency.body.id}:slow`]);
});

test("burn rates over time: each point's windows read the minutes before it, and the alerts fire where both windows burn", async () => {
  const slo = await c.send("POST", "/api/slos", { name: "Search availability", serviceId: "search", kind: "availability", target: 99 });
  assert.equal(slo.status, 201);
  const now = Date.now();
  // Three hours ago a bad spell (50 of 100 failed: 50× a 1 % budget); 90 s ago 100 good requests.
  const bad = now - 3 * 3_600_000;
  const good = now - 90_000;
  assert.equal((await c.ingest(requests("search", "GET /search", 100, 50, bad, 20, 0x30000))).status, 200);
  assert.equal((await c.ingest(requests("search", "GET /search", 100, 0, good, 20, 0x40000))).status, 200);

  const start = now - 4 * 3_600_000;
  const { status, body } = await c.api(`/api/slos/${slo.body.id}/burn-rates?start=${start}&end=${now}&step=5m`);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.sloId, slo.body.id);
  assert.equal(body.step, 300);
  assert.equal(body.start, Math.floor(start / 60_000) * 60_000);
  assert.equal(body.times.length, Math.ceil((now - body.start) / 300_000), "steps from the start's minute");
  assert.equal(body.times.at(-1), now, "the last point is the end");
  assert.deepEqual(body.burnRates.map((r) => r.window), ["5m", "30m", "1h", "6h"]);

  // The documented rule: a window at t sums the minutes from the one holding t − window up to t.
  const minute = (ms) => Math.floor(ms / 60_000) * 60_000;
  const seconds = { "5m": 300, "30m": 1800, "1h": 3600, "6h": 21600 };
  const expected = (t, w) => {
    const inWindow = (at) => minute(at) >= minute(t - seconds[w] * 1000) && minute(at) < t;
    const [total, badCount] = [[bad, 100, 50], [good, 100, 0]].filter(([at]) => inWindow(at))
      .reduce(([n, b], [, count, errors]) => [n + count, b + errors], [0, 0]);
    return total ? badCount / total / 0.01 : null;
  };
  let fastFiring = 0;
  body.times.forEach((t, i) => {
    for (const { window, values } of body.burnRates) {
      const want = expected(t, window);
      if (want === null) assert.equal(values[i], null, `${window} at ${i}`);
      else close(values[i], want);
    }
    const rate = (w) => body.burnRates.find((r) => r.window === w).values[i];
    const fast = body.alerts.find((a) => a.name === "fast").firing[i];
    assert.equal(fast, rate("1h") === null || rate("5m") === null ? null : Math.min(rate("1h"), rate("5m")) > 14.4, `fast at ${i}`);
    if (fast) fastFiring++;
  });
  assert.ok(fastFiring >= 1, "the bad spell fires the fast burn at the points right after it");
  close(body.burnRates.find((r) => r.window === "6h").values.at(-1), 25);
  close(body.burnRates.find((r) => r.window === "5m").values.at(-1), 0);

  assert.equal((await c.api(`/api/slos/${slo.body.id}/burn-rates?start=${now}&end=${now - 1}`)).status, 400);
  assert.equal((await c.api(`/api/slos/${slo.body.id}/burn-rates?start=0`)).status, 400, "more than 7 days");
  assert.equal((await c.api("/api/slos/999999/burn-rates")).status, 404);
});
