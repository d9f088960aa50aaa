//! The local-feature stage at registry scale: candidate-index memory per work and query
//! latency (candidate lookup plus geometric verification of the best `VERIFY_TOP`) at 10^5 and
//! 10^6 registered works, next to the cost of verifying every work (brute force) measured in
//! the same run. Results and the command: docs/BENCHMARKS-fingerprint.md.
//!
//! Usage: local_index_scale ROBUSTNESS_DIR [SIZES]
//!   ROBUSTNESS_DIR: the output of `bench/robustness/run.py generate` (`registered.tsv`,
//!   `queries.tsv`, `kinds.json`); its works are registered, its partial copies are the queries
//!   and its first distractors supply real descriptors.
//!   SIZES: comma-separated registry sizes (default 100000,1000000).
//!   `CANDIDATE_PROBE_RADIUS` and `CANDIDATE_MIN_SUBSTRING_HITS`, when set, replace the
//!   candidate index's defaults (to compare settings on the same registry).
//!
//! The registry is filled up to each size with works made from real descriptors: each filler
//! work takes 200 descriptors drawn from the distractors' (which are not uniform: corners of
//! one kind describe alike, so some index keys are crowded) and flips 32 random bits of each,
//! about the distance between two different corners of the same kind, so no filler work is a
//! copy of anything. Each filler also takes the appearance grids (luma and chroma) of one of
//! the first 2,000 distractors, every cell moved by up to 3 levels, so the layout index holds
//! real pictures' layouts, many of them near-duplicates, as a large registry of wallpapers
//! would. Filler features are regenerated from their id when verified, as 10^6 works'
//! features would not fit in memory; the service reads them from the database.

use std::collections::HashMap;
use std::time::Instant;

use provenance_ledger::fingerprint::local::appearance::APPEARANCE_SIDE;
use provenance_ledger::fingerprint::local::{
    self, Appearance, CandidateIndex, CandidateParams, Descriptor, Feature, GeometryParams,
    Keypoint, LocalFeatures, VERIFY_TOP,
};
use provenance_ledger::fingerprint::{fingerprint_keeping_image, DecodeLimits};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

const PARTIAL: [&str; 6] = [
    "crop_5",
    "crop_15",
    "crop_20_asym",
    "rotate_5",
    "watermark",
    "caption_bar",
];
/// Filler work ids start here, far above the real works' ids.
const FILLER: u64 = 1 << 32;

fn read_tsv(path: &std::path::Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn features_of(path: &str) -> LocalFeatures {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (_, working) = fingerprint_keeping_image(&bytes, &DecodeLimits::default())
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    local::extract(&working)
}

fn filler(id: u64, pool: &[Descriptor], layouts: &[Appearance]) -> LocalFeatures {
    let mut rng = ChaCha8Rng::seed_from_u64(id);
    let mut appearance = layouts[rng.gen_range(0..layouts.len())].clone();
    let mut nudge = |v: &mut u8| *v = (i16::from(*v) + rng.gen_range(-3..=3)).clamp(0, 255) as u8;
    appearance.cells.iter_mut().for_each(&mut nudge);
    appearance.chroma.iter_mut().flatten().for_each(&mut nudge);
    let (width, height) = (
        u16::from(appearance.width) * 16,
        u16::from(appearance.height) * 16,
    );
    let features = (0..local::MAX_FEATURES)
        .map(|_| {
            let mut words = pool[rng.gen_range(0..pool.len())].0;
            for _ in 0..32 {
                let bit = rng.gen_range(0..256);
                words[bit / 64] ^= 1 << (bit % 64);
            }
            Feature {
                keypoint: Keypoint {
                    x: rng.gen_range(0.0..f32::from(width)),
                    y: rng.gen_range(0.0..f32::from(height)),
                    level: rng.gen_range(0..local::LEVELS as u8),
                    angle: rng.gen(),
                },
                descriptor: Descriptor(words),
            }
        })
        .collect();
    LocalFeatures {
        width,
        height,
        features,
        appearance,
        uncovered: None,
        filled_corners: false,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).expect("usage: local_index_scale DIR [SIZES]"));
    let sizes: Vec<usize> = args
        .get(2)
        .map_or("100000,1000000", String::as_str)
        .split(',')
        .map(|s| s.parse().expect("a size"))
        .collect();
    let kinds: HashMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("kinds.json")).unwrap()).unwrap();

    let mut real: HashMap<u64, LocalFeatures> = HashMap::new();
    for row in read_tsv(&dir.join("registered.tsv")) {
        real.insert(row[0].parse().unwrap(), features_of(&row[1]));
    }
    let rows = read_tsv(&dir.join("queries.tsv"));
    let queries: Vec<(u64, LocalFeatures)> = rows
        .iter()
        .filter(|r| PARTIAL.contains(&kinds[&r[0]].as_str()))
        .step_by(3)
        .take(300)
        .map(|r| (r[2].parse().unwrap(), features_of(&r[1])))
        .collect();
    let distractors: Vec<LocalFeatures> = rows
        .iter()
        .filter(|r| kinds[&r[0]] == "distractor")
        .take(2000)
        .map(|r| features_of(&r[1]))
        .collect();
    let pool: Vec<Descriptor> = distractors
        .iter()
        .flat_map(|f| f.features.iter().map(|f| f.descriptor))
        .collect();
    let layouts: Vec<Appearance> = distractors
        .into_iter()
        .map(|f| f.appearance)
        .filter(|a| a.has_chroma() && usize::from(a.width.max(a.height)) == APPEARANCE_SIDE)
        .collect();
    println!(
        "{} real works, {} partial-copy queries, {} real descriptors in the filler pool",
        real.len(),
        queries.len(),
        pool.len()
    );

    let params = GeometryParams::default();
    let env_or = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .map_or(default, |v| v.parse().expect("a number"))
    };
    let defaults = CandidateParams::default();
    let candidate_params = CandidateParams {
        probe_radius: env_or("CANDIDATE_PROBE_RADIUS", defaults.probe_radius as usize) as u32,
        min_substring_hits: env_or("CANDIDATE_MIN_SUBSTRING_HITS", defaults.min_substring_hits),
        ..defaults
    };
    println!("{candidate_params:?}");
    let mut index = CandidateIndex::new(candidate_params);
    for (id, f) in &real {
        index.insert(*id, f);
    }
    let mut fillers = 0usize;
    for size in sizes {
        let started = Instant::now();
        // In batches, so that only one batch of filler features is in memory at a time.
        while index.len() < size {
            let batch: Vec<(u64, LocalFeatures)> = (0..(size - index.len()).min(100_000))
                .map(|k| {
                    let id = FILLER + (fillers + k) as u64;
                    (id, filler(id, &pool, &layouts))
                })
                .collect();
            fillers += batch.len();
            index.extend(batch.iter().map(|(id, f)| (*id, f)));
        }
        let built_s = started.elapsed().as_secs_f64();
        let lookup = |id: u64| {
            if id >= FILLER {
                Some(filler(id, &pool, &layouts))
            } else {
                real.get(&id).cloned()
            }
        };
        let mut ms = Vec::new();
        let mut lookup_ms = Vec::new();
        let mut found = 0;
        let mut postings = 0usize;
        let (mut layout_postings, mut crowded) = (0usize, 0usize);
        for (expected, q) in &queries {
            let t = Instant::now();
            let candidates = index.candidates(q, VERIFY_TOP);
            lookup_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let verified = local::verify_candidates(q, &candidates, &params, lookup);
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            let stats = index.candidates_with_stats(q, VERIFY_TOP).1;
            postings += stats.postings_read;
            layout_postings += stats.layout_postings_read;
            crowded += stats.layout_crowded_keys;
            if verified
                .first()
                .is_some_and(|m| m.work == *expected && m.verification.is_match())
            {
                found += 1;
            }
        }
        ms.sort_by(f64::total_cmp);
        lookup_ms.sort_by(f64::total_cmp);
        // Brute force: every query against every work; one pair's cost, measured on real
        // works, times the registry's size.
        let t = Instant::now();
        let mut pairs = 0;
        for (_, q) in queries.iter().take(10) {
            for w in real.values().take(50) {
                std::hint::black_box(local::verify_pair(q, w, &params));
                pairs += 1;
            }
        }
        let pair_ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(pairs);
        println!(
            "n={} ({} real + {} filler): built in {built_s:.1} s; index {} bytes/work, process RSS {:.0} MiB; \
             query (candidates + verification of the top {VERIFY_TOP}) p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
             of which candidate lookup p50 {:.2} ms, p99 {:.2} ms; \
             postings read per query {:.0}, layout postings {:.0}, crowded layout keys skipped {:.1}; \
             true work found first and matched {found} of {}; \
             brute force: {pair_ms:.3} ms a pair -> {:.0} ms a query",
            index.len(),
            real.len(),
            fillers,
            index.memory_bytes() / index.len().max(1),
            rss_mib(),
            percentile(&ms, 0.5),
            percentile(&ms, 0.99),
            ms[ms.len() - 1],
            percentile(&lookup_ms, 0.5),
            percentile(&lookup_ms, 0.99),
            postings as f64 / queries.len() as f64,
            layout_postings as f64 / queries.len() as f64,
            crowded as f64 / queries.len() as f64,
            queries.len(),
            pair_ms * index.len() as f64,
        );
    }
}
