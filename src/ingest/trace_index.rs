//! The per-trace index record kept in D1 (docs/storage.md, `trace_index`) and
//! how a stored batch merges into it: counts, times, services, the root, the
//! export pieces already stored (so a retry counts nothing twice), the calls
//! between services a batch proves (also across batches, through the open
//! calls and orphans rebuilt from the trace's stored spans), and the block
//! segments of the trace. Pure: the store reads the records and the stored
//! spans of the traces a batch continues, merges here, and writes the records back.

use std::collections::{HashMap, HashSet};

use thiserror::Error;

use crate::blocks::{BlockId, SegmentRef};
use crate::domain::time::nanos_to_ms;
use crate::domain::{SpanId, SpanKind};

/// Version 3 (since 2026-11-28): the merge state (open calls, orphans, span
/// keys, callee names) is no longer stored; a merge rebuilds it from the
/// trace's stored spans. Versions 1 and 2 (which stored it; version 1 with a
/// 4-byte `f32` of milliseconds and an absolute minute per timing, a service
/// per span key) are still read, their merge state skipped.
const VERSION: u8 = 3;
const VERSION_2: u8 = 2;
const VERSION_1: u8 = 1;
pub const MINUTE_MS: u64 = 60_000;

/// What the merge needs of one stored span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanFacts<'a> {
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub service: &'a str,
    pub service_version: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub name: &'a str,
    pub kind: SpanKind,
    pub start_ns: u64,
    pub end_ns: u64,
    pub error: bool,
    /// The uninstrumented callee a CLIENT/PRODUCER span names (`ingest::callee`).
    pub callee: Option<&'a str>,
}

impl SpanFacts<'_> {
    pub fn duration_ms(&self) -> f64 {
        nanos_to_ms(self.end_ns.saturating_sub(self.start_ns))
    }

    fn duration_us(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns) / 1_000
    }

    /// Entry spans (server, consumer, or a root) are what RED counts.
    pub fn is_entry(&self) -> bool {
        matches!(self.kind, SpanKind::Server | SpanKind::Consumer) || self.parent_span_id.is_none()
    }

    fn timing(&self) -> Timing {
        Timing { minute: minute_of(self.start_ns), duration_us: self.duration_us(), error: self.error }
    }
}

/// The spans of one trace in one export (one queue message): the unit of
/// idempotence. `hash` is a content hash of the piece's stored rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece<'a> {
    pub hash: u64,
    pub spans: Vec<SpanFacts<'a>>,
}

/// When a call happened and how it went, as the dependency roll-ups count it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Unix minutes (ms / 60,000) of the call's start.
    pub minute: u64,
    pub duration_us: u64,
    pub error: bool,
}

impl Timing {
    pub fn duration_ms(&self) -> f64 {
        self.duration_us as f64 / 1_000.0
    }
}

/// A change to the call counts between two services (or a service and an
/// uninstrumented callee): `count` is +1, or -1 when a call counted towards an
/// uninstrumented callee turns out to have reached an instrumented service.
#[derive(Debug, Clone, PartialEq)]
pub struct CallDelta {
    pub caller: String,
    pub callee: String,
    pub timing: Timing,
    pub count: i32,
}

/// The trace's root as the API shows it: the span without a parent; while
/// that has not arrived (or lives outside our system), the earliest span whose
/// parent is unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct Root {
    pub span_id: SpanId,
    pub service: u32,
    pub operation: String,
    pub start_ns: u64,
    /// `None` for a span without a parent.
    pub parent_fingerprint: Option<u32>,
}

/// A CLIENT/PRODUCER span no span of another service has named as its parent yet.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCall {
    pub fingerprint: u32,
    pub service: u32,
    /// The call counted towards the uninstrumented callee it names, if any.
    pub peer: Option<(u32, Timing)>,
}

/// A span whose parent has not arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Orphan {
    pub parent_fingerprint: u32,
    pub service: u32,
    pub timing: Timing,
}

/// One `trace_index` record. `open_calls`, `orphans` and `spans` are the
/// merge state: not stored, rebuilt from the trace's stored spans for a merge
/// (`Prior`), so they cost no D1 bytes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceRecord {
    pub start_ns: u64,
    pub end_ns: u64,
    pub span_count: u32,
    pub error_count: u32,
    /// Service names (`true`) and, in the merge state, the callee names
    /// (`false`) the rest refers to by index.
    pub names: Vec<(String, bool)>,
    pub root: Option<Root>,
    pub pieces: Vec<u64>,
    pub open_calls: Vec<OpenCall>,
    pub orphans: Vec<Orphan>,
    pub segments: Vec<SegmentRef>,
    /// Every stored span: its fingerprint and service. A child arriving
    /// after its parent finds the parent's service here.
    pub spans: Vec<StoredKey>,
}

/// A trace's stored record and the spans stored for it so far (read from
/// its segments), which the merge state is rebuilt from.
#[derive(Debug, Clone, Copy)]
pub struct Prior<'p, 'a> {
    pub record: &'p TraceRecord,
    pub spans: &'p [SpanFacts<'a>],
}

/// What merging a batch into a trace gives.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceMerge {
    pub record: TraceRecord,
    /// Indexes (into the pieces given) of the pieces stored for the first time.
    pub new_pieces: Vec<usize>,
    pub calls: Vec<CallDelta>,
}

/// Span ids are random: 32 bits of them tell the spans of one trace apart.
pub fn fingerprint(id: SpanId) -> u32 {
    let b = id.as_bytes();
    u32::from_le_bytes([b[0] ^ b[4], b[1] ^ b[5], b[2] ^ b[6], b[3] ^ b[7]])
}

/// A stored span in the merge state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredKey {
    pub fingerprint: u32,
    pub service: u32,
}

impl TraceRecord {
    /// The service of the stored span with this fingerprint.
    fn stored_service(&self, fingerprint: u32) -> Option<u32> {
        self.spans.iter().find(|s| s.fingerprint == fingerprint).map(|s| s.service)
    }

    /// The services of the trace, in the order they were first seen.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.names.iter().filter(|(_, service)| *service).map(|(n, _)| n.as_str())
    }

    pub fn name(&self, index: u32) -> &str {
        self.names.get(index as usize).map_or("", |(n, _)| n.as_str())
    }

    fn intern(&mut self, name: &str, service: bool) -> u32 {
        let index = match self.names.iter_mut().enumerate().find(|(_, (n, _))| n == name) {
            Some((i, (_, is_service))) => {
                *is_service |= service;
                i
            }
            None => {
                self.names.push((name.to_string(), service));
                self.names.len() - 1
            }
        };
        index as u32
    }

    /// Merges the pieces of one stored batch (all of this trace). Returns
    /// `None` when every piece was stored before: nothing to write.
    pub fn merge(prior: Option<Prior<'_, '_>>, pieces: &[Piece<'_>]) -> Option<TraceMerge> {
        let mut record = prior.map(|p| p.record.without_state()).unwrap_or_default();
        if let Some(prior) = prior {
            // The merge state of the stored spans, as merging them in one batch leaves it.
            let mut state = TraceRecord { names: std::mem::take(&mut record.names), ..Self::default() };
            state.add_spans(&prior.spans.iter().collect::<Vec<_>>());
            record.names = state.names;
            record.open_calls = state.open_calls;
            record.orphans = state.orphans;
            record.spans = state.spans;
        }
        let mut new_pieces = Vec::new();
        let mut spans: Vec<&SpanFacts> = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            if !record.pieces.contains(&piece.hash) {
                record.pieces.push(piece.hash);
                new_pieces.push(i);
                spans.extend(&piece.spans);
            }
        }
        if new_pieces.is_empty() {
            return None;
        }
        let calls = record.add_spans(&spans);
        Some(TraceMerge { record, new_pieces, calls })
    }

    fn add_spans(&mut self, spans: &[&SpanFacts<'_>]) -> Vec<CallDelta> {
        let mut calls = Vec::new();
        let arrived: HashSet<u32> = spans.iter().map(|s| fingerprint(s.span_id)).collect();
        let mut answered = HashSet::new();
        let services: Vec<u32> = spans.iter().map(|s| self.intern(s.service, true)).collect();
        let by_id: HashMap<SpanId, (usize, u32)> =
            spans.iter().zip(&services).enumerate().map(|(i, (s, &service))| (s.span_id, (i, service))).collect();
        // The spans (by position) with a child in another service.
        let mut has_remote_child = HashSet::new();
        let mut new_orphans = Vec::new();
        let prior_orphans = std::mem::take(&mut self.orphans);
        let mut open_calls = std::mem::take(&mut self.open_calls);

        for (i, (span, &service)) in spans.iter().zip(&services).enumerate() {
            // Spans stored earlier whose parent this span is.
            let fp = fingerprint(span.span_id);
            for orphan in prior_orphans.iter().filter(|o| o.parent_fingerprint == fp) {
                if orphan.service != service {
                    calls.push(self.call(service, orphan.service, orphan.timing, 1));
                    has_remote_child.insert(i);
                }
            }
            let Some(parent) = span.parent_span_id else { continue };
            if let Some(&(p, parent_service)) = by_id.get(&parent) {
                if parent_service != service {
                    calls.push(self.call(parent_service, service, span.timing(), 1));
                    has_remote_child.insert(p);
                }
            } else if let Some(open) = open_calls.iter_mut().find(|o| o.fingerprint == fingerprint(parent)) {
                if open.service != service {
                    answered.insert(open.fingerprint);
                    if let Some((callee, timing)) = open.peer.take() {
                        calls.push(self.call(open.service, callee, timing, -1));
                    }
                    calls.push(self.call(open.service, service, span.timing(), 1));
                }
            } else if let Some(stored) = self.stored_service(fingerprint(parent)) {
                // The parent was stored by an earlier batch.
                if stored != service {
                    calls.push(self.call(stored, service, span.timing(), 1));
                }
            } else {
                new_orphans.push(Orphan { parent_fingerprint: fingerprint(parent), service, timing: span.timing() });
            }
        }
        // Open calls answered in this batch are closed; the rest stay open.
        open_calls.retain(|o| !answered.contains(&o.fingerprint));
        for (i, (span, &service)) in spans.iter().zip(&services).enumerate() {
            if !matches!(span.kind, SpanKind::Client | SpanKind::Producer) || has_remote_child.contains(&i) {
                continue;
            }
            let peer = span.callee.map(|callee| {
                let callee = self.intern(callee, false);
                calls.push(self.call(service, callee, span.timing(), 1));
                (callee, span.timing())
            });
            open_calls.push(OpenCall { fingerprint: fingerprint(span.span_id), service, peer });
        }
        self.orphans =
            prior_orphans.into_iter().filter(|o| !arrived.contains(&o.parent_fingerprint)).chain(new_orphans).collect();
        self.open_calls = open_calls;

        self.update_root(spans, &services, &arrived);
        let keys =
            spans.iter().zip(&services).map(|(s, &service)| StoredKey { fingerprint: fingerprint(s.span_id), service });
        self.spans.extend(keys);
        for span in spans {
            if self.span_count == 0 {
                (self.start_ns, self.end_ns) = (span.start_ns, span.end_ns);
            }
            self.start_ns = self.start_ns.min(span.start_ns);
            self.end_ns = self.end_ns.max(span.end_ns);
            self.span_count = self.span_count.saturating_add(1);
            self.error_count = self.error_count.saturating_add(u32::from(span.error));
        }
        calls
    }

    fn call(&self, caller: u32, callee: u32, timing: Timing, count: i32) -> CallDelta {
        CallDelta { caller: self.name(caller).to_string(), callee: self.name(callee).to_string(), timing, count }
    }

    /// Root order: a span without a parent, then a span whose parent is not
    /// known, then any span; earliest start, then lowest span id, first.
    fn update_root(&mut self, spans: &[&SpanFacts<'_>], services: &[u32], arrived: &HashSet<u32>) {
        let open: HashSet<u32> = self.open_calls.iter().map(|o| o.fingerprint).collect();
        let stored: HashSet<u32> = self.spans.iter().map(|s| s.fingerprint).collect();
        let known = |fp: u32| arrived.contains(&fp) || open.contains(&fp) || stored.contains(&fp);
        let class = |parent: Option<u32>| match parent {
            None => 0,
            Some(fp) if !known(fp) => 1,
            Some(_) => 2,
        };
        let mut best = self.root.take().map(|r| ((class(r.parent_fingerprint), r.start_ns, r.span_id), r));
        for (span, &service) in spans.iter().zip(services) {
            let parent = span.parent_span_id.map(fingerprint);
            let rank = (class(parent), span.start_ns, span.span_id);
            if best.as_ref().is_none_or(|(b, _)| rank < *b) {
                let root = Root {
                    span_id: span.span_id,
                    service,
                    operation: span.name.to_string(),
                    start_ns: span.start_ns,
                    parent_fingerprint: parent,
                };
                best = Some((rank, root));
            }
        }
        self.root = best.map(|(_, r)| r);
    }

    /// The record as stored: the service names, the root, the pieces and
    /// segments; no merge state (`Prior` rebuilds it).
    pub fn without_state(&self) -> TraceRecord {
        let (names, index) = self.service_names();
        let root = self.root.clone().map(|root| Root { service: index(root.service), ..root });
        TraceRecord {
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            span_count: self.span_count,
            error_count: self.error_count,
            names: names.into_iter().map(|n| (n.to_string(), true)).collect(),
            root,
            pieces: self.pieces.clone(),
            segments: self.segments.clone(),
            ..Self::default()
        }
    }

    /// The service names, and what a name index becomes among them.
    fn service_names(&self) -> (Vec<&str>, impl Fn(u32) -> u32) {
        let mut index = Vec::with_capacity(self.names.len());
        let mut names = Vec::new();
        for (name, service) in &self.names {
            index.push(names.len() as u32);
            if *service {
                names.push(name.as_str());
            }
        }
        (names, move |i: u32| index.get(i as usize).copied().unwrap_or(0))
    }

    /// The compact binary form stored in D1 (version 3: no merge state).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer { bytes: Vec::with_capacity(96) };
        w.byte(VERSION);
        w.varint(self.start_ns);
        w.varint(self.end_ns.saturating_sub(self.start_ns));
        w.varint(self.span_count.into());
        w.varint(self.error_count.into());
        let (names, index) = self.service_names();
        w.varint(names.len() as u64);
        for name in names {
            w.str(name);
        }
        match &self.root {
            None => w.byte(0),
            Some(root) => {
                w.byte(if root.parent_fingerprint.is_some() { 2 } else { 1 });
                w.bytes.extend_from_slice(root.span_id.as_bytes());
                w.varint(index(root.service).into());
                w.str(&root.operation);
                w.varint(root.start_ns.saturating_sub(self.start_ns));
                if let Some(fp) = root.parent_fingerprint {
                    w.bytes.extend_from_slice(&fp.to_le_bytes());
                }
            }
        }
        w.varint(self.pieces.len() as u64);
        for piece in &self.pieces {
            w.bytes.extend_from_slice(&piece.to_le_bytes());
        }
        w.varint(self.segments.len() as u64);
        for segment in &self.segments {
            w.bytes.extend_from_slice(&segment.block.0.to_le_bytes());
            w.varint(segment.offset.into());
            w.varint(segment.length.into());
        }
        w.bytes
    }

    /// Reads a record of any version; the merge state of versions 1 and 2 is
    /// checked and skipped (a merge rebuilds it from the stored spans).
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader { bytes, at: 0, version: VERSION };
        r.version = r.byte()?;
        if !matches!(r.version, VERSION_1 | VERSION_2 | VERSION) {
            return Err(RecordError::Version(r.version));
        }
        let start_ns = r.varint()?;
        let end_ns = start_ns.saturating_add(r.varint()?);
        let span_count = r.u32_varint()?;
        let error_count = r.u32_varint()?;
        let names = r.list(|r| {
            let head = r.varint()?;
            if r.version == VERSION {
                return Ok((r.utf8(usize::try_from(head).map_err(|_| r.error("name length"))?)?, true));
            }
            let name = r.utf8(usize::try_from(head >> 1).map_err(|_| r.error("name length"))?)?;
            Ok((name, head & 1 == 1))
        })?;
        let root = match r.byte()? {
            0 => None,
            tag @ (1 | 2) => {
                let span_id = SpanId::from_bytes(r.take(8)?).map_err(|_| r.error("root span id"))?;
                let service = r.u32_varint()?;
                let len = usize::try_from(r.varint()?).map_err(|_| r.error("operation length"))?;
                let operation = r.utf8(len)?;
                let start = start_ns.saturating_add(r.varint()?);
                let parent_fingerprint = if tag == 2 { Some(r.u32_le()?) } else { None };
                Some(Root { span_id, service, operation, start_ns: start, parent_fingerprint })
            }
            _ => return Err(r.error("root tag")),
        };
        let pieces = r.list(|r| r.u64_le())?;
        if r.version != VERSION {
            r.skip_merge_state()?;
        }
        let segments = r.list(|r| {
            Ok(SegmentRef { block: BlockId(r.u64_le()?), offset: r.u32_varint()?, length: r.u32_varint()? })
        })?;
        if r.version != VERSION {
            r.skip_span_keys()?;
        }
        if r.at != bytes.len() {
            return Err(r.error("trailing bytes"));
        }
        if root.as_ref().is_some_and(|root| names.get(root.service as usize).is_none_or(|(_, service)| !service)) {
            return Err(RecordError::Corrupt { at: bytes.len(), what: "root service" });
        }
        let record =
            TraceRecord { start_ns, end_ns, span_count, error_count, names, root, pieces, segments, ..Self::default() };
        Ok(if r.version == VERSION { record } else { record.without_state() })
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("trace record version {0} is not known")]
    Version(u8),
    #[error("trace record is corrupt at byte {at}: {what}")]
    Corrupt { at: usize, what: &'static str },
}

/// Unix minutes of a nanosecond time: what call timings are relative to.
fn minute_of(ns: u64) -> u64 {
    ns / 1_000_000 / MINUTE_MS
}

struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn byte(&mut self, b: u8) {
        self.bytes.push(b);
    }

    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.bytes.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.bytes.push(n as u8);
    }

    fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.bytes.extend_from_slice(s.as_bytes());
    }
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
    version: u8,
}

impl<'b> Reader<'b> {
    fn error(&self, what: &'static str) -> RecordError {
        RecordError::Corrupt { at: self.at, what }
    }

    fn take(&mut self, n: usize) -> Result<&'b [u8], RecordError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or(self.error("truncated"))?;
        let out = self.bytes.get(self.at..end).ok_or(self.error("truncated"))?;
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        self.take(N)?.try_into().map_err(|_| self.error("truncated"))
    }

    fn byte(&mut self) -> Result<u8, RecordError> {
        self.array().map(u8::from_le_bytes)
    }

    fn varint(&mut self) -> Result<u64, RecordError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(self.error("varint too long"))
    }

    fn u32_varint(&mut self) -> Result<u32, RecordError> {
        u32::try_from(self.varint()?).map_err(|_| self.error("number too large"))
    }

    fn u32_le(&mut self) -> Result<u32, RecordError> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64_le(&mut self) -> Result<u64, RecordError> {
        self.array().map(u64::from_le_bytes)
    }

    fn utf8(&mut self, len: usize) -> Result<String, RecordError> {
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map(str::to_string).map_err(|_| self.error("name is not UTF-8"))
    }

    fn u16_le(&mut self) -> Result<u16, RecordError> {
        self.array().map(u16::from_le_bytes)
    }

    /// A call timing of a version 1 record (a minute, an `f32`) or a version 2 one (two varints).
    fn skip_timing(&mut self) -> Result<(), RecordError> {
        self.varint()?;
        if self.version == VERSION_1 {
            self.u32_le()?;
        } else {
            self.varint()?;
        }
        Ok(())
    }

    /// The open calls and orphans of a version 1 or 2 record.
    fn skip_merge_state(&mut self) -> Result<(), RecordError> {
        self.list(|r| {
            r.u32_le()?;
            if r.varint()? & 1 == 1 {
                r.varint()?;
                r.skip_timing()?;
            }
            Ok(())
        })?;
        self.list(|r| {
            r.u32_le()?;
            r.varint()?;
            r.skip_timing()
        })?;
        Ok(())
    }

    /// The span keys of a version 1 or 2 record.
    fn skip_span_keys(&mut self) -> Result<(), RecordError> {
        if self.version == VERSION_1 {
            self.list(|r| {
                r.u16_le()?;
                r.varint()
            })?;
        } else {
            self.list(|r| {
                r.varint()?;
                r.list(|r| r.u16_le())
            })?;
        }
        Ok(())
    }

    /// A length-prefixed list; the length is checked against the bytes left
    /// (every element takes at least one), so a corrupt length cannot make it allocate.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T, RecordError>) -> Result<Vec<T>, RecordError> {
        let len = usize::try_from(self.varint()?).map_err(|_| self.error("list length"))?;
        if len > self.bytes.len() - self.at {
            return Err(self.error("list longer than the record"));
        }
        (0..len).map(|_| item(self)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_795_789_962_170_000_000;

    fn id(n: u64) -> SpanId {
        SpanId::from_bytes(&(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1).to_be_bytes()).unwrap()
    }

    fn span<'a>(n: u64, parent: Option<u64>, service: &'a str, kind: SpanKind, start_ms: u64) -> SpanFacts<'a> {
        SpanFacts {
            span_id: id(n),
            parent_span_id: parent.map(id),
            service,
            service_version: None,
            environment: None,
            name: "op",
            kind,
            start_ns: T0 + start_ms * 1_000_000,
            end_ns: T0 + (start_ms + 10) * 1_000_000,
            error: false,
            callee: None,
        }
    }

    fn piece(hash: u64, spans: Vec<SpanFacts<'_>>) -> Piece<'_> {
        Piece { hash, spans }
    }

    /// The record as the store reads it back.
    fn stored(record: &TraceRecord) -> TraceRecord {
        TraceRecord::decode(&record.encode()).unwrap()
    }

    /// Merges `pieces` into a stored record whose spans are `spans`.
    fn merge_after(record: &TraceRecord, spans: &[SpanFacts<'_>], pieces: &[Piece<'_>]) -> Option<TraceMerge> {
        TraceRecord::merge(Some(Prior { record: &stored(record), spans }), pieces)
    }

    /// Net call counts by (caller, callee).
    fn net(calls: &[CallDelta]) -> Vec<(String, String, i32)> {
        let mut sums: HashMap<(String, String), i32> = HashMap::new();
        for c in calls {
            *sums.entry((c.caller.clone(), c.callee.clone())).or_default() += c.count;
        }
        let mut out: Vec<_> = sums.into_iter().filter(|(_, n)| *n != 0).map(|((a, b), n)| (a, b, n)).collect();
        out.sort();
        out
    }

    fn edge(caller: &str, callee: &str, n: i32) -> (String, String, i32) {
        (caller.into(), callee.into(), n)
    }

    /// frontend (server 1 → client 2) calls orders (server 3 → client 4 to postgres, uninstrumented).
    fn frontend<'a>() -> Vec<SpanFacts<'a>> {
        let mut client = span(2, Some(1), "frontend", SpanKind::Client, 1);
        client.callee = Some("orders.example.com");
        vec![span(1, None, "frontend", SpanKind::Server, 0), client]
    }

    fn orders<'a>() -> Vec<SpanFacts<'a>> {
        let mut db = span(4, Some(3), "orders", SpanKind::Client, 3);
        db.callee = Some("postgres");
        db.error = true;
        vec![span(3, Some(2), "orders", SpanKind::Server, 2), db]
    }

    #[test]
    fn one_batch_counts_roots_and_calls() {
        let pieces = [piece(1, frontend()), piece(2, orders())];
        let merge = TraceRecord::merge(None, &pieces).unwrap();
        let r = &merge.record;
        assert_eq!((r.span_count, r.error_count), (4, 1));
        assert_eq!((r.start_ns, r.end_ns), (T0, T0 + 13_000_000));
        assert_eq!(r.services().collect::<Vec<_>>(), ["frontend", "orders"]);
        let root = r.root.as_ref().unwrap();
        assert_eq!((root.span_id, root.parent_fingerprint, r.name(root.service)), (id(1), None, "frontend"));
        assert_eq!(merge.new_pieces, [0, 1]);
        assert_eq!(net(&merge.calls), [edge("frontend", "orders", 1), edge("orders", "postgres", 1)]);
        let child = merge.calls.iter().find(|c| c.callee == "orders").unwrap();
        assert_eq!(child.timing, Timing { minute: (T0 / 1_000_000 + 2) / 60_000, duration_us: 10_000, error: false });
        assert!(merge.calls.iter().find(|c| c.callee == "postgres").unwrap().timing.error);
        assert!(r.orphans.is_empty());
        assert_eq!(r.open_calls.len(), 1, "only the database call stays open");
    }

    #[test]
    fn retried_pieces_store_and_count_nothing_twice() {
        let first = TraceRecord::merge(None, &[piece(1, frontend())]).unwrap().record;
        assert_eq!(merge_after(&first, &frontend(), &[piece(1, frontend())]), None);
        let both = merge_after(&first, &frontend(), &[piece(1, frontend()), piece(2, orders())]).unwrap();
        assert_eq!(both.new_pieces, [1]);
        assert_eq!(both.record.span_count, 4);
        let doubled = TraceRecord::merge(None, &[piece(7, orders()), piece(7, orders())]).unwrap();
        assert_eq!(
            (doubled.record.span_count, doubled.new_pieces.len()),
            (2, 1),
            "a message delivered twice in one batch"
        );
    }

    #[test]
    fn any_arrival_order_converges_to_the_same_record_and_calls() {
        let together = TraceRecord::merge(None, &[piece(1, frontend()), piece(2, orders())]).unwrap();
        for (a, b) in [(frontend(), orders()), (orders(), frontend())] {
            let first = TraceRecord::merge(None, &[piece(10, a.clone())]).unwrap();
            let second = merge_after(&first.record, &a, &[piece(11, b)]).unwrap();
            let calls: Vec<_> = first.calls.iter().chain(&second.calls).cloned().collect();
            assert_eq!(net(&calls), net(&together.calls));
            let (r, t) = (&second.record, &together.record);
            assert_eq!(
                (r.span_count, r.error_count, r.start_ns, r.end_ns),
                (t.span_count, t.error_count, t.start_ns, t.end_ns)
            );
            assert_eq!(r.root.as_ref().map(|x| x.span_id), Some(id(1)));
            assert!(r.orphans.is_empty(), "{:?}", r.orphans);
            assert_eq!(r.open_calls.len(), 1);
        }
    }

    #[test]
    fn a_call_counted_to_an_uninstrumented_callee_moves_when_the_callee_reports() {
        let first = TraceRecord::merge(None, &[piece(1, frontend())]).unwrap();
        assert_eq!(net(&first.calls), [edge("frontend", "orders.example.com", 1)]);
        let second = merge_after(&first.record, &frontend(), &[piece(2, orders())]).unwrap();
        assert_eq!(
            net(&second.calls),
            [edge("frontend", "orders", 1), edge("frontend", "orders.example.com", -1), edge("orders", "postgres", 1)]
        );
        let moved = second.calls.iter().find(|c| c.count == -1).unwrap();
        assert_eq!(moved.timing, first.calls[0].timing, "taken out of the minute it was counted in");
    }

    #[test]
    fn until_the_root_arrives_the_earliest_span_with_an_unknown_parent_stands_in() {
        let child_first = TraceRecord::merge(None, &[piece(2, orders())]).unwrap().record;
        let root = child_first.root.as_ref().unwrap();
        assert_eq!(root.span_id, id(3));
        assert!(root.parent_fingerprint.is_some(), "has_root is false");
        assert_eq!(child_first.orphans.len(), 1);
        let whole = merge_after(&child_first, &orders(), &[piece(1, frontend())]).unwrap().record;
        assert_eq!(whole.root.as_ref().map(|r| (r.span_id, r.parent_fingerprint)), Some((id(1), None)));
        // A root outside our system: the earliest span whose parent is unknown.
        let outside =
            vec![span(5, Some(99), "edge", SpanKind::Server, 5), span(6, Some(98), "edge", SpanKind::Server, 4)];
        let r = TraceRecord::merge(None, &[piece(3, outside)]).unwrap().record;
        assert_eq!(r.root.map(|r| r.span_id), Some(id(6)));
    }

    #[test]
    fn records_round_trip_compactly_without_the_merge_state() {
        let first = TraceRecord::merge(None, &[piece(1, frontend())]).unwrap().record;
        let mut record = merge_after(&first, &frontend(), &[piece(2, orders())]).unwrap().record;
        record.segments.push(SegmentRef { block: BlockId::new(1_795_789_962_170, 7), offset: 123_456, length: 2_345 });
        assert_eq!(record.names.len(), 4, "two services, two callees in the merge state");
        assert_eq!(record.spans.len() as u32, record.span_count, "a key per stored span");
        let bytes = record.encode();
        let read = TraceRecord::decode(&bytes).unwrap();
        assert_eq!(read, record.without_state());
        assert_eq!(read.services().collect::<Vec<_>>(), ["frontend", "orders"]);
        assert_eq!(read.root.as_ref().map(|r| read.name(r.service)), Some("frontend"));
        assert!(read.open_calls.is_empty() && read.orphans.is_empty() && read.spans.is_empty());
        assert!(bytes.len() <= 78, "{} bytes (130 in version 2)", bytes.len());
        // A root in a service named after a callee: its index moves among the services.
        let orphaned = TraceRecord::merge(None, &[piece(2, orders())]).unwrap().record;
        assert_eq!(orphaned.names.iter().filter(|(_, service)| !service).count(), 1);
        let read = stored(&orphaned);
        assert_eq!(read.root.as_ref().map(|r| read.name(r.service)), Some("orders"));
        assert_eq!(stored(&read), read);
    }

    /// Records written by versions 1 and 2 (before 2026-11-28) keep reading,
    /// their merge state skipped: these are the two records above as those
    /// versions encoded them.
    #[test]
    fn version_1_and_2_records_still_read() {
        let unhex = |h: &str| crate::domain::ids::bytes_from_hex(h).unwrap();
        let first = TraceRecord::merge(None, &[piece(1, frontend())]).unwrap().record;
        let with_open_call = merge_after(&first, &frontend(), &[piece(2, orders())]).unwrap().record;
        let orphaned = TraceRecord::merge(None, &[piece(2, orders())]).unwrap().record;
        let v1 = unhex(concat!(
            "0180c5eb92ccaefbf518c0ba99060401041166726f6e74656e64246f72646572732e6578616d706c652e636f6d0d6f72",
            "6465727310706f737467726573019e3779b97f4a7c1500026f700002010000000000000002000000000000000185f416",
            "b00503d1c5c51c00002041000004e4d100c9a300be6a02934402"
        ));
        let v2 = unhex(concat!(
            "0280c5eb92ccaefbf518c0ba99060401041166726f6e74656e64246f72646572732e6578616d706c652e636f6d0d6f72",
            "6465727310706f737467726573019e3779b97f4a7c1500026f700002010000000000000002000000000000000185f416",
            "b0050301904e0000020002e4d1c9a30202be6a9344"
        ));
        assert_eq!(TraceRecord::decode(&v1), Ok(with_open_call.without_state()));
        assert_eq!(TraceRecord::decode(&v2), Ok(with_open_call.without_state()));
        let v1 = unhex(concat!(
            "0180cee593ccaefbf518c0b19f050201020d6f726465727310706f73746772657302daa66d2c7ddf743f00026f7000c2",
            "fa0b590102000000000000000185f416b00101d1c5c51c0000204101c2fa0b5900d0c5c51c000020410002be6a009344",
            "00"
        ));
        let v2 = unhex(concat!(
            "0280cee593ccaefbf518c0b19f050201020d6f726465727310706f73746772657302daa66d2c7ddf743f00026f7000c2",
            "fa0b590102000000000000000185f416b0010101904e01c2fa0b590000904e00010002be6a9344"
        ));
        assert_eq!(TraceRecord::decode(&v1), Ok(orphaned.without_state()));
        assert_eq!(TraceRecord::decode(&v2), Ok(orphaned.without_state()));
        // Written back as version 3, without the callee names, open calls and span keys.
        let v3 = with_open_call.encode();
        assert_eq!(v3[0], VERSION);
        assert!(v3.len() + 22 <= 87, "{} bytes against 87", v3.len());
    }

    #[test]
    fn corrupt_records_are_errors_not_panics() {
        let record = TraceRecord::merge(None, &[piece(1, frontend()), piece(2, orders())]).unwrap().record;
        let bytes = record.encode();
        for cut in 0..bytes.len() {
            assert!(TraceRecord::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(TraceRecord::decode(&[9]), Err(RecordError::Version(9)));
        assert!(TraceRecord::decode(&[bytes.as_slice(), &[0]].concat()).is_err());
        // Every single-byte change decodes or fails cleanly; a huge list length allocates nothing.
        for at in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] ^= flip;
                let _ = TraceRecord::decode(&changed);
            }
        }
        assert!(TraceRecord::decode(&[1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
    }
}
