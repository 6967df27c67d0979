// Logs: search by service, minimum severity, text and trace, newest first,
// page by page (the API's cursor); a record with a trace links to it.
import { useData } from "../data.js";
import { Loaded, ServiceSelect } from "../components.jsx";
import { navigate } from "../router.js";
import { query } from "../api.js";
import { LogList } from "./service.jsx";

const SEVERITIES = ["", "debug", "info", "warn", "error", "fatal"];

export function Logs({ params }) {
  const state = useData(`/api/logs${query({ service: params.service, severity: params.severity, q: params.q, traceId: params.traceId, cursor: params.cursor, limit: 100 })}`);
  function submit(event) {
    event.preventDefault();
    navigate("/logs", Object.fromEntries(new FormData(event.currentTarget)));
  }
  return (
    <section>
      <h1>Logs</h1>
      <form class="filters" onSubmit={submit} key={JSON.stringify(params)}>
        <ServiceSelect selected={params.service} />
        <label>Severity at least
          <select name="severity" defaultValue={params.severity ?? ""}>
            {SEVERITIES.map((s) => <option key={s} value={s}>{s || "any"}</option>)}
          </select>
        </label>
        <label>Text <input name="q" defaultValue={params.q ?? ""} placeholder="contains…" /></label>
        <label>Trace id <input name="traceId" defaultValue={params.traceId ?? ""} pattern="[0-9a-fA-F]{32}" /></label>
        <button type="submit">Search</button>
      </form>
      <Loaded state={state} isEmpty={(d) => !d.logs.length} empty="No log record matches.">
        {(d) => (
          <>
            <LogList logs={d.logs} />
            {d.nextCursor && <button onClick={() => navigate("/logs", { ...params, cursor: d.nextCursor })}>Older records</button>}
          </>
        )}
      </Loaded>
    </section>
  );
}
