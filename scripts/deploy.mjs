// `npm run deploy`: deploys the collector to the Cloudflare account wrangler
// is logged in to, creating what the account lacks first, so one command
// works on a fresh account and changes nothing when run again:
//   1. the D1 database (`wrangler d1 create`, when `d1 list` lacks it);
//   2. the R2 bucket of blocks, and its lifecycle rules (spans/ and logs/
//      expire a day after SPAN_/LOG_RETENTION_DAYS: the cron prunes the D1
//      rows first; `lifecycle set` replaces the rules, so a rerun is a no-op);
//   3. the ingest queue and its dead-letter queue (`wrangler queues create`);
//   4. the remote D1 migrations (wrangler applies only the new ones; the
//      database id comes from `d1 list`, through a generated config, since
//      wrangler.toml names the database and carries no id);
//   5. `wrangler deploy`, whose automatic provisioning binds the database
//      and bucket by name and creates the KV namespace on the first deploy;
//      when the worker has no INTERNAL_TOKEN secret yet (a first deploy, or
//      one from before it existed), a random one goes with the deploy
//      (`--secrets-file`, a temporary file; kept by later deploys): the
//      worker's token for its calls to itself, never given to a client.
// The steps are a function of what exists, so tests/e2e/deploy.test.mjs runs
// them against a stand-in wrangler.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The resource names and retention wrangler.toml holds. */
export function readConfig(toml) {
  const one = (pattern, what) => {
    const match = toml.match(pattern);
    if (!match) throw new Error(`wrangler.toml: no ${what}`);
    return match[1];
  };
  return {
    database: one(/^database_name\s*=\s*"([^"]+)"/m, "database_name"),
    bucket: one(/^bucket_name\s*=\s*"([^"]+)"/m, "bucket_name"),
    queues: [
      one(/^\[\[queues\.producers\]\][^[]*?^queue\s*=\s*"([^"]+)"/ms, "queue producer"),
      one(/^dead_letter_queue\s*=\s*"([^"]+)"/m, "dead_letter_queue"),
    ],
    spanRetentionDays: Number(one(/^SPAN_RETENTION_DAYS\s*=\s*"(\d+)"/m, "SPAN_RETENTION_DAYS")),
    logRetentionDays: Number(one(/^LOG_RETENTION_DAYS\s*=\s*"(\d+)"/m, "LOG_RETENTION_DAYS")),
  };
}

/** The bucket's lifecycle rules: each block prefix expires a day after its retention. */
export function lifecycleRules({ spanRetentionDays, logRetentionDays }) {
  const expire = (id, prefix, days) => ({
    id,
    enabled: true,
    conditions: { prefix },
    deleteObjectsTransition: { condition: { type: "Age", maxAge: (days + 1) * 86_400 } },
  });
  return { rules: [expire("expire-span-blocks", "spans/", spanRetentionDays), expire("expire-log-blocks", "logs/", logRetentionDays)] };
}

/**
 * Runs the steps. `wrangler(args)` runs wrangler and returns `{ status, stdout }`;
 * `log` reports progress. Returns the wrangler invocations that changed the account.
 */
export async function deploy({ wrangler, toml, dir = root, log = console.log }) {
  const config = readConfig(toml);
  const changed = [];
  const must = (args) => {
    const result = wrangler(args);
    if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed (exit ${result.status})`);
    return result;
  };
  const change = (args) => { changed.push(args.join(" ")); return must(args); };
  const databases = () => JSON.parse(must(["d1", "list", "--json"]).stdout);

  let database = databases().find((d) => d.name === config.database);
  if (!database) {
    log(`creating D1 database ${config.database}`);
    change(["d1", "create", config.database]);
    database = databases().find((d) => d.name === config.database);
    if (!database) throw new Error(`D1 database ${config.database} not listed after creating it`);
  }
  if (wrangler(["r2", "bucket", "info", config.bucket]).status !== 0) {
    log(`creating R2 bucket ${config.bucket}`);
    change(["r2", "bucket", "create", config.bucket]);
  }
  const rulesFile = join(mkdtempSync(join(tmpdir(), "collector-deploy-")), "r2-lifecycle.json");
  writeFileSync(rulesFile, JSON.stringify(lifecycleRules(config), null, 2));
  must(["r2", "bucket", "lifecycle", "set", config.bucket, "--file", rulesFile, "--force"]);
  for (const queue of config.queues) {
    if (wrangler(["queues", "info", queue]).status !== 0) {
      log(`creating queue ${queue}`);
      change(["queues", "create", queue]);
    }
  }
  // wrangler needs the database id for remote migrations: a copy of the config that has it.
  const migrationConfig = join(dir, "wrangler.deploy.toml");
  writeFileSync(migrationConfig, toml.replace(
    /^(database_name\s*=\s*"[^"]+")$/m,
    `$1\ndatabase_id = "${database.uuid}"`,
  ));
  try {
    must(["d1", "migrations", "apply", "DB", "--remote", "-c", migrationConfig]);
  } finally {
    rmSync(migrationConfig, { force: true });
  }
  const secrets = wrangler(["secret", "list", "--format", "json"]);
  const named = secrets.status === 0 ? JSON.parse(secrets.stdout || "[]").map((s) => s.name) : [];
  if (named.includes("INTERNAL_TOKEN")) {
    must(["deploy"]);
  } else {
    log("generating the worker's INTERNAL_TOKEN secret");
    const secretsFile = join(mkdtempSync(join(tmpdir(), "collector-secrets-")), "secrets.json");
    writeFileSync(secretsFile, JSON.stringify({ INTERNAL_TOKEN: randomBytes(32).toString("hex") }), { mode: 0o600 });
    try {
      change(["deploy", "--secrets-file", secretsFile]);
    } finally {
      rmSync(secretsFile, { force: true });
    }
  }
  return changed;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const bin = join(root, "node_modules", ".bin", "wrangler");
  const wrangler = (args) => {
    const quiet = args.includes("--json") || args.includes("json") || args[1] === "bucket" && args[2] === "info" || args[1] === "info";
    const result = spawnSync(bin, args, { cwd: root, stdio: ["inherit", quiet ? "pipe" : "inherit", quiet ? "pipe" : "inherit"], encoding: "utf8" });
    return { status: result.status ?? 1, stdout: result.stdout ?? "" };
  };
  deploy({ wrangler, toml: readFileSync(join(root, "wrangler.toml"), "utf8") })
    .then((changed) => console.log(changed.length ? `created: ${changed.join("; ")}` : "nothing to create: every resource existed"))
    .catch((e) => { console.error(e.message); process.exit(1); });
}
