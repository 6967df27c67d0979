// The service map: Cytoscape.js (loaded with this page only) on
// GET /api/service-map, nodes coloured by the error rate of the calls they
// answer, edges labelled with calls and latency, the edges of cycles
// highlighted; clicking a service opens its page. A large fleet is read by
// focusing on one service: it, its callers and its callees.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { useData } from "../data.js";
import { Link, Loaded } from "../components.jsx";
import { navigate } from "../router.js";
import { ms } from "../format.js";
import { WindowPicker } from "./services.jsx";

/** Edge ids (`a->b`) that lie on a cycle. */
function cycleEdges(cycles) {
  const ids = new Set();
  for (const cycle of cycles) for (let i = 0; i + 1 < cycle.length; i++) ids.add(`${cycle[i]}->${cycle[i + 1]}`);
  return ids;
}

/** Nodes' error rate: the calls they answer (their incoming edges). */
function errorRates(edges) {
  const totals = new Map();
  for (const { data } of edges) {
    const t = totals.get(data.target) ?? { calls: 0, errors: 0 };
    t.calls += data.requestCount;
    t.errors += data.errorCount;
    totals.set(data.target, t);
  }
  return (id) => {
    const t = totals.get(id);
    return t && t.calls ? t.errors / t.calls : 0;
  };
}

function colour(rate) {
  if (rate >= 0.05) return "#c62828";
  if (rate >= 0.01) return "#f59e0b";
  return "#2e7d32";
}

/** Above this many edges their labels are left out (the edge table has the figures). */
const LABELLED_EDGES = 40;
/** Above this many nodes the page suggests focusing on one service. */
const LARGE_MAP = 50;

/** The map around `focus` (its callers and callees, the edges that touch it); the whole map without one. */
function around(map, focus) {
  if (!focus) return map;
  const edges = map.edges.filter((e) => e.data.source === focus || e.data.target === focus);
  const kept = new Set([focus, ...edges.flatMap((e) => [e.data.source, e.data.target])]);
  return { nodes: map.nodes.filter((n) => kept.has(n.data.id)), edges };
}

function Graph({ map, cycles }) {
  const box = useRef(null);
  const [failed, setFailed] = useState(null);
  useEffect(() => {
    let graph;
    let live = true;
    const onCycle = cycleEdges(cycles);
    const rate = errorRates(map.edges);
    import("cytoscape").then(({ default: cytoscape }) => {
      if (!live) return;
      const dark = matchMedia("(prefers-color-scheme: dark)").matches;
      graph = cytoscape({
        container: box.current,
        elements: [
          ...map.nodes.map((n) => ({ data: { ...n.data, colour: n.data.instrumented ? colour(rate(n.data.id)) : "#8a94a3" } })),
          ...map.edges.map((e) => ({
            data: { ...e.data, text: map.edges.length > LABELLED_EDGES ? "" : `${e.data.requestCount} calls · ${ms(e.data.avgLatencyMs)}` },
            classes: onCycle.has(e.data.id) ? "cycle" : "",
          })),
        ],
        layout: { name: "breadthfirst", directed: true, spacingFactor: 1.3 },
        style: [
          { selector: "node", style: { label: "data(label)", "background-color": "data(colour)", color: dark ? "#e3e8ef" : "#1d2330", "font-size": 12, "text-valign": "bottom", "text-margin-y": 4, "text-wrap": "ellipsis", "text-max-width": "160px" } },
          { selector: "node[type = 'external']", style: { shape: "round-rectangle" } },
          { selector: "edge", style: { label: "data(text)", width: 2, "curve-style": "bezier", "target-arrow-shape": "triangle", "line-color": "#8a94a3", "target-arrow-color": "#8a94a3", "font-size": 10, color: dark ? "#9aa5b4" : "#5f6b7a", "text-rotation": "autorotate", "text-background-color": dark ? "#12161c" : "#ffffff", "text-background-opacity": 0.8 } },
          { selector: "edge.cycle", style: { "line-color": "#f59e0b", "target-arrow-color": "#f59e0b", "line-style": "dashed", width: 3 } },
        ],
      });
      graph.on("tap", "node[type = 'service']", (event) => navigate(`/services/${encodeURIComponent(event.target.id())}`));
      // The graph on its element, for the browser tests to find a node's position.
      box.current.graph = graph;
    }, (e) => live && setFailed(e.message));
    return () => {
      live = false;
      graph?.destroy();
    };
  }, [map, cycles]);
  if (failed) return <p class="state error" role="alert">The map could not be drawn: {failed}</p>;
  return <div ref={box} class="map" role="img" aria-label={`Service map: ${map.nodes.length} nodes, ${map.edges.length} edges`} />;
}

const NO_CYCLES = [];

/** The graph, cycles, services and edges of the map, or of one service's part of it. */
function MapView({ whole, focus, cycles }) {
  const d = useMemo(() => around(whole, focus), [whole, focus]);
  const services = whole.nodes.filter((n) => n.data.type === "service");
  return (
    <>
      <datalist id="map-services">{services.map((n) => <option key={n.data.id} value={n.data.id} />)}</datalist>
      {focus && !d.nodes.length && <p class="state">No service {focus} in this window.</p>}
      {!focus && whole.nodes.length > LARGE_MAP && (
        <p class="muted">{whole.nodes.length} nodes: focus on a service to see its callers and callees.</p>
      )}
      {d.nodes.length > 0 && <Graph map={d} cycles={cycles} />}
      {cycles.length > 0 && <p>Cycles: {cycles.map((c) => c.join(" → ")).join("; ")}</p>}
      <h2>Services</h2>
      <p>
        {d.nodes.filter((n) => n.data.type === "service").map((n, i) => (
          <span key={n.data.id}>{i ? " · " : ""}<Link to={`/services/${encodeURIComponent(n.data.id)}`}>{n.data.label}</Link></span>
        ))}
      </p>
      <h2>Edges</h2>
      <table class="grid">
        <thead><tr><th scope="col">Caller</th><th scope="col">Callee</th><th scope="col">Calls</th><th scope="col">Errors</th><th scope="col">Avg latency</th></tr></thead>
        <tbody>
          {d.edges.map((e) => (
            <tr key={e.data.id}><td>{e.data.source}</td><td>{e.data.target}</td><td class="num">{e.data.requestCount}</td><td class="num">{e.data.errorCount}</td><td class="num">{ms(e.data.avgLatencyMs)}</td></tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function ServiceMap({ params }) {
  const window = params.window ?? "1h";
  const focus = params.focus ?? "";
  const map = useData(`/api/service-map?window=${window}`);
  const cycles = useData(`/api/service-map/cycles?window=${window}`);
  const setParams = (changes) => navigate("/map", { window, focus, ...changes }, { replace: true });
  return (
    <section>
      <div class="toolbar">
        <h1>Service map</h1>
        <WindowPicker value={window} onChange={(w) => setParams({ window: w })} />
        <label class="inline">
          Focus{" "}
          <input type="search" list="map-services" value={focus} placeholder="a service: it, its callers and callees" onChange={(e) => setParams({ focus: e.currentTarget.value.trim() })} />
        </label>
        {focus && <button class="link" onClick={() => setParams({ focus: "" })}>Whole map</button>}
        <span class="legend">node colour: errors answered (green &lt; 1 %, amber &lt; 5 %, red) · dashed amber edges: a cycle · grey boxes: not instrumented</span>
      </div>
      <Loaded state={map} isEmpty={(d) => !d.nodes.length} empty="No service has sent spans in this window.">
        {(whole) => <MapView whole={whole} focus={focus} cycles={cycles.data?.cycles ?? NO_CYCLES} />}
      </Loaded>
    </section>
  );
}
