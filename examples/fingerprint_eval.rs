//! Driver for the robustness benchmark (`bench/robustness/run.py`): registers works, queries
//! uploads, and prints one JSON line per query with the decision of both matching stages (as
//! the service takes it: the local-feature stage only when the global stage has not decided a
//! match), the global stage's own decision, and the raw distances used to tune thresholds.
//!
//! `LOCAL_ALWAYS=1` runs the local-feature stage on every query, to measure it alone. Where
//! the local stage ran on a copy, `local_true` is the true work's rank among the candidates
//! (null when the index did not propose it) and its direct verification (inliers, decision,
//! correspondences, appearance correlation, and its relaxed verification as below), computed
//! outside the timed part; and
//! `local_relaxed` lists every proposed candidate verified again with a floor of 6 inliers and
//! no appearance rule (work, inliers, decision, appearance correlation), so that the
//! appearance rule's floors can be replayed offline.
//!
//! Usage: fingerprint_eval REGISTERED.tsv QUERIES.tsv > results.jsonl
//!   REGISTERED.tsv: `work_id<TAB>path` per line
//!   QUERIES.tsv:    `query_id<TAB>path<TAB>expected_work_id` (-1 for a distractor)

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::time::Instant;

use provenance_ledger::fingerprint::index::PDQ_MIN_QUALITY;
use provenance_ledger::fingerprint::local::appearance::{Aligner, Alignment};
use provenance_ledger::fingerprint::local::{
    self, CandidateIndex, GeometryParams, LocalFeatures, VERIFY_TOP,
};
use provenance_ledger::fingerprint::{
    fingerprint_keeping_image, Decision, DecodeLimits, Fingerprints, MatchIndex,
};

fn read_tsv(path: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Time this thread has spent on a CPU, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`, which
/// Python's `time.thread_time` reads too). Wall time on a shared machine also counts the slices
/// other processes ran in; the speed comparison (bench/robustness/run.py) reads both sides'
/// CPU time from the same clock. The scheduler statistics in /proc were tried first: they are
/// brought up to date only at ticks and context switches, so per-query deltas were wrong.
fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// An alignment as the driver records it: [work, layout distance, luma correlation, chroma
/// residual, work chroma, luma gain, luma shift, chroma gain, plain correlation, luma ratio].
fn alignment_json(work: u64, distance: Option<u32>, a: &Alignment) -> serde_json::Value {
    serde_json::json!([
        work,
        distance,
        a.luma.correlation,
        a.chroma_residual,
        a.work_chroma,
        a.luma_gain,
        a.luma_shift,
        a.chroma_gain,
        a.plain_correlation,
        a.luma_ratio
    ])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: fingerprint_eval REGISTERED.tsv QUERIES.tsv");
        std::process::exit(2);
    }
    let limits = DecodeLimits::default();
    let local_always = std::env::var_os("LOCAL_ALWAYS").is_some();
    let mut works: Vec<(i64, Fingerprints)> = Vec::new();
    let mut features: HashMap<u64, LocalFeatures> = HashMap::new();
    let mut candidates = CandidateIndex::default();
    for row in read_tsv(&args[1]) {
        let id: i64 = row[0].parse().expect("work id");
        let bytes = std::fs::read(&row[1]).expect("registered file");
        let (fp, working) = fingerprint_keeping_image(&bytes, &limits)
            .unwrap_or_else(|e| panic!("{}: {e}", row[1]));
        let local = local::extract(&working);
        candidates.insert(id as u64, &local);
        features.insert(id as u64, local);
        works.push((id, fp));
    }
    let mut index = MatchIndex::new();
    index.extend(works.iter().map(|(id, fp)| (*id, fp)));
    eprintln!(
        "registered {} works; local candidate index {} bytes a work",
        index.len(),
        candidates.memory_bytes() / index.len().max(1)
    );
    let params = GeometryParams::default();
    // Fewer inliers than the service asks for, to replay offline how far the appearance grid
    // could stand in for keypoints (`local_relaxed` below).
    let relaxed = GeometryParams {
        min_inliers: 6,
        min_appearance_correlation: f64::INFINITY,
        ..GeometryParams::default()
    };

    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    let mut total_ms = 0.0;
    let mut total_cpu_ms = 0.0;
    let mut total_local_cpu_ms = 0.0;
    let mut local_runs = 0usize;
    let queries = read_tsv(&args[2]);
    for row in &queries {
        let expected: i64 = row[2].parse().expect("expected work id");
        let bytes = std::fs::read(&row[1]).expect("query file");
        let cpu_started = thread_cpu_ns();
        let started = Instant::now();
        let result = fingerprint_keeping_image(&bytes, &limits);
        let fp_ms = started.elapsed().as_secs_f64() * 1e3;
        let cpu_ms = cpu_started
            .zip(thread_cpu_ns())
            .map(|(a, b)| (b - a) as f64 / 1e6);
        total_ms += fp_ms;
        total_cpu_ms += cpu_ms.unwrap_or(0.0);
        let line = match result {
            Err(e) => {
                serde_json::json!({"query": row[0], "expected": expected, "error": e.to_string()})
            }
            Ok((fp, working)) => {
                let global = index.query(&fp);
                let global_best = global.candidates.first().map(|c| c.work_id);
                let global_decision = global.decision;
                // The second stage, timed apart: features, candidates, verification.
                let run_local = local_always || global.decision != Decision::Match;
                let local_cpu_started = thread_cpu_ns();
                let (outcome, local_best, local_true) = if run_local {
                    let query = local::extract_upload(&working);
                    let found = candidates.candidates(&query, VERIFY_TOP);
                    let verified = local::verify_candidates(&query, &found, &params, |id| {
                        features.get(&id).cloned()
                    });
                    let best = verified.first().map(|m| {
                        (
                            m.work as i64,
                            m.verification.inliers,
                            m.verification.decision,
                            m.verification.matches,
                        )
                    });
                    let outcome = global.with_local(
                        verified
                            .into_iter()
                            .filter_map(|m| Some((m.work as i64, m.evidence?))),
                    );
                    (outcome, best, Some((query, found)))
                } else {
                    (global, None, None)
                };
                let local_cpu_ms = local_cpu_started
                    .zip(thread_cpu_ns())
                    .filter(|_| run_local)
                    .map(|(a, b)| (b - a) as f64 / 1e6);
                if let Some(ms) = local_cpu_ms {
                    total_local_cpu_ms += ms;
                    local_runs += 1;
                }
                // Untimed: the true work verified directly, whether or not the index proposed
                // it, and its rank among the proposals, to tell a candidate-stage miss from a
                // verification that refused.
                let relaxed_of = |query: &LocalFeatures, work: u64| {
                    let v = local::verify_pair(query, features.get(&work)?, &relaxed);
                    Some(serde_json::json!([
                        work,
                        v.inliers,
                        v.decision,
                        v.appearance
                    ]))
                };
                // Every candidate the layout index proposed, aligned whatever the thresholds:
                // [work, layout distance, luma correlation, chroma residual, work chroma].
                let aligned_with =
                    |align: Aligner, query: &LocalFeatures, work: u64, distance: Option<u32>| {
                        let w = features.get(&work)?;
                        let a = align(&w.appearance, w.size(), &query.appearance, query.size())?;
                        Some(alignment_json(work, distance, &a))
                    };
                let aligned_of = |query: &LocalFeatures, work: u64, distance: Option<u32>| {
                    aligned_with(local::appearance::align, query, work, distance)
                };
                // Rows of the feature image a caption band leaves, when one was found.
                let uncovered_rows = local_true.as_ref().and_then(|(query, _)| {
                    let u = query.uncovered.as_ref()?;
                    Some([u.top, u.bottom, query.height])
                });
                let filled_corners = local_true.as_ref().map(|(query, _)| query.filled_corners);
                let local_aligned: Option<Vec<serde_json::Value>> =
                    local_true.as_ref().map(|(query, found)| {
                        let mut out: Vec<serde_json::Value> = found
                            .iter()
                            .filter(|c| c.layout_distance.is_some())
                            .filter_map(|c| aligned_of(query, c.work, c.layout_distance))
                            .collect();
                        if expected >= 0
                            && !found
                                .iter()
                                .any(|c| c.work == expected as u64 && c.layout_distance.is_some())
                        {
                            out.extend(aligned_of(query, expected as u64, None));
                        }
                        out
                    });
                // When a caption band was found: every layout-proposed work, and the true one,
                // aligned with what the band leaves of the query; the same fields as above.
                let local_aligned_uncovered = local_true.as_ref().and_then(|(query, found)| {
                    let (view, _) = query.uncovered_view()?;
                    let mut out: Vec<serde_json::Value> = found
                        .iter()
                        .filter(|c| c.layout_distance.is_some() && c.work != expected as u64)
                        .filter_map(|c| aligned_of(&view, c.work, c.layout_distance))
                        .collect();
                    if expected >= 0 {
                        out.extend(aligned_of(&view, expected as u64, None));
                    }
                    Some(out)
                });
                // For an upload with filled corners: every layout-proposed work, and the true
                // one, aligned as a whole turned copy; the same fields as above.
                let local_aligned_turned = local_true.as_ref().and_then(|(query, found)| {
                    if !query.filled_corners {
                        return None;
                    }
                    let turned_of = |work: u64, distance: Option<u32>| {
                        aligned_with(local::appearance::align_turned, query, work, distance)
                    };
                    let mut out: Vec<serde_json::Value> = found
                        .iter()
                        .filter(|c| c.layout_distance.is_some() && c.work != expected as u64)
                        .filter_map(|c| turned_of(c.work, c.layout_distance))
                        .collect();
                    if expected >= 0 {
                        out.extend(turned_of(expected as u64, None));
                    }
                    Some(out)
                });
                let local_relaxed: Option<Vec<serde_json::Value>> =
                    local_true.as_ref().map(|(query, found)| {
                        found
                            .iter()
                            .filter_map(|c| relaxed_of(query, c.work))
                            .collect()
                    });
                let local_true = local_true.and_then(|(query, found)| {
                    let work = features.get(&(expected as u64))?;
                    let v = local::verify_pair(&query, work, &params);
                    let rank = found.iter().position(|c| c.work == expected as u64);
                    Some((
                        rank,
                        v.inliers,
                        v.decision,
                        v.matches,
                        v.appearance,
                        relaxed_of(&query, expected as u64),
                    ))
                });
                // Raw best distances over the eight orientations, to the true work and to the
                // nearest other work, whatever the thresholds.
                let pdq_to = |w: &Fingerprints| {
                    fp.pdq_query_codes(PDQ_MIN_QUALITY)
                        .flat_map(|(_, v)| w.pdq_registered_codes().map(|c| v.distance(c)))
                        .min()
                        .unwrap()
                };
                let ph_to = |w: &Fingerprints| {
                    fp.phash_dihedral
                        .iter()
                        .map(|v| v.distance(&w.phash))
                        .min()
                        .unwrap()
                };
                let truth = works.iter().find(|(id, _)| *id == expected).map(|(_, w)| w);
                let others = works.iter().filter(|(id, _)| *id != expected);
                let other_pdq = others
                    .clone()
                    .filter(|(_, w)| w.pdq_quality >= 50)
                    .map(|(_, w)| pdq_to(w))
                    .min();
                let other_phash = others.map(|(_, w)| ph_to(w)).min();
                // Every work within a loose radius of either hash, so that decision rules and
                // thresholds can be replayed offline (bench/robustness/run.py `tune`).
                // Each is [work, its PDQ quality, PDQ distance, pHash distance, and when both
                // have a colour layout its luma correlation and chroma residual].
                let near: Vec<serde_json::Value> = works
                    .iter()
                    .map(|(id, w)| (id, w, pdq_to(w), ph_to(w)))
                    .filter(|&(_, _, p, h)| p <= 90 || h <= 20)
                    .map(|(id, w, p, h)| {
                        let colour = fp
                            .colour_layout
                            .zip(w.colour_layout)
                            .map(|(a, b)| provenance_ledger::fingerprint::colour::compare(&a, &b));
                        match colour {
                            Some(c) => serde_json::json!([
                                id,
                                w.pdq_quality,
                                p,
                                h,
                                c.correlation,
                                c.chroma_residual
                            ]),
                            None => serde_json::json!([id, w.pdq_quality, p, h]),
                        }
                    })
                    .collect();
                serde_json::json!({
                    "near": near,
                    "query": row[0],
                    "expected": expected,
                    "decision": outcome.decision,
                    "best_work": outcome.candidates.first().map(|c| c.work_id),
                    "best_decision": outcome.candidates.first().map(|c| c.decision),
                    "decided_by": outcome.decided_by,
                    "global_decision": global_decision,
                    "global_best_work": global_best,
                    "local_stage": run_local,
                    "local_best": local_best,
                    "local_true": local_true,
                    "local_relaxed": local_relaxed,
                    "local_aligned": local_aligned,
                    "local_cpu_ms": local_cpu_ms,
                    "uncovered_rows": uncovered_rows,
                    "filled_corners": filled_corners,
                    "local_aligned_turned": local_aligned_turned,
                    "local_aligned_uncovered": local_aligned_uncovered,
                    "wrong_match": outcome.candidates.iter().any(|c| c.work_id != expected && c.decision == provenance_ledger::fingerprint::Decision::Match),
                    "quality": fp.pdq_quality,
                    "pdq": fp.pdq,
                    "phash": fp.phash,
                    "true_quality": truth.map(|w| w.pdq_quality),
                    "true_pdq": truth.map(pdq_to),
                    "true_phash": truth.map(ph_to),
                    "other_pdq": other_pdq,
                    "other_phash": other_phash,
                    "trimmed": fp.trimmed,
                    "ms": fp_ms,
                    "cpu_ms": cpu_ms,
                })
            }
        };
        writeln!(out, "{line}").unwrap();
    }
    eprintln!(
        "fingerprinted {} queries, mean {:.2} ms (CPU {:.2} ms); local stage on {} of them, mean CPU {:.2} ms",
        queries.len(),
        total_ms / queries.len().max(1) as f64,
        total_cpu_ms / queries.len().max(1) as f64,
        local_runs,
        total_local_cpu_ms / local_runs.max(1) as f64
    );
}
