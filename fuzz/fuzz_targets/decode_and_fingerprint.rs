//! Arbitrary bytes through the upload path: sniff, decode under limits, trim, hash, and query
//! an index holding the result. Any panic, overflow or allocation past the cap is a bug.
//!
//! Run: `cargo fuzz run decode_and_fingerprint` from the repository root (see
//! docs/BENCHMARKS-fingerprint.md for the flags used here).

#![no_main]

use libfuzzer_sys::fuzz_target;
use provenance_ledger::fingerprint::{fingerprint, DecodeLimits, MatchIndex};

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
        let json = serde_json_roundtrip(&fp);
        assert_eq!(json, fp);
    }
});

fn serde_json_roundtrip(
    fp: &provenance_ledger::fingerprint::Fingerprints,
) -> provenance_ledger::fingerprint::Fingerprints {
    let text = serde_json::to_string(fp).expect("serialises");
    serde_json::from_str(&text).expect("round-trips")
}
