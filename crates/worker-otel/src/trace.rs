//! One request's telemetry: the spans and log records a Worker invocation
//! records, shared by every [`Span`] handle of the request, and taken out
//! once at the end to be exported in one batch. Pure: the clock and the id
//! seed are given, so everything here runs natively under `cargo test`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Display;
use std::future::Future;
use std::rc::Rc;

use crate::config::Config;
use crate::ids::{IdGenerator, SpanId, TraceId};
use crate::model::{Event, KeyValue, LogData, Severity, SpanData, SpanKind, StatusCode, Value};
use crate::otlp;
use crate::propagation::{self, TraceParent};

/// Spans kept per request (a runaway loop must not hold the isolate's memory).
pub const MAX_SPANS: usize = 1024;
/// Log records kept per request.
pub const MAX_LOGS: usize = 1024;
/// Attributes kept per span; more are counted as dropped.
pub const MAX_ATTRIBUTES: usize = 128;
/// Events kept per span; more are counted as dropped.
pub const MAX_EVENTS: usize = 128;

/// The propagation headers of an incoming request.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    pub baggage: Option<String>,
}

/// What one request recorded, encoded as OTLP/HTTP protobuf bodies.
#[derive(Debug, Default, PartialEq)]
pub struct Export {
    /// An `ExportTraceServiceRequest`, when a sampled span was recorded.
    pub traces: Option<Vec<u8>>,
    /// An `ExportLogsServiceRequest`, when a record was written.
    pub logs: Option<Vec<u8>>,
}

struct Recorder {
    clock: fn() -> u64,
    ids: IdGenerator,
    spans: Vec<SpanData>,
    logs: Vec<LogData>,
}

struct Shared {
    recorder: RefCell<Recorder>,
    resource: Vec<KeyValue>,
    sampled: bool,
    tracestate: Option<String>,
    baggage: Option<String>,
}

/// A span of the request: cheap to clone, every clone the same span. Not
/// recording when the trace is not sampled (ids still flow downstream).
#[derive(Clone)]
pub struct Span {
    shared: Rc<Shared>,
    trace_id: TraceId,
    span_id: SpanId,
    /// Where the span sits in the recorder; `None` when not recording.
    slot: Option<usize>,
}

impl Span {
    /// The request's root span: a child of the incoming `traceparent` when it
    /// is valid, a new trace otherwise; sampled as `config` says.
    pub fn root(
        config: &Config,
        incoming: Incoming,
        name: impl Into<Cow<'static, str>>,
        kind: SpanKind,
        clock: fn() -> u64,
        seed: u64,
    ) -> Self {
        let ids = IdGenerator::new(seed);
        let parent = incoming.traceparent.as_deref().and_then(TraceParent::parse);
        let trace_id = parent.map_or_else(|| ids.trace_id(), |p| p.trace_id);
        let sampled = config.sampler.sampled(parent.as_ref(), trace_id);
        let shared = Rc::new(Shared {
            recorder: RefCell::new(Recorder { clock, ids, spans: Vec::new(), logs: Vec::new() }),
            resource: config.resource.clone(),
            sampled,
            tracestate: parent.and(propagation::carried_tracestate(incoming.tracestate)),
            baggage: propagation::carried_baggage(incoming.baggage),
        });
        Self::start(shared, trace_id, parent.map(|p| p.parent_id), name.into(), kind)
    }

    fn start(
        shared: Rc<Shared>,
        trace_id: TraceId,
        parent_span_id: Option<SpanId>,
        name: Cow<'static, str>,
        kind: SpanKind,
    ) -> Self {
        let (span_id, slot) = {
            let mut recorder = shared.recorder.borrow_mut();
            let span_id = recorder.ids.span_id();
            let slot = (shared.sampled && recorder.spans.len() < MAX_SPANS).then(|| {
                let start_ns = (recorder.clock)();
                recorder.spans.push(SpanData {
                    trace_id,
                    span_id,
                    parent_span_id,
                    name,
                    kind,
                    start_ns,
                    end_ns: None,
                    attributes: Vec::new(),
                    dropped_attributes: 0,
                    events: Vec::new(),
                    dropped_events: 0,
                    status: StatusCode::Unset,
                    status_message: None,
                });
                recorder.spans.len() - 1
            });
            (span_id, slot)
        };
        Self { shared, trace_id, span_id, slot }
    }

    /// A child of this span, started now.
    pub fn child(&self, name: impl Into<Cow<'static, str>>, kind: SpanKind) -> Span {
        Self::start(self.shared.clone(), self.trace_id, Some(self.span_id), name.into(), kind)
    }

    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// Whether the trace is sampled (its spans are recorded and exported).
    pub fn is_sampled(&self) -> bool {
        self.shared.sampled
    }

    fn with_data(&self, change: impl FnOnce(&mut SpanData, u64)) {
        let Some(slot) = self.slot else { return };
        let mut recorder = self.shared.recorder.borrow_mut();
        let now = (recorder.clock)();
        if let Some(span) = recorder.spans.get_mut(slot) {
            change(span, now);
        }
    }

    /// Sets an attribute (replacing one of the same key).
    pub fn set_attribute(&self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        let attribute = KeyValue::new(key, value);
        self.with_data(|span, _| {
            let kept = span.attributes.len();
            match span.attributes.iter_mut().find(|kv| kv.key == attribute.key) {
                Some(existing) => existing.value = attribute.value,
                None if kept < MAX_ATTRIBUTES => span.attributes.push(attribute),
                None => span.dropped_attributes += 1,
            }
        });
    }

    /// Sets several attributes at once.
    pub fn set_attributes(&self, attributes: Vec<KeyValue>) {
        for attribute in attributes {
            self.set_attribute(attribute.key, attribute.value);
        }
    }

    /// Renames the span (e.g. once the route is known).
    pub fn set_name(&self, name: impl Into<Cow<'static, str>>) {
        let name = name.into();
        self.with_data(|span, _| span.name = name);
    }

    /// Adds an event at the current time.
    pub fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        let name = name.into();
        self.with_data(|span, now| {
            if span.events.len() < MAX_EVENTS {
                span.events.push(Event { name, time_ns: now, attributes });
            } else {
                span.dropped_events += 1;
            }
        });
    }

    /// Marks the span failed: status ERROR with a message.
    pub fn set_error(&self, message: impl Into<String>) {
        let message = message.into();
        self.with_data(|span, _| {
            span.status = StatusCode::Error;
            span.status_message = Some(message);
        });
    }

    /// Marks the span succeeded (status OK), unless it already failed.
    pub fn set_ok(&self) {
        self.with_data(|span, _| {
            if span.status != StatusCode::Error {
                span.status = StatusCode::Ok;
            }
        });
    }

    /// Records an error: an `exception` event (type and message, as the
    /// conventions name them) and status ERROR.
    pub fn record_error(&self, error_type: &str, error: &dyn Display) {
        let message = error.to_string();
        self.add_event(
            "exception",
            vec![
                KeyValue::new("exception.type", error_type.to_owned()),
                KeyValue::new("exception.message", message.clone()),
            ],
        );
        self.set_error(message);
    }

    /// Names a SERVER span after its route (`GET /orders/:id`) and sets
    /// `http.route`, once the handler knows which route matched.
    pub fn set_http_route(&self, route: &str) {
        self.set_attribute("http.route", route.to_owned());
        self.with_data(|span, _| {
            let method = span.attributes.iter().find(|kv| kv.key == "http.request.method").map(|kv| &kv.value);
            if let Some(Value::String(method)) = method {
                span.name = format!("{method} {route}").into();
            }
        });
    }

    /// Runs `work` inside an INTERNAL child span named `name`; an `Err` is
    /// recorded as an exception and the span's status ERROR.
    pub async fn in_span<T, E, Fut>(
        &self,
        name: impl Into<Cow<'static, str>>,
        work: impl FnOnce(Span) -> Fut,
    ) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        let span = self.child(name, SpanKind::Internal);
        let result = work(span.clone()).await;
        if let Err(error) = &result {
            span.record_error(std::any::type_name::<E>(), error);
        }
        span.end();
        result
    }

    /// Ends the span now; later calls change nothing.
    pub fn end(&self) {
        self.with_data(|span, now| {
            span.end_ns.get_or_insert(now);
        });
    }

    /// Writes a log record tied to this span (exported even when the trace
    /// is not sampled: logs are not sampled by the trace's decision).
    pub fn log(&self, severity: Severity, body: impl Into<String>, attributes: Vec<KeyValue>) {
        let mut recorder = self.shared.recorder.borrow_mut();
        if recorder.logs.len() >= MAX_LOGS {
            return;
        }
        let time_ns = (recorder.clock)();
        recorder.logs.push(LogData {
            time_ns,
            severity,
            body: body.into(),
            attributes,
            trace_id: self.trace_id,
            span_id: self.span_id,
            sampled: self.shared.sampled,
        });
    }

    /// The headers that make a callee's span a child of this one:
    /// `traceparent`, and `tracestate` and `baggage` as they arrived.
    pub fn propagation_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![(
            propagation::TRACEPARENT,
            propagation::format_traceparent(self.trace_id, self.span_id, self.shared.sampled),
        )];
        if let Some(state) = &self.shared.tracestate {
            headers.push((propagation::TRACESTATE, state.clone()));
        }
        if let Some(baggage) = &self.shared.baggage {
            headers.push((propagation::BAGGAGE, baggage.clone()));
        }
        headers
    }

    /// Ends every span still open and encodes what the request recorded;
    /// the recorder is empty afterwards (a second call exports nothing).
    pub fn take_export(&self) -> Export {
        let (spans, logs) = {
            let mut recorder = self.shared.recorder.borrow_mut();
            let now = (recorder.clock)();
            let mut spans = std::mem::take(&mut recorder.spans);
            for span in &mut spans {
                span.end_ns.get_or_insert(now);
            }
            (spans, std::mem::take(&mut recorder.logs))
        };
        Export {
            traces: (!spans.is_empty()).then(|| otlp::encode_traces(&self.shared.resource, &spans)),
            logs: (!logs.is_empty()).then(|| otlp::encode_logs(&self.shared.resource, &logs)),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        static NOW: Cell<u64> = const { Cell::new(1_800_000_000_000_000_000) };
    }

    /// A test clock that moves 1 ms each time it is read.
    pub(crate) fn ticking_clock() -> u64 {
        NOW.with(|now| {
            now.set(now.get() + 1_000_000);
            now.get()
        })
    }

    pub(crate) fn config(ratio: f64) -> Config {
        Config::from_lookup(|name| (name == "OTEL_SERVICE_NAME").then(|| "orders".to_owned()))
            .with_sampler(crate::Sampler::new(ratio))
    }

    pub(crate) fn recorded(span: &Span) -> Vec<SpanData> {
        span.shared.recorder.borrow().spans.clone()
    }

    #[test]
    fn a_request_without_traceparent_starts_a_trace() {
        let root = Span::root(&config(1.0), Incoming::default(), "GET", SpanKind::Server, ticking_clock, 1);
        let child = root.child("SELECT orders", SpanKind::Client);
        child.end();
        root.end();
        let spans = recorded(&root);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].parent_span_id, None);
        assert_eq!(spans[1].parent_span_id, Some(root.span_id()));
        assert_eq!(spans[1].trace_id, root.trace_id());
        assert!(spans.iter().all(|s| s.end_ns.unwrap() > s.start_ns));
    }

    #[test]
    fn an_incoming_traceparent_is_continued_with_its_state() {
        let incoming = Incoming {
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            tracestate: Some("congo=t61rcWkgMzE".into()),
            baggage: Some("userId=alice".into()),
        };
        let root = Span::root(&config(0.0), incoming, "GET", SpanKind::Server, ticking_clock, 2);
        assert!(root.is_sampled(), "a sampled parent keeps the trace whatever the ratio");
        assert_eq!(root.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(recorded(&root)[0].parent_span_id.unwrap().to_string(), "00f067aa0ba902b7");
        let headers = root.child("GET", SpanKind::Client).propagation_headers();
        assert_eq!(headers[0].0, "traceparent");
        assert!(headers[0].1.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(headers[0].1.ends_with("-01"));
        assert_eq!(headers[1], ("tracestate", "congo=t61rcWkgMzE".to_owned()));
        assert_eq!(headers[2], ("baggage", "userId=alice".to_owned()));
    }

    #[test]
    fn an_invalid_traceparent_starts_a_new_trace_and_drops_tracestate() {
        let incoming = Incoming {
            traceparent: Some("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            tracestate: Some("congo=t61rcWkgMzE".into()),
            baggage: None,
        };
        let root = Span::root(&config(1.0), incoming, "GET", SpanKind::Server, ticking_clock, 3);
        assert_ne!(root.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(root.propagation_headers().len(), 1);
    }

    #[test]
    fn an_unsampled_trace_records_no_span_but_propagates_and_logs() {
        let incoming = Incoming {
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".into()),
            ..Incoming::default()
        };
        let root = Span::root(&config(1.0), incoming, "GET", SpanKind::Server, ticking_clock, 4);
        let child = root.child("work", SpanKind::Internal);
        child.set_attribute("k", "v");
        child.log(Severity::Warn, "slow", vec![]);
        assert!(recorded(&root).is_empty());
        assert!(child.propagation_headers()[0].1.ends_with("-00"));
        assert_ne!(child.span_id(), root.span_id());
        let export = root.take_export();
        assert_eq!(export.traces, None);
        assert!(export.logs.is_some());
    }

    #[test]
    fn attributes_events_and_status_are_recorded_within_limits() {
        let root = Span::root(&config(1.0), Incoming::default(), "GET", SpanKind::Server, ticking_clock, 5);
        root.set_attribute("http.route", "/a");
        root.set_attribute("http.route", "/orders/:id");
        for i in 0..MAX_ATTRIBUTES + 3 {
            root.set_attribute(format!("k{i}"), i);
        }
        for _ in 0..MAX_EVENTS + 2 {
            root.add_event("retry", vec![]);
        }
        root.record_error("OrderError", &"no such order");
        root.set_ok();
        root.set_name("GET /orders/:id");
        let span = &recorded(&root)[0];
        assert_eq!(span.name, "GET /orders/:id");
        assert_eq!(span.attributes[0], KeyValue::new("http.route", "/orders/:id"));
        assert_eq!(span.attributes.len(), MAX_ATTRIBUTES);
        assert_eq!(span.dropped_attributes, 4);
        assert_eq!(span.events.len(), MAX_EVENTS);
        assert_eq!(span.dropped_events, 3);
        assert_eq!(span.status, StatusCode::Error, "OK never hides an error");
        assert_eq!(span.status_message.as_deref(), Some("no such order"));
    }

    #[test]
    fn export_ends_open_spans_and_empties_the_recorder() {
        let root = Span::root(&config(1.0), Incoming::default(), "GET", SpanKind::Server, ticking_clock, 6);
        root.child("open", SpanKind::Internal);
        root.log(Severity::Info, "hello", vec![]);
        let export = root.take_export();
        assert!(export.traces.is_some() && export.logs.is_some());
        assert_eq!(root.take_export(), Export::default());
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
        }
    }

    #[test]
    fn in_span_times_a_block_and_records_its_error() {
        let root = Span::root(&config(1.0), Incoming::default(), "GET", SpanKind::Server, ticking_clock, 8);
        let ok: Result<u32, String> = block_on(root.in_span("price", |span| async move {
            span.set_attribute("items", 3);
            Ok(42)
        }));
        assert_eq!(ok, Ok(42));
        let failed: Result<u32, String> =
            block_on(root.in_span("charge", |_| async { Err("card declined".to_owned()) }));
        assert!(failed.is_err());
        let spans = recorded(&root);
        assert_eq!(
            (spans[1].name.as_ref(), spans[1].kind, spans[1].status),
            ("price", SpanKind::Internal, StatusCode::Unset)
        );
        assert_eq!(spans[1].attributes, vec![KeyValue::new("items", 3)]);
        assert!(spans[1].end_ns.is_some());
        assert_eq!(spans[2].status, StatusCode::Error);
        assert_eq!(spans[2].events[0].name, "exception");
        assert_eq!(spans[2].events[0].attributes[1], KeyValue::new("exception.message", "card declined"));
    }

    #[test]
    fn the_route_names_the_server_span() {
        let root = Span::root(&config(1.0), Incoming::default(), "GET", SpanKind::Server, ticking_clock, 9);
        root.set_attribute("http.request.method", "GET");
        root.set_http_route("/orders/:id");
        let span = &recorded(&root)[0];
        assert_eq!(span.name, "GET /orders/:id");
        assert!(span.attributes.contains(&KeyValue::new("http.route", "/orders/:id")));
    }

    #[test]
    fn spans_beyond_the_cap_are_not_kept() {
        let root = Span::root(&config(1.0), Incoming::default(), "GET", SpanKind::Server, ticking_clock, 7);
        for _ in 0..MAX_SPANS + 10 {
            root.child("loop", SpanKind::Internal).end();
        }
        assert_eq!(recorded(&root).len(), MAX_SPANS);
    }
}
