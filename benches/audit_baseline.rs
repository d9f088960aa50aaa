//! Baseline for `bench/audit.sh`: only the log's Ed25519 signature on every entry of a
//! directory of downloaded entry bundles, checked on every core (signed-note parsing and
//! verification, as `EntryNote::open` does it; no schema, no tree hashing, no HTTP). The
//! audit's speed is reported as a ratio to this.
//!
//! `AUDIT_BASELINE_BUNDLES=DIR AUDIT_BASELINE_KEY=FILE cargo bench --bench audit_baseline`

use std::time::Instant;

use provenance_ledger::ledger::LogVerifier;

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
    let mut entries: Vec<Vec<u8>> = Vec::new();
    for file in std::fs::read_dir(&dir).expect("bundle directory") {
        let bundle = std::fs::read(file.unwrap().path()).unwrap();
        let mut rest = bundle.as_slice();
        while let [hi, lo, tail @ ..] = rest {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            entries.push(tail[..len].to_vec());
            rest = &tail[len..];
        }
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    std::thread::scope(|s| {
        for chunk in entries.chunks(entries.len().div_ceil(threads).max(1)) {
            let verifier = &verifier;
            s.spawn(move || {
                for entry in chunk {
                    verifier.open(entry).expect("a valid signature");
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "signature-only baseline: {} entries on {threads} threads in {seconds:.2} s: {:.0} entries/s",
        entries.len(),
        entries.len() as f64 / seconds
    );
}
