//! Arbitrary bytes through the upload path: sniff, decode under limits, trim, hash (the colour
//! layout too, compared with itself), serialise, query an index holding the result, and the
//! second stage: local features, their stored form, the candidate index and the geometric
//! verification. The same bytes are also read as stored local features, the one parser of the
//! second stage that reads data from outside. Any panic, overflow or allocation past the cap
//! is a bug; each crash found is kept as a regression test in `src/fingerprint/tests.rs`.
//!
//! Run from `fuzz/`: `cargo fuzz run decode_and_fingerprint` (flags used here:
//! docs/BENCHMARKS-fingerprint.md).

#![no_main]

#[allow(dead_code)]
#[path = "../../src/fingerprint/mod.rs"]
mod fingerprint;

use fingerprint::local::{self, CandidateIndex, GeometryParams, LocalEvidence, LocalFeatures};
use fingerprint::{fingerprint_keeping_image, DecodeLimits, Fingerprints, MatchIndex};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Tight limits keep each run fast and make the limit paths reachable.
    let limits = DecodeLimits {
        max_bytes: 1 << 20,
        max_pixels: 4_000_000,
        max_alloc: 64 << 20,
        ..DecodeLimits::default()
    };
    if let Ok(stored) = LocalFeatures::from_bytes(data) {
        let mut again = stored.to_bytes();
        if data[3] < 3 {
            // Format 1 has no grids and format 2 no chroma grid; ours appends empty ones (two
            // size bytes each).
            again[3] = data[3];
            again.truncate(again.len() - 2 * usize::from(3 - data[3]));
        }
        assert_eq!(again, data, "a parsed feature set re-serialises exactly");
    }
    if let Ok((fp, working)) = fingerprint_keeping_image(data, &limits) {
        let mut index = MatchIndex::new();
        index.insert(1, &fp);
        let out = index.query(&fp);
        assert_eq!(out.candidates.first().map(|c| c.work_id), Some(1));
        let text = serde_json::to_string(&fp).expect("serialises");
        let back: Fingerprints = serde_json::from_str(&text).expect("round-trips");
        assert_eq!(back, fp);
        if let Some(layout) = fp.colour_layout {
            let own = fingerprint::colour::compare(&layout, &layout);
            assert_eq!(own.chroma_residual, 0.0, "{own:?}");
            assert!(own.correlation == 0.0 || own.correlation > 0.999, "{own:?}");
        }

        let features = local::extract(&working);
        let bytes = features.to_bytes();
        assert!(bytes.len() <= 8 * 1024);
        let parsed = LocalFeatures::from_bytes(&bytes).expect("our own bytes parse");
        assert_eq!(parsed, features);
        // Matched as an upload against itself registered: with its caption bands, if any,
        // set aside as well.
        let upload = local::extract_upload(&working);
        if let Some(u) = &upload.uncovered {
            assert!(u.top < u.bottom && u.bottom <= upload.height);
        }
        let mut candidates = CandidateIndex::default();
        candidates.insert(1, &features);
        let found = candidates.candidates(&upload, local::VERIFY_TOP);
        let verified = local::verify_candidates(&upload, &found, &GeometryParams::default(), |_| {
            Some(features.clone())
        });
        let size = features.size();
        let aligners = [local::appearance::align, local::appearance::align_turned];
        for own in aligners
            .iter()
            .filter_map(|align| align(&features.appearance, size, &features.appearance, size))
        {
            assert!(own.luma.correlation.is_finite() && own.chroma_residual.is_finite());
        }
        for m in &verified {
            if let Some(evidence) = LocalEvidence::of(&m.verification, &upload, &features) {
                assert!(evidence.work_region.iter().all(|v| (0.0..=1.0).contains(v)));
            }
        }
        let _ = out.with_local(verified.iter().filter_map(|m| Some((1, m.evidence?))));
    }
});
