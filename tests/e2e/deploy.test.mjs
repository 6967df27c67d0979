// `npm run deploy` (scripts/deploy.mjs) against a stand-in wrangler that
// keeps an account's state: on a fresh account it creates the database, the
// bucket with its lifecycle rules and both queues, applies the migrations with
// the database's id and deploys with a generated INTERNAL_TOKEN secret; run
// again, it creates nothing and keeps the secret. And the real
// `wrangler deploy --dry-run` accepts the configuration (no placeholder ids).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "./harness.mjs";
import { deploy, readConfig } from "../../scripts/deploy.mjs";

const toml = readFileSync(join(root, "wrangler.toml"), "utf8");

/** A wrangler that acts on an in-memory account; `calls` records every invocation. */
function standIn(account) {
  const calls = [];
  const ok = (stdout = "") => ({ status: 0, stdout });
  const wrangler = (args) => {
    calls.push(args.join(" "));
    const [command, sub, third] = args;
    if (command === "d1" && sub === "list") return ok(JSON.stringify(account.databases));
    if (command === "d1" && sub === "create") {
      account.databases.push({ name: third, uuid: `uuid-of-${third}` });
      return ok();
    }
    if (command === "r2" && third === "info") return account.buckets.includes(args[3]) ? ok() : { status: 1, stdout: "" };
    if (command === "r2" && third === "create") { account.buckets.push(args[3]); return ok(); }
    if (command === "r2" && third === "lifecycle") {
      assert.ok(account.buckets.includes(args[4]), "lifecycle rules are set on an existing bucket");
      account.lifecycle[args[4]] = JSON.parse(readFileSync(args[args.indexOf("--file") + 1], "utf8"));
      return ok();
    }
    if (command === "queues" && sub === "info") return account.queues.includes(third) ? ok() : { status: 1, stdout: "" };
    if (command === "queues" && sub === "create") { account.queues.push(third); return ok(); }
    if (command === "d1" && sub === "migrations") {
      const config = readFileSync(args[args.indexOf("-c") + 1], "utf8");
      const id = config.match(/^database_id = "([^"]+)"/m)?.[1];
      assert.ok(account.databases.some((d) => d.uuid === id), "migrations run against the account's database id");
      if (account.failMigrations) return { status: 1, stdout: "" };
      account.migrated = true;
      return ok();
    }
    if (command === "secret" && sub === "list") {
      // A worker not deployed yet has no secrets to list.
      return account.deploys ? ok(JSON.stringify(Object.keys(account.secrets).map((name) => ({ name, type: "secret_text" })))) : { status: 1, stdout: "" };
    }
    if (command === "deploy") {
      const file = args.indexOf("--secrets-file");
      if (file >= 0) Object.assign(account.secrets, JSON.parse(readFileSync(args[file + 1], "utf8")));
      account.deploys += 1;
      return ok();
    }
    throw new Error(`unexpected wrangler ${args.join(" ")}`);
  };
  return { wrangler, calls };
}

const freshAccount = () => ({ databases: [], buckets: [], queues: [], lifecycle: {}, secrets: {}, migrated: false, deploys: 0 });

test("wrangler.toml names every resource and carries no placeholder id", () => {
  assert.deepEqual(readConfig(toml), {
    database: "observability-db",
    bucket: "observability-blocks",
    queues: ["observability-ingest", "observability-ingest-dlq"],
    spanRetentionDays: 7,
    logRetentionDays: 7,
  });
  assert.doesNotMatch(toml, /^\s*(database_id|id)\s*=/m, "ids come from automatic provisioning, not the file");
});

test("on a fresh account the deploy creates what is missing, in order; run again it creates nothing", async () => {
  const account = freshAccount();
  const first = standIn(account);
  const created = await deploy({ wrangler: first.wrangler, toml, dir: mkdtempSync(join(tmpdir(), "deploy-")), log: () => {} });
  assert.deepEqual(created.slice(0, -1), [
    "d1 create observability-db",
    "r2 bucket create observability-blocks",
    "queues create observability-ingest",
    "queues create observability-ingest-dlq",
  ]);
  assert.match(created.at(-1), /^deploy --secrets-file /, "a first deploy brings the worker's INTERNAL_TOKEN");
  assert.match(account.secrets.INTERNAL_TOKEN, /^[0-9a-f]{64}$/);
  const order = (prefix) => first.calls.findIndex((c) => c.startsWith(prefix));
  assert.ok(order("r2 bucket lifecycle") > order("r2 bucket create"));
  assert.ok(order("d1 migrations apply DB --remote") > order("queues create observability-ingest-dlq"));
  assert.match(first.calls.at(-1), /^deploy/, "deploys last, after the migrations");
  assert.ok(account.migrated);
  assert.deepEqual(account.lifecycle["observability-blocks"].rules.map((r) => [r.conditions.prefix, r.deleteObjectsTransition.condition]), [
    ["spans/", { type: "Age", maxAge: 8 * 86_400 }],
    ["logs/", { type: "Age", maxAge: 8 * 86_400 }],
  ]);

  const rules = structuredClone(account.lifecycle);
  const token = account.secrets.INTERNAL_TOKEN;
  const again = standIn(account);
  assert.deepEqual(await deploy({ wrangler: again.wrangler, toml, dir: mkdtempSync(join(tmpdir(), "deploy-")), log: () => {} }), []);
  assert.equal(again.calls.at(-1), "deploy", "the secret exists: a plain deploy");
  assert.equal(account.secrets.INTERNAL_TOKEN, token, "kept, not regenerated");
  assert.deepEqual(account.lifecycle, rules, "the same rules");
  assert.equal(account.databases.length, 1);
  assert.deepEqual(account.queues.length, 2);
  assert.equal(account.deploys, 2);
});

test("a failing step stops the deploy before the worker is replaced", async () => {
  const account = { ...freshAccount(), failMigrations: true };
  const { wrangler, calls } = standIn(account);
  await assert.rejects(deploy({ wrangler, toml, dir: mkdtempSync(join(tmpdir(), "deploy-")), log: () => {} }), /migrations apply/);
  assert.equal(account.deploys, 0);
  assert.ok(!calls.includes("deploy"));
});

test("wrangler deploy --dry-run accepts the configuration and binds every resource", () => {
  const dir = mkdtempSync(join(tmpdir(), "deploy-dry-run-"));
  const config = toml
    .replace(/^\[build\]\n(?:.*\n)*?command = .*\n/m, "")
    .replace('main = "build/worker/shim.mjs"', `main = "${join(root, "build/worker/shim.mjs")}"`)
    .replace('migrations_dir = "migrations"', `migrations_dir = "${join(root, "migrations")}"`)
    .replace('directory = "public"', `directory = "${join(root, "public")}"`);
  writeFileSync(join(dir, "wrangler.toml"), config);
  const out = execFileSync(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "-c", join(dir, "wrangler.toml"), "--outdir", join(dir, "out")], {
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
  });
  for (const binding of ["env.DB (observability-db)", "env.BLOCKS (observability-blocks)", "env.INGEST_QUEUE (observability-ingest)", "env.ALERT_STATE"]) {
    assert.ok(out.includes(binding), `${binding} in:\n${out}`);
  }
  assert.match(out, /--dry-run: exiting now/);
});
