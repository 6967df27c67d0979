//! Metric packs (migration 0013): the data points of one metric of one
//! service from one export, within one hour of point time, stored as one D1
//! row whose body is one gzip member (`blocks`) of a JSON array of
//! `StoredPoint`s. A pack is keyed by the hash of that JSON, so a retried
//! export produces the same keys and writes nothing. Built here from an
//! export's points; `decode` reads a body back.

use serde::{Deserialize, Serialize};
use serde_json::value::{to_raw_value, RawValue};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::blocks::{read_segment, BlockWriter};
use crate::domain::ids::{bytes_from_hex, hex};

/// A pack's points lie within one hour of point time (reads look this far past a range).
const PACK_SPAN_MS: u64 = 3_600_000;
/// Bytes of point JSON per pack (before compression): a larger export makes more packs.
pub const MAX_PACK_BYTES: usize = 256 * 1024;

const NANOS_PER_MS: u64 = 1_000_000;

#[derive(Debug, Error, PartialEq)]
pub enum PackError {
    #[error("metric pack body is not hex")]
    NotHex,
    #[error("metric pack body: {0}")]
    Block(#[from] crate::blocks::BlockError),
    #[error("metric pack points: {0}")]
    Json(String),
}

/// One stored data point. `value` is a gauge's or sum's value, or a
/// histogram's / summary's sum; `count` the observations of a histogram or
/// summary; `low`/`high` its min/max (a number point's value for both);
/// `bounds`/`buckets` a histogram's explicit bounds and counts (an
/// exponential histogram's converted); `quantiles` a summary's `[q, v]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredPoint {
    pub series: String,
    pub time_ns: u64,
    pub start_ns: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantiles: Option<Vec<(f64, f64)>>,
}

/// A point waiting in a pack: its JSON, series and time, and the index of its
/// Analytics Engine point in the batch.
#[derive(Debug)]
struct PackedPoint {
    series: String,
    json: String,
    time_ms: u64,
    point: usize,
}

/// The points of one metric of one service, one hour, ≤ `MAX_PACK_BYTES` of JSON.
#[derive(Debug)]
pub struct MetricPack {
    service: String,
    metric: String,
    /// Unix hours of its points.
    hour: u64,
    points: Vec<PackedPoint>,
    bytes: usize,
}

/// A pack as `INSERT_PACKS` takes it.
#[derive(Debug)]
pub struct PackRow {
    pub id: String,
    /// `[service, metric, end ms, id, start ms, points, body hex, [series keys]]`.
    pub json: Box<RawValue>,
    /// The batch's Analytics Engine points it holds.
    pub points: Vec<usize>,
    /// Its series, each once.
    pub series: Vec<String>,
}

impl MetricPack {
    /// The row of the points whose series `keep` admits; `None` when none is left.
    pub fn row(&self, keep: impl Fn(&str) -> bool) -> Option<PackRow> {
        let kept: Vec<&PackedPoint> = self.points.iter().filter(|p| keep(&p.series)).collect();
        let start_ms = kept.iter().map(|p| p.time_ms).min()?;
        let end_ms = kept.iter().map(|p| p.time_ms).max()?;
        let mut json = Vec::with_capacity(self.bytes + 2);
        json.push(b'[');
        for (i, p) in kept.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            json.extend_from_slice(p.json.as_bytes());
        }
        json.push(b']');
        let digest: [u8; 32] = Sha256::digest(&json).into();
        let id = hex(&digest[..8]);
        let mut body = BlockWriter::default();
        body.push(&json);
        let mut series: Vec<String> = kept.iter().map(|p| p.series.clone()).collect();
        crate::sort::sort_by(&mut series, Ord::cmp);
        series.dedup();
        let row = (&self.service, &self.metric, end_ms, &id, start_ms, kept.len(), hex(&body.finish()), &series);
        Some(PackRow { json: to_raw_value(&row).ok()?, id, points: kept.iter().map(|p| p.point).collect(), series })
    }
}

/// Sorts an export's points into packs, in the order they came.
#[derive(Debug, Default)]
pub struct Packer {
    packs: Vec<MetricPack>,
}

impl Packer {
    /// Adds a point (`point`: its index among the batch's Analytics Engine
    /// points); `Err(bytes)` when its JSON alone is over `MAX_PACK_BYTES`.
    pub fn push(&mut self, service: &str, metric: &str, stored: &StoredPoint, point: usize) -> Result<(), usize> {
        let json = serde_json::to_string(stored).unwrap_or_default();
        if json.len() > MAX_PACK_BYTES {
            return Err(json.len());
        }
        let time_ms = stored.time_ns / NANOS_PER_MS;
        let hour = time_ms / PACK_SPAN_MS;
        // The newest pack of this service, metric and hour takes the point while it has room.
        let open = self.packs.iter().rposition(|p| p.service == service && p.metric == metric && p.hour == hour);
        let fits = open.and_then(|i| self.packs.get(i)).is_some_and(|p| p.bytes + json.len() < MAX_PACK_BYTES);
        if !fits {
            let (service, metric) = (service.to_string(), metric.to_string());
            self.packs.push(MetricPack { service, metric, hour, points: Vec::new(), bytes: 0 });
        }
        let index = if fits { open } else { self.packs.len().checked_sub(1) };
        if let Some(pack) = index.and_then(|i| self.packs.get_mut(i)) {
            pack.bytes += json.len() + 1;
            pack.points.push(PackedPoint { series: stored.series.clone(), json, time_ms, point });
        }
        Ok(())
    }

    pub fn finish(self) -> Vec<MetricPack> {
        self.packs
    }
}

/// The points of a pack body as `hex(body)` reads it.
pub fn decode(body_hex: &str) -> Result<Vec<StoredPoint>, PackError> {
    let bytes = bytes_from_hex(body_hex).ok_or(PackError::NotHex)?;
    let json = read_segment(&bytes)?;
    serde_json::from_slice(&json).map_err(|e| PackError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_795_789_962_170_000_000;

    fn point(series: &str, time_ns: u64, value: f64) -> StoredPoint {
        StoredPoint {
            series: series.into(),
            time_ns,
            start_ns: time_ns - 60_000_000_000,
            value: Some(value),
            ..Default::default()
        }
    }

    fn fields(row: &PackRow) -> serde_json::Value {
        serde_json::from_str(row.json.get()).unwrap()
    }

    #[test]
    fn points_of_one_metric_and_hour_share_a_pack_that_decodes_back() {
        let mut packer = Packer::default();
        let histogram = StoredPoint {
            bounds: Some(vec![1.0, 10.0]),
            buckets: Some(vec![1, 2, 0]),
            count: Some(3.0),
            quantiles: None,
            ..point("b", T + 5_000_000, 12.0)
        };
        packer.push("svc", "m", &point("a", T, 1.0), 0).unwrap();
        packer.push("svc", "other", &point("c", T, 2.0), 1).unwrap();
        packer.push("svc", "m", &histogram, 2).unwrap();
        let packs = packer.finish();
        assert_eq!(packs.len(), 2, "one pack per metric");
        let row = packs[0].row(|_| true).unwrap();
        assert_eq!(row.points, vec![0, 2]);
        assert_eq!(row.series, vec!["a", "b"]);
        let f = fields(&row);
        assert_eq!((f[0].as_str(), f[1].as_str()), (Some("svc"), Some("m")));
        assert_eq!(
            (f[2].as_u64(), f[4].as_u64(), f[5].as_u64()),
            (Some(T / 1_000_000 + 5), Some(T / 1_000_000), Some(2))
        );
        assert_eq!(f[3].as_str(), Some(row.id.as_str()));
        assert_eq!(row.id.len(), 16);
        assert_eq!(decode(f[6].as_str().unwrap()).unwrap(), vec![point("a", T, 1.0), histogram]);
    }

    #[test]
    fn the_same_points_make_the_same_id_and_other_points_another() {
        let row = |value: f64| {
            let mut packer = Packer::default();
            packer.push("svc", "m", &point("a", T, value), 0).unwrap();
            packer.finish()[0].row(|_| true).unwrap().id
        };
        assert_eq!(row(1.0), row(1.0));
        assert_ne!(row(1.0), row(2.0));
    }

    #[test]
    fn a_pack_keeps_to_one_hour_and_its_byte_limit() {
        let mut packer = Packer::default();
        packer.push("svc", "m", &point("a", T, 1.0), 0).unwrap();
        packer.push("svc", "m", &point("a", T + PACK_SPAN_MS * 1_000_000, 1.0), 1).unwrap();
        assert_eq!(packer.finish().len(), 2, "another hour, another pack");
        let mut packer = Packer::default();
        let wide = StoredPoint { bounds: Some(vec![1.5; 6_000]), ..point("a", T, 1.0) };
        for i in 0..20 {
            packer.push("svc", "m", &StoredPoint { time_ns: T + i, ..wide.clone() }, i as usize).unwrap();
        }
        let packs = packer.finish();
        assert!(packs.len() > 1);
        assert!(packs.iter().all(|p| p.bytes <= MAX_PACK_BYTES));
        assert_eq!(packs.iter().map(|p| p.points.len()).sum::<usize>(), 20);
        let huge = StoredPoint { bounds: Some(vec![1.5; 100_000]), ..point("a", T, 1.0) };
        assert!(Packer::default().push("svc", "m", &huge, 0).unwrap_err() > MAX_PACK_BYTES);
    }

    #[test]
    fn a_pack_row_leaves_out_refused_series() {
        let mut packer = Packer::default();
        packer.push("svc", "m", &point("a", T, 1.0), 0).unwrap();
        packer.push("svc", "m", &point("b", T + 1_000_000, 2.0), 1).unwrap();
        let pack = &packer.finish()[0];
        let all = pack.row(|_| true).unwrap();
        let only_a = pack.row(|s| s == "a").unwrap();
        assert_ne!(all.id, only_a.id);
        assert_eq!((only_a.points.clone(), only_a.series.clone()), (vec![0], vec!["a".to_string()]));
        assert_eq!(decode(fields(&only_a)[6].as_str().unwrap()).unwrap(), vec![point("a", T, 1.0)]);
        assert!(pack.row(|_| false).is_none());
    }

    #[test]
    fn corrupt_bodies_are_errors() {
        assert_eq!(decode("zz"), Err(PackError::NotHex));
        assert!(matches!(decode("1f8b0800"), Err(PackError::Block(_))));
        let mut body = BlockWriter::default();
        body.push(b"{\"not\": \"points\"}");
        assert!(matches!(decode(&hex(&body.finish())), Err(PackError::Json(_))));
    }
}
