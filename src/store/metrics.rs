//! `D1MetricStore`: metric series, points and their minute roll-ups in D1.
//! An ingest is one `batch()`: the series first (within the cardinality
//! caps), then the points of the series that exist.

use std::collections::HashSet;

use serde::Deserialize;
use worker::D1Database;

use super::d1::{number, text, text_or_null, D1};
use super::metric_sql as sql;
use super::StoreError;
use crate::alerting::span_metrics::RedMinute;
use crate::domain::time::{ms_to_nanos, nanos_text};
use crate::ingest::metric_rows::SeriesCaps;
use crate::ingest::MetricBatch;
use crate::query::metric_query::{MetricSummary, Steps, StoredMinute, StoredSeries};

pub struct D1MetricStore {
    d1: D1,
}

#[derive(Deserialize)]
struct SeriesKey {
    series_key: String,
}

#[derive(Deserialize)]
struct PointKey {
    series_key: String,
    time_ns: String,
}

/// What an ingest stored.
pub struct Ingested {
    /// Series that exist after the ingest (a point of any other was refused by a cap).
    pub series: HashSet<String>,
    /// Points that were new, by (series key, time text).
    pub points: HashSet<(String, String)>,
}

impl D1MetricStore {
    pub fn new(db: D1Database) -> Self {
        Self { d1: D1::new(db) }
    }

    pub async fn ingest(&self, batch: &MetricBatch<'_>, now_ms: f64, caps: SeriesCaps) -> Result<Ingested, StoreError> {
        let caps = [number(f64::from(caps.per_service)), number(f64::from(caps.per_metric))];
        let mut statements = vec![self.d1.statement(sql::SET_SERIES_CAPS, &caps)?];
        for chunk in &batch.series_chunks {
            statements.push(self.d1.statement(sql::UPSERT_SERIES, &[text(chunk), number(now_ms)])?);
        }
        for chunk in &batch.point_chunks {
            statements.push(self.d1.statement(sql::INSERT_POINTS, &[text(chunk)])?);
        }
        let results = self.d1.batch(statements).await?;
        let mut ingested = Ingested { series: HashSet::new(), points: HashSet::new() };
        // Statement 0 sets the caps; then the series, then the points.
        let series_statements = 1 + batch.series_chunks.len();
        for i in 1..series_statements {
            ingested.series.extend(results.rows::<SeriesKey>(i)?.into_iter().map(|r| r.series_key));
        }
        for i in series_statements..series_statements + batch.point_chunks.len() {
            ingested.points.extend(results.rows::<PointKey>(i)?.into_iter().map(|r| (r.series_key, r.time_ns)));
        }
        Ok(ingested)
    }

    /// Metric names per service with kind, unit and description.
    pub async fn list(&self, service: Option<&str>) -> Result<Vec<MetricSummary>, StoreError> {
        self.d1.all(sql::LIST_METRICS, &[text_or_null(service)]).await
    }

    /// The series of a metric and their minutes over `steps` (with the lookback).
    pub async fn series_and_minutes(
        &self,
        name: &str,
        service: Option<&str>,
        steps: &Steps,
    ) -> Result<(Vec<StoredSeries>, Vec<StoredMinute>), StoreError> {
        let series: Vec<StoredSeries> =
            self.d1.all(sql::SERIES_OF_METRIC, &[text(name), text_or_null(service)]).await?;
        if series.is_empty() {
            return Ok((series, Vec::new()));
        }
        let keys =
            serde_json::to_string(&series.iter().map(|s| &s.series_key).collect::<Vec<_>>()).expect("keys serialize");
        let minutes = self
            .d1
            .all(sql::MINUTES_OF_SERIES, &[text(&keys), number(steps.read_from_ms()), number(steps.end_ms())])
            .await?;
        Ok((series, minutes))
    }

    /// A service's (or one of its operations') RED minutes over `steps`.
    pub async fn red_minutes(
        &self,
        service: &str,
        operation: Option<&str>,
        steps: &Steps,
    ) -> Result<Vec<RedMinute>, StoreError> {
        let range = [text(service), number(steps.start_ms), number(steps.end_ms())];
        match operation {
            Some(op) => {
                let args = [range[0].clone(), range[1].clone(), range[2].clone(), text(op)];
                self.d1.all(sql::RED_MINUTES_OF_OPERATION, &args).await
            }
            None => self.d1.all(sql::RED_MINUTES_OF_SERVICE, &range).await,
        }
    }

    /// Prunes minute roll-ups before `cutoff_ms`, raw points before
    /// `points_cutoff_ms` and series last seen before `cutoff_ms`, at most
    /// `limit` rows of each; returns (minutes, points, series) deleted.
    pub async fn prune(
        &self,
        cutoff_ms: f64,
        points_cutoff_ms: f64,
        limit: u32,
    ) -> Result<(u32, u32, u32), StoreError> {
        let limit = number(f64::from(limit));
        let points_cutoff = text(&nanos_text(ms_to_nanos(points_cutoff_ms)));
        let batch = self
            .d1
            .batch(vec![
                self.d1.statement(sql::PRUNE_MINUTES, &[number(cutoff_ms), limit.clone()])?,
                self.d1.statement(sql::PRUNE_POINTS, &[points_cutoff, limit.clone()])?,
                self.d1.statement(sql::PRUNE_SERIES, &[number(cutoff_ms), limit])?,
            ])
            .await?;
        Ok((batch.changes(0)?, batch.changes(1)?, batch.changes(2)?))
    }
}
