//! The Workers side (wasm32 only): the SERVER span around a fetch handler,
//! CLIENT spans for `fetch` and service-binding calls with the trace
//! context put on the outgoing request, D1 statements as spans, and the
//! export of what the request recorded in `ctx.wait_until`.

use std::future::Future;

use worker::{
    console_error, js_sys, wasm_bindgen::JsValue, Context, D1Database, D1PreparedStatement, D1Result, Env, Fetch,
    Fetcher, Method, Request, RequestInit, Response, Result,
};

use crate::config::Config;
use crate::http;
use crate::model::SpanKind;
use crate::propagation::{BAGGAGE, TRACEPARENT, TRACESTATE};
use crate::statement::Statement;
use crate::trace::{Export, Incoming, Span};

/// Nanoseconds since the epoch from `Date.now()` (whole milliseconds: the
/// runtime advances its clock at I/O, which is where spans begin and end).
fn now_ns() -> u64 {
    (js_sys::Date::now() as u64).saturating_mul(1_000_000)
}

/// A per-request seed for span ids (unique, not secret: `Math.random`).
fn id_seed() -> u64 {
    let draw = || (js_sys::Math::random() * (1u64 << 53) as f64) as u64;
    draw() ^ (draw() << 11)
}

/// The configuration from the Worker's vars and secrets.
pub fn config_from_env(env: &Env) -> Config {
    Config::from_lookup(|name| {
        env.var(name).map(|v| v.to_string()).or_else(|_| env.secret(name).map(|s| s.to_string())).ok()
    })
}

/// Runs `handler` inside a SERVER span for `request`, continuing the
/// caller's trace context, and exports the request's spans and logs in
/// `ctx.wait_until` once the response is ready. The response (or error) is
/// the handler's, untouched.
///
/// ```ignore
/// #[event(fetch)]
/// async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
///     let config = worker_otel::config_from_env(&env).with_resource("service.version", env!("CARGO_PKG_VERSION"));
///     worker_otel::instrument(config, req, env, &ctx, handle).await
/// }
/// ```
pub async fn instrument<F, Fut>(
    config: Config,
    request: Request,
    env: Env,
    ctx: &Context,
    handler: F,
) -> Result<Response>
where
    F: FnOnce(Request, Env, Span) -> Fut,
    Fut: Future<Output = Result<Response>>,
{
    let header = |name: &str| request.headers().get(name).ok().flatten();
    let incoming =
        Incoming { traceparent: header(TRACEPARENT), tracestate: header(TRACESTATE), baggage: header(BAGGAGE) };
    let method = request.method().to_string();
    let span = Span::root(&config, incoming, method.clone(), SpanKind::Server, now_ns, id_seed());
    span.set_attributes(http::server_attributes(&method, &request.inner().url(), header("user-agent")));
    let destination = destination(&config, &env);
    let result = handler(request, env, span.clone()).await;
    record_outcome(&span, &result, true);
    span.end();
    let headers = config.headers;
    ctx.wait_until(async move {
        if let Some(destination) = destination {
            send(&destination, &headers, span.take_export()).await;
        }
    });
    result
}

/// Where a request's telemetry goes.
enum Destination {
    /// A service binding to the collector Worker.
    Binding(Fetcher),
    /// The collector's base URL.
    Url(String),
}

/// The collector binding when the Worker has it, else the endpoint URL.
fn destination(config: &Config, env: &Env) -> Option<Destination> {
    match env.service(&config.binding) {
        Ok(fetcher) => Some(Destination::Binding(fetcher)),
        Err(_) => config.endpoint.clone().map(Destination::Url),
    }
}

/// Status code and status of an HTTP span. A server span fails on 5xx, a
/// client span on 4xx too (the HTTP conventions); an `Err` fails both.
fn record_outcome(span: &Span, result: &Result<Response>, server: bool) {
    match result {
        Ok(response) => {
            let status = response.status_code();
            span.set_attribute("http.response.status_code", status);
            if status >= 500 || (!server && status >= 400) {
                span.set_attribute("error.type", status.to_string());
                span.set_error(format!("HTTP {status}"));
            }
        }
        Err(error) => {
            span.set_attribute("error.type", "worker::Error");
            span.record_error("worker::Error", error);
        }
    }
}

/// Posts the request's spans, then its logs; a failed first post skips the
/// second, so a collector that is down costs one subrequest.
async fn send(destination: &Destination, headers: &[(String, String)], export: Export) {
    for (path, body) in [("/v1/traces", export.traces), ("/v1/logs", export.logs)] {
        let Some(body) = body else { continue };
        if let Err(problem) = post(destination, headers, path, &body).await {
            console_error!("worker-otel: export to {path} failed: {problem}");
            return;
        }
    }
}

async fn post(destination: &Destination, headers: &[(String, String)], path: &str, body: &[u8]) -> Result<()> {
    let request_headers = worker::Headers::new();
    request_headers.set("content-type", "application/x-protobuf")?;
    for (name, value) in headers {
        request_headers.set(name, value)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(request_headers)
        .with_body(Some(JsValue::from(js_sys::Uint8Array::from(body))));
    let response = match destination {
        // A binding's URL only carries the path; the host is not looked up.
        Destination::Binding(fetcher) => fetcher.fetch(format!("https://collector{path}"), Some(init)).await?,
        Destination::Url(base) => {
            Fetch::Request(Request::new_with_init(&format!("{base}{path}"), &init)?).send().await?
        }
    };
    match response.status_code() {
        200..=299 => Ok(()),
        status => Err(worker::Error::RustError(format!("the collector answered {status}"))),
    }
}

impl Span {
    /// Sends `request` to the internet inside a CLIENT span, with the trace
    /// context on it, like `Fetch::Request(request).send()`.
    pub async fn fetch(&self, request: Request) -> Result<Response> {
        let (span, request) = self.client_request(request)?;
        let result = Fetch::Request(request).send().await;
        finish_client(&span, &result);
        result
    }

    /// Calls another Worker through a service binding inside a CLIENT span,
    /// with the trace context on the request, like `fetcher.fetch_request`:
    /// the callee's SERVER span joins this trace.
    pub async fn fetch_binding(&self, fetcher: &Fetcher, request: Request) -> Result<Response> {
        let (span, request) = self.client_request(request)?;
        let result = fetcher.fetch_request(request).await;
        finish_client(&span, &result);
        result
    }

    fn client_request(&self, request: Request) -> Result<(Span, Request)> {
        let method = request.method().to_string();
        let span = self.child(method.clone(), SpanKind::Client);
        span.set_attributes(http::client_attributes(&method, &request.inner().url()));
        let mut outgoing = request.clone_mut()?;
        let headers = outgoing.headers_mut()?;
        for (name, value) in span.propagation_headers() {
            headers.set(name, &value)?;
        }
        Ok((span, outgoing))
    }

    /// `database` with every statement run through it recorded as a D1 span
    /// under this one; `name` is the binding's name (`db.namespace`).
    pub fn d1(&self, database: D1Database, name: &str) -> TracedDatabase {
        TracedDatabase { database, name: name.to_owned(), span: self.clone() }
    }
}

fn finish_client(span: &Span, result: &Result<Response>) {
    record_outcome(span, result, false);
    span.end();
}

/// A D1 database whose statements are recorded as spans.
pub struct TracedDatabase {
    database: D1Database,
    name: String,
    span: Span,
}

impl TracedDatabase {
    /// Prepares `sql`, as `D1Database::prepare`.
    pub fn prepare(&self, sql: &str) -> TracedStatement {
        TracedStatement {
            statement: self.database.prepare(sql),
            sql: Statement::new(sql),
            name: self.name.clone(),
            span: self.span.clone(),
        }
    }

    /// The database itself, for what is not traced (batches, sessions, dumps).
    pub fn inner(&self) -> &D1Database {
        &self.database
    }
}

/// A prepared D1 statement whose runs are CLIENT spans: `db.system.name`
/// `cloudflare-d1`, the statement without literals, and the rows D1 read
/// and wrote from its `meta`.
pub struct TracedStatement {
    statement: D1PreparedStatement,
    sql: Statement,
    name: String,
    span: Span,
}

impl TracedStatement {
    /// Binds parameters, as `D1PreparedStatement::bind`.
    pub fn bind(mut self, values: &[JsValue]) -> Result<Self> {
        self.statement = self.statement.bind(values)?;
        Ok(self)
    }

    /// Runs the statement and returns its rows, as `D1PreparedStatement::all`.
    pub async fn all(&self) -> Result<D1Result> {
        let span = self.start();
        let result = self.statement.all().await;
        self.finish(&span, &result);
        result
    }

    /// Runs the statement for its effect, as `D1PreparedStatement::run`.
    pub async fn run(&self) -> Result<D1Result> {
        let span = self.start();
        let result = self.statement.run().await;
        self.finish(&span, &result);
        result
    }

    /// The first row, if any (the statement runs as with [`all`](Self::all)).
    pub async fn first<T: for<'de> serde::Deserialize<'de>>(&self) -> Result<Option<T>> {
        Ok(self.all().await?.results::<T>()?.into_iter().next())
    }

    fn start(&self) -> Span {
        let span = self.span.child(self.sql.span_name(), SpanKind::Client);
        span.set_attribute("db.system.name", "cloudflare-d1");
        span.set_attribute("db.namespace", self.name.clone());
        span.set_attribute("db.query.text", self.sql.text.clone());
        if let Some(operation) = &self.sql.operation {
            span.set_attribute("db.operation.name", operation.clone());
        }
        if let Some(collection) = &self.sql.collection {
            span.set_attribute("db.collection.name", collection.clone());
        }
        span
    }

    fn finish(&self, span: &Span, result: &Result<D1Result>) {
        match result {
            Ok(outcome) => {
                if let Ok(Some(meta)) = outcome.meta() {
                    if let Some(read) = meta.rows_read {
                        span.set_attribute("cloudflare.d1.rows_read", read);
                    }
                    if let Some(written) = meta.rows_written {
                        span.set_attribute("cloudflare.d1.rows_written", written);
                    }
                }
            }
            Err(error) => {
                span.set_attribute("error.type", "D1Error");
                span.record_error("D1Error", error);
            }
        }
        span.end();
    }
}
