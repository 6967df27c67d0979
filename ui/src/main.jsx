// The web UI: sign-in, navigation and the page of the current hash route.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { clearToken, getToken, setToken, api, AuthError } from "./api.js";
import { AUTH_REQUIRED } from "./data.js";
import { useRoute } from "./router.js";
import { Services } from "./pages/services.jsx";
import { Service } from "./pages/service.jsx";
import { Traces } from "./pages/traces.jsx";
import { Trace } from "./pages/trace.jsx";
import { Logs } from "./pages/logs.jsx";
import { ServiceMap } from "./pages/map.jsx";
import { Alerts } from "./pages/alerts.jsx";
import "./style.css";

const PAGES = [
  ["/services", "Services"],
  ["/map", "Service map"],
  ["/traces", "Traces"],
  ["/logs", "Logs"],
  ["/alerts", "Alerts and SLOs"],
];

function page({ path, params }) {
  const [, first, second] = path.split("/");
  if (first === "services" && second) return <Service id={decodeURIComponent(second)} params={params} />;
  if (first === "traces" && second) return <Trace id={second} params={params} />;
  if (first === "traces") return <Traces params={params} />;
  if (first === "logs") return <Logs params={params} />;
  if (first === "map") return <ServiceMap params={params} />;
  if (first === "alerts") return <Alerts params={params} />;
  return <Services params={params} />;
}

function SignIn({ message, onSignedIn }) {
  const [token, setValue] = useState("");
  const [problem, setProblem] = useState(message);
  const [checking, setChecking] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setToken(token.trim());
    setChecking(true);
    try {
      await api("/api/services?window=1m");
      onSignedIn();
    } catch (e) {
      clearToken();
      setProblem(e instanceof AuthError ? e.message : `the token could not be checked: ${e.message}`);
    } finally {
      setChecking(false);
    }
  }
  return (
    <main class="signin">
      <h1>Sign in to the collector</h1>
      <p>
        Paste an API key with the <code>read</code> scope (or <code>admin</code> to change alerts): the
        collector's <code>API_TOKEN</code>, or a key from <code>POST /api/keys</code>. It is kept for this
        browser tab's session only.
      </p>
      {problem && <p class="state error" role="alert">{problem}</p>}
      <form onSubmit={submit}>
        <label for="token">API key</label>
        <input id="token" type="password" autocomplete="off" value={token} onInput={(e) => setValue(e.currentTarget.value)} required />
        <button type="submit" disabled={checking}>{checking ? "Checking…" : "Sign in"}</button>
      </form>
    </main>
  );
}

function App() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(Boolean(getToken()));
  const [message, setMessage] = useState(null);
  useEffect(() => {
    const required = (event) => {
      clearToken();
      setMessage(event.detail);
      setSignedIn(false);
    };
    addEventListener(AUTH_REQUIRED, required);
    return () => removeEventListener(AUTH_REQUIRED, required);
  }, []);
  if (!signedIn) return <SignIn message={message} onSignedIn={() => { setMessage(null); setSignedIn(true); }} />;
  const section = `/${route.path.split("/")[1]}`;
  return (
    <>
      <header>
        <a class="brand" href="#/services">observability-collector</a>
        <nav aria-label="Pages">
          {PAGES.map(([path, label]) => (
            <a key={path} href={`#${path}`} aria-current={section === path ? "page" : undefined}>{label}</a>
          ))}
        </nav>
        <button class="link" onClick={() => { clearToken(); setSignedIn(false); }}>Sign out</button>
      </header>
      <main>{page(route)}</main>
    </>
  );
}

render(<App />, document.getElementById("app"));
