// One trace: a waterfall with a collapsible span tree (only the rows in
// view are drawn, so a 10,000-span trace stays usable), a flame graph, the
// critical path highlighted, and the selected span's detail (attributes,
// events, links, resource) with its logs and the trace's.
import { useMemo, useState, useRef, useEffect } from "preact/hooks";
import { useData } from "../data.js";
import { Attributes, Loaded, Link, StatusBadge } from "../components.jsx";
import { navigate } from "../router.js";
import { ms, nanosBetween, time } from "../format.js";
import { LogList } from "./service.jsx";

const ROW = 24;

/** Children by parent, roots (spans whose parent is not in the trace) and depth-first order. */
function buildTree(spans) {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const children = new Map();
  const roots = [];
  for (const span of spans) {
    if (span.parentSpanId && byId.has(span.parentSpanId)) {
      if (!children.has(span.parentSpanId)) children.set(span.parentSpanId, []);
      children.get(span.parentSpanId).push(span);
    } else roots.push(span);
  }
  const byStart = (a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1);
  roots.sort(byStart);
  for (const list of children.values()) list.sort(byStart);
  return { byId, children, roots };
}

/** The spans on the critical path: from each root, the child that ends last, recursively. */
function criticalPath({ children, roots }) {
  const path = new Set();
  for (const root of roots) {
    let span = root;
    while (span) {
      path.add(span.spanId);
      const kids = children.get(span.spanId) ?? [];
      span = kids.reduce((last, k) => (!last || BigInt(k.endTimeUnixNano) > BigInt(last.endTimeUnixNano) ? k : last), null);
    }
  }
  return path;
}

/** Where a span sits on the trace's time axis: `left` and `share` in percent of the trace. */
function timeline(trace) {
  const start = BigInt(trace.startTimeUnixNano);
  const total = Math.max(nanosBetween(trace.startTimeUnixNano, trace.endTimeUnixNano), 0.001);
  return {
    left: (span) => (Number(BigInt(span.startTimeUnixNano) - start) / 1e6 / total) * 100,
    share: (span) => (span.durationMs / total) * 100,
  };
}

/** The rows shown: depth-first, skipping the subtrees of collapsed spans. */
function visibleRows(tree, collapsed) {
  const rows = [];
  const stack = [...tree.roots].reverse().map((span) => [span, 0]);
  while (stack.length) {
    const [span, depth] = stack.pop();
    rows.push({ span, depth });
    if (collapsed.has(span.spanId)) continue;
    const kids = tree.children.get(span.spanId) ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
  }
  return rows;
}

function Waterfall({ trace, tree, critical, selected, select }) {
  const [collapsed, setCollapsed] = useState(() => new Set());
  const [scrollTop, setScrollTop] = useState(0);
  const box = useRef(null);
  const rows = useMemo(() => visibleRows(tree, collapsed), [tree, collapsed]);
  const axis = timeline(trace);
  const height = 600;
  const first = Math.max(0, Math.floor(scrollTop / ROW) - 10);
  const last = Math.min(rows.length, first + Math.ceil(height / ROW) + 20);
  const toggle = (id) => {
    const next = new Set(collapsed);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setCollapsed(next);
  };
  function onKey(event) {
    const at = rows.findIndex((r) => r.span.spanId === selected);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const next = rows[Math.min(rows.length - 1, Math.max(0, at + (event.key === "ArrowDown" ? 1 : -1)))];
      if (next) select(next.span.spanId);
    } else if ((event.key === "ArrowLeft" || event.key === "ArrowRight") && at >= 0) {
      const id = rows[at].span.spanId;
      if (tree.children.has(id) && collapsed.has(id) === (event.key === "ArrowRight")) toggle(id);
    }
  }
  useEffect(() => {
    const at = rows.findIndex((r) => r.span.spanId === selected);
    const el = box.current;
    if (at < 0 || !el) return;
    if (at * ROW < el.scrollTop || (at + 1) * ROW > el.scrollTop + el.clientHeight) el.scrollTop = Math.max(0, at * ROW - el.clientHeight / 2);
  }, [selected]);
  return (
    <div class="waterfall" ref={box} tabIndex={0} role="tree" aria-label="Spans" onKeyDown={onKey}
      style={{ height: `${Math.min(height, rows.length * ROW + 2)}px` }} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
      <div style={{ height: `${rows.length * ROW}px`, position: "relative" }}>
        {rows.slice(first, last).map(({ span, depth }, i) => {
          const left = axis.left(span);
          const width = Math.max(axis.share(span), 0.2);
          const hasKids = tree.children.has(span.spanId);
          return (
            <div key={span.spanId} role="treeitem" aria-level={depth + 1} aria-selected={span.spanId === selected}
              aria-expanded={hasKids ? !collapsed.has(span.spanId) : undefined}
              class={`row${span.spanId === selected ? " selected" : ""}${critical.has(span.spanId) ? " critical" : ""}`}
              style={{ top: `${(first + i) * ROW}px` }} onClick={() => select(span.spanId)}>
              <div class="name" style={{ paddingLeft: `${depth * 14 + 4}px` }}>
                {hasKids ? (
                  <button class="toggle" aria-label={collapsed.has(span.spanId) ? "Expand" : "Collapse"}
                    onClick={(e) => { e.stopPropagation(); toggle(span.spanId); }}>{collapsed.has(span.spanId) ? "▸" : "▾"}</button>
                ) : <span class="toggle" />}
                <span class="service">{span.service}</span> {span.name}
              </div>
              <div class="track">
                <div class={`bar ${span.status.code === "error" ? "error" : ""}`} style={{ left: `${left}%`, width: `${width}%` }} title={`${span.name}: ${ms(span.durationMs)}`} />
                <span class="duration" style={{ left: `${Math.min(left + width, 88)}%` }}>{ms(span.durationMs)}</span>
              </div>
            </div>
          );
        })}
      </div>
    </div>
  );
}

/** Frames by depth and time; in a trace of thousands, frames narrower than 0.05 % are left out. */
function FlameGraph({ trace, tree, critical, selected, select }) {
  const axis = timeline(trace);
  const rows = useMemo(() => visibleRows(tree, new Set()), [tree]);
  const depth = rows.reduce((d, r) => Math.max(d, r.depth), 0) + 1;
  return (
    <div class="flame" style={{ height: `${depth * 20}px` }} role="img" aria-label={`Flame graph, ${depth} levels`}>
      {rows.filter(({ span }) => rows.length <= 2000 || axis.share(span) >= 0.05).map(({ span, depth: d }) => (
        <button key={span.spanId} class={`frame${span.spanId === selected ? " selected" : ""}${critical.has(span.spanId) ? " critical" : ""}${span.status.code === "error" ? " error" : ""}`}
          style={{ top: `${d * 20}px`, left: `${axis.left(span)}%`, width: `${Math.max(axis.share(span), 0.1)}%` }}
          title={`${span.service} ${span.name}: ${ms(span.durationMs)}`} onClick={() => select(span.spanId)}>
          {span.name}
        </button>
      ))}
    </div>
  );
}

function SpanDetail({ span, logs }) {
  const spanLogs = logs.filter((l) => l.spanId === span.spanId);
  return (
    <aside class="detail" aria-label="Span detail">
      <h2>{span.name}</h2>
      <p>
        <StatusBadge code={span.status.code} /> {span.kind} · {span.service} · {ms(span.durationMs)} · started {time(span.startTimeUnixNano)}
        {span.status.message && <span class="error-text"> · {span.status.message}</span>}
      </p>
      <p class="muted">span {span.spanId}{span.parentSpanId ? ` · parent ${span.parentSpanId}` : " · root"}</p>
      <h3>Attributes</h3>
      <Attributes values={span.attributes} />
      <h3>Events</h3>
      {span.events.length ? (
        <ul class="plain">{span.events.map((e, i) => <li key={i}><strong>{e.name}</strong> <span class="muted">{time(e.timeUnixNano)}</span><Attributes values={e.attributes} /></li>)}</ul>
      ) : <p class="muted">none</p>}
      <h3>Links</h3>
      {span.links.length ? (
        <ul class="plain">{span.links.map((l, i) => <li key={i}><Link to={`/traces/${l.traceId}`} params={{ span: l.spanId }}>{l.traceId}/{l.spanId}</Link></li>)}</ul>
      ) : <p class="muted">none</p>}
      <h3>Resource</h3>
      <Attributes values={span.resource} />
      <h3>Logs of this span</h3>
      {spanLogs.length ? <LogList logs={spanLogs} /> : <p class="muted">none</p>}
    </aside>
  );
}

export function Trace({ id, params }) {
  const state = useData(`/api/traces/${id}`);
  const logs = useData(`/api/logs?traceId=${id}&limit=1000`);
  const view = params.view ?? "waterfall";
  const select = (span) => navigate(`/traces/${id}`, { ...params, span }, { replace: true });
  return (
    <Loaded state={state} empty="No such trace.">
      {(trace) => <TraceBody trace={trace} logs={logs.data?.logs ?? []} view={view} params={params} select={select} id={id} />}
    </Loaded>
  );
}

function TraceBody({ trace, logs, view, params, select, id }) {
  const tree = useMemo(() => buildTree(trace.spans), [trace]);
  const critical = useMemo(() => criticalPath(tree), [tree]);
  const selected = params.span && tree.byId.has(params.span) ? params.span : tree.roots[0]?.spanId;
  const span = tree.byId.get(selected);
  return (
    <section class="trace">
      <div class="toolbar">
        <h1>{trace.rootService}: {trace.rootOperation ?? "(no root)"}</h1>
        <StatusBadge code={trace.status} />
      </div>
      <p class="muted">
        trace {trace.traceId} · {time(trace.startTimeUnixNano)} · {ms(trace.durationMs)} · {trace.spanCount} spans · {trace.errorCount} errors ·
        services {trace.services.join(", ")} · {logs.length} logs
      </p>
      <div class="tabs" role="tablist">
        {["waterfall", "flame"].map((v) => (
          <button key={v} role="tab" aria-selected={view === v} onClick={() => navigate(`/traces/${id}`, { ...params, view: v }, { replace: true })}>
            {v === "flame" ? "Flame graph" : "Waterfall"}
          </button>
        ))}
        <span class="legend"><span class="swatch critical" /> critical path</span>
      </div>
      <div class="trace-layout">
        <div>
          {view === "flame"
            ? <FlameGraph trace={trace} tree={tree} critical={critical} selected={selected} select={select} />
            : <Waterfall trace={trace} tree={tree} critical={critical} selected={selected} select={select} />}
          <h2>Logs of the trace</h2>
          {logs.length ? <LogList logs={logs} /> : <p class="muted">none</p>}
        </div>
        {span && <SpanDetail span={span} logs={logs} />}
      </div>
    </section>
  );
}
