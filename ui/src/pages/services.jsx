// Services: the RED table (rate, error rate, p50/p95/p99) over a chosen
// window, sortable, with a sparkline of each service's rate and errors over
// the window; a row leads to the service's page.
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { useData } from "../data.js";
import { Loaded, Link } from "../components.jsx";
import { navigate } from "../router.js";
import { ms, percent, rate } from "../format.js";

/** The windows the pages offer, in seconds. */
export const WINDOW_SECONDS = { "15m": 900, "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800 };
const BUCKETS = 12;

/**
 * Each service's requests and errors in 12 slices of the window (one
 * `GET /api/services` per slice, after the table is shown): service id →
 * [{ requests, errors }].
 */
function useSparklines(window) {
  const [series, setSeries] = useState(new Map());
  useEffect(() => {
    let live = true;
    const end = Date.now();
    const step = (WINDOW_SECONDS[window] * 1000) / BUCKETS;
    const slices = Array.from({ length: BUCKETS }, (_, i) =>
      api(`/api/services?start=${Math.round(end - (BUCKETS - i) * step)}&end=${Math.round(end - (BUCKETS - i - 1) * step)}`).catch(() => null));
    Promise.all(slices).then((answers) => {
      if (!live) return;
      const out = new Map();
      answers.forEach((answer, i) => {
        for (const s of answer?.services ?? []) {
          if (!out.has(s.id)) out.set(s.id, Array.from({ length: BUCKETS }, () => ({ requests: 0, errors: 0 })));
          out.get(s.id)[i] = { requests: s.red?.requests ?? 0, errors: s.red?.errors ?? 0 };
        }
      });
      setSeries(out);
    });
    return () => {
      live = false;
    };
  }, [window]);
  return series;
}

function Sparkline({ points }) {
  if (!points) return <span class="muted">…</span>;
  const max = Math.max(...points.map((p) => p.requests), 1);
  const x = (i) => (i / (BUCKETS - 1)) * 96 + 2;
  const y = (v) => 22 - (v / max) * 20;
  const total = points.reduce((sum, p) => sum + p.requests, 0);
  return (
    <svg class="sparkline" viewBox="0 0 100 24" role="img" aria-label={`${total} requests over the window, ${points.filter((p) => p.errors).length} slices with errors`}>
      <polyline points={points.map((p, i) => `${x(i)},${y(p.requests)}`).join(" ")} />
      {points.map((p, i) => (p.errors ? <circle key={i} cx={x(i)} cy={y(p.requests)} r="2" class="error" /> : null))}
    </svg>
  );
}

const COLUMNS = [
  ["name", "Service", (s) => s.name],
  ["requestRate", "Rate", (s) => s.red?.requestRate ?? -1],
  ["errorRate", "Errors", (s) => s.red?.errorRate ?? -1],
  ["p50Ms", "p50", (s) => s.red?.p50Ms ?? -1],
  ["p95Ms", "p95", (s) => s.red?.p95Ms ?? -1],
  ["p99Ms", "p99", (s) => s.red?.p99Ms ?? -1],
];

/** A choice of time window ending now, among `choices` (name → seconds). */
export function WindowPicker({ value, onChange, label = "Window", choices = WINDOW_SECONDS }) {
  return (
    <label class="inline">
      {label}{" "}
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {Object.keys(choices).map((w) => <option key={w} value={w}>last {w}</option>)}
      </select>
    </label>
  );
}

export function Services({ params }) {
  const window = params.window ?? "1h";
  const sort = params.sort ?? "requestRate";
  const dir = params.dir ?? "desc";
  const filter = params.q ?? "";
  const state = useData(`/api/services?window=${window}`);
  const sparklines = useSparklines(window);
  const setParams = (changes) => navigate("/services", { window, sort, dir, q: filter, ...changes }, { replace: true });
  const key = COLUMNS.find(([k]) => k === sort)?.[2] ?? COLUMNS[1][2];
  return (
    <section>
      <div class="toolbar">
        <h1>Services</h1>
        <WindowPicker value={window} onChange={(w) => setParams({ window: w })} />
        <label class="inline">
          Filter{" "}
          <input type="search" value={filter} placeholder="service name" onInput={(e) => setParams({ q: e.currentTarget.value })} />
        </label>
      </div>
      <Loaded state={state} isEmpty={(d) => !d.services.length} empty="No service has sent spans yet.">
        {(data) => {
          const needle = filter.toLowerCase();
          const rows = data.services.filter((s) => s.name.toLowerCase().includes(needle)).sort((a, b) => {
            const [x, y] = [key(a), key(b)];
            const order = typeof x === "string" ? x.localeCompare(y) : x - y;
            return dir === "asc" ? order : -order;
          });
          return (
            <>
              {filter && <p class="muted">{rows.length} of {data.services.length} services match “{filter}”.</p>}
              <table class="grid services">
                <thead>
                  <tr>
                    {COLUMNS.map(([k, label]) => (
                      <th key={k} scope="col" aria-sort={k === sort ? (dir === "asc" ? "ascending" : "descending") : undefined}>
                        <button class="link" onClick={() => setParams({ sort: k, dir: k === sort && dir === "desc" ? "asc" : "desc" })}>
                          {label}{k === sort ? (dir === "asc" ? " ▲" : " ▼") : ""}
                        </button>
                      </th>
                    ))}
                    <th scope="col">Requests</th>
                    <th scope="col">Over the window</th>
                    <th scope="col">Version</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((s) => (
                    <tr key={s.id} class={s.red?.errorRate > 0.05 ? "failing" : undefined}>
                      <td><Link to={`/services/${encodeURIComponent(s.id)}`} params={{ window }}>{s.name}</Link>{s.environment && <span class="muted"> · {s.environment}</span>}</td>
                      <td class="num">{rate(s.red?.requestRate)}</td>
                      <td class="num">{percent(s.red?.errorRate)}</td>
                      <td class="num">{ms(s.red?.p50Ms)}</td>
                      <td class="num">{ms(s.red?.p95Ms)}</td>
                      <td class="num">{ms(s.red?.p99Ms)}</td>
                      <td class="num">{s.red?.requests ?? 0}</td>
                      <td><Sparkline points={sparklines.get(s.id)} /></td>
                      <td>{s.version ?? "–"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
