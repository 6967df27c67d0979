//! `D1TraceStore`: the D1-only span table of deployments older than the span
//! blocks (migrations 0001–0007), read until its rows age out, the log count
//! of a trace, and the operations list. New spans go to `storage::spans`.

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1Database;

use super::d1::{corrupt, D1};
use super::trace_sql as sql;
use super::StoreError;
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
    d1: D1,
}

#[derive(Deserialize)]
struct Count {
    n: f64,
}

impl D1TraceStore {
    pub fn new(db: D1Database) -> Self {
        Self { d1: D1::new(db) }
    }

    /// The trace's metadata and spans in the D1-only table (`None` when none
    /// is there), and how many log records carry its id.
    pub async fn trace(&self, trace_id: &str) -> Result<(Option<(StoredTrace, Vec<StoredSpan>)>, u64), StoreError> {
        let id = [JsValue::from_str(trace_id)];
        let results = self
            .d1
            .batch(vec![
                self.d1.statement(sql::SELECT_TRACE, &id)?,
                self.d1.statement(sql::SELECT_TRACE_SPANS, &id)?,
                self.d1.statement(sql::COUNT_TRACE_LOGS, &id)?,
            ])
            .await?;
        let logs = results.first::<Count>(2)?.map_or(0, |c| c.n as u64);
        let trace = results.first::<StoredTrace>(0)?;
        Ok((trace.map(|t| results.rows(1).map(|spans| (t, spans))).transpose()?, logs))
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
        self.d1.all(&query, &args).await
    }

    /// Deletes the oldest `chunk_traces` traces that started before `cutoff_ms`,
    /// with their spans and dependency calls; returns the rows deleted per table.
    pub async fn prune_chunk(&self, cutoff_ms: f64, chunk_traces: u32) -> Result<PruneCounts, StoreError> {
        let args = [JsValue::from_f64(cutoff_ms), JsValue::from_f64(f64::from(chunk_traces))];
        let statements = [sql::PRUNE_SPANS, sql::PRUNE_DEPENDENCY_CALLS, sql::PRUNE_TRACE_METADATA]
            .into_iter()
            .map(|q| self.d1.statement(q, &args))
            .collect::<Result<Vec<_>, _>>()?;
        let results = self.d1.batch(statements).await?;
        Ok(PruneCounts {
            spans: results.changes(0)?,
            dependency_calls: results.changes(1)?,
            traces: results.changes(2)?,
        })
    }

    /// Every span of the given traces, by trace then start.
    pub async fn spans_of_traces(&self, trace_ids: &[&str]) -> Result<Vec<StoredSpan>, StoreError> {
        let ids = serde_json::to_string(trace_ids).map_err(corrupt)?;
        self.d1.all(sql::SELECT_SPANS_OF_TRACES, &[JsValue::from_str(&ids)]).await
    }

    /// `(name, kind)` of every operation of a service.
    pub async fn operations(&self, service: &str) -> Result<Vec<StoredOperation>, StoreError> {
        self.d1.all(sql::SELECT_OPERATIONS, &[JsValue::from_str(service)]).await
    }
}
