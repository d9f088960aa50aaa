//! Arbitrary bytes through the upload path: sniff, decode under limits, trim, hash, serialise,
//! and query an index holding the result. Any panic, overflow or allocation past the cap is a
//! bug; each crash found is kept as a regression test in `src/fingerprint/tests.rs`.
//!
//! Run from `fuzz/`: `cargo fuzz run decode_and_fingerprint` (flags used here:
//! docs/BENCHMARKS-fingerprint.md).

#![no_main]

#[allow(dead_code)]
#[path = "../../src/fingerprint/mod.rs"]
mod fingerprint;

use fingerprint::{fingerprint, DecodeLimits, Fingerprints, MatchIndex};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Tight limits keep each run fast and make the limit paths reachable.
    let limits = DecodeLimits {
        max_bytes: 1 << 20,
        max_pixels: 4_000_000,
        max_alloc: 64 << 20,
        ..DecodeLimits::default()
    };
    if let Ok(fp) = fingerprint(data, &limits) {
        let mut index = MatchIndex::new();
        index.insert(1, &fp);
        let out = index.query(&fp);
        assert_eq!(out.candidates.first().map(|c| c.work_id), Some(1));
        let text = serde_json::to_string(&fp).expect("serialises");
        let back: Fingerprints = serde_json::from_str(&text).expect("round-trips");
        assert_eq!(back, fp);
    }
});
