// One service: its RED over the window, who calls it and what it calls,
// its operations, its recent error traces and its latest logs.
import { useData } from "../data.js";
import { Loaded, Link } from "../components.jsx";
import { navigate } from "../router.js";
import { ms, percent, rate, time } from "../format.js";
import { WindowPicker } from "./services.jsx";

function Calls({ title, calls, direction }) {
  return (
    <div>
      <h2>{title}</h2>
      {calls.length ? (
        <table class="grid">
          <thead><tr><th scope="col">{direction}</th><th scope="col">Calls</th><th scope="col">Errors</th><th scope="col">Avg latency</th></tr></thead>
          <tbody>
            {calls.map((c) => (
              <tr key={c.service}>
                <td><Link to={`/services/${encodeURIComponent(c.service)}`}>{c.service}</Link></td>
                <td class="num">{c.requestCount}</td>
                <td class="num">{percent(c.errorRate)}</td>
                <td class="num">{ms(c.avgLatencyMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p class="muted">none in this window</p>}
    </div>
  );
}

export function Service({ id, params }) {
  const window = params.window ?? "1h";
  const service = useData(`/api/services/${encodeURIComponent(id)}?window=${window}`);
  const errors = useData(`/api/traces?service=${encodeURIComponent(id)}&status=error&limit=10`);
  const logs = useData(`/api/logs?service=${encodeURIComponent(id)}&limit=20`);
  const operations = useData(`/jaeger/api/operations?service=${encodeURIComponent(id)}`);
  return (
    <section>
      <div class="toolbar">
        <h1>{id}</h1>
        <WindowPicker value={window} onChange={(w) => navigate(`/services/${encodeURIComponent(id)}`, { window: w }, { replace: true })} />
        <Link to="/traces" params={{ service: id }}>Search its traces</Link>
      </div>
      <Loaded state={service} empty="No such service.">
        {(s) => (
          <>
            <dl class="stats">
              <div><dt>Rate</dt><dd>{rate(s.red?.requestRate)}</dd></div>
              <div><dt>Errors</dt><dd>{percent(s.red?.errorRate)}</dd></div>
              <div><dt>p50</dt><dd>{ms(s.red?.p50Ms)}</dd></div>
              <div><dt>p95</dt><dd>{ms(s.red?.p95Ms)}</dd></div>
              <div><dt>p99</dt><dd>{ms(s.red?.p99Ms)}</dd></div>
              <div><dt>Version</dt><dd>{s.version ?? "–"}</dd></div>
            </dl>
            <div class="columns">
              <Calls title="Callers" calls={s.upstream ?? []} direction="Caller" />
              <Calls title="Calls" calls={s.downstream ?? []} direction="Callee" />
            </div>
          </>
        )}
      </Loaded>
      <h2>Operations</h2>
      <Loaded state={operations} isEmpty={(d) => !d.data?.length} empty="No operation recorded.">
        {(d) => (
          <ul class="plain operations">
            {d.data.map((o) => (
              <li key={`${o.spanKind} ${o.name}`}>
                <Link to="/traces" params={{ service: id, operation: o.name }}>{o.name}</Link> <span class="muted">{o.spanKind}</span>
              </li>
            ))}
          </ul>
        )}
      </Loaded>
      <h2>Recent errors</h2>
      <Loaded state={errors} isEmpty={(d) => !d.traces.length} empty="No error trace.">
        {(d) => (
          <ul class="plain">
            {d.traces.map((t) => (
              <li key={t.traceId}>
                <Link to={`/traces/${t.traceId}`}>{t.rootOperation ?? t.traceId}</Link>{" "}
                <span class="muted">{time(t.startTimeUnixNano)} · {ms(t.durationMs)} · {t.errorCount} error spans</span>
              </li>
            ))}
          </ul>
        )}
      </Loaded>
      <h2>Latest logs</h2>
      <Loaded state={logs} isEmpty={(d) => !d.logs.length} empty="No log record.">
        {(d) => <LogList logs={d.logs} />}
      </Loaded>
    </section>
  );
}

export function LogList({ logs }) {
  return (
    <table class="grid logs">
      <thead><tr><th scope="col">Time</th><th scope="col">Severity</th><th scope="col">Service</th><th scope="col">Message</th><th scope="col">Trace</th></tr></thead>
      <tbody>
        {logs.map((l, i) => (
          <tr key={`${l.timeUnixNano}-${i}`} class={`sev-${(l.severity ?? "").toLowerCase()}`}>
            <td class="nowrap">{time(l.timeUnixNano)}</td>
            <td>{l.severity}</td>
            <td>{l.serviceName}</td>
            <td class="body">{typeof l.body === "string" ? l.body : JSON.stringify(l.body)}</td>
            <td>{l.traceId ? <Link to={`/traces/${l.traceId}`} params={{ span: l.spanId }}>{l.traceId.slice(0, 8)}</Link> : "–"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
