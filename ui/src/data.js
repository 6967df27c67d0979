// Loading API data into a page: `useData(path, refresh)` → { loading, data,
// error }, reloaded when the path or `refresh` changes; a refused token asks
// for sign-in.
import { useEffect, useState } from "preact/hooks";
import { api, AuthError } from "./api.js";

export const AUTH_REQUIRED = "auth-required";

export function useData(path, refresh = 0) {
  const [state, setState] = useState({ loading: Boolean(path) });
  useEffect(() => {
    if (!path) return undefined;
    let live = true;
    setState({ loading: true });
    api(path).then(
      (data) => live && setState({ data }),
      (error) => {
        if (!live) return;
        if (error instanceof AuthError) dispatchEvent(new CustomEvent(AUTH_REQUIRED, { detail: error.message }));
        setState({ error: error.message });
      },
    );
    return () => {
      live = false;
    };
  }, [path, refresh]);
  return state;
}
