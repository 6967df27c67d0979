//! OTLP/HTTP protobuf bodies (`ExportTraceServiceRequest`,
//! `ExportLogsServiceRequest`) written by hand: a few dozen lines instead of
//! prost and the generated types in every instrumented Worker's wasm. Field
//! numbers follow opentelemetry-proto v1; the tests decode every field back
//! with the `opentelemetry-proto` crate.

use crate::model::{Event, KeyValue, LogData, SpanData, Value};

/// The instrumentation scope every span and record names.
const SCOPE_NAME: &str = "worker-otel";
const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `trace_flags` bit 0 (sampled), as spans and log records carry it.
const FLAG_SAMPLED: u32 = 0x01;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LENGTH_DELIMITED: u8 = 2;
const FIXED32: u8 = 5;

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    fn tag(&mut self, field: u32, wire_type: u8) {
        self.varint(u64::from(field << 3 | u32::from(wire_type)));
    }

    fn uint(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.tag(field, VARINT);
            self.varint(value);
        }
    }

    fn fixed64(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.tag(field, FIXED64);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    fn fixed32(&mut self, field: u32, value: u32) {
        if value != 0 {
            self.tag(field, FIXED32);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    fn bytes(&mut self, field: u32, value: &[u8]) {
        if !value.is_empty() {
            self.tag(field, LENGTH_DELIMITED);
            self.varint(value.len() as u64);
            self.buf.extend_from_slice(value);
        }
    }

    fn string(&mut self, field: u32, value: &str) {
        self.bytes(field, value.as_bytes());
    }

    /// A nested message: written in place, its length put in front after.
    fn message(&mut self, field: u32, write: impl FnOnce(&mut Self)) {
        self.tag(field, LENGTH_DELIMITED);
        let start = self.buf.len();
        write(self);
        let length = self.buf.len() - start;
        let mut prefix = Writer { buf: Vec::with_capacity(5) };
        prefix.varint(length as u64);
        self.buf.splice(start..start, prefix.buf);
    }

    /// An `AnyValue` holding a string (written even when empty: a oneof
    /// member is present whatever its value).
    fn string_value(&mut self, field: u32, value: &str) {
        self.message(field, |w| {
            w.tag(1, LENGTH_DELIMITED);
            w.varint(value.len() as u64);
            w.buf.extend_from_slice(value.as_bytes());
        });
    }

    fn any_value(&mut self, field: u32, value: &Value) {
        match value {
            Value::String(s) => self.string_value(field, s),
            Value::Bool(b) => self.message(field, |w| {
                w.tag(2, VARINT);
                w.varint(u64::from(*b));
            }),
            Value::Int(i) => self.message(field, |w| {
                w.tag(3, VARINT);
                w.varint(*i as u64);
            }),
            Value::Double(d) => self.message(field, |w| {
                w.tag(4, FIXED64);
                w.buf.extend_from_slice(&d.to_bits().to_le_bytes());
            }),
        }
    }

    fn attributes(&mut self, field: u32, attributes: &[KeyValue]) {
        for attribute in attributes {
            self.message(field, |w| {
                w.string(1, &attribute.key);
                w.any_value(2, &attribute.value);
            });
        }
    }

    fn resource_and_scope(&mut self, resource: &[KeyValue], scoped: impl FnOnce(&mut Self)) {
        self.message(1, |w| w.attributes(1, resource));
        self.message(2, |w| {
            w.message(1, |w| {
                w.string(1, SCOPE_NAME);
                w.string(2, SCOPE_VERSION);
            });
            scoped(w);
        });
    }
}

fn event(w: &mut Writer, event: &Event) {
    w.fixed64(1, event.time_ns);
    w.string(2, &event.name);
    w.attributes(3, &event.attributes);
}

fn span(w: &mut Writer, span: &SpanData) {
    w.bytes(1, &span.trace_id.to_bytes());
    w.bytes(2, &span.span_id.to_bytes());
    if let Some(parent) = span.parent_span_id {
        w.bytes(4, &parent.to_bytes());
    }
    w.string(5, &span.name);
    w.uint(6, span.kind as u64);
    w.fixed64(7, span.start_ns);
    w.fixed64(8, span.end_ns.unwrap_or(span.start_ns));
    w.attributes(9, &span.attributes);
    w.uint(10, span.dropped_attributes.into());
    for e in &span.events {
        w.message(11, |w| event(w, e));
    }
    w.uint(12, span.dropped_events.into());
    w.message(15, |w| {
        w.string(2, span.status_message.as_deref().unwrap_or(""));
        w.uint(3, span.status as u64);
    });
    w.fixed32(16, FLAG_SAMPLED);
}

/// An export request of one resource and scope (`resource_spans` or
/// `resource_logs`, field 1), holding `items` as the scope's field 2.
fn export_request<T>(resource: &[KeyValue], items: &[T], bytes_each: usize, item: fn(&mut Writer, &T)) -> Vec<u8> {
    let mut w = Writer { buf: Vec::with_capacity(256 + bytes_each * items.len()) };
    w.message(1, |w| {
        w.resource_and_scope(resource, |w| {
            for i in items {
                w.message(2, |w| item(w, i));
            }
        });
    });
    w.buf
}

/// An `ExportTraceServiceRequest` of one resource and scope.
pub fn encode_traces(resource: &[KeyValue], spans: &[SpanData]) -> Vec<u8> {
    export_request(resource, spans, 160, span)
}

fn log_record(w: &mut Writer, log: &LogData) {
    w.fixed64(1, log.time_ns);
    w.uint(2, log.severity as u64);
    w.string(3, log.severity.text());
    w.string_value(5, &log.body);
    w.attributes(6, &log.attributes);
    w.fixed32(8, if log.sampled { FLAG_SAMPLED } else { 0 });
    w.bytes(9, &log.trace_id.to_bytes());
    w.bytes(10, &log.span_id.to_bytes());
    w.fixed64(11, log.time_ns);
}

/// An `ExportLogsServiceRequest` of one resource and scope.
pub fn encode_logs(resource: &[KeyValue], logs: &[LogData]) -> Vec<u8> {
    export_request(resource, logs, 128, log_record)
}
