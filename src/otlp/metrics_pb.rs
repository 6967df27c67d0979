//! `ExportMetricsServiceRequest` from protobuf, straight into the metric
//! model, borrowing every string from the body (see `wire`).

use std::borrow::Cow;

use super::common_pb::{key_value, resource, scope};
use super::wire::{field_counts, Reader, WireValue};
use super::DecodeError;
use crate::domain::metric::{
    ExponentialBuckets, ExponentialHistogramPoint, HistogramPoint, NumberPoint, PointHeader, SummaryPoint,
};
use crate::domain::{Metric, MetricData, ResourceMetrics, Scope, ScopeMetrics, Temporality};

/// Decodes a protobuf `ExportMetricsServiceRequest`; anything structurally broken fails the request.
pub fn decode(body: &[u8]) -> Result<Vec<ResourceMetrics<'_>>, DecodeError> {
    let [count] = field_counts(body, [1])?;
    let mut out = Vec::with_capacity(count);
    let mut r = Reader::new(body);
    while let Some((n, v)) = r.next_field()? {
        if n == 1 {
            out.push(resource_metrics(v.bytes("resource_metrics")?)?);
        }
    }
    Ok(out)
}

fn resource_metrics(buf: &[u8]) -> Result<ResourceMetrics<'_>, DecodeError> {
    let mut rm = ResourceMetrics::default();
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => rm.resource = resource(v.bytes("resource")?)?,
            2 => rm.scope_metrics.push(scope_metrics(v.bytes("scope_metrics")?)?),
            _ => {}
        }
    }
    Ok(rm)
}

fn scope_metrics(buf: &[u8]) -> Result<ScopeMetrics<'_>, DecodeError> {
    let [metrics] = field_counts(buf, [2])?;
    let mut sm = ScopeMetrics { scope: Scope::default(), metrics: Vec::with_capacity(metrics) };
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => sm.scope = scope(v.bytes("scope")?)?,
            2 => sm.metrics.push(metric(v.bytes("metrics")?)?),
            _ => {}
        }
    }
    Ok(sm)
}

fn metric(buf: &[u8]) -> Result<Metric<'_>, DecodeError> {
    let mut m = Metric::default();
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => m.name = Cow::Borrowed(v.str("name")?),
            2 => m.description = Cow::Borrowed(v.str("description")?),
            3 => m.unit = Cow::Borrowed(v.str("unit")?),
            5 => m.data = MetricData::Gauge(points(v.bytes("gauge")?, number_point)?.0),
            7 => {
                let (points, temporality, monotonic) = points(v.bytes("sum")?, number_point)?;
                m.data = MetricData::Sum { points, temporality, monotonic };
            }
            9 => {
                let (points, temporality, _) = points(v.bytes("histogram")?, histogram_point)?;
                m.data = MetricData::Histogram { points, temporality };
            }
            10 => {
                let (points, temporality, _) = points(v.bytes("exponential_histogram")?, exponential_point)?;
                m.data = MetricData::ExponentialHistogram { points, temporality };
            }
            11 => m.data = MetricData::Summary(points(v.bytes("summary")?, summary_point)?.0),
            _ => {}
        }
    }
    Ok(m)
}

/// The data points (field 1), temporality (field 2) and monotonicity (field 3) of a metric's data message.
fn points<'a, T>(
    buf: &'a [u8],
    point: fn(&'a [u8]) -> Result<T, DecodeError>,
) -> Result<(Vec<T>, Temporality, bool), DecodeError> {
    let [count] = field_counts(buf, [1])?;
    let (mut out, mut temporality, mut monotonic) = (Vec::with_capacity(count), Temporality::Unspecified, false);
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => out.push(point(v.bytes("data_points")?)?),
            2 => temporality = Temporality::from_i64(v.varint("aggregation_temporality")? as i64).unwrap_or_default(),
            3 => monotonic = v.varint("is_monotonic")? != 0,
            _ => {}
        }
    }
    Ok((out, temporality, monotonic))
}

/// Reads the fields every point has; `attributes_field` differs between point types.
fn header_field<'a>(
    h: &mut PointHeader<'a>,
    n: u32,
    v: WireValue<'a>,
    attributes_field: u32,
) -> Result<bool, DecodeError> {
    match n {
        n if n == attributes_field => h.attributes.push(key_value(v.bytes("attributes")?)?),
        2 => h.start_time_unix_nano = v.fixed64("start_time_unix_nano")?,
        3 => h.time_unix_nano = v.fixed64("time_unix_nano")?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn number_point(buf: &[u8]) -> Result<NumberPoint<'_>, DecodeError> {
    let mut p = NumberPoint::default();
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        if header_field(&mut p.header, n, v, 7)? {
            continue;
        }
        match n {
            4 => p.value = v.double("as_double")?,
            6 => p.value = v.fixed64("as_int")? as i64 as f64,
            8 => p.header.flags = v.varint("flags")? as u32,
            _ => {}
        }
    }
    Ok(p)
}

fn histogram_point(buf: &[u8]) -> Result<HistogramPoint<'_>, DecodeError> {
    let mut p = HistogramPoint::default();
    let mut bounds = Vec::new();
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        if header_field(&mut p.header, n, v, 9)? {
            continue;
        }
        match n {
            4 => p.count = v.fixed64("count")?,
            5 => p.sum = Some(v.double("sum")?),
            6 => v.push_fixed64s("bucket_counts", &mut p.bucket_counts)?,
            7 => v.push_fixed64s("explicit_bounds", &mut bounds)?,
            10 => p.header.flags = v.varint("flags")? as u32,
            11 => p.min = Some(v.double("min")?),
            12 => p.max = Some(v.double("max")?),
            _ => {}
        }
    }
    p.explicit_bounds = bounds.into_iter().map(f64::from_bits).collect();
    Ok(p)
}

fn buckets(buf: &[u8]) -> Result<ExponentialBuckets, DecodeError> {
    let mut b = ExponentialBuckets::default();
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => b.offset = v.sint32("offset")?,
            2 => v.push_varints("bucket_counts", &mut b.bucket_counts)?,
            _ => {}
        }
    }
    Ok(b)
}

fn exponential_point(buf: &[u8]) -> Result<ExponentialHistogramPoint<'_>, DecodeError> {
    let mut p = ExponentialHistogramPoint::default();
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        if header_field(&mut p.header, n, v, 1)? {
            continue;
        }
        match n {
            4 => p.count = v.fixed64("count")?,
            5 => p.sum = Some(v.double("sum")?),
            6 => p.scale = v.sint32("scale")?,
            7 => p.zero_count = v.fixed64("zero_count")?,
            8 => p.positive = buckets(v.bytes("positive")?)?,
            9 => p.negative = buckets(v.bytes("negative")?)?,
            10 => p.header.flags = v.varint("flags")? as u32,
            12 => p.min = Some(v.double("min")?),
            13 => p.max = Some(v.double("max")?),
            14 => p.zero_threshold = v.double("zero_threshold")?,
            _ => {}
        }
    }
    Ok(p)
}

fn summary_point(buf: &[u8]) -> Result<SummaryPoint<'_>, DecodeError> {
    let mut p = SummaryPoint::default();
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        if header_field(&mut p.header, n, v, 7)? {
            continue;
        }
        match n {
            4 => p.count = v.fixed64("count")?,
            5 => p.sum = v.double("sum")?,
            6 => {
                let (mut q, mut value) = (0.0, 0.0);
                let mut qr = Reader::new(v.bytes("quantile_values")?);
                while let Some((n, v)) = qr.next_field()? {
                    match n {
                        1 => q = v.double("quantile")?,
                        2 => value = v.double("value")?,
                        _ => {}
                    }
                }
                p.quantiles.push((q, value));
            }
            8 => p.header.flags = v.varint("flags")? as u32,
            _ => {}
        }
    }
    Ok(p)
}
