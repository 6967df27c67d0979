// Hash routes: `#/traces?service=frontend`, `#/traces/<id>?span=<id>`. The
// URL holds every page's state (filters, window, selection), so any view
// is a link. Static assets need no server-side fallback for them.
import { useEffect, useState } from "preact/hooks";
import { query } from "./api.js";

export function currentRoute() {
  const hash = location.hash.replace(/^#/, "") || "/services";
  const [path, search = ""] = hash.split("?");
  return { path, params: Object.fromEntries(new URLSearchParams(search)) };
}

export const href = (path, params = {}) => `#${path}${query(params)}`;

export function navigate(path, params, { replace = false } = {}) {
  const target = href(path, params);
  if (replace) history.replaceState(null, "", target);
  else location.hash = target;
  if (replace) dispatchEvent(new HashChangeEvent("hashchange"));
}

export function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}
