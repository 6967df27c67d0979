// The web UI in a real browser: Debian's Chromium driven by playwright-core
// against the collector in local workerd, seeded with real OTLP from the
// stock OpenTelemetry JS exporters. Each page shows the seeded data; the
// services → service → trace → span → logs click-through works; a wrong token
// shows the sign-in message; a 10,000-span trace's waterfall renders within
// 1 s; a cycle on the map is dashed; SLO burn rates over time are drawn; a
// fleet of 120 long-named services is filtered and focused; no console
// errors; light, dark, 1280 and 390 px wide. Screenshots go
// to $UI_SCREENSHOT_DIR (`npm run ui:screenshots` refreshes docs/ui/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { context, trace, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { startCollector, root, API_TOKEN, INGEST_TOKEN } from "./harness.mjs";
import { request, json, span as otlpSpan, BASE_NS } from "./otlp.mjs";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const SHOTS = process.env.UI_SCREENSHOT_DIR ? join(root, process.env.UI_SCREENSHOT_DIR) : join(tmpdir(), "collector-ui");
const TRACES = 5;
const BIG_TRACE = "b16b16b16b16b16b16b16b16b16b16b1";

let c;
let browser;
let page;
let consoleErrors = [];
let failedTraceId;

function tracer(service) {
  const exporter = new OTLPTraceExporter({ url: `${c.url}/v1/traces`, headers: { authorization: `Bearer ${INGEST_TOKEN}` } });
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": service, "service.version": "2.3.4", "deployment.environment.name": "staging" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
}

function logger(service) {
  const exporter = new OTLPLogExporter({ url: `${c.url}/v1/logs`, headers: { authorization: `Bearer ${INGEST_TOKEN}` } });
  return new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": service }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
}

/** Five checkout traces across gateway → checkout → payments (+ postgres); the last one's charge fails. */
async function seed() {
  const providers = ["gateway", "checkout", "payments"].map(tracer);
  const [gateway, checkout, payments] = providers.map((p) => p.getTracer("ui-test"));
  const logs = logger("checkout");
  for (let i = 0; i < TRACES; i++) {
    const failing = i === TRACES - 1;
    const rootSpan = gateway.startSpan("GET /checkout", { kind: SpanKind.SERVER, attributes: { "http.route": "/checkout", "http.response.status_code": failing ? 502 : 200 } });
    const rootCtx = trace.setSpan(context.active(), rootSpan);
    const call = gateway.startSpan("POST", { kind: SpanKind.CLIENT, attributes: { "server.address": "checkout.internal" } }, rootCtx);
    const order = checkout.startSpan("POST /orders", { kind: SpanKind.SERVER, attributes: { "order.items": i + 1 } }, trace.setSpan(rootCtx, call));
    const orderCtx = trace.setSpan(rootCtx, order);
    checkout.startSpan("INSERT orders", { kind: SpanKind.CLIENT, attributes: { "db.system.name": "postgresql", "db.namespace": "orders-db" } }, orderCtx).end();
    const charge = payments.startSpan("POST /charge", { kind: SpanKind.SERVER }, orderCtx);
    logs.getLogger("orders").emit({ severityNumber: failing ? SeverityNumber.ERROR : SeverityNumber.INFO, severityText: failing ? "ERROR" : "INFO", body: `order ${i} placed`, context: orderCtx });
    if (failing) {
      charge.recordException(new Error("card declined"));
      charge.setStatus({ code: SpanStatusCode.ERROR, message: "card declined" });
      failedTraceId = rootSpan.spanContext().traceId;
    }
    await new Promise((r) => setTimeout(r, 5));
    for (const s of [charge, order, call, rootSpan]) s.end();
  }
  await Promise.all([...providers, logs].map((p) => p.forceFlush()));
  await Promise.all([...providers, logs].map((p) => p.shutdown()));
}

/** A 10,001-span trace started a minute ago: a root, 100 children, 99 grandchildren each. */
async function seedBigTrace() {
  const base = BigInt(Date.now() - 60_000) * 1_000_000n;
  const id = (n) => n.toString(16).padStart(16, "0");
  const span = (n, parent, name, startMs, durationMs) => ({
    traceId: BIG_TRACE, spanId: id(n), parentSpanId: parent ? id(parent) : "", name, kind: parent ? 1 : 2,
    startTimeUnixNano: String(base + BigInt(Math.round(startMs * 1e6))),
    endTimeUnixNano: String(base + BigInt(Math.round((startMs + durationMs) * 1e6))),
  });
  const spans = [span(1, 0, "GET /report", 0, 5000)];
  for (let i = 0; i < 100; i++) {
    const child = 0x100000 + i * 100;
    spans.push(span(child, 1, `section ${i}`, i * 50, 49));
    for (let j = 1; j < 100; j++) spans.push(span(child + j, child, `row ${i}.${j}`, i * 50 + j * 0.4, 0.35));
  }
  await exportJson(request({ reports: spans }));
}

/** Posts an OTLP/JSON trace export. */
async function exportJson(body) {
  const res = await fetch(`${c.url}/v1/traces`, {
    method: "POST",
    headers: { authorization: `Bearer ${INGEST_TOKEN}`, "content-type": "application/json" },
    body: json(body),
  });
  assert.equal(res.status, 200, await res.text());
}

before(async () => {
  c = await startCollector();
  await seed();
  await seedBigTrace();
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-background-networking"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(e.message));
});

after(async () => {
  await browser?.close();
  await c?.stop();
});

const open = (hash) => page.goto(`${c.url}/#${hash}`);
const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

test("a wrong token shows the sign-in message, the right one opens the services", async () => {
  await open("/services");
  await page.getByLabel("API key").fill("not-a-key");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "the collector refused this token" }).waitFor();
  await shot("sign-in");
  consoleErrors = []; // the refused request itself is logged by the browser
  await page.getByLabel("API key").fill(API_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Services" }).waitFor();
});

test("services: the RED table shows the seeded services and their counts, sortable", async () => {
  await open("/services?window=1h&sort=name&dir=asc");
  const rows = page.locator("table.services tbody tr");
  await rows.first().waitFor();
  const names = await rows.locator("td:first-child a").allTextContents();
  assert.deepEqual(names, ["checkout", "gateway", "payments", "reports"]);
  const gateway = rows.filter({ hasText: "gateway" });
  assert.equal((await gateway.locator("td").nth(6).textContent()).trim(), String(TRACES), "gateway's requests as sent");
  assert.match(await rows.filter({ hasText: "payments" }).locator("td").nth(2).textContent(), /20\.0 %/, "one charge in five failed");
  const sparkline = rows.filter({ hasText: "payments" }).locator("svg.sparkline");
  await sparkline.waitFor();
  assert.match(await sparkline.getAttribute("aria-label"), new RegExp(`^${TRACES} requests over the window, 1 slices with errors`));
  await page.getByRole("button", { name: /^Service/ }).click();
  assert.deepEqual(await rows.locator("td:first-child a").allTextContents(), ["reports", "payments", "gateway", "checkout"]);
  assert.match(page.url(), /sort=name&dir=desc/, "the sort is in the URL");
  await shot("services");
});

test("service page: callers, callees, recent errors and logs; click-through to the failed trace, its span and logs", async () => {
  await open("/services");
  await page.locator("table.services").getByRole("link", { name: "checkout" }).click();
  await page.getByRole("heading", { name: "checkout", level: 1 }).waitFor();
  const callers = page.locator("h2:text('Callers') + table");
  await callers.getByRole("link", { name: "gateway" }).waitFor();
  const callees = page.locator("h2:text('Calls') + table");
  assert.deepEqual((await callees.locator("td:first-child").allTextContents()).sort(), ["orders-db", "payments"]);
  await page.getByText("order 0 placed").waitFor();
  assert.deepEqual((await page.locator("ul.operations a").allTextContents()).sort(), ["INSERT orders", "POST /orders"]);
  await shot("service");

  await open(`/traces?service=payments&status=error&lookback=1h`);
  const results = page.locator("table.grid tbody tr");
  await results.first().waitFor();
  assert.equal(await results.count(), 1);
  assert.equal(await page.locator("svg.scatter circle.dot.error").count(), 1, "the failed trace is red in the scatter plot");
  await shot("traces");
  await results.first().getByRole("link").click();
  await page.getByRole("heading", { name: "gateway: GET /checkout" }).waitFor();
  assert.match(page.url(), new RegExp(`#/traces/${failedTraceId}`));
  const rows = page.locator(".waterfall .row");
  assert.equal(await rows.count(), 5);
  await rows.filter({ hasText: "POST /charge" }).click();
  const detail = page.getByRole("complementary", { name: "Span detail" });
  await detail.getByRole("heading", { name: "POST /charge" }).waitFor();
  await detail.getByText("card declined").first().waitFor();
  await detail.getByText("exception", { exact: true }).waitFor();
  assert.match(page.url(), /span=[0-9a-f]{16}/, "the selected span is in the URL");
  assert.equal(await page.locator(".waterfall .row.critical").count(), 4, "root → call → order → charge (ends last)");
  await rows.filter({ hasText: "POST /orders" }).click();
  await detail.getByText("order 4 placed").waitFor();
  await shot("trace");
  await page.getByRole("tab", { name: "Flame graph" }).click();
  assert.equal(await page.locator(".flame .frame").count(), 5);
  await shot("trace-flame");
});

/** One trace where ledger calls audit and audit calls ledger back: a cycle on the map. */
async function seedCycle() {
  const shift = Date.now() - 30_000 - Number(BASE_NS / 1_000_000n);
  const at = (s) => otlpSpan({ trace: 0xc1c1e, ...s, startMs: shift });
  const body = request({
    ledger: [at({ id: 1, name: "POST /entries", kind: 2 }), at({ id: 2, parent: 1, name: "call audit", kind: 3 }), at({ id: 5, parent: 4, name: "GET /balance", kind: 2 })],
    audit: [at({ id: 3, parent: 2, name: "POST /audit", kind: 2 }), at({ id: 4, parent: 3, name: "call ledger", kind: 3 })],
  });
  await exportJson(body);
}

test("service map: nodes and edges as sent, a cycle drawn dashed, a click on a node opens the service", async () => {
  await seedCycle();
  await open("/map?window=1h");
  const edges = page.locator("h2:text('Edges') + table tbody tr");
  await edges.first().waitFor();
  const pairs = (await edges.evaluateAll((rows) => rows.map((r) => [...r.cells].slice(0, 3).map((c) => c.textContent).join(" ")))).sort();
  assert.deepEqual(pairs, ["audit ledger 1", `checkout orders-db ${TRACES}`, `checkout payments ${TRACES}`, `gateway checkout ${TRACES}`, "ledger audit 1"]);
  await page.getByText("Cycles: audit → ledger → audit").or(page.getByText("Cycles: ledger → audit → ledger")).waitFor();
  await page.locator(".map canvas").first().waitFor();
  // gateway, checkout, payments, orders-db, reports (the big trace), ledger, audit.
  await page.waitForFunction(() => document.querySelector(".map").graph?.nodes().length === 7);
  const cycleEdges = await page.evaluate(() => document.querySelector(".map").graph.edges(".cycle").map((e) => [e.id(), e.style("line-style")]).sort());
  assert.deepEqual(cycleEdges, [["audit->ledger", "dashed"], ["ledger->audit", "dashed"]]);
  const at = await page.evaluate(() => {
    const box = document.querySelector(".map").getBoundingClientRect();
    const node = document.querySelector(".map").graph.$id("payments");
    const p = node.renderedPosition();
    return { x: box.x + p.x, y: box.y + p.y, colour: node.data("colour") };
  });
  assert.equal(at.colour, "#c62828", "payments answered 1 error in 5 calls: red");
  await shot("map");
  await page.mouse.click(at.x, at.y);
  await page.getByRole("heading", { name: "payments", level: 1 }).waitFor();
});

test("logs: search by text and severity; a record's trace link opens the trace", async () => {
  await open("/logs?severity=error");
  const rows = page.locator("table.logs tbody tr");
  await rows.first().waitFor();
  assert.deepEqual(await rows.locator("td.body").allTextContents(), ["order 4 placed"]);
  await open("/logs?q=placed");
  await page.locator("table.logs tbody tr").nth(TRACES - 1).waitFor();
  assert.equal(await page.locator("table.logs tbody tr").count(), TRACES);
  await shot("logs");
  await page.locator("table.logs tbody tr").first().getByRole("link").click();
  await page.getByRole("heading", { name: "gateway: GET /checkout" }).waitFor();
});

test("alerts: a rule created in the UI fires on the seeded errors and is acknowledged from the UI", async () => {
  await open("/alerts");
  await page.getByRole("heading", { name: "Alerts and SLOs" }).waitFor();
  await page.getByRole("button", { name: "New rule" }).click();
  const form = page.getByRole("form", { name: "New rule" });
  await form.getByLabel("Name").fill("Payments errors");
  await form.getByLabel("Service (empty: every service)").fill("payments");
  await form.getByLabel("Metric").fill("span.error_rate");
  await form.getByLabel("Condition").selectOption("gt");
  await form.getByLabel("Threshold").fill("0.1");
  await form.getByLabel("Severity").selectOption("critical");
  await form.getByRole("button", { name: "Create rule" }).click();
  await page.getByRole("cell", { name: "Payments errors", exact: true }).waitFor();
  const { body: rules } = await c.api("/api/alerts/configs");
  assert.equal(rules.configs.length, 1);
  assert.deepEqual(
    [rules.configs[0].serviceId, rules.configs[0].metricName, rules.configs[0].condition, rules.configs[0].threshold, rules.configs[0].severity],
    ["payments", "span.error_rate", "gt", 0.1, "critical"],
  );

  assert.equal((await c.send("POST", "/api/alerts/evaluate")).status, 200, "the cron trigger's cycle, run now");
  await page.reload();
  const firing = page.locator("h2:text('Firing') ~ table").first();
  await firing.getByText("Payments errors").waitFor();
  await page.getByLabel("Acknowledge as").fill("alice");
  await firing.getByRole("button", { name: "Acknowledge" }).click();
  await page.locator("h2:text('Acknowledged') + table").getByText("alice").waitFor();
  const { body } = await c.api("/api/alerts/incidents?state=acknowledged");
  assert.equal(body.incidents.length, 1);
  assert.equal(body.incidents[0].acknowledgedBy, "alice");
  assert.equal(body.incidents[0].serviceId, "payments");

  const slo = await c.send("POST", "/api/slos", { name: "Charges succeed", serviceId: "payments", kind: "availability", target: 99, windowDays: 7 });
  assert.equal(slo.status, 201, JSON.stringify(slo.body));
  await page.reload();
  const card = page.locator("article.slo").filter({ hasText: "Charges succeed" });
  await card.getByText("80.000 %").waitFor();
  assert.equal(await card.locator("dd").nth(1).textContent(), "1 / 5", "bad / total events as sent");
  assert.equal(await card.getByRole("meter").getAttribute("aria-valuenow"), "0", "one bad charge in five spends more than a 1 % budget");
  // Burn rates over time: one bad charge in five is 20× a 1 % budget in every window once the charges are in.
  const chart = card.locator("figure.burn-chart svg");
  await chart.waitFor();
  assert.match(await chart.getAttribute("aria-label"),
    /^Burn rates over the last 24h: 5m peak 20\.0×, 30m peak 20\.0×, 1h peak 20\.0×, 6h peak 20\.0×; fast alert firing at [1-9]\d* of \d+ points/);
  assert.ok(await card.locator("figure.burn-chart :is(polyline, circle)").count() >= 4, "a line or dot per window");
  assert.ok(await card.locator("rect.firing.fast").count() >= 1, "the fast burn shaded where it fires");
  await card.getByLabel("Range").selectOption("6h");
  await page.waitForURL(/burn=6h/);
  await card.locator('figure.burn-chart svg[aria-label^="Burn rates over the last 6h"]').waitFor();
  await shot("alerts");
});

test("alerts: a channel created, a rule edited to use it, both deleted, all from the UI", async () => {
  page.once("dialog", (dialog) => dialog.accept());
  await open("/alerts");
  await page.getByRole("button", { name: "New channel" }).click();
  const channelForm = page.getByRole("form", { name: "New channel" });
  await channelForm.getByLabel("Name").fill("ops");
  await channelForm.getByLabel("URL").fill("https://ops.example.com/hooks/alerts");
  await channelForm.getByLabel("Secret (webhooks)").fill("s3cret");
  await channelForm.getByRole("button", { name: "Create channel" }).click();
  await page.getByRole("cell", { name: "https://ops.example.com/hooks/alerts" }).waitFor();
  const [channel] = (await c.api("/api/alerts/channels")).body.channels;
  assert.deepEqual([channel.name, channel.kind, channel.hasSecret], ["ops", "webhook", true]);

  await page.getByRole("row").filter({ hasText: "Payments errors" }).getByRole("button", { name: "Edit" }).click();
  const ruleForm = page.getByRole("form", { name: "Edit rule" });
  await ruleForm.getByLabel("Threshold").fill("0.15");
  await ruleForm.getByLabel("Channels").selectOption({ label: "ops" });
  await ruleForm.getByRole("button", { name: "Save rule" }).click();
  await page.getByRole("cell", { name: /gt 0\.15 over 300 s/ }).waitFor();
  const [rule] = (await c.api("/api/alerts/configs")).body.configs;
  assert.deepEqual([rule.name, rule.threshold, rule.channels], ["Payments errors", 0.15, [channel.id]]);

  await page.getByRole("row").filter({ hasText: "Payments errors" }).getByRole("button", { name: "Delete" }).click();
  await page.getByText("No rule yet.").waitFor();
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("row").filter({ hasText: "ops.example.com" }).getByRole("button", { name: "Delete" }).click();
  await page.getByText("No channel yet.").waitFor();
  assert.deepEqual((await c.api("/api/alerts/configs")).body.configs, []);
  assert.deepEqual((await c.api("/api/alerts/channels")).body.channels, []);
});

test("a 10,000-span trace: the waterfall renders within 1 s and stays usable", async () => {
  await open(`/traces/${BIG_TRACE}`);
  const painted = await page.waitForFunction(() => document.querySelector(".waterfall .row") && performance.now(), null, { polling: "raf", timeout: 30_000 });
  const paintedAt = await painted.jsonValue();
  const timing = await page.evaluate((id) => {
    const fetched = performance.getEntriesByType("resource").filter((e) => e.name.includes(`/api/traces/${id}`)).pop();
    return { fetchedAt: fetched.responseEnd, fetchMs: fetched.duration };
  }, BIG_TRACE);
  timing.paintedAt = paintedAt;
  const renderMs = timing.paintedAt - timing.fetchedAt;
  console.log(`10,000-span trace: API ${timing.fetchMs.toFixed(0)} ms, render after the answer ${renderMs.toFixed(0)} ms`);
  assert.ok(renderMs <= 1000, `rendered in ${renderMs} ms`);
  assert.ok((await page.locator(".waterfall .row").count()) < 200, "only the rows in view are drawn");
  assert.match(await page.locator("section.trace > p.muted").textContent(), /5\.00 s · 10001 spans · 0 errors/, "duration and count as sent");
  assert.equal((await page.locator(".waterfall .row").filter({ hasText: "section 0" }).locator(".duration").textContent()), "49.0 ms");
  await page.locator(".waterfall").evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await page.getByText("row 99.99").waitFor();
  await page.locator(".waterfall .row").filter({ hasText: "row 99.99" }).click();
  await page.keyboard.press("ArrowUp");
  await page.getByRole("complementary", { name: "Span detail" }).getByRole("heading", { name: "row 99.98" }).waitFor();
  await page.locator(".waterfall .row").filter({ hasText: "section 0" }).first().waitFor({ state: "detached" });
  await page.locator(".waterfall").evaluate((el) => { el.scrollTop = 0; });
  await page.locator(".waterfall .row").filter({ hasText: "section 0" }).getByRole("button", { name: "Collapse" }).click();
  await page.locator(".waterfall .row").filter({ hasText: "row 0.1" }).first().waitFor({ state: "detached" });
  await shot("trace-10000-spans");
});

test("dark mode and a 390 px screen: readable, no horizontal overflow", async () => {
  await page.emulateMedia({ colorScheme: "dark" });
  await open("/services");
  await page.locator("table.services tbody tr").first().waitFor();
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, "rgb(18, 22, 28)");
  await shot("services-dark");
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [hash, name] of [["/services", "services-390"], [`/traces/${failedTraceId}`, "trace-390"], ["/logs", "logs-390"]]) {
    await open(hash);
    await page.locator("main h1").first().waitFor();
    await page.waitForLoadState("networkidle");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${hash} overflows by ${overflow} px at 390 px`);
    await shot(name);
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1280, height: 900 });
});

/** A fleet of FLEET services with long names, calling each other as a tree (each calls four). */
const FLEET = 120;
const fleetName = (i) => `fleet-${String(i).padStart(3, "0")}-${"a-rather-long-service-name-".repeat(2)}${i}`;

test("a large fleet: the services filter, a focused map, long names and numbers that do not wrap at 1280 and 390 px", async () => {
  const shift = Date.now() - 30_000 - Number(BASE_NS / 1_000_000n);
  const byService = {};
  for (let i = 0; i < FLEET; i++) {
    const parent = i === 0 ? undefined : Math.floor((i - 1) / 4) * 2 + 3;
    byService[fleetName(i)] = [
      otlpSpan({ trace: 0xf1ee7, id: i * 2 + 2, parent, name: `GET /${"segment/".repeat(8)}${i}`, kind: 2, startMs: shift }),
      otlpSpan({ trace: 0xf1ee7, id: i * 2 + 3, parent: i * 2 + 2, name: "call", kind: 3, startMs: shift }),
    ];
  }
  await exportJson(request(byService));

  await open("/services?q=fleet-01");
  await page.getByText(/^10 of \d+ services match/).waitFor();
  const names = (await page.locator("table.services tbody tr td:first-child a").allTextContents()).sort();
  assert.deepEqual(names, Array.from({ length: 10 }, (_, i) => fleetName(10 + i)));
  await page.getByLabel("Filter").fill("fleet-11");
  await page.waitForURL(/q=fleet-11/);
  assert.equal(await page.locator("table.services tbody tr").count(), 10, "fleet-110 … fleet-119");
  const lines = () => page.locator("table.services td.num").evaluateAll((cells) =>
    Math.max(...cells.map((td) => { const r = document.createRange(); r.selectNodeContents(td); return r.getClientRects().length; })));
  assert.equal(await lines(), 1, "figures stay on one line beside long names");

  const nodes = (await c.api("/api/service-map?window=1h")).body.nodes.length;
  assert.ok(nodes > FLEET, `${nodes} nodes`);
  const started = Date.now();
  await open("/map");
  await page.getByText(`${nodes} nodes: focus on a service`).waitFor();
  await page.waitForFunction((n) => document.querySelector(".map")?.graph?.nodes().length === n, nodes);
  console.log(`map of ${nodes} nodes drawn ${Date.now() - started} ms after opening the page`);
  await page.getByLabel("Focus").fill(fleetName(1));
  await page.getByLabel("Focus").press("Enter");
  await page.waitForURL(/focus=fleet-001/);
  // fleet-001, its caller fleet-000 and its callees fleet-005 … fleet-008.
  await page.waitForFunction(() => document.querySelector(".map")?.graph?.nodes().length === 6);
  const edges = await page.locator("h2:text('Edges') + table tbody tr").evaluateAll((rows) => rows.map((r) => `${r.cells[0].textContent} ${r.cells[1].textContent}`));
  assert.deepEqual(edges.sort(), [[0, 1], [1, 5], [1, 6], [1, 7], [1, 8]].map(([a, b]) => `${fleetName(a)} ${fleetName(b)}`));
  await shot("map-focus");

  await page.setViewportSize({ width: 390, height: 844 });
  for (const hash of ["/services?q=fleet-0", `/services/${encodeURIComponent(fleetName(1))}`, `/map?focus=${fleetName(1)}`]) {
    await open(hash);
    await page.locator("main h1").first().waitFor();
    await page.waitForLoadState("networkidle");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${hash} overflows by ${overflow} px at 390 px`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
});

test("no console errors on any page", () => {
  assert.deepEqual(consoleErrors, []);
});
