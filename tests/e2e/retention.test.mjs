// The cron trigger prunes spans, trace metadata and dependency calls past
// SPAN_RETENTION_DAYS and leaves recent data and services alone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCollector } from "./harness.mjs";
import { checkoutTrace, request, json, traceId } from "./otlp.mjs";

let c;
before(async () => { c = await startCollector({ vars: { SPAN_RETENTION_DAYS: "7", SLO_RETENTION_DAYS: "20" } }); });
after(async () => { await c?.stop(); });

test("the scheduled handler prunes data past retention, and only that", async () => {
  const now = Date.now();
  assert.equal((await c.ingest(json(request(checkoutTrace(1, { atMs: now - 30 * 86_400_000 }))))).status, 200);
  assert.equal((await c.ingest(json(request(checkoutTrace(2, { atMs: now - 3_600_000 }))))).status, 200);
  const callsBefore = (await c.db.prepare("SELECT sum(call_count) AS n FROM service_dependencies").first()).n;
  assert.equal(callsBefore, 6);

  const hoursBefore = (await c.db.prepare("SELECT count(DISTINCT hour_ms) AS n FROM operation_red_hours").first()).n;
  assert.equal(hoursBefore, 2, "one hour of roll-ups for each trace before pruning");

  const worker = await c.mf.getWorker();
  const result = await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date(now) });
  assert.equal(result.outcome, "ok");

  assert.equal((await c.api(`/api/traces/${traceId(1)}`)).status, 404);
  assert.equal((await c.db.prepare("SELECT count(*) AS n FROM spans WHERE trace_id = ?").bind(traceId(1)).first()).n, 0);
  const recent = await c.api(`/api/traces/${traceId(2)}`);
  assert.equal(recent.status, 200);
  assert.equal(recent.body.spanCount, 6);
  const deps = (await c.db.prepare("SELECT caller_service, callee_service, call_count FROM service_dependencies ORDER BY 1, 2").all()).results;
  assert.deepEqual(deps.map((d) => d.call_count), [1, 1, 1]);
  assert.equal((await c.db.prepare("SELECT count(*) AS n FROM services").first()).n, 3);

  // Roll-ups: per-minute ones past SPAN_RETENTION_DAYS, hourly ones past SLO_RETENTION_DAYS.
  const rollups = async (table, column) => {
    const rows = (await c.db.prepare(`SELECT ${column} AS t, sum(requests) AS n FROM ${table} GROUP BY ${column} ORDER BY 1`).all()).results;
    return rows.map((r) => [r.t < now - 7 * 86_400_000 ? "old" : "recent", r.n]);
  };
  assert.deepEqual(await rollups("operation_red_minutes", "minute_ms"), [["recent", 3]]);
  assert.deepEqual(await rollups("operation_red_hours", "hour_ms"), [["recent", 3]]);
});

test("resolved incidents older than INCIDENT_RETENTION_DAYS go with their notifications; open ones stay", async () => {
  const now = Date.now();
  const day = 86_400_000;
  const incident = (id, state, resolvedMs) => c.db
    .prepare(`INSERT INTO alert_incidents (id, rule_id, rule_name, service_name, metric_name, severity, condition, threshold,
      state, value, started_ms, resolved_ms, resolution) VALUES (?, 'r', 'r', ?, 'span.count', 'warning', 'gt', 1, ?, 2, ?, ?, ?)`)
    .bind(id, id, state, (resolvedMs ?? now) - day, resolvedMs, resolvedMs ? "recovered" : null);
  await c.db.batch([
    incident("old-resolved", "resolved", now - 120 * day),
    incident("recent-resolved", "resolved", now - 10 * day),
    incident("old-open", "firing", null),
    c.db.prepare(`INSERT INTO alert_notifications (incident_id, event, channel_id, payload, status, next_attempt_ms)
      VALUES ('old-resolved', 'firing', 'c', '{}', 'delivered', 0), ('recent-resolved', 'firing', 'c', '{}', 'delivered', 0)`),
  ]);
  const result = await (await c.mf.getWorker()).scheduled({ cron: "* * * * *", scheduledTime: new Date(now) });
  assert.equal(result.outcome, "ok");
  const ids = (await c.db.prepare("SELECT id FROM alert_incidents ORDER BY id").all()).results.map((r) => r.id);
  assert.deepEqual(ids, ["old-open", "recent-resolved"]);
  const notified = (await c.db.prepare("SELECT incident_id FROM alert_notifications").all()).results.map((r) => r.incident_id);
  assert.deepEqual(notified, ["recent-resolved"]);
});
