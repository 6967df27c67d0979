//! Feeds OTLP/HTTP export bodies to `otlp::decode_logs`: the first byte picks
//! the encoding (even: JSON, odd: protobuf), the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use observability_collector::otlp::{decode_logs, Encoding};

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    let encoding = if first % 2 == 0 { Encoding::Json } else { Encoding::Protobuf };
    let _ = decode_logs(body, encoding);
});
