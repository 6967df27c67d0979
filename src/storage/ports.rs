//! The two ports storage logic runs against: an SQL database that runs a
//! batch of statements in one transaction (D1 in production, SQLite in
//! native tests) and a blob store (R2 in production, memory in tests).
//! Values cross the SQL port as numbers and text only (D1 binds no 64-bit
//! integers from wasm): binary columns go in and out as hex (`unhex(?)`,
//! `hex(col)`), so both databases answer the same rows.

use serde::de::DeserializeOwned;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StorageError {
    /// The database or blob store did not answer or refused: retryable.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A write's guard found that a row it read had changed since (another
    /// writer merged the same trace first), or a new object's key was taken:
    /// read again and retry.
    #[error("stored records changed during the write")]
    Conflict,
    /// The store answered with data we cannot read.
    #[error("unexpected stored data: {0}")]
    Corrupt(String),
}

/// The text SQLite puts in the error of `json('x')`: how a guard statement fails on purpose.
pub const GUARD_FAILURE: &str = "malformed JSON";

#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Number(f64),
    Text(String),
}

impl From<f64> for SqlValue {
    fn from(n: f64) -> Self {
        SqlValue::Number(n)
    }
}

impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        SqlValue::Text(s)
    }
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        SqlValue::Text(s.to_string())
    }
}

/// A text, or SQL NULL.
impl From<Option<&str>> for SqlValue {
    fn from(s: Option<&str>) -> Self {
        s.map_or(SqlValue::Null, SqlValue::from)
    }
}

/// One statement with its bound values (`?1`, `?2`, … in order).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: &'static str,
    pub args: Vec<SqlValue>,
}

impl Statement {
    pub fn new(sql: &'static str, args: Vec<SqlValue>) -> Self {
        Self { sql, args }
    }
}

/// What one statement of a batch answered.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementResult {
    /// The rows as a JSON array of objects (column name → value).
    pub rows_json: String,
    /// Rows written as the database bills them (D1's `meta.rows_written`).
    pub rows_written: u64,
}

impl StatementResult {
    pub fn rows<T: DeserializeOwned>(&self) -> Result<Vec<T>, StorageError> {
        serde_json::from_str(&self.rows_json).map_err(|e| StorageError::Corrupt(e.to_string()))
    }
}

/// A row of one text column named `value` (every single-text answer is aliased so).
#[derive(Debug, serde::Deserialize)]
pub struct TextRow {
    pub value: String,
}

/// A database that runs statements in one transaction, all or nothing.
#[allow(async_fn_in_trait, reason = "used inside this crate only, on a single-threaded runtime")]
pub trait SqlDatabase {
    /// One result per statement, in order; any failure rolls the whole batch
    /// back (a failed guard answers `StorageError::Conflict`).
    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<StatementResult>, StorageError>;
}

/// Objects by key, read by byte range.
#[allow(async_fn_in_trait, reason = "used inside this crate only, on a single-threaded runtime")]
pub trait BlobStore {
    /// Creates the object; `Conflict` when the key is taken (a block id
    /// drawn twice): an existing object is never overwritten.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError>;
    /// `length` bytes from `offset`; `None` when the object no longer exists
    /// (deleted by retention), `Corrupt` when it is shorter than the range.
    async fn get_range(&self, key: &str, offset: u32, length: u32) -> Result<Option<Vec<u8>>, StorageError>;
    async fn delete(&self, keys: &[String]) -> Result<(), StorageError>;
}

/// The result of statement `i`, or `Corrupt` when the batch answered fewer.
pub fn result(results: &[StatementResult], i: usize) -> Result<&StatementResult, StorageError> {
    results.get(i).ok_or_else(|| StorageError::Corrupt("batch answered fewer results than statements".into()))
}

impl From<StorageError> for crate::api::ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(_) | StorageError::Conflict => crate::api::ApiError::unavailable(e.to_string()),
            StorageError::Corrupt(_) => crate::api::ApiError::internal(e.to_string()),
        }
    }
}
