// The collector's REST API as the UI calls it: the token the user pasted
// (kept for the browser session) as the bearer, JSON in and out, errors as
// messages. A 401 or 403 means the token is missing, wrong or too narrow.
const TOKEN_KEY = "collector.token";

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (token) => sessionStorage.setItem(TOKEN_KEY, token);
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);

/** The token was refused: the UI asks for another. */
export class AuthError extends Error {}

/** GET (or any method with a JSON body) against the API; resolves to the parsed answer. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { authorization: `Bearer ${getToken() ?? ""}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new Error(`the collector cannot be reached (${e.message})`);
  }
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  const message = parsed?.error?.message ?? (text || res.statusText);
  if (res.status === 401) throw new AuthError("the collector refused this token");
  if (res.status === 403) throw new AuthError(`this token may not do that: ${message}`);
  if (!res.ok) throw new Error(`${res.status}: ${message}`);
  return parsed;
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}
