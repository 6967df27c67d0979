// schema.sql describes exactly the database that migrations/ produce.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startCollector, applySql, root } from "./harness.mjs";

let c;
after(async () => { await c?.stop(); });

/** Tables, columns, indexes and triggers of a database, normalised for comparison. */
async function describe(db) {
  const objects = (await db.prepare(
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations' ORDER BY type, name",
  ).all()).results;
  const out = {};
  for (const o of objects) {
    const entry = { type: o.type, table: o.tbl_name };
    if (o.type === "table") {
      entry.columns = (await db.prepare(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`).bind(o.name).all()).results;
    } else if (o.type === "index") {
      entry.columns = (await db.prepare("SELECT name FROM pragma_index_info(?)").bind(o.name).all()).results.map((r) => r.name);
    } else {
      entry.sql = o.sql.replace(/\s+/g, " ").trim();
    }
    out[o.name] = entry;
  }
  return out;
}

test("schema.sql equals every migration applied in order", async () => {
  c = await startCollector();
  const fromSchema = await c.mf.getD1Database("SCHEMA_CHECK");
  await applySql(fromSchema, readFileSync(join(root, "schema.sql"), "utf8"));
  const migrated = await describe(c.db);
  assert.ok(Object.keys(migrated).includes("spans"), "migrations create the spans table");
  assert.deepEqual(await describe(fromSchema), migrated);
});
