//! Fingerprinting throughput and match-index query latency, with a brute-force scan baseline
//! measured in the same run. Results and commands: docs/BENCHMARKS-fingerprint.md.
//!
//! `FP_BENCH_SIZES=1000000,10000000 cargo bench --bench fingerprint` picks the index sizes
//! (default 10^6; 10^7 needs about 4 GB and a minute to build).

use std::io::Cursor;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use provenance_ledger::fingerprint::{
    fingerprint, DecodeLimits, Fingerprints, MatchIndex, PHash, PdqHash, Sha256Digest,
    ALGORITHM_VERSION,
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
    Fingerprints {
        algorithm: ALGORITHM_VERSION.into(),
        sha256: Sha256Digest(sha),
        format: "jpg".into(),
        width: 1,
        height: 1,
        pdq,
        pdq_quality: 100,
        pdq_dihedral,
        phash,
        phash_dihedral,
        trimmed: false,
    }
}

/// The baseline: every registered code against all eight query variants.
fn brute_force(codes: &[([u64; 4], u64)], q: &Fingerprints, pdq_r: u32, ph_r: u32) -> usize {
    let mut hits = 0;
    for (pdq, ph) in codes {
        let pd = q.pdq_dihedral.iter().map(|v| {
            (v.0[0] ^ pdq[0]).count_ones()
                + (v.0[1] ^ pdq[1]).count_ones()
                + (v.0[2] ^ pdq[2]).count_ones()
                + (v.0[3] ^ pdq[3]).count_ones()
        });
        let hd = q.phash_dihedral.iter().map(|v| (v.0 ^ ph).count_ones());
        if pd.min().unwrap() <= pdq_r || hd.min().unwrap() <= ph_r {
            hits += 1;
        }
    }
    hits
}

fn bench_index(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("FP_BENCH_SIZES")
        .unwrap_or_else(|_| "1000000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("FP_BENCH_SIZES: comma-separated sizes")
        })
        .collect();
    let mut group = c.benchmark_group("index_query");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    for n in sizes {
        let mut rng = StdRng::seed_from_u64(n as u64);
        let mut index = MatchIndex::new();
        let mut codes = Vec::with_capacity(n);
        let started = std::time::Instant::now();
        index.extend((0..n as i64).map(|id| {
            let fp = random_fp(&mut rng);
            codes.push((fp.pdq.0, fp.phash.0));
            (id, fp)
        }));
        eprintln!(
            "n={n}: built in {:.1} s, {} bytes per work",
            started.elapsed().as_secs_f64(),
            index.memory_bytes() / n
        );
        // A near copy (flipped, 20 PDQ bits and 3 pHash bits away) and an unrelated upload.
        let mut hit = random_fp(&mut rng);
        let target = codes[n / 2];
        let mut near = target.0;
        for b in 0..20 {
            near[b % 4] ^= 1 << (b * 3);
        }
        hit.pdq_dihedral[4] = PdqHash(near);
        hit.phash_dihedral[4] = PHash(target.1 ^ 0b111);
        let miss = random_fp(&mut rng);
        let t = *index.thresholds();
        assert_eq!(index.query(&hit).candidates[0].work_id, (n / 2) as i64);
        for (label, q) in [("near_copy", &hit), ("no_match", &miss)] {
            group.bench_with_input(BenchmarkId::new(format!("mih_{label}"), n), q, |b, q| {
                b.iter(|| index.query(black_box(q)))
            });
            group.bench_with_input(
                BenchmarkId::new(format!("brute_force_{label}"), n),
                q,
                |b, q| {
                    b.iter(|| brute_force(&codes, black_box(q), t.pdq_possible, t.phash_possible))
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench_fingerprint, bench_index);
criterion_main!(benches);
