//! Fingerprinting throughput and match-index query latency, with a brute-force scan baseline
//! measured in the same run. Results and commands: docs/BENCHMARKS-fingerprint.md.
//!
//! `FP_BENCH_SIZES=1000000,10000000 cargo bench --bench fingerprint` picks the index sizes
//! (default 10^6; 10^7 needs a few GB and a minute to build); `FP_BENCH_SKIP_THROUGHPUT=1`
//! skips the criterion throughput group. Latency percentiles are measured per query by hand:
//! criterion reports means, and the target is a p99.

use std::io::Cursor;
use std::time::Duration;

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use provenance_ledger::fingerprint::index::PDQ_MIN_QUALITY;
use provenance_ledger::fingerprint::{
    fingerprint, ColourLayout, DecodeLimits, Fingerprints, MatchIndex, PHash, PdqHash,
    Sha256Digest, ALGORITHM_VERSION,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn photo_like(width: u32, height: u32) -> RgbImage {
    let mut rng = StdRng::seed_from_u64(9);
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let base = 120.0 + 80.0 * (7.0 * fx + 3.0 * fy).sin() * (5.0 * fy).cos();
        let n: f32 = rng.gen_range(-12.0..12.0);
        let v = |o: f32| (base + o + n).clamp(0.0, 255.0) as u8;
        Rgb([v(0.0), v(20.0 * fx), v(-30.0 * fy)])
    })
}

fn encode(img: RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

fn bench_fingerprint(c: &mut Criterion) {
    let mut group = c.benchmark_group("fingerprint");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    let limits = DecodeLimits::default();
    for (name, bytes) in [
        (
            "jpeg_12mp_4000x3000",
            encode(photo_like(4000, 3000), ImageFormat::Jpeg),
        ),
        (
            "jpeg_2mp_1920x1080",
            encode(photo_like(1920, 1080), ImageFormat::Jpeg),
        ),
        (
            "png_1mp_1200x800",
            encode(photo_like(1200, 800), ImageFormat::Png),
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| fingerprint(black_box(&bytes), &limits).unwrap())
        });
    }
    group.finish();
}

fn random_fp(rng: &mut StdRng) -> Fingerprints {
    let pdq = PdqHash([rng.gen(), rng.gen(), rng.gen(), rng.gen()]);
    let phash = PHash(rng.gen());
    let mut pdq_dihedral = [pdq; 8];
    let mut phash_dihedral = [phash; 8];
    for k in 1..8 {
        pdq_dihedral[k] = PdqHash([rng.gen(), rng.gen(), rng.gen(), rng.gen()]);
        phash_dihedral[k] = PHash(rng.gen());
    }
    let mut sha = [0u8; 32];
    rng.fill(&mut sha);
    let untrusted = rng.gen_ratio(1, 20);
    Fingerprints {
        algorithm: ALGORITHM_VERSION.into(),
        sha256: Sha256Digest(sha),
        format: "jpg".into(),
        width: 1,
        height: 1,
        pdq,
        // About one registered photograph in twenty is too flat or dark for PDQ to be trusted
        // (measured on the robustness corpus); those are searched by pHash as well, and the
        // index keeps their colour layouts.
        pdq_quality: if untrusted { PDQ_MIN_QUALITY - 5 } else { 100 },
        pdq_dihedral,
        phash,
        phash_dihedral,
        trimmed: false,
        pdq_untrimmed_dihedral: None,
        colour_layout: untrusted.then(|| ColourLayout(rng.gen())),
        pdq_outer_trim: None,
    }
}

/// The baseline: every registered code against all eight query variants, popcount only.
fn brute_force(codes: &[[u64; 4]], q: &Fingerprints, radius: u32) -> usize {
    let mut hits = 0;
    for pdq in codes {
        let best = q
            .pdq_dihedral
            .iter()
            .map(|v| {
                (v.0[0] ^ pdq[0]).count_ones()
                    + (v.0[1] ^ pdq[1]).count_ones()
                    + (v.0[2] ^ pdq[2]).count_ones()
                    + (v.0[3] ^ pdq[3]).count_ones()
            })
            .min()
            .unwrap();
        hits += usize::from(best <= radius);
    }
    hits
}

fn flip(code: &mut [u64; 4], bits: usize, rng: &mut StdRng) {
    let mut flipped = 0;
    while flipped < bits {
        let b = rng.gen_range(0..256);
        let before = *code;
        code[b / 64] |= 1 << (b % 64);
        if before != *code {
            flipped += 1;
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(label: &str, mut micros: Vec<f64>) {
    micros.sort_by(f64::total_cmp);
    let mean = micros.iter().sum::<f64>() / micros.len() as f64;
    eprintln!(
        "{label}: {} queries, mean {:.0} us, p50 {:.0} us, p99 {:.0} us, max {:.0} us",
        micros.len(),
        mean,
        percentile(&micros, 0.5),
        percentile(&micros, 0.99),
        micros.last().unwrap()
    );
}

/// Query latency percentiles at each size in `FP_BENCH_SIZES` (default 10^6), for random codes
/// and for clustered ones (groups of 100 codes within 8..64 bits of a common centre, like many
/// edits of one photograph), with the brute-force scan measured in the same run.
fn index_latency() {
    let sizes: Vec<usize> = std::env::var("FP_BENCH_SIZES")
        .unwrap_or_else(|_| "1000000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("FP_BENCH_SIZES: comma-separated sizes")
        })
        .collect();
    let queries: usize = std::env::var("FP_BENCH_QUERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    for n in sizes {
        for clustered in [false, true] {
            let kind = if clustered { "clustered" } else { "random" };
            let mut rng = StdRng::seed_from_u64(n as u64 + u64::from(clustered));
            let mut centre = [0u64; 4];
            let mut codes: Vec<[u64; 4]> = Vec::with_capacity(n);
            for i in 0..n {
                let mut code = [rng.gen(), rng.gen(), rng.gen(), rng.gen()];
                if clustered {
                    if i % 100 == 0 {
                        centre = code;
                    }
                    code = centre;
                    let spread = rng.gen_range(8..=64);
                    flip(&mut code, spread, &mut rng);
                }
                codes.push(code);
            }
            let mut index = MatchIndex::new();
            let started = Instant::now();
            index.extend(codes.iter().enumerate().map(|(id, code)| {
                let mut fp = random_fp(&mut rng);
                fp.pdq = PdqHash(*code);
                fp.pdq_dihedral[0] = fp.pdq;
                (id as i64, fp)
            }));
            eprintln!(
                "n={n} {kind}: built in {:.1} s; memory_bytes()/len = {} bytes per work",
                started.elapsed().as_secs_f64(),
                index.memory_bytes() / index.len()
            );
            let radius = index.thresholds().pdq_possible;
            // Near copies: a registered code 16 bits away, seen in a random orientation;
            // misses: unrelated uploads.
            let mut near = Vec::with_capacity(queries);
            let mut miss = Vec::with_capacity(queries);
            for _ in 0..queries {
                let target = rng.gen_range(0..n);
                let mut q = random_fp(&mut rng);
                let mut code = codes[target];
                flip(&mut code, 16, &mut rng);
                q.pdq_dihedral[rng.gen_range(0..8)] = PdqHash(code);
                near.push((target, q));
                miss.push(random_fp(&mut rng));
            }
            let mut times = Vec::with_capacity(queries);
            for (target, q) in &near {
                let t0 = Instant::now();
                let out = black_box(index.query(black_box(q)));
                times.push(t0.elapsed().as_secs_f64() * 1e6);
                assert!(out.candidates.iter().any(|c| c.work_id == *target as i64));
            }
            report(&format!("n={n} {kind} MIH near copy"), times);
            let times = miss
                .iter()
                .map(|q| {
                    let t0 = Instant::now();
                    black_box(index.query(black_box(q)));
                    t0.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            report(&format!("n={n} {kind} MIH unrelated"), times);
            let brute = (queries / 40).max(5);
            let times = near
                .iter()
                .take(brute)
                .map(|(_, q)| {
                    let t0 = Instant::now();
                    black_box(brute_force(&codes, black_box(q), radius));
                    t0.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            report(
                &format!("n={n} {kind} brute-force popcount scan, 8 orientations"),
                times,
            );
        }
    }
}

fn main() {
    if std::env::var_os("FP_BENCH_SKIP_THROUGHPUT").is_none() {
        let mut c = Criterion::default().configure_from_args();
        bench_fingerprint(&mut c);
        c.final_summary();
    }
    index_latency();
}
