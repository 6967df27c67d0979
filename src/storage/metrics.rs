//! Metric series and their point packs in D1 (migration 0013), over the SQL
//! port. An export is one transaction: the cardinality caps, the series
//! (new ones within the caps), which of them exist, then the packs whose
//! series all exist. A pack holding a series refused by a cap is written
//! again without it in a second transaction (only then). Reads roll the
//! packs of a metric into minutes in Rust (`query::metric_rollup`).

use std::collections::HashSet;

use serde_json::value::RawValue;

use super::metric_sql as sql;
use super::ports::{result, SqlDatabase, SqlValue, Statement, StatementResult, StorageError, TextRow};
use crate::ingest::metric_packs::{decode, PackRow};
use crate::ingest::metric_rows::SeriesCaps;
use crate::ingest::row_chunks::RowChunks;
use crate::ingest::MetricBatch;
use crate::query::metric_query::{Steps, StoredMinute, StoredSeries, LOOKBACK_MS};
use crate::query::metric_rollup::minutes;

pub struct MetricStore<'a, D> {
    db: &'a D,
}

/// What an ingest stored.
#[derive(Debug, Default)]
pub struct Ingested {
    /// Series of the export that exist afterwards (a point of any other was refused by a cap).
    pub series: HashSet<String>,
    /// The batch's Analytics Engine points of newly stored points (none for a retried export).
    pub new_points: Vec<usize>,
    /// D1 rows written, as billed.
    pub rows_written: u64,
}

/// Rows deleted by one prune.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PrunedMetrics {
    pub packs: u32,
    pub series: u32,
}

/// Series and their packs (statements 0 and 1) as series and minutes. A
/// pack that does not decode is an error, not skipped.
fn series_with_minutes(results: &[StatementResult]) -> Result<(Vec<StoredSeries>, Vec<StoredMinute>), StorageError> {
    let series: Vec<StoredSeries> = result(results, 0)?.rows()?;
    let mut points = Vec::new();
    for pack in result(results, 1)?.rows::<TextRow>()? {
        points.extend(decode(&pack.value).map_err(|e| StorageError::Corrupt(e.to_string()))?);
    }
    let minutes = minutes(points, &series);
    Ok((series, minutes))
}

impl<'a, D: SqlDatabase> MetricStore<'a, D> {
    pub fn new(db: &'a D) -> Self {
        Self { db }
    }

    pub async fn ingest(
        &self,
        batch: &MetricBatch<'_>,
        now_ms: f64,
        caps: SeriesCaps,
    ) -> Result<Ingested, StorageError> {
        let caps = vec![f64::from(caps.per_service).into(), f64::from(caps.per_metric).into()];
        let mut statements = vec![Statement::new(sql::SET_SERIES_CAPS, caps)];
        for chunk in &batch.series_chunks {
            statements.push(Statement::new(sql::UPSERT_SERIES, vec![chunk.as_str().into(), now_ms.into()]));
        }
        for chunk in &batch.series_chunks {
            statements.push(Statement::new(sql::EXISTING_SERIES, vec![chunk.as_str().into()]));
        }
        let rows: Vec<_> = batch.packs.iter().filter_map(|p| p.row(|_| true)).collect();
        let first_pack = statements.len();
        statements.extend(pack_statements(&rows));
        let results = self.db.batch(statements).await?;
        let mut ingested =
            Ingested { rows_written: results.iter().map(|r| r.rows_written).sum(), ..Ingested::default() };
        for i in 1 + batch.series_chunks.len()..first_pack {
            ingested.series.extend(result(&results, i)?.rows::<TextRow>()?.into_iter().map(|r| r.value));
        }
        let inserted = inserted_packs(results.get(first_pack..).unwrap_or_default())?;
        // A pack left out with every series present was stored before; one
        // with a refused series is stored again without it.
        let mut partial = Vec::new();
        for (pack, row) in batch.packs.iter().zip(&rows) {
            if inserted.contains(&row.id) {
                ingested.new_points.extend(&row.points);
            } else if row.series.iter().any(|s| !ingested.series.contains(s)) {
                partial.extend(pack.row(|s| ingested.series.contains(s)));
            }
        }
        if !partial.is_empty() {
            let results = self.db.batch(pack_statements(&partial)).await?;
            ingested.rows_written += results.iter().map(|r| r.rows_written).sum::<u64>();
            let inserted = inserted_packs(&results)?;
            for row in partial.iter().filter(|r| inserted.contains(&r.id)) {
                ingested.new_points.extend(&row.points);
            }
        }
        crate::sort::sort_by(&mut ingested.new_points, Ord::cmp);
        Ok(ingested)
    }

    /// Metric names per service with kind, unit and description, as the JSON array the API answers.
    pub async fn list(&self, service: Option<&str>) -> Result<Box<RawValue>, StorageError> {
        let results = self.db.batch(vec![Statement::new(sql::LIST_METRICS, vec![service.into()])]).await?;
        let list = result(&results, 0)?.rows::<TextRow>()?.pop().map_or_else(|| "[]".to_string(), |r| r.value);
        RawValue::from_string(list).map_err(|e| StorageError::Corrupt(e.to_string()))
    }

    /// The series of a metric (optionally of one service) and their minutes
    /// over `steps` (with the lookback), in one round trip.
    pub async fn series_and_minutes(
        &self,
        name: &str,
        service: Option<&str>,
        steps: &Steps,
    ) -> Result<(Vec<StoredSeries>, Vec<StoredMinute>), StorageError> {
        let range = vec![name.into(), service.into(), steps.read_from_ms().into(), steps.end_ms().into()];
        let results = self
            .db
            .batch(vec![
                Statement::new(sql::SERIES_OF_METRIC, range.iter().take(2).cloned().collect()),
                Statement::new(sql::PACKS_OF_METRIC, range),
            ])
            .await?;
        series_with_minutes(&results)
    }

    /// The series of every OTLP metric an enabled alert rule names and their
    /// minutes over the longest rule window (with the lookback for baselines).
    pub async fn rule_series_and_minutes(
        &self,
        now_ms: f64,
    ) -> Result<(Vec<StoredSeries>, Vec<StoredMinute>), StorageError> {
        let results = self
            .db
            .batch(vec![
                Statement::new(sql::RULE_METRIC_SERIES, Vec::new()),
                Statement::new(sql::RULE_METRIC_PACKS, vec![now_ms.into(), LOOKBACK_MS.into()]),
            ])
            .await?;
        series_with_minutes(&results)
    }

    /// Prunes packs before `cutoff_ms` and series last seen before it, at
    /// most `limit` rows of each.
    pub async fn prune(&self, cutoff_ms: f64, limit: u32) -> Result<PrunedMetrics, StorageError> {
        let args: Vec<SqlValue> = vec![cutoff_ms.into(), f64::from(limit).into()];
        let results = self
            .db
            .batch(vec![Statement::new(sql::PRUNE_PACKS, args.clone()), Statement::new(sql::PRUNE_SERIES, args)])
            .await?;
        let changes = |i| result(&results, i)?.rows::<serde_json::Value>().map(|rows| rows.len() as u32);
        Ok(PrunedMetrics { packs: changes(0)?, series: changes(1)? })
    }
}

/// `INSERT_PACKS` statements for pack rows, a bounded JSON array each.
fn pack_statements(rows: &[PackRow]) -> Vec<Statement> {
    let mut chunks = RowChunks::default();
    for row in rows {
        // A pack row is far below a chunk's row limit (`MAX_PACK_BYTES` of points, compressed).
        let _ = chunks.push(&row.json, |_| {});
    }
    chunks.finish().into_iter().map(|chunk| Statement::new(sql::INSERT_PACKS, vec![chunk.into()])).collect()
}

fn inserted_packs(results: &[StatementResult]) -> Result<HashSet<String>, StorageError> {
    let mut ids = HashSet::new();
    for r in results {
        ids.extend(r.rows::<TextRow>()?.into_iter().map(|p| p.value));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use pollster::block_on;

    use super::*;
    use crate::domain::metric::{HistogramPoint, MetricData, NumberPoint, PointHeader, Temporality};
    use crate::domain::{AnyValue, KeyValue, Metric, Resource, ResourceMetrics, ScopeMetrics};
    use crate::ingest::metric_batch;
    use crate::otlp::Rejections;
    use crate::storage::testing::Sqlite;

    /// 2026-11-27T21:52:00Z, a whole minute.
    const T_MS: u64 = 1_795_816_320_000;
    const NS: u64 = 1_000_000;

    fn kv(key: &'static str, value: String) -> KeyValue<'static> {
        KeyValue { key: key.into(), value: AnyValue::Str(value.into()) }
    }

    fn header(shard: usize, time_ms: u64) -> PointHeader<'static> {
        PointHeader {
            attributes: vec![kv("shard", format!("s{shard}"))],
            start_time_unix_nano: (T_MS - 3_600_000) * NS,
            time_unix_nano: time_ms * NS,
            flags: 0,
        }
    }

    /// A gauge of `shards` series and a delta histogram of one, each point at `time_ms`.
    fn export(shards: usize, time_ms: u64, value: f64) -> Vec<ResourceMetrics<'static>> {
        let gauge = (0..shards).map(|i| NumberPoint { header: header(i, time_ms), value }).collect();
        let histogram = HistogramPoint {
            header: header(0, time_ms),
            count: 3,
            sum: Some(12.0),
            bucket_counts: vec![1, 2, 0],
            explicit_bounds: vec![1.0, 10.0],
            min: Some(1.0),
            max: Some(9.0),
        };
        let metric =
            |name: &'static str, data| Metric { name: name.into(), unit: "1".into(), description: "".into(), data };
        vec![ResourceMetrics {
            resource: Resource { attributes: vec![kv("service.name", "checkout".into())], dropped_attributes_count: 0 },
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    metric("queue.depth", MetricData::Gauge(gauge)),
                    metric(
                        "latency",
                        MetricData::Histogram { points: vec![histogram], temporality: Temporality::Delta },
                    ),
                ],
                ..Default::default()
            }],
        }]
    }

    fn ingest(db: &Sqlite, export: &[ResourceMetrics<'_>], caps: SeriesCaps) -> Ingested {
        let batch = metric_batch(export, &mut Rejections::default());
        block_on(MetricStore::new(db).ingest(&batch, T_MS as f64, caps)).unwrap()
    }

    fn read(db: &Sqlite, name: &str) -> (Vec<StoredSeries>, Vec<StoredMinute>) {
        let steps = Steps::new(T_MS as f64 - 600_000.0, T_MS as f64 + 600_000.0, Some(60.0)).unwrap();
        block_on(MetricStore::new(db).series_and_minutes(name, Some("checkout"), &steps)).unwrap()
    }

    fn count(db: &Sqlite, sql: &str) -> u64 {
        db.query(sql)[0]["n"].as_u64().unwrap()
    }

    #[test]
    fn an_export_writes_one_pack_per_metric_and_reads_back_as_minutes() {
        let db = Sqlite::with_schema();
        let stored = ingest(&db, &export(20, T_MS + 5_000, 4.0), SeriesCaps::default());
        assert_eq!(stored.new_points, (0..21).collect::<Vec<_>>());
        assert_eq!(stored.series.len(), 21);
        assert_eq!(count(&db, "SELECT count(*) AS n FROM metric_packs"), 2);
        let (series, minutes) = read(&db, "queue.depth");
        assert_eq!((series.len(), minutes.len()), (20, 20));
        assert!(minutes.iter().all(|m| m.minute_ms == T_MS as f64 && m.value_sum == 4.0 && m.points == 1.0));
        let (_, minutes) = read(&db, "latency");
        assert_eq!((minutes[0].buckets.clone(), minutes[0].count_sum), (vec![1.0, 2.0, 0.0], 3.0));
    }

    #[test]
    fn the_list_is_the_api_json_per_metric_and_service() {
        let db = Sqlite::with_schema();
        let list = |service| block_on(MetricStore::new(&db).list(service)).unwrap().get().to_string();
        assert_eq!(list(None), "[]");
        ingest(&db, &export(3, T_MS, 1.0), SeriesCaps::default());
        let all: serde_json::Value = serde_json::from_str(&list(None)).unwrap();
        assert_eq!(
            all[0],
            serde_json::json!({"name": "latency", "service": "checkout", "type": "histogram", "temporality": "delta",
                "monotonic": false, "unit": "1", "description": "", "series": 1, "lastSeen": T_MS as f64})
        );
        assert_eq!((all[1]["name"].as_str(), all[1]["series"].as_u64()), (Some("queue.depth"), Some(3)));
        assert_eq!(list(Some("elsewhere")), "[]");
    }

    #[test]
    fn a_retried_export_writes_nothing_and_a_steady_one_only_its_packs() {
        let db = Sqlite::with_schema();
        let first = ingest(&db, &export(20, T_MS, 1.0), SeriesCaps::default());
        let retried = ingest(&db, &export(20, T_MS, 1.0), SeriesCaps::default());
        assert_eq!((retried.rows_written, retried.new_points.len()), (0, 0));
        let next = ingest(&db, &export(20, T_MS + 60_000, 2.0), SeriesCaps::default());
        assert_eq!(next.rows_written, 2, "two packs, no series row");
        assert!(first.rows_written > next.rows_written);
        let (_, minutes) = read(&db, "queue.depth");
        assert_eq!(minutes.len(), 40);
        assert_eq!(minutes.iter().map(|m| m.value_sum).sum::<f64>(), 20.0 + 40.0, "the retry counted nothing");
    }

    #[test]
    fn series_past_a_cap_are_left_out_of_the_pack_and_the_rest_is_stored() {
        let db = Sqlite::with_schema();
        let caps = SeriesCaps { per_service: 100, per_metric: 5 };
        let stored = ingest(&db, &export(8, T_MS, 1.0), caps);
        assert_eq!(stored.series.len(), 6, "5 gauge series and the histogram's");
        assert_eq!(stored.new_points.len(), 6);
        assert_eq!(read(&db, "queue.depth").1.len(), 5);
        let again = ingest(&db, &export(8, T_MS, 1.0), caps);
        assert_eq!((again.rows_written, again.new_points.len()), (0, 0), "the retry of a capped export");
    }

    #[test]
    fn a_point_sent_again_in_another_export_counts_once() {
        let db = Sqlite::with_schema();
        ingest(&db, &export(2, T_MS, 1.0), SeriesCaps::default());
        let mut both = export(3, T_MS, 1.0);
        both.extend(export(1, T_MS + 1_000, 1.0));
        ingest(&db, &both, SeriesCaps::default());
        let (_, minutes) = read(&db, "queue.depth");
        assert_eq!(minutes.iter().map(|m| m.points).sum::<f64>(), 4.0);
    }

    #[test]
    fn prune_deletes_packs_and_series_past_the_cutoff() {
        let db = Sqlite::with_schema();
        ingest(&db, &export(3, T_MS - 20 * 86_400_000, 1.0), SeriesCaps::default());
        ingest(&db, &export(3, T_MS, 1.0), SeriesCaps::default());
        db.conn.execute("UPDATE metric_series SET last_seen_ms = 0 WHERE series_key IN (SELECT series_key FROM metric_series LIMIT 1)", []).unwrap();
        let pruned = block_on(MetricStore::new(&db).prune((T_MS - 86_400_000) as f64, 100)).unwrap();
        assert_eq!(pruned, PrunedMetrics { packs: 2, series: 1 });
        assert_eq!(count(&db, "SELECT count(*) AS n FROM metric_packs"), 2, "the recent packs stay");
        let limited = block_on(MetricStore::new(&db).prune((T_MS + 86_400_000) as f64, 1)).unwrap();
        assert_eq!(limited.packs, 1);
    }
}
