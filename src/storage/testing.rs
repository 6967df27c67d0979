//! Native implementations of the ports for tests: SQLite (rusqlite) with the
//! real schema — every migration applied in order, as D1 applies them — and
//! blobs in memory; both count what production bills.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use rusqlite::types::{Value as SqliteValue, ValueRef};
use rusqlite::Connection;
use serde_json::{Map, Number, Value};

use super::ports::{BlobStore, SqlDatabase, SqlValue, Statement, StatementResult, StorageError, GUARD_FAILURE};

pub struct Sqlite {
    pub conn: Connection,
    /// Statements to fail (by SQL text fragment), for fault tests.
    pub fail_on: RefCell<Option<String>>,
}

impl Sqlite {
    /// An in-memory database with every file of `migrations/` applied in order.
    pub fn with_schema() -> Self {
        let conn = Connection::open_in_memory().expect("in-memory SQLite opens");
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<_> =
            std::fs::read_dir(dir).expect("migrations/ is readable").map(|e| e.expect("entry").path()).collect();
        files.sort();
        for file in files {
            let sql = std::fs::read_to_string(&file).expect("migration is readable");
            conn.execute_batch(&sql).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
        Self { conn, fail_on: RefCell::new(None) }
    }

    /// Rows of one ad-hoc query, for assertions.
    pub fn query(&self, sql: &str) -> Vec<Map<String, Value>> {
        let mut statement = self.conn.prepare(sql).expect("query prepares");
        rows_of(&mut statement, &[]).expect("query runs")
    }

    fn run(&self, s: &Statement) -> Result<StatementResult, rusqlite::Error> {
        if self.fail_on.borrow().as_deref().is_some_and(|f| s.sql.contains(f)) {
            return Err(rusqlite::Error::InvalidQuery);
        }
        let mut statement = self.conn.prepare(s.sql)?;
        let args: Vec<SqliteValue> = s
            .args
            .iter()
            .map(|a| match a {
                SqlValue::Null => SqliteValue::Null,
                SqlValue::Number(n) if n.fract() == 0.0 && n.abs() < 9e15 => SqliteValue::Integer(*n as i64),
                SqlValue::Number(n) => SqliteValue::Real(*n),
                SqlValue::Text(t) => SqliteValue::Text(t.clone()),
            })
            .collect();
        let before = self.conn.total_changes();
        let rows = Value::Array(rows_of(&mut statement, &args)?.into_iter().map(Value::Object).collect());
        Ok(StatementResult { rows_json: rows.to_string(), rows_written: self.conn.total_changes() - before })
    }
}

fn rows_of(
    statement: &mut rusqlite::Statement<'_>,
    args: &[SqliteValue],
) -> Result<Vec<Map<String, Value>>, rusqlite::Error> {
    let names: Vec<String> = statement.column_names().iter().map(|n| n.to_string()).collect();
    let mut rows = statement.query(rusqlite::params_from_iter(args))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut map = Map::new();
        for (i, name) in names.iter().enumerate() {
            let value = match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Array(b.iter().map(|x| Value::from(*x)).collect()),
            };
            map.insert(name.clone(), value);
        }
        out.push(map);
    }
    Ok(out)
}

impl SqlDatabase for Sqlite {
    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<StatementResult>, StorageError> {
        self.conn.execute_batch("BEGIN").map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let mut results = Vec::new();
        for s in &statements {
            match self.run(s) {
                Ok(r) => results.push(r),
                Err(e) => {
                    self.conn.execute_batch("ROLLBACK").map_err(|e| StorageError::Unavailable(e.to_string()))?;
                    let message = e.to_string();
                    return Err(if message.contains(GUARD_FAILURE) {
                        StorageError::Conflict
                    } else {
                        StorageError::Unavailable(message)
                    });
                }
            }
        }
        self.conn.execute_batch("COMMIT").map_err(|e| StorageError::Unavailable(e.to_string()))?;
        Ok(results)
    }
}

/// A database whose first write opening with the statement `guard` lets a
/// rival writer commit first: `rival` runs once, against the same database,
/// just before that write (the race a guard exists to catch).
pub struct Racing<'a> {
    pub db: &'a Sqlite,
    pub guard: &'static str,
    pub rival: RefCell<Option<Box<dyn FnOnce() + 'a>>>,
    /// Writes that opened with the guard.
    pub guarded_writes: Cell<u32>,
}

impl<'a> Racing<'a> {
    pub fn new(db: &'a Sqlite, guard: &'static str, rival: impl FnOnce() + 'a) -> Self {
        Self { db, guard, rival: RefCell::new(Some(Box::new(rival))), guarded_writes: Cell::new(0) }
    }
}

impl SqlDatabase for Racing<'_> {
    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<StatementResult>, StorageError> {
        if statements.first().is_some_and(|s| s.sql == self.guard) {
            self.guarded_writes.set(self.guarded_writes.get() + 1);
            let rival = self.rival.borrow_mut().take();
            if let Some(rival) = rival {
                rival();
            }
        }
        self.db.batch(statements).await
    }
}

/// Blobs in memory, with the operations R2 bills counted.
#[derive(Default)]
pub struct MemoryBlobs {
    pub objects: RefCell<BTreeMap<String, Vec<u8>>>,
    pub puts: RefCell<u32>,
    pub range_reads: RefCell<u32>,
    pub fail_puts: RefCell<bool>,
}

impl BlobStore for MemoryBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        if *self.fail_puts.borrow() {
            return Err(StorageError::Unavailable("R2 put refused (test)".into()));
        }
        let mut objects = self.objects.borrow_mut();
        if objects.contains_key(key) {
            return Err(StorageError::Conflict);
        }
        *self.puts.borrow_mut() += 1;
        objects.insert(key.to_string(), bytes);
        Ok(())
    }

    async fn get_range(&self, key: &str, offset: u32, length: u32) -> Result<Option<Vec<u8>>, StorageError> {
        *self.range_reads.borrow_mut() += 1;
        let objects = self.objects.borrow();
        let Some(object) = objects.get(key) else { return Ok(None) };
        let (start, end) = (offset as usize, offset as usize + length as usize);
        let range =
            object.get(start..end).ok_or_else(|| StorageError::Corrupt(format!("{key}: range past the end")))?;
        Ok(Some(range.to_vec()))
    }

    async fn delete(&self, keys: &[String]) -> Result<(), StorageError> {
        let mut objects = self.objects.borrow_mut();
        for key in keys {
            objects.remove(key);
        }
        Ok(())
    }
}
