//! `D1TraceStore`: spans, trace metadata, services and dependency calls in D1.
//! An ingest is one `batch()` (one round trip, one transaction) of span
//! inserts; the schema's `spans_derive` trigger derives the rest.

use std::collections::HashSet;

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::trace_sql as sql;
use super::StoreError;
use crate::ingest::SpanBatch;
use crate::query::jaeger::StoredOperation;
use crate::query::trace_search::TraceSearch;
use crate::query::{StatusFilter, StoredSpan, StoredTrace};

/// Rows deleted by one prune chunk, per table.
#[derive(Debug, Default, Clone, Copy)]
pub struct PruneCounts {
    pub spans: u32,
    pub traces: u32,
    pub dependency_calls: u32,
}

pub struct D1TraceStore {
    db: D1Database,
}

#[derive(Deserialize)]
struct SpanKey {
    trace_id: String,
    span_id: String,
}

fn unavailable(e: worker::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn corrupt(e: worker::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl D1TraceStore {
    pub fn new(db: D1Database) -> Self {
        Self { db }
    }

    fn statement(&self, query: &str, args: &[JsValue]) -> Result<D1PreparedStatement, StoreError> {
        self.db.prepare(query).bind(args).map_err(unavailable)
    }

    /// Writes the batch and returns the keys of spans that were new (not retries).
    pub async fn ingest(&self, batch: &SpanBatch<'_>, now_ms: f64) -> Result<HashSet<(String, String)>, StoreError> {
        let statements = batch
            .row_chunks
            .iter()
            .map(|rows| self.statement(sql::INSERT_SPANS, &[JsValue::from_str(rows), JsValue::from_f64(now_ms)]))
            .collect::<Result<Vec<_>, _>>()?;
        let results = self.db.batch(statements).await.map_err(unavailable)?;
        let mut inserted = HashSet::with_capacity(batch.span_count);
        for result in &results {
            for key in result.results::<SpanKey>().map_err(corrupt)? {
                inserted.insert((key.trace_id, key.span_id));
            }
        }
        Ok(inserted)
    }

    /// The trace's metadata and spans, or `None` when no span of it is stored.
    pub async fn trace(&self, trace_id: &str) -> Result<Option<(StoredTrace, Vec<StoredSpan>)>, StoreError> {
        let id = [JsValue::from_str(trace_id)];
        let results = self
            .db
            .batch(vec![self.statement(sql::SELECT_TRACE, &id)?, self.statement(sql::SELECT_TRACE_SPANS, &id)?])
            .await
            .map_err(unavailable)?;
        let (Some(meta), Some(spans)) = (results.first(), results.get(1)) else {
            return Err(StoreError::Corrupt("batch answered fewer results than statements".into()));
        };
        let Some(trace) = meta.results::<StoredTrace>().map_err(corrupt)?.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some((trace, spans.results::<StoredSpan>().map_err(corrupt)?)))
    }

    /// Trace summaries matching every filter, newest first.
    pub async fn search(&self, q: &TraceSearch) -> Result<Vec<StoredTrace>, StoreError> {
        let mut query = String::from(sql::SEARCH_TRACES_HEAD);
        let mut args: Vec<JsValue> = Vec::new();
        let mut filter = |fragment: &str, values: &[JsValue]| {
            query.push_str(fragment);
            args.extend_from_slice(values);
        };
        if let Some(v) = q.start_ms {
            filter(sql::SEARCH_START, &[v.into()]);
        }
        if let Some(v) = q.end_ms {
            filter(sql::SEARCH_END, &[v.into()]);
        }
        if let Some(v) = q.min_duration_ms {
            filter(sql::SEARCH_MIN_DURATION, &[v.into()]);
        }
        if let Some(v) = q.max_duration_ms {
            filter(sql::SEARCH_MAX_DURATION, &[v.into()]);
        }
        match q.status {
            Some(StatusFilter::Error) => filter(sql::SEARCH_ERRORS, &[]),
            Some(StatusFilter::Ok) => filter(sql::SEARCH_NO_ERRORS, &[]),
            None => {}
        }
        if let Some(v) = &q.service {
            filter(sql::SEARCH_SERVICE, &[v.as_str().into()]);
        }
        match (&q.operation, &q.service) {
            (Some(op), Some(service)) if q.exact_operation => {
                filter(sql::SEARCH_EXACT_OPERATION, &[op.as_str().into(), service.as_str().into()])
            }
            (Some(op), _) => filter(sql::SEARCH_OPERATION, &[op.as_str().into()]),
            (None, _) => {}
        }
        for a in &q.attributes {
            let (path, s, scalar) = (
                JsValue::from_str(&a.path),
                JsValue::from_str(&a.json_values[0]),
                JsValue::from_str(&a.json_values[1]),
            );
            filter(sql::SEARCH_ATTRIBUTE, &[path.clone(), s.clone(), scalar.clone(), path, s, scalar]);
        }
        filter(sql::SEARCH_TAIL, &[f64::from(q.limit).into()]);
        let result = self.db.prepare(query).bind(&args).map_err(unavailable)?.all().await.map_err(unavailable)?;
        result.results::<StoredTrace>().map_err(corrupt)
    }

    /// Deletes the oldest `chunk_traces` traces that started before `cutoff_ms`,
    /// with their spans and dependency calls; returns the rows deleted per table.
    pub async fn prune_chunk(&self, cutoff_ms: f64, chunk_traces: u32) -> Result<PruneCounts, StoreError> {
        let args = [JsValue::from_f64(cutoff_ms), JsValue::from_f64(f64::from(chunk_traces))];
        let statements = [sql::PRUNE_SPANS, sql::PRUNE_DEPENDENCY_CALLS, sql::PRUNE_TRACE_METADATA]
            .into_iter()
            .map(|q| self.statement(q, &args))
            .collect::<Result<Vec<_>, _>>()?;
        let results = self.db.batch(statements).await.map_err(unavailable)?;
        let changes = |i: usize| -> Result<u32, StoreError> {
            let meta = results.get(i).map(|r| r.meta()).transpose().map_err(corrupt)?.flatten();
            Ok(meta.and_then(|m| m.changes).unwrap_or(0) as u32)
        };
        Ok(PruneCounts { spans: changes(0)?, dependency_calls: changes(1)?, traces: changes(2)? })
    }

    /// Every span of the given traces, by trace then start.
    pub async fn spans_of_traces(&self, trace_ids: &[&str]) -> Result<Vec<StoredSpan>, StoreError> {
        let ids = serde_json::to_string(trace_ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let result = self
            .statement(sql::SELECT_SPANS_OF_TRACES, &[JsValue::from_str(&ids)])?
            .all()
            .await
            .map_err(unavailable)?;
        result.results::<StoredSpan>().map_err(corrupt)
    }

    /// `(name, kind)` of every operation of a service.
    pub async fn operations(&self, service: &str) -> Result<Vec<StoredOperation>, StoreError> {
        let result =
            self.statement(sql::SELECT_OPERATIONS, &[JsValue::from_str(service)])?.all().await.map_err(unavailable)?;
        result.results::<StoredOperation>().map_err(corrupt)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.prepare(sql::PING).first::<serde_json::Value>(None).await.map_err(unavailable)?;
        Ok(())
    }
}
