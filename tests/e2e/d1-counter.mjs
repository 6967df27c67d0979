// Wraps the real local D1 binding and reports each round trip (batch, or a
// statement's first/all/run/raw) to the test process (SINK).
import entrypoints from "cloudflare-internal:workers";

export default (env) => {
  const report = (kind, statements) =>
    entrypoints.waitUntil(env.SINK.fetch("http://sink/", { method: "POST", body: JSON.stringify({ kind, statements }) }));
  const wrap = (statement) => ({
    inner: statement,
    bind: (...args) => wrap(statement.bind(...args)),
    first: (...a) => (report("first", 1), statement.first(...a)),
    all: () => (report("all", 1), statement.all()),
    run: () => (report("run", 1), statement.run()),
    raw: (...a) => (report("raw", 1), statement.raw(...a)),
  });
  // workers-rs checks the binding's constructor name.
  class D1Database {
    prepare(query) { return wrap(env.INNER.prepare(query)); }
    batch(statements) { report("batch", statements.length); return env.INNER.batch(statements.map((s) => s.inner)); }
    exec(sql) { report("exec", 1); return env.INNER.exec(sql); }
  }
  return new D1Database();
};
