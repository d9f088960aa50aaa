//! Baseline for `bench/audit.sh`: only the log's Ed25519 signature on every entry of a
//! directory of downloaded entry bundles, checked on every core (signed-note parsing and
//! verification; no schema, no tree hashing, no HTTP), twice: one `verify` per entry, as
//! `EntryNote::open` does it, and one `verify_batch` per bundle, as the audit does by default.
//! The audit's speed is reported as a ratio to these.
//!
//! `AUDIT_BASELINE_BUNDLES=DIR AUDIT_BASELINE_KEY=FILE cargo bench --bench audit_baseline`

use std::time::Instant;

use provenance_ledger::ledger::{LogVerifier, PendingSignature};

fn main() {
    let (Ok(dir), Ok(key)) = (
        std::env::var("AUDIT_BASELINE_BUNDLES"),
        std::env::var("AUDIT_BASELINE_KEY"),
    ) else {
        eprintln!(
            "skipped: set AUDIT_BASELINE_BUNDLES and AUDIT_BASELINE_KEY (bench/audit.sh does)"
        );
        return;
    };
    let verifier = LogVerifier::from_text(&std::fs::read_to_string(key).expect("key file"))
        .expect("a verifier key");
    let mut bundles: Vec<Vec<Vec<u8>>> = Vec::new();
    for file in std::fs::read_dir(&dir).expect("bundle directory") {
        let bundle = std::fs::read(file.unwrap().path()).unwrap();
        let mut entries = Vec::new();
        let mut rest = bundle.as_slice();
        while let [hi, lo, tail @ ..] = rest {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            entries.push(tail[..len].to_vec());
            rest = &tail[len..];
        }
        bundles.push(entries);
    }
    let count: usize = bundles.iter().map(Vec::len).sum();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = bundles.len().div_ceil(threads).max(1);
    let time = |check: &(dyn Fn(&[Vec<u8>]) + Sync)| {
        let started = Instant::now();
        std::thread::scope(|s| {
            for bundles in bundles.chunks(chunk) {
                s.spawn(move || bundles.iter().for_each(|bundle| check(bundle)));
            }
        });
        started.elapsed().as_secs_f64()
    };
    let one_by_one = time(&|bundle| {
        for entry in bundle {
            verifier.open(entry).expect("a valid signature");
        }
    });
    let batched = time(&|bundle| {
        let pending: Vec<PendingSignature> = bundle
            .iter()
            .map(|entry| verifier.open_pending(entry).expect("a signed note").1)
            .collect();
        PendingSignature::check_batch(&pending.iter().collect::<Vec<_>>())
            .expect("valid signatures");
    });
    for (how, seconds) in [("one by one", one_by_one), ("batched per bundle", batched)] {
        println!(
            "signature-only baseline, {how}: {count} entries on {threads} threads in {seconds:.2} s: {:.0} entries/s",
            count as f64 / seconds
        );
    }
}
