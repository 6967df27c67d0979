// Wraps the real local D1 binding and reports each round trip (batch, or a
// statement's first/all/run/raw) to the test process (SINK); a batch also
// reports what D1 bills for it, from its own `meta`: rows written and read,
// and the database size after it. With a CONTROL binding (the harness's
// `d1Faults`), a batch fails when one of its statements contains the SQL
// fragment CONTROL answers (injected fault; "ok" fails nothing).
import entrypoints from "cloudflare-internal:workers";

export default (env) => {
  const report = (kind, statements, billed = {}, sql = []) =>
    entrypoints.waitUntil(env.SINK.fetch("http://sink/", { method: "POST", body: JSON.stringify({ kind, statements, sql, ...billed }) }));
  const wrap = (statement, sql) => ({
    inner: statement,
    sql,
    bind: (...args) => wrap(statement.bind(...args), sql),
    first: (...a) => (report("first", 1, {}, [sql]), statement.first(...a)),
    all: () => (report("all", 1, {}, [sql]), statement.all()),
    run: () => (report("run", 1, {}, [sql]), statement.run()),
    raw: (...a) => (report("raw", 1, {}, [sql]), statement.raw(...a)),
  });
  // workers-rs checks the binding's constructor name.
  class D1Database {
    prepare(query) { return wrap(env.INNER.prepare(query), query); }
    async batch(statements) {
      let results;
      try {
        const fault = env.CONTROL ? await (await env.CONTROL.fetch("http://control/d1")).text() : "ok";
        if (fault !== "ok" && statements.some((s) => s.sql.includes(fault))) {
          throw new Error(`D1_ERROR: injected fault on ${JSON.stringify(fault)}`);
        }
        results = await env.INNER.batch(statements.map((s) => s.inner));
      } catch (e) {
        report("batch", statements.length, { failed: true }, statements.map((s) => s.sql));
        throw e;
      }
      const sum = (key) => results.reduce((n, r) => n + (r.meta?.[key] ?? 0), 0);
      report("batch", statements.length, {
        rowsWritten: sum("rows_written"),
        rowsRead: sum("rows_read"),
        sizeAfter: Math.max(...results.map((r) => r.meta?.size_after ?? 0)),
      }, statements.map((s) => s.sql));
      return results;
    }
    exec(sql) { report("exec", 1); return env.INNER.exec(sql); }
  }
  return new D1Database();
};
