// Trace search: every filter of GET /api/traces (service, operation, status,
// duration range, attributes, time range), the results as a table and as a
// duration-over-time scatter plot; a trace opens its view.
import { useMemo } from "preact/hooks";
import { useData } from "../data.js";
import { Loaded, Link, ServiceSelect, StatusBadge } from "../components.jsx";
import { href, navigate } from "../router.js";
import { ms, time } from "../format.js";
import { WINDOW_SECONDS } from "./services.jsx";


/** `attrs` as the UI keeps it (`key=value` per line) → `attr.key=value` parameters. */
function attributeParams(attrs = "") {
  const out = {};
  for (const line of attrs.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) out[`attr.${line.slice(0, at).trim()}`] = line.slice(at + 1).trim();
  }
  return out;
}

function searchPath(params) {
  const q = new URLSearchParams();
  for (const key of ["service", "operation", "status", "minDuration", "maxDuration", "limit"]) if (params[key]) q.set(key, params[key]);
  const seconds = WINDOW_SECONDS[params.lookback ?? "1h"];
  if (seconds) q.set("start", String(Date.now() - seconds * 1000));
  for (const [k, v] of Object.entries(attributeParams(params.attrs))) q.set(k, v);
  return `/api/traces?${q}`;
}

function Scatter({ traces }) {
  const width = 800;
  const height = 160;
  const starts = traces.map((t) => Number(BigInt(t.startTimeUnixNano) / 1000000n));
  const [t0, t1] = [Math.min(...starts), Math.max(...starts)];
  const maxMs = Math.max(...traces.map((t) => t.durationMs), 1);
  const x = (v) => (t1 === t0 ? width / 2 : 10 + ((v - t0) / (t1 - t0)) * (width - 20));
  const y = (v) => height - 10 - (v / maxMs) * (height - 20);
  return (
    <svg class="scatter" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Durations of ${traces.length} traces over time, longest ${ms(maxMs)}`}>
      <line x1="0" y1={height - 10} x2={width} y2={height - 10} class="axis" />
      <text x="2" y="12" class="axis-label">{ms(maxMs)}</text>
      {traces.map((t, i) => (
        <a key={t.traceId} href={href(`/traces/${t.traceId}`)}>
          <circle cx={x(starts[i])} cy={y(t.durationMs)} r="4" class={t.status === "error" ? "dot error" : "dot"}>
            <title>{`${t.rootOperation ?? t.traceId}: ${ms(t.durationMs)}`}</title>
          </circle>
        </a>
      ))}
    </svg>
  );
}

export function Traces({ params }) {
  // The time range ends when the search is made, not at every render.
  const path = useMemo(() => searchPath(params), [JSON.stringify(params)]);
  const state = useData(path);
  function submit(event) {
    event.preventDefault();
    const form = Object.fromEntries(new FormData(event.currentTarget));
    navigate("/traces", form);
  }
  return (
    <section>
      <h1>Traces</h1>
      <form class="filters" onSubmit={submit} key={JSON.stringify(params)}>
        <ServiceSelect selected={params.service} />
        <label>Operation <input name="operation" defaultValue={params.operation ?? ""} placeholder="contains…" /></label>
        <label>Status
          <select name="status" defaultValue={params.status ?? ""}>
            <option value="">any</option><option value="error">error</option><option value="ok">ok</option>
          </select>
        </label>
        <label>Min duration (ms) <input name="minDuration" type="number" min="0" defaultValue={params.minDuration ?? ""} /></label>
        <label>Max duration (ms) <input name="maxDuration" type="number" min="0" defaultValue={params.maxDuration ?? ""} /></label>
        <label>Time range
          <select name="lookback" defaultValue={params.lookback ?? "1h"}>
            {Object.keys(WINDOW_SECONDS).map((l) => <option key={l} value={l}>last {l}</option>)}
          </select>
        </label>
        <label class="wide">Attributes (key=value per line)
          <textarea name="attrs" rows="2" defaultValue={params.attrs ?? ""} placeholder="http.response.status_code=500" />
        </label>
        <label>Limit <input name="limit" type="number" min="1" max="1000" defaultValue={params.limit ?? "100"} /></label>
        <button type="submit">Search</button>
      </form>
      <Loaded state={state} isEmpty={(d) => !d.traces.length} empty="No trace matches these filters.">
        {(d) => (
          <>
            <Scatter traces={d.traces} />
            <p class="muted">{d.traces.length} traces</p>
            <table class="grid">
              <thead><tr><th scope="col">Trace</th><th scope="col">Services</th><th scope="col">Start</th><th scope="col">Duration</th><th scope="col">Spans</th><th scope="col">Status</th></tr></thead>
              <tbody>
                {d.traces.map((t) => (
                  <tr key={t.traceId}>
                    <td><Link to={`/traces/${t.traceId}`}>{t.rootService ?? "?"}: {t.rootOperation ?? t.traceId}</Link></td>
                    <td>{t.services.join(", ")}</td>
                    <td class="nowrap">{time(t.startTimeUnixNano)}</td>
                    <td class="num">{ms(t.durationMs)}</td>
                    <td class="num">{t.spanCount}{t.errorCount ? <span class="error-text"> ({t.errorCount} err)</span> : null}</td>
                    <td><StatusBadge code={t.status} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Loaded>
    </section>
  );
}
