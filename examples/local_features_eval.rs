//! Local features (issue 7, first cut): time to compute an image's features, their serialised
//! size, candidate-index memory, and query time (index + geometric verification of the top
//! candidates) against N registered works, next to verifying every work (brute force) in the
//! same run. Results and the command: docs/BENCHMARKS-fingerprint.md.
//!
//! `LF_WORKS` (default 2000) generated pictures are registered with their real features;
//! `LF_SYNTHETIC` (default 0) more works with random descriptors can be added to see how the
//! index's query time grows (random descriptors spread over the tables more evenly than real
//! ones, so those numbers are a lower bound).

use std::hint::black_box;
use std::io::Cursor;
use std::path::PathBuf;
use std::time::Instant;

use image::imageops::{self, FilterType};
use image::{ImageFormat, RgbImage};
use provenance_ledger::fingerprint::decode::{decode, DecodeLimits};

#[path = "../src/fingerprint/local/scene.rs"]
mod scene;
use provenance_ledger::fingerprint::local::{
    extract, search, verify_pair, CandidateIndex, Descriptor, Feature, GeometryParams, Keypoint,
    LocalFeatures, VERIFY_TOP,
};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use scene::scene;

fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summary(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n={})",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms[ms.len() - 1],
        ms.len()
    )
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let limits = DecodeLimits::default();
    let n_works = env("LF_WORKS", 2000);
    let n_synthetic = env("LF_SYNTHETIC", 0);
    let params = GeometryParams::default();

    // 1. Feature time per image (working image already decoded), and serialised size.
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("contracts/pdq-fixtures");
    let mut inputs: Vec<(String, Vec<u8>)> =
        ["astronaut.png", "camera.png", "chelsea.png", "coffee.jpg"]
            .iter()
            .map(|n| (n.to_string(), std::fs::read(fixtures.join(n)).unwrap()))
            .collect();
    inputs.push((
        "scene 512x384 png".into(),
        encode(&scene(512, 384, 1), ImageFormat::Png),
    ));
    inputs.push((
        "scene 1920x1080 jpeg (working image 512x288)".into(),
        encode(
            &imageops::resize(&scene(512, 288, 2), 1920, 1080, FilterType::Triangle),
            ImageFormat::Jpeg,
        ),
    ));
    println!("## feature time per image (extract on the decoded working image)");
    for (name, bytes) in &inputs {
        let working = decode(bytes, &limits).unwrap();
        let mut times = Vec::new();
        let mut f = LocalFeatures::default();
        for _ in 0..30 {
            let t = Instant::now();
            f = black_box(extract(&working));
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "{name}: {} features, {} bytes serialised; {}",
            f.features.len(),
            f.to_bytes().len(),
            summary(times)
        );
    }

    // 2. Register N generated works.
    let started = Instant::now();
    let mut works: Vec<(u64, RgbImage, LocalFeatures)> = Vec::with_capacity(n_works);
    let mut index = CandidateIndex::default();
    let mut extract_ms = Vec::new();
    for seed in 0..n_works as u64 {
        let img = scene(384, 288, 1000 + seed);
        let working = decode(&encode(&img, ImageFormat::Png), &limits).unwrap();
        let t = Instant::now();
        let f = extract(&working);
        extract_ms.push(t.elapsed().as_secs_f64() * 1e3);
        index.insert(seed, &f);
        works.push((seed, img, f));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for s in 0..n_synthetic as u64 {
        let f = LocalFeatures {
            width: 384,
            height: 288,
            features: (0..200)
                .map(|_| Feature {
                    keypoint: Keypoint {
                        x: rng.gen_range(0.0..384.0),
                        y: rng.gen_range(0.0..288.0),
                        level: 0,
                        angle: 0,
                    },
                    descriptor: Descriptor([rng.gen(), rng.gen(), rng.gen(), rng.gen()]),
                })
                .collect(),
            ..LocalFeatures::default()
        };
        index.insert(1_000_000 + s, &f);
    }
    index.rebuild();
    let total = index.len();
    println!(
        "\n## index: {total} works ({n_works} real, {n_synthetic} random), built in {:.1} s; {} bytes/work; features of 384x288 works: {}",
        started.elapsed().as_secs_f64(),
        index.memory_bytes() / total.max(1),
        summary(extract_ms)
    );

    // 3. Queries: 15% crops of registered works enlarged back, and unregistered pictures.
    let lookup = |id: u64| works.get(id as usize).map(|w| w.2.clone());
    let mut query_ms = Vec::new();
    let mut verify_ms = Vec::new();
    let mut found = 0;
    let mut postings = 0;
    let queries = 200.min(n_works);
    for q in 0..queries {
        let id = (q * n_works / queries) as u64;
        let img = &works[id as usize].1;
        let (w, h) = img.dimensions();
        let crop = imageops::crop_imm(img, w * 7 / 100, h * 8 / 100, w * 85 / 100, h * 85 / 100)
            .to_image();
        let copy = imageops::resize(&crop, w, h, FilterType::Triangle);
        let qf = extract(&decode(&encode(&copy, ImageFormat::Jpeg), &limits).unwrap());
        let t = Instant::now();
        let hits = search(&index, &qf, VERIFY_TOP, &params, lookup);
        query_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let (_, stats) = index.candidates_with_stats(&qf, 5);
        postings += stats.postings_read;
        if hits
            .first()
            .is_some_and(|h| h.work == id && h.verification.is_match())
        {
            found += 1;
        }
        // Brute force: verify against every registered work (a sample of 50 measured).
        if q < 5 {
            let t = Instant::now();
            for (_, _, wf) in works.iter().take(50) {
                black_box(verify_pair(&qf, wf, &params));
            }
            verify_ms.push(t.elapsed().as_secs_f64() * 1e3 / 50.0);
        }
    }
    let mut false_positives = 0;
    for seed in 0..50u64 {
        let qf = extract(
            &decode(
                &encode(&scene(384, 288, 900_000 + seed), ImageFormat::Png),
                &limits,
            )
            .unwrap(),
        );
        let hits = search(&index, &qf, VERIFY_TOP, &params, lookup);
        false_positives += hits.iter().filter(|h| h.verification.is_match()).count();
    }
    verify_ms.sort_by(f64::total_cmp);
    let pair_ms = percentile(&verify_ms, 0.5);
    println!(
        "\n## queries (15% crop enlarged back, JPEG): found {found} of {queries}; unregistered pictures matched: {false_positives} of 50\n\
         index + verification of the top {VERIFY_TOP}: {}\n\
         postings read per query: {:.0}\n\
         brute force: {pair_ms:.3} ms per query-work pair -> {:.1} ms per query at {total} works",
        summary(query_ms),
        postings as f64 / queries as f64,
        pair_ms * total as f64
    );
}
