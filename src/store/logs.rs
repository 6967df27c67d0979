//! `D1LogStore`: the log records stored in D1 before log blocks (migration
//! 0010), searched beside the blocks and pruned until they age out.

use wasm_bindgen::JsValue;
use worker::D1Database;

use super::d1::D1;
use super::log_sql as sql;
use super::StoreError;
use crate::domain::time::{ms_to_nanos, nanos_text};
use crate::query::log_search::{LogSearch, StoredLog};

pub struct D1LogStore {
    d1: D1,
}

impl D1LogStore {
    pub fn new(db: D1Database) -> Self {
        Self { d1: D1::new(db) }
    }

    /// Records matching every filter, newest first.
    pub async fn search(&self, q: &LogSearch) -> Result<Vec<StoredLog>, StoreError> {
        let mut query = String::from(sql::SEARCH_HEAD);
        let mut args: Vec<JsValue> = Vec::new();
        let mut filter = |fragment: &str, values: &[JsValue]| {
            query.push_str(fragment);
            args.extend_from_slice(values);
        };
        let text = |v: &str| JsValue::from_str(v);
        if let Some(v) = &q.service {
            filter(sql::SEARCH_SERVICE, &[text(v)]);
        }
        if let Some(v) = &q.trace_id {
            filter(sql::SEARCH_TRACE, &[text(v)]);
        }
        if let Some(v) = &q.span_id {
            filter(sql::SEARCH_SPAN, &[text(v)]);
        }
        if let Some(v) = q.min_severity {
            filter(sql::SEARCH_SEVERITY, &[JsValue::from_f64(f64::from(v))]);
        }
        if let Some(v) = &q.text {
            filter(sql::SEARCH_TEXT, &[text(v)]);
        }
        if let Some(v) = &q.start_ns {
            filter(sql::SEARCH_START, &[text(v)]);
        }
        if let Some(v) = &q.end_ns {
            filter(sql::SEARCH_END, &[text(v)]);
        }
        if let Some(c) = &q.cursor {
            filter(sql::SEARCH_AFTER, &[text(&c.time_ns), text(&c.time_ns), text(&c.key)]);
        }
        filter(sql::SEARCH_TAIL, &[JsValue::from_f64(f64::from(q.limit))]);
        self.d1.all(&query, &args).await
    }

    /// Deletes up to `limit` records filed before `cutoff_ms`; returns how many.
    pub async fn prune(&self, cutoff_ms: f64, limit: u32) -> Result<u32, StoreError> {
        let cutoff = nanos_text(ms_to_nanos(cutoff_ms));
        self.d1.run(sql::PRUNE_LOGS, &[JsValue::from_str(&cutoff), JsValue::from_f64(f64::from(limit))]).await
    }
}
