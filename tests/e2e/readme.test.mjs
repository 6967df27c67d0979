// The README's curl examples work as written (against this test's collector).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startCollector, root, INGEST_TOKEN, API_TOKEN } from "./harness.mjs";

let c;
before(async () => { c = await startCollector(); });
after(async () => { await c?.stop(); });

/** The commands of the first bash block after a heading, continuation lines joined. */
function commandsUnder(heading) {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.split(/^## /m).find((s) => s.startsWith(heading));
  const block = section.match(/```bash\n([\s\S]*?)```/)[1];
  return block.replace(/\\\n\s*/g, " ").split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
}

test("the README's curl examples succeed and read back what they sent", () => {
  const commands = commandsUnder("curl examples");
  assert.ok(commands.length >= 5);
  const outputs = commands.map((command) => {
    const local = command
      .replaceAll("http://127.0.0.1:8787", c.url)
      .replaceAll("dev-ingest-token", INGEST_TOKEN)
      .replaceAll("dev-api-token", API_TOKEN);
    return JSON.parse(execFileSync("bash", ["-c", local], { cwd: root, encoding: "utf8" }));
  });
  const [health, sent, sentGzip, trace, search, services, map, cycles, rule, slo, logs, evaluation, firing, sentMetrics, counted] = outputs;
  assert.equal(health.status, "healthy");
  assert.deepEqual(sent, {});
  assert.deepEqual(sentGzip, {});
  assert.equal(trace.spanCount, 2);
  assert.equal(trace.logCount, 0);
  assert.equal(trace.rootService, "frontend");
  assert.deepEqual(search.traces.map((t) => t.traceId), ["4bf92f3577b34da6a3ce929d0e0e4736"]);
  assert.deepEqual(services.services.map((s) => s.id), ["frontend"]);
  assert.equal(services.window.seconds, 900);
  assert.deepEqual(map.edges.map((e) => e.data.id), ["frontend->catalog"]);
  assert.equal(cycles.hasCycles, false);
  assert.deepEqual([rule.serviceId, rule.metricName, rule.aggregation, rule.enabled], ["frontend", "span.error_rate", "avg", true]);
  assert.deepEqual([slo.serviceId, slo.kind, slo.target], ["frontend", "availability", 99.9]);
  assert.deepEqual([logs.logs, logs.nextCursor, logs.limit], [[], null, 50]);
  assert.equal(evaluation.rules, 3, "the rule and the SLO's fast and slow burn-rate rules");
  assert.deepEqual(firing.incidents, [], "the example trace has no errors");
  assert.deepEqual(sentMetrics, {});
  assert.deepEqual(counted.result.points, [{ time: Date.parse("2025-11-23T10:00:00Z"), value: 25 }]);
  assert.deepEqual([counted.result.kind, counted.result.series, counted.step], ["sum", 1, 300]);
});
