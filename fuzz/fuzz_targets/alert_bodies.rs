//! Feeds JSON request bodies to the alerting and key parsers: the first byte
//! picks `alerting::rule::AlertRule::parse`, `alerting::channel::Channel::parse`,
//! `alerting::slo::Slo::parse`, `alerting::incident::acknowledged_by`,
//! `api::keys::KeyRequest::parse` or `api::keys::parse_grace_seconds`; the
//! rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use observability_collector::alerting::channel::Channel;
use observability_collector::alerting::incident::acknowledged_by;
use observability_collector::alerting::rule::AlertRule;
use observability_collector::alerting::slo::Slo;
use observability_collector::api::keys::{parse_grace_seconds, KeyRequest};

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    match first % 6 {
        0 => drop(AlertRule::parse(body)),
        1 => drop(Channel::parse(body)),
        2 => drop(Slo::parse(body)),
        3 => drop(acknowledged_by(body)),
        4 => drop(KeyRequest::parse(body, 1_795_824_000_000.0)),
        _ => drop(parse_grace_seconds(body)),
    }
});
