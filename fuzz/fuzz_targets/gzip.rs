//! Feeds request bodies to `otlp::decompress` with `Content-Encoding: gzip`
//! (and, from the first byte, the other spellings it accepts) under a 1 MiB limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use observability_collector::otlp::decompress;

const LIMIT: usize = 1 << 20;
const ENCODINGS: [Option<&str>; 6] = [Some("gzip"), Some("x-gzip"), Some(" GZIP "), Some("identity"), None, Some("br")];

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    // Mostly gzip: the other encodings are trivial.
    let encoding = if first < 0xf0 { Some("gzip") } else { ENCODINGS[usize::from(first) % ENCODINGS.len()] };
    let _ = decompress(body, encoding, LIMIT);
});
