// Shared pieces of the pages: loading, empty and error states, links, the
// service filter.
import { useData } from "./data.js";
import { href } from "./router.js";

export function Loading({ what = "Loading" }) {
  return <p class="state" role="status" aria-live="polite">{what}…</p>;
}

export function ErrorMessage({ message }) {
  return <p class="state error" role="alert">Could not load: {message}</p>;
}

export function Empty({ children }) {
  return <p class="state empty">{children}</p>;
}

/** Renders `children(data)` once loaded, else the loading, error or empty state. */
export function Loaded({ state, empty, isEmpty = () => false, children }) {
  if (state.loading) return <Loading />;
  if (state.error) return <ErrorMessage message={state.error} />;
  if (!state.data || isEmpty(state.data)) return <Empty>{empty}</Empty>;
  return children(state.data);
}

export function Link({ to, params, children, ...rest }) {
  return <a href={href(to, params)} {...rest}>{children}</a>;
}

export function StatusBadge({ code }) {
  return <span class={`badge ${code}`}>{code}</span>;
}

/** Key/value rows of an attribute object. */
export function Attributes({ values }) {
  const entries = Object.entries(values ?? {});
  if (!entries.length) return <p class="muted">none</p>;
  return (
    <table class="kv">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{typeof v === "object" ? JSON.stringify(v) : String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The `service` field of a filter form: the services seen over 7 days (and the selected one). */
export function ServiceSelect({ selected }) {
  const services = useData("/api/services?window=7d").data?.services ?? [];
  return (
    <label>Service
      <select name="service" defaultValue={selected ?? ""}>
        <option value="">any</option>
        {services.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
        {selected && !services.some((s) => s.id === selected) && <option value={selected}>{selected}</option>}
      </select>
    </label>
  );
}
