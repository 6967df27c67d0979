// Alerts and SLOs: firing and acknowledged incidents (acknowledge), alert
// rules and notification channels (create, edit, delete), and each SLO's
// status: SLI, error budget, burn rates over its windows and over time.
import { useMemo, useState } from "preact/hooks";
import { api } from "../api.js";
import { useData } from "../data.js";
import { Loaded, StatusBadge } from "../components.jsx";
import { dateTime, percent } from "../format.js";
import { navigate } from "../router.js";
import { WindowPicker } from "./services.jsx";

const CONDITIONS = ["gt", "gte", "lt", "lte", "eq", "neq"];
const AGGREGATIONS = ["avg", "sum", "min", "max", "count", "rate", "last"];
const SEVERITIES = ["critical", "warning", "info"];

/** Runs an API change, then reloads; failures are shown as a message. */
function useChange(reload) {
  const [problem, setProblem] = useState(null);
  const run = async (change) => {
    setProblem(null);
    try {
      await change();
      reload();
    } catch (e) {
      setProblem(e.message);
    }
  };
  return [problem, run];
}

/** Edit and Delete (after a confirmation) of a rule or channel row. */
function RowActions({ what, item, path, edit, run }) {
  return (
    <td class="nowrap">
      <button onClick={() => edit(item)}>Edit</button>{" "}
      <button onClick={() => confirm(`Delete the ${what} "${item.name}"?`) && run(() => api(`${path}/${item.id}`, { method: "DELETE" }))}>Delete</button>
    </td>
  );
}

function Problem({ message }) {
  return message ? <p class="state error" role="alert">{message}</p> : null;
}

function Incidents({ version, reload }) {
  const firing = useData(`/api/alerts/incidents?state=firing`, version);
  const acknowledged = useData(`/api/alerts/incidents?state=acknowledged`, version);
  const [by, setBy] = useState("");
  const [problem, run] = useChange(reload);
  const list = (state, acknowledge) => (
    <Loaded state={state} isEmpty={(d) => !d.incidents.length} empty="None.">
      {(d) => (
        <table class="grid">
          <thead><tr><th scope="col">Rule</th><th scope="col">Service</th><th scope="col">Severity</th><th scope="col">Value</th><th scope="col">Since</th><th scope="col">{acknowledge ? "" : "Acknowledged by"}</th></tr></thead>
          <tbody>
            {d.incidents.map((i) => (
              <tr key={i.id}>
                <td>{i.ruleName}</td><td>{i.serviceId ?? "–"}</td><td><StatusBadge code={i.severity} /></td>
                <td class="num">{i.value} ({i.condition} {i.threshold})</td><td class="nowrap">{new Date(i.startedAt).toLocaleString()}</td>
                <td>{acknowledge
                  ? <button onClick={() => run(() => api(`/api/alerts/incidents/${i.id}/acknowledge`, { method: "POST", body: { acknowledgedBy: by || "web UI" } }))}>Acknowledge</button>
                  : i.acknowledgedBy}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Loaded>
  );
  return (
    <>
      <h2>Firing</h2>
      <label class="inline">Acknowledge as <input value={by} onInput={(e) => setBy(e.currentTarget.value)} placeholder="your name" /></label>
      <Problem message={problem} />
      {list(firing, true)}
      <h2>Acknowledged</h2>
      {list(acknowledged, false)}
    </>
  );
}

const EMPTY_RULE = { name: "", serviceId: "", metricName: "span.error_rate", aggregation: "avg", condition: "gt", threshold: 0.05, windowSeconds: 300, forSeconds: 0, severity: "warning", channels: [], enabled: true };

function RuleForm({ rule, channels, onSave, onCancel }) {
  const [value, setValue] = useState(rule);
  const field = (name, parse = (v) => v) => ({ value: value[name] ?? "", onInput: (e) => setValue({ ...value, [name]: parse(e.currentTarget.value) }) });
  function submit(event) {
    event.preventDefault();
    const { id, state, createdAt, updatedAt, ...body } = value;
    onSave({ ...body, serviceId: body.serviceId || null });
  }
  return (
    <form class="filters" onSubmit={submit} aria-label={rule.id ? "Edit rule" : "New rule"}>
      <label>Name <input required {...field("name")} /></label>
      <label>Service (empty: every service) <input {...field("serviceId")} /></label>
      <label>Metric <input required {...field("metricName")} /></label>
      <label>Aggregation <select {...field("aggregation")}>{AGGREGATIONS.map((a) => <option key={a}>{a}</option>)}</select></label>
      <label>Condition <select {...field("condition")}>{CONDITIONS.map((c) => <option key={c}>{c}</option>)}</select></label>
      <label>Threshold <input type="number" step="any" required {...field("threshold", Number)} /></label>
      <label>Window (s) <input type="number" min="60" max="86400" {...field("windowSeconds", Number)} /></label>
      <label>For (s) <input type="number" min="0" max="86400" {...field("forSeconds", Number)} /></label>
      <label>Severity <select {...field("severity")}>{SEVERITIES.map((s) => <option key={s}>{s}</option>)}</select></label>
      <label>Channels
        <select multiple value={value.channels} onChange={(e) => setValue({ ...value, channels: [...e.currentTarget.selectedOptions].map((o) => o.value) })}>
          {channels.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
        </select>
      </label>
      <label>Enabled <input type="checkbox" checked={value.enabled} onChange={(e) => setValue({ ...value, enabled: e.currentTarget.checked })} /></label>
      <button type="submit">{rule.id ? "Save rule" : "Create rule"}</button>
      <button type="button" onClick={onCancel}>Cancel</button>
    </form>
  );
}

function Rules({ version, reload }) {
  const rules = useData(`/api/alerts/configs`, version);
  const channels = useData(`/api/alerts/channels`, version);
  const [editing, setEditing] = useState(null);
  const [problem, run] = useChange(() => { setEditing(null); reload(); });
  const save = (body) => run(() => (editing.id
    ? api(`/api/alerts/configs/${editing.id}`, { method: "PUT", body })
    : api("/api/alerts/configs", { method: "POST", body })));
  return (
    <>
      <div class="toolbar"><h2>Rules</h2><button onClick={() => setEditing(EMPTY_RULE)}>New rule</button></div>
      <Problem message={problem} />
      {editing && <RuleForm key={editing.id ?? "new"} rule={editing} channels={channels.data?.channels ?? []} onSave={save} onCancel={() => setEditing(null)} />}
      <Loaded state={rules} isEmpty={(d) => !d.configs.length} empty="No rule yet.">
        {(d) => (
          <table class="grid">
            <thead><tr><th scope="col">Name</th><th scope="col">Service</th><th scope="col">When</th><th scope="col">Severity</th><th scope="col">Enabled</th><th scope="col" /></tr></thead>
            <tbody>
              {d.configs.map((r) => (
                <tr key={r.id}>
                  <td>{r.name}</td><td>{r.serviceId || "every service"}</td>
                  <td>{r.aggregation}({r.metricName}) {r.condition} {r.threshold} over {r.windowSeconds} s</td>
                  <td><StatusBadge code={r.severity} /></td><td>{r.enabled ? "yes" : "no"}</td>
                  <RowActions what="rule" item={r} path="/api/alerts/configs" edit={setEditing} run={run} />
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </>
  );
}

function Channels({ version, reload }) {
  const channels = useData(`/api/alerts/channels`, version);
  const [editing, setEditing] = useState(null);
  const [problem, run] = useChange(() => { setEditing(null); reload(); });
  function submit(event) {
    event.preventDefault();
    const form = Object.fromEntries(new FormData(event.currentTarget));
    const body = { name: form.name, kind: form.kind, url: form.url, enabled: form.enabled === "on" };
    if (form.secret) body.secret = form.secret;
    run(() => (editing.id ? api(`/api/alerts/channels/${editing.id}`, { method: "PUT", body }) : api("/api/alerts/channels", { method: "POST", body })));
  }
  return (
    <>
      <div class="toolbar"><h2>Channels</h2><button onClick={() => setEditing({ kind: "webhook", enabled: true })}>New channel</button></div>
      <Problem message={problem} />
      {editing && (
        <form class="filters" onSubmit={submit} key={editing.id ?? "new"} aria-label={editing.id ? "Edit channel" : "New channel"}>
          <label>Name <input name="name" required defaultValue={editing.name ?? ""} /></label>
          <label>Kind <select name="kind" defaultValue={editing.kind}><option>webhook</option><option>slack</option></select></label>
          <label class="wide">URL <input name="url" type="url" required defaultValue={editing.kind === "webhook" ? editing.url ?? "" : ""} placeholder={editing.url ?? "https://…"} /></label>
          <label>Secret (webhooks) <input name="secret" type="password" placeholder={editing.hasSecret ? "unchanged" : ""} /></label>
          <label>Enabled <input name="enabled" type="checkbox" defaultChecked={editing.enabled} /></label>
          <button type="submit">{editing.id ? "Save channel" : "Create channel"}</button>
          <button type="button" onClick={() => setEditing(null)}>Cancel</button>
        </form>
      )}
      <Loaded state={channels} isEmpty={(d) => !d.channels.length} empty="No channel yet.">
        {(d) => (
          <table class="grid">
            <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">URL</th><th scope="col">Enabled</th><th scope="col" /></tr></thead>
            <tbody>
              {d.channels.map((ch) => (
                <tr key={ch.id}>
                  <td>{ch.name}</td><td>{ch.kind}</td><td>{ch.url}</td><td>{ch.enabled ? "yes" : "no"}</td>
                  <RowActions what="channel" item={ch} path="/api/alerts/channels" edit={setEditing} run={run} />
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </>
  );
}

/** Ranges of the burn-rate chart, as `GET /api/slos/:id/burn-rates` takes them (seconds). */
const BURN_RANGES = { "6h": 21600, "24h": 86400, "3d": 259200, "7d": 604800 };
/** The alerts' thresholds, drawn as dashed lines. */
const BURN_FACTORS = [["fast", 14.4], ["slow", 6]];

/** Connected runs of `values` (breaks where a value is null) as lists of `[x, y]`. */
function segments(values, x, y) {
  const runs = [];
  let run = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (run.length) runs.push(run);
      run = [];
    } else run.push([x(i), y(v)]);
  });
  if (run.length) runs.push(run);
  return runs;
}

/** One window's burn rates: a line per run of points with data, a dot for a lone point. */
function BurnLine({ rates, x, y }) {
  return segments(rates.values, x, y).map((run, k) => (run.length === 1
    ? <circle key={k} class={`w${rates.window}`} cx={run[0][0]} cy={run[0][1]} r="3" />
    : <polyline key={k} class={`w${rates.window}`} points={run.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ")} />));
}

/** Status windows, shortest first (the API answers them as a JSON object). */
const WINDOW_ORDER = ["5m", "30m", "1h", "6h", "1d", "3d"];
const byWindow = (rates) => Object.entries(rates).sort(([a], [b]) => WINDOW_ORDER.indexOf(a) - WINDOW_ORDER.indexOf(b));

/** One SLO's burn rates over time on a log scale, the alert thresholds and where each alert fired. */
function BurnChart({ sloId, range }) {
  // The range ends when it is chosen, not at every render.
  const path = useMemo(() => `/api/slos/${sloId}/burn-rates?start=${Date.now() - BURN_RANGES[range] * 1000}`, [sloId, range]);
  const state = useData(path);
  return (
    <Loaded state={state}>
      {(h) => {
        const [width, height, left] = [800, 180, 34];
        const top = Math.max(20, ...h.burnRates.flatMap((r) => r.values.filter((v) => v !== null)));
        const ceiling = 10 ** Math.ceil(Math.log10(top));
        const floor = 0.1;
        const x = (i) => left + (h.times.length < 2 ? 0 : (i / (h.times.length - 1)) * (width - left - 6));
        const y = (v) => height - 16 - ((Math.log10(Math.max(v, floor)) - Math.log10(floor)) / (Math.log10(ceiling) - Math.log10(floor))) * (height - 26);
        const stepWidth = (width - left - 6) / Math.max(1, h.times.length - 1);
        const peaks = h.burnRates.map((r) => `${r.window} peak ${Math.max(0, ...r.values.filter((v) => v !== null)).toFixed(1)}×`).join(", ");
        const fired = h.alerts.map((a) => `${a.name} alert firing at ${a.firing.filter(Boolean).length} of ${h.times.length} points`).join(", ");
        const ticks = [0.1, 1, 10, 100, 1000, 10000].filter((t) => t <= ceiling);
        return (
          <figure class="burn-chart">
            <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Burn rates over the last ${range}: ${peaks}; ${fired}`}>
              {h.alerts.map((a) => a.firing.map((f, i) => f && (
                <rect key={`${a.name}${i}`} class={`firing ${a.name}`} x={x(i) - stepWidth / 2} width={stepWidth} y="4" height={height - 20}>
                  <title>{`${a.name} burn alert firing at ${dateTime(h.times[i])}`}</title>
                </rect>
              )))}
              {ticks.map((t) => (
                <g key={t}>
                  <line class="grid" x1={left} x2={width} y1={y(t)} y2={y(t)} />
                  <text class="axis-label" x="2" y={y(t) + 4}>{t}×</text>
                </g>
              ))}
              {BURN_FACTORS.map(([name, factor]) => (
                <g key={name}>
                  <line class={`factor ${name}`} x1={left} x2={width} y1={y(factor)} y2={y(factor)} />
                  <text class="axis-label" x={left + 4} y={y(factor) - 3}>{name} {factor}×</text>
                </g>
              ))}
              {h.burnRates.map((r) => <BurnLine key={r.window} rates={r} x={x} y={y} />)}
              <text class="axis-label" x={left} y={height - 2}>{dateTime(h.times[0])}</text>
              <text class="axis-label" x={width - 4} y={height - 2} text-anchor="end">{dateTime(h.times.at(-1))}</text>
            </svg>
            <figcaption class="legend">
              {h.burnRates.map((r) => <span key={r.window}><span class={`swatch w${r.window}`} /> {r.window}{" "}</span>)}
              <span><span class="swatch firing fast" /> fast firing </span>
              <span><span class="swatch firing slow" /> slow firing</span>
            </figcaption>
          </figure>
        );
      }}
    </Loaded>
  );
}

function SloStatus({ slo, range, setRange }) {
  const status = useData(`/api/slos/${slo.id}/status`);
  return (
    <article class="slo">
      <h3>{slo.name} <span class="muted">{slo.serviceId}{slo.operation ? ` · ${slo.operation}` : ""} · {slo.kind} · target {slo.target} % over {slo.windowDays} d</span></h3>
      <Loaded state={status} empty="No status.">
        {(s) => {
          const remaining = s.errorBudget?.remainingRatio ?? 1;
          return (
            <>
              <dl class="stats">
                <div><dt>SLI</dt><dd>{s.sli === null ? "–" : `${s.sli.toFixed(3)} %`}</dd></div>
                <div><dt>Events (bad / total)</dt><dd>{s.events.bad} / {s.events.total}</dd></div>
                <div><dt>Error budget left</dt><dd>{percent(remaining)}</dd></div>
              </dl>
              <div class="budget" role="meter" aria-label="Error budget left" aria-valuemin="0" aria-valuemax="100" aria-valuenow={Math.round(Math.max(0, remaining) * 100)}>
                <div style={{ width: `${Math.max(0, Math.min(1, remaining)) * 100}%` }} class={remaining < 0.25 ? "low" : ""} />
              </div>
              <table class="grid burn">
                <caption>Burn rate by window (1 spends the budget exactly over the SLO window)</caption>
                <thead><tr>{byWindow(s.burnRates).map(([w]) => <th key={w} scope="col">{w}</th>)}</tr></thead>
                <tbody><tr>{byWindow(s.burnRates).map(([w, r]) => <td key={w} class={`num${r !== null && r > 1 ? " error-text" : ""}`}>{r === null ? "–" : r.toFixed(2)}</td>)}</tr></tbody>
              </table>
              <p>{s.alerts.map((a) => <span key={a.name} class={`badge ${a.burning ? "error" : "ok"}`}>{a.name} burn {a.burning ? "burning" : "ok"}</span>)}</p>
            </>
          );
        }}
      </Loaded>
      <div class="toolbar">
        <h4>Burn rates over time</h4>
        <WindowPicker label="Range" choices={BURN_RANGES} value={range} onChange={setRange} />
      </div>
      <BurnChart sloId={slo.id} range={range} />
    </article>
  );
}

function Slos({ version, range, setRange }) {
  const slos = useData(`/api/slos`, version);
  return (
    <>
      <h2>SLOs</h2>
      <Loaded state={slos} isEmpty={(d) => !d.slos.length} empty="No SLO yet (POST /api/slos).">
        {(d) => d.slos.map((slo) => <SloStatus key={slo.id} slo={slo} range={range} setRange={setRange} />)}
      </Loaded>
    </>
  );
}

export function Alerts({ params }) {
  const [version, setVersion] = useState(0);
  const range = BURN_RANGES[params.burn] ? params.burn : "24h";
  const setRange = (burn) => navigate("/alerts", { burn }, { replace: true });
  const reload = () => setVersion((v) => v + 1);
  return (
    <section>
      <h1>Alerts and SLOs</h1>
      <Incidents version={version} reload={reload} />
      <Rules version={version} reload={reload} />
      <Channels version={version} reload={reload} />
      <Slos version={version} range={range} setRange={setRange} />
    </section>
  );
}
