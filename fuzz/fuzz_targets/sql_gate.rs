//! Feeds UTF-8 text to the Grafana SQL proxy's gate (`query::sql_proxy::prepare`)
//! and checks that the SQL it prints is a fixed point: preparing it again is Ok
//! and prints the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use observability_collector::ingest::data_points::LAYOUTS;
use observability_collector::query::sql_proxy::prepare;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(q) = prepare(text, &LAYOUTS) {
        match prepare(&q.sql, &LAYOUTS) {
            Ok(again) => assert_eq!(again.sql, q.sql, "printing is not a fixed point for input {text:?}"),
            Err(e) => panic!("printed SQL {:?} (from {text:?}) is rejected: {e}", q.sql),
        }
    }
});
