//! Ledger cost as the log grows: appending one entry and proving one entry, at 10^3 to 10^6
//! leaves (10^7 with `LEDGER_BENCH_MAX=10000000`), next to the same run's baseline: rs_merkle
//! rebuilding its tree on every commit, which is what keeping the tree in rs_merkle would cost.
//!
//! `cargo bench --bench ledger`; results and the curve are recorded in docs/BENCHMARKS.md.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use provenance_ledger::ledger::{
    leaf_hash, prove_inclusion, BatchAppender, MemoryHashes, Rfc9162Hasher,
};

fn sizes() -> Vec<u64> {
    let max: u64 = std::env::var("LEDGER_BENCH_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    [1_000, 10_000, 100_000, 1_000_000, 10_000_000]
        .into_iter()
        .filter(|n| *n <= max)
        .collect()
}

fn entry(i: u64) -> Vec<u8> {
    format!("entry number {i} with some padding to look like a real note").into_bytes()
}

fn bench_append_and_prove(c: &mut Criterion) {
    for n in sizes() {
        let entries: Vec<Vec<u8>> = (0..n).map(entry).collect();
        let store = MemoryHashes::build(&entries);
        drop(entries);
        let new_entry = entry(n);

        let mut group = c.benchmark_group("append_one_entry");
        group.sample_size(20);
        group.bench_with_input(BenchmarkId::new("stored_hashes", n), &n, |b, &n| {
            b.iter(|| {
                let mut appender = BatchAppender::new(n, &store);
                appender.append(black_box(&new_entry)).unwrap();
                black_box(appender.root().unwrap())
            })
        });
        if n <= 1_000_000 {
            let leaves: Vec<[u8; 32]> = (0..n).map(|i| leaf_hash(&entry(i)).0).collect();
            let tree = rs_merkle::MerkleTree::<Rfc9162Hasher>::from_leaves(&leaves);
            drop(leaves);
            group.sample_size(10);
            group.bench_with_input(BenchmarkId::new("rs_merkle_rebuild", n), &n, |b, _| {
                b.iter_batched(
                    || tree.clone(),
                    |mut t| {
                        t.insert(leaf_hash(&new_entry).0).commit();
                        black_box(t.root())
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        group.finish();

        let mut group = c.benchmark_group("prove_one_entry");
        group.sample_size(20);
        let mut i = 0u64;
        group.bench_with_input(BenchmarkId::new("audit_path", n), &n, |b, &n| {
            b.iter(|| {
                i = (i * 7_919 + 13) % n;
                black_box(prove_inclusion(i, n, &store).unwrap())
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_append_and_prove);
criterion_main!(benches);
