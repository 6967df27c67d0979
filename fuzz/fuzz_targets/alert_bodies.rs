//! Feeds JSON request bodies to the alerting parsers: the first byte picks
//! `alerting::rule::AlertRule::parse`, `alerting::channel::Channel::parse`,
//! `alerting::slo::Slo::parse` or `alerting::incident::acknowledged_by`;
//! the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use observability_collector::alerting::channel::Channel;
use observability_collector::alerting::incident::acknowledged_by;
use observability_collector::alerting::rule::AlertRule;
use observability_collector::alerting::slo::Slo;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    match first % 4 {
        0 => drop(AlertRule::parse(body)),
        1 => drop(Channel::parse(body)),
        2 => drop(Slo::parse(body)),
        _ => drop(acknowledged_by(body)),
    }
});
