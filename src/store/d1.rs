//! The D1 plumbing every store shares: statements with bound values,
//! batches (one round trip, one transaction) and reading their rows, with
//! platform errors mapped to `StoreError`.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use super::StoreError;
use crate::storage::ports::{SqlDatabase, SqlValue, Statement, StatementResult, StorageError, GUARD_FAILURE};

pub fn unavailable(e: worker::Error) -> StoreError {
    StoreError::Unavailable(message(&e))
}

/// What went wrong: D1's own message (with its cause) rather than the
/// binding's debug dump.
fn message(e: &worker::Error) -> String {
    match e {
        worker::Error::D1(d1) => {
            let error: &js_sys::Error = d1.as_ref();
            format!("D1: {}", String::from(error.message()))
        }
        other => other.to_string(),
    }
}

pub fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A row holding just an id (`RETURNING id`, id lists).
#[derive(serde::Deserialize)]
pub struct Id {
    pub id: String,
}

pub struct D1 {
    db: D1Database,
}

/// The results of a batch, one per statement.
pub struct Batch(Vec<D1Result>);

impl D1 {
    pub fn new(db: D1Database) -> Self {
        Self { db }
    }

    pub fn statement(&self, query: &str, args: &[JsValue]) -> Result<D1PreparedStatement, StoreError> {
        self.db.prepare(query).bind(args).map_err(unavailable)
    }

    pub async fn batch(&self, statements: Vec<D1PreparedStatement>) -> Result<Batch, StoreError> {
        if statements.is_empty() {
            return Ok(Batch(Vec::new()));
        }
        self.db.batch(statements).await.map(Batch).map_err(unavailable)
    }

    /// Every row of one statement.
    pub async fn all<T: DeserializeOwned>(&self, query: &str, args: &[JsValue]) -> Result<Vec<T>, StoreError> {
        self.statement(query, args)?.all().await.map_err(unavailable)?.results().map_err(corrupt)
    }

    /// Every row of one statement, each read as a `K` and as a `T` and made an `R`.
    pub async fn all_as<K: DeserializeOwned, T: DeserializeOwned, R: From<(K, T)>>(
        &self,
        query: &str,
        args: &[JsValue],
    ) -> Result<Vec<R>, StoreError> {
        paired(&self.statement(query, args)?.all().await.map_err(unavailable)?)
    }

    /// The first row of one statement.
    pub async fn first<T: DeserializeOwned>(&self, query: &str, args: &[JsValue]) -> Result<Option<T>, StoreError> {
        Ok(self.all(query, args).await?.into_iter().next())
    }

    /// Runs one statement; returns the rows it changed.
    pub async fn run(&self, query: &str, args: &[JsValue]) -> Result<u32, StoreError> {
        let result = self.statement(query, args)?.run().await.map_err(unavailable)?;
        Ok(result.meta().map_err(corrupt)?.and_then(|m| m.changes).unwrap_or(0) as u32)
    }
}

/// A result row kept as the JavaScript object D1 answered (turned into JSON
/// text once, then read by serde_json like every other row of `storage`).
#[derive(Deserialize)]
struct JsRow(#[serde(with = "serde_wasm_bindgen::preserve")] JsValue);

/// The SQL port of `storage`: a batch of statements in one D1 transaction.
impl SqlDatabase for D1 {
    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<StatementResult>, StorageError> {
        let unavailable = |e: worker::Error| StorageError::Unavailable(message(&e));
        let prepared = statements
            .iter()
            .map(|s| {
                let args: Vec<JsValue> = s
                    .args
                    .iter()
                    .map(|a| match a {
                        SqlValue::Null => JsValue::NULL,
                        SqlValue::Number(n) => JsValue::from_f64(*n),
                        SqlValue::Text(t) => JsValue::from_str(t),
                    })
                    .collect();
                self.db.prepare(s.sql).bind(&args).map_err(unavailable)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let results = self.db.batch(prepared).await.map_err(|e| {
            // The guard's failure is in D1's cause (Display) or its message.
            let m = message(&e);
            if m.contains(GUARD_FAILURE) || e.to_string().contains(GUARD_FAILURE) {
                StorageError::Conflict
            } else {
                StorageError::Unavailable(m)
            }
        })?;
        results
            .iter()
            .map(|r| {
                let corrupt = |e: worker::Error| StorageError::Corrupt(e.to_string());
                let rows = js_sys::Array::new();
                for JsRow(row) in r.results::<JsRow>().map_err(corrupt)? {
                    rows.push(&row);
                }
                let rows_json =
                    js_sys::JSON::stringify(&rows).map_err(|_| StorageError::Corrupt("rows are not JSON".into()))?;
                let meta = r.meta().map_err(corrupt)?;
                Ok(StatementResult {
                    rows_json: rows_json.into(),
                    rows_written: meta.and_then(|m| m.rows_written).unwrap_or(0) as u64,
                })
            })
            .collect()
    }
}

impl Batch {
    fn result(&self, i: usize) -> Result<&D1Result, StoreError> {
        self.0.get(i).ok_or_else(|| corrupt("batch answered fewer results than statements"))
    }

    /// The rows of statement `i`.
    pub fn rows<T: DeserializeOwned>(&self, i: usize) -> Result<Vec<T>, StoreError> {
        self.result(i)?.results().map_err(corrupt)
    }

    /// The rows of statement `i`, each read as a `K` and as a `T` and made an `R`.
    pub fn rows_as<K: DeserializeOwned, T: DeserializeOwned, R: From<(K, T)>>(
        &self,
        i: usize,
    ) -> Result<Vec<R>, StoreError> {
        paired(self.result(i)?)
    }

    /// The first row of statement `i`.
    pub fn first<T: DeserializeOwned>(&self, i: usize) -> Result<Option<T>, StoreError> {
        Ok(self.rows(i)?.into_iter().next())
    }

    /// The rows statement `i` changed (D1 counts trigger changes too).
    pub fn changes(&self, i: usize) -> Result<u32, StoreError> {
        Ok(self.result(i)?.meta().map_err(corrupt)?.and_then(|m| m.changes).unwrap_or(0) as u32)
    }
}

/// The rows of `result` read twice, as `K` and as `T`: a row type made of
/// two without `serde(flatten)` (which costs ≈ 7 KB of wasm).
fn paired<K: DeserializeOwned, T: DeserializeOwned, R: From<(K, T)>>(result: &D1Result) -> Result<Vec<R>, StoreError> {
    let keys = result.results::<K>().map_err(corrupt)?;
    let values = result.results::<T>().map_err(corrupt)?;
    Ok(keys.into_iter().zip(values).map(R::from).collect())
}

/// A text value.
pub fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

/// A number (D1 binds no 64-bit integers from wasm: counts and times go as f64).
pub fn number(value: f64) -> JsValue {
    JsValue::from_f64(value)
}

/// A text value, or SQL NULL.
pub fn text_or_null(value: Option<&str>) -> JsValue {
    value.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

/// A number, or SQL NULL.
pub fn number_or_null(value: Option<f64>) -> JsValue {
    value.map(JsValue::from_f64).unwrap_or(JsValue::NULL)
}

/// A boolean as SQLite stores it.
pub fn flag(value: bool) -> JsValue {
    JsValue::from_f64(if value { 1.0 } else { 0.0 })
}
