//! Geometric verification: is there one similarity transform (scale, rotation, translation)
//! that carries enough of the work's matched keypoints onto the query's, and is that transform
//! a plausible copy rather than a degenerate accident?
//!
//! Estimated by RANSAC (Fischler and Bolles 1981) from two-point samples, with a fixed seed so
//! the same query always gets the same answer, then refined by least squares on the inliers.
//! Written here rather than taken from a crate: the RANSAC crates for Rust (`arrsac`,
//! `sample-consensus`) are unmaintained and the model is four numbers with a closed-form fit.
//!
//! A match needs, besides [`GeometryParams::min_inliers`] inliers:
//! - a scale within `[min_scale, max_scale]`: a scale near zero maps the whole work onto one
//!   query point, so that many matches "agree" by collapsing;
//! - no reflection unless `allow_reflection` (descriptors are not mirror-invariant; a mirrored
//!   copy is the global stage's, and a reflection that fits here is an accident);
//! - that many inliers at distinct places in both images: duplicates at one place (one corner
//!   found at several levels, or every query feature on one blob) are one piece of evidence;
//! - inliers spread over the work in both directions (the smaller principal spread at least
//!   `min_spread` of the work's smaller side): a logo or a caption line shared by two
//!   different pictures agrees with a transform over a small or thin area only.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// The decision's thresholds. Defaults and their evidence: `docs/matching.md`.
#[derive(Clone, Debug, PartialEq)]
pub struct GeometryParams {
    /// Fewest consistent correspondences (at distinct places) for a match.
    pub min_inliers: usize,
    /// Largest distance (query pixels) between a mapped work keypoint and its query keypoint.
    pub inlier_tolerance: f64,
    pub min_scale: f64,
    pub max_scale: f64,
    /// Smaller principal standard deviation of the inliers, as a fraction of the work's smaller
    /// side.
    pub min_spread: f64,
    pub allow_reflection: bool,
    /// Fewest inliers for a match when the two images' appearance grids agree (see
    /// [`super::appearance`]); applied by [`super::verify_pair`], which has the grids.
    pub min_inliers_with_appearance: usize,
    /// Least appearance correlation that stands in for the inliers short of `min_inliers`
    /// and for the spread guard.
    pub min_appearance_correlation: f64,
    /// For a work the keypoints cannot verify at all, proposed by its layout: the least luma
    /// correlation, the largest chroma residual and the least chroma of the work under the
    /// transform [`super::appearance::align`] finds (see [`super::appearance::Alignment`]);
    /// the largest factor by which the copy's luma contrast, chroma and mean luma may each
    /// differ from the work's, either way (a brightness edit scales the mean; a picture that
    /// is only like the work is often lighter or darker).
    pub min_aligned_correlation: f64,
    pub max_aligned_chroma_residual: f64,
    pub min_aligned_work_chroma: f64,
    pub max_aligned_tone_change: f64,
    /// RANSAC samples at most.
    pub iterations: usize,
    pub seed: u64,
}

impl Default for GeometryParams {
    fn default() -> Self {
        GeometryParams {
            min_inliers: 12,
            inlier_tolerance: 5.0,
            min_scale: 0.25,
            max_scale: 4.0,
            min_spread: 0.05,
            allow_reflection: false,
            min_inliers_with_appearance: 8,
            min_appearance_correlation: 0.95,
            min_aligned_correlation: 0.98,
            max_aligned_chroma_residual: 6.0,
            min_aligned_work_chroma: 4.0,
            max_aligned_tone_change: 1.33,
            iterations: 500,
            seed: 7,
        }
    }
}

/// A work keypoint and the query keypoint it was matched with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PointPair {
    pub work: [f64; 2],
    pub query: [f64; 2],
}

/// Maps work coordinates to query coordinates:
/// `q = scale * R(angle) * F * w + translation`, with `F` the reflection `y -> -y` when
/// `reflected`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Similarity {
    pub scale: f64,
    /// Degrees, from +x towards +y (clockwise as displayed), in (-180, 180].
    pub angle_degrees: f64,
    pub translation: [f64; 2],
    pub reflected: bool,
}

impl Similarity {
    /// The transform that leaves every point where it is.
    pub fn identity() -> Self {
        Similarity {
            scale: 1.0,
            angle_degrees: 0.0,
            translation: [0.0, 0.0],
            reflected: false,
        }
    }

    /// From the matrix `[[a, -b], [b, a]]` (or `[[a, b], [b, -a]]` when reflected).
    fn from_params(a: f64, b: f64, t: [f64; 2], reflected: bool) -> Self {
        Similarity {
            scale: a.hypot(b),
            angle_degrees: b.atan2(a).to_degrees(),
            translation: t,
            reflected,
        }
    }

    fn ab(&self) -> (f64, f64) {
        let r = self.angle_degrees.to_radians();
        (self.scale * r.cos(), self.scale * r.sin())
    }

    /// The transform that undoes this one; `None` for a zero scale.
    pub fn inverse(&self) -> Option<Similarity> {
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return None;
        }
        // Undoing `s R(θ) F` is `(1/s) F R(-θ)`, which equals `(1/s) R(θ) F` when reflected
        // (as `F R(θ) = R(-θ) F`) and `(1/s) R(-θ)` when not.
        let linear = Similarity {
            scale: 1.0 / self.scale,
            angle_degrees: if self.reflected {
                self.angle_degrees
            } else {
                -self.angle_degrees
            },
            translation: [0.0, 0.0],
            reflected: self.reflected,
        };
        let moved = linear.apply(self.translation);
        Some(Similarity {
            translation: [-moved[0], -moved[1]],
            ..linear
        })
    }

    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        self.mapping().apply(p)
    }

    /// The transform with its angle's cosine and sine worked out once, for mapping many
    /// points (RANSAC maps every correspondence under every hypothesis).
    fn mapping(&self) -> Mapping {
        let (a, b) = self.ab();
        Mapping {
            a,
            b,
            reflected: self.reflected,
            translation: self.translation,
        }
    }
}

struct Mapping {
    a: f64,
    b: f64,
    reflected: bool,
    translation: [f64; 2],
}

impl Mapping {
    fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let (a, b) = (self.a, self.b);
        let y = if self.reflected { -p[1] } else { p[1] };
        [
            a * p[0] - b * y + self.translation[0],
            b * p[0] + a * y + self.translation[1],
        ]
    }
}

/// Why correspondences were not accepted as a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// Fewer correspondences than the minimum inlier count: nothing to estimate.
    TooFewMatches,
    /// The best transform explains too few correspondences.
    TooFewInliers,
    /// Enough inliers, but too few distinct places among them.
    Collapsed,
    /// The transform's scale is near zero or absurdly large.
    ScaleOutOfRange,
    /// Only a mirror image fits, and reflections were not allowed.
    Reflection,
    /// The inliers cover too small or too thin an area of the work.
    TooSmallSpread,
    /// Aligned by appearance alone, while another work matched by keypoints or aligned
    /// better.
    Outdone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "decision", content = "reason")]
pub enum LocalDecision {
    Match,
    NoMatch(Rejection),
}

/// The evidence of one verification.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verification {
    /// Tentative correspondences examined.
    pub matches: usize,
    /// Correspondences the transform explains, at distinct places.
    pub inliers: usize,
    /// The transform the decision is about (the best plausible one when there is one).
    pub transform: Option<Similarity>,
    pub decision: LocalDecision,
    /// Correlation of the two images' appearance grids under `transform`, when both have a
    /// grid and the transform overlaps enough of the work ([`super::appearance`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appearance: Option<f64>,
    /// The match rests on the appearance: the inliers alone were too few or too thin.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub by_appearance: bool,
    /// The transform comes from aligning the appearance grids, not from keypoints
    /// ([`super::appearance::align`]): then `appearance` is the luma correlation under it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alignment: Option<super::appearance::Alignment>,
}

impl Verification {
    pub fn is_match(&self) -> bool {
        self.decision == LocalDecision::Match
    }
}

/// Least-squares similarity (or reflected similarity) carrying `pairs`' work points onto their
/// query points; `None` when the work points all coincide.
fn fit(pairs: &[&PointPair], reflected: bool) -> Option<Similarity> {
    let n = pairs.len() as f64;
    let flip = |p: [f64; 2]| if reflected { [p[0], -p[1]] } else { p };
    let (mut mw, mut mq) = ([0.0; 2], [0.0; 2]);
    for p in pairs {
        let w = flip(p.work);
        mw = [mw[0] + w[0] / n, mw[1] + w[1] / n];
        mq = [mq[0] + p.query[0] / n, mq[1] + p.query[1] / n];
    }
    let (mut sxx, mut dot, mut cross) = (0.0, 0.0, 0.0);
    for p in pairs {
        let w = flip(p.work);
        let (wx, wy) = (w[0] - mw[0], w[1] - mw[1]);
        let (qx, qy) = (p.query[0] - mq[0], p.query[1] - mq[1]);
        sxx += wx * wx + wy * wy;
        dot += wx * qx + wy * qy;
        cross += wx * qy - wy * qx;
    }
    if sxx < 1e-9 {
        return None;
    }
    let (a, b) = (dot / sxx, cross / sxx);
    let t = [
        mq[0] - (a * mw[0] - b * mw[1]),
        mq[1] - (b * mw[0] + a * mw[1]),
    ];
    Some(Similarity::from_params(a, b, t, reflected))
}

fn residual(p: &PointPair, mapping: &Mapping) -> f64 {
    let m = mapping.apply(p.work);
    (m[0] - p.query[0]).hypot(m[1] - p.query[1])
}

/// Inliers counted once per place: pairs whose work point or query point falls in the same
/// cell of a grid of `tolerance`-sized cells as an earlier pair's are duplicates.
fn distinct(inliers: &[&PointPair], tolerance: f64) -> usize {
    let cell = |p: [f64; 2]| {
        (
            (p[0] / tolerance).floor() as i64,
            (p[1] / tolerance).floor() as i64,
        )
    };
    let mut seen_work = std::collections::HashSet::new();
    let mut seen_query = std::collections::HashSet::new();
    inliers
        .iter()
        .filter(|p| {
            let (w, q) = (cell(p.work), cell(p.query));
            let new = !seen_work.contains(&w) && !seen_query.contains(&q);
            seen_work.insert(w);
            seen_query.insert(q);
            new
        })
        .count()
}

/// Smaller principal standard deviation of the inliers' work points.
fn spread(inliers: &[&PointPair]) -> f64 {
    let n = inliers.len() as f64;
    let (mx, my) = inliers.iter().fold((0.0, 0.0), |(x, y), p| {
        (x + p.work[0] / n, y + p.work[1] / n)
    });
    let (mut cxx, mut cyy, mut cxy) = (0.0, 0.0, 0.0);
    for p in inliers {
        let (dx, dy) = (p.work[0] - mx, p.work[1] - my);
        cxx += dx * dx / n;
        cyy += dy * dy / n;
        cxy += dx * dy / n;
    }
    let half_trace = (cxx + cyy) / 2.0;
    let root = (((cxx - cyy) / 2.0).powi(2) + cxy * cxy).sqrt();
    (half_trace - root).max(0.0).sqrt()
}

/// A model with its support.
struct Fitted<'a> {
    model: Similarity,
    inliers: Vec<&'a PointPair>,
    cost: f64,
}

impl<'a> Fitted<'a> {
    /// `model` with its inliers (residual within `tolerance`) and its MSAC cost (Torr and
    /// Zisserman 2000): squared residuals, truncated at the tolerance. Unlike a plain inlier
    /// count the cost prefers, among models with the same support, the one that fits it best;
    /// counting alone let a model a quarter degree off win on the fixtures.
    fn new(pairs: &'a [PointPair], model: Similarity, tolerance: f64) -> Self {
        let mapping = model.mapping();
        let mut inliers = Vec::new();
        let mut cost = 0.0;
        for p in pairs {
            let r = residual(p, &mapping);
            if r <= tolerance {
                inliers.push(p);
            }
            cost += r.min(tolerance).powi(2);
        }
        Fitted {
            model,
            inliers,
            cost,
        }
    }
}

/// Decides whether `pairs` (from [`super::matching`]) show the work, of size `work_size`
/// (width, height), under one plausible similarity transform.
pub fn verify(pairs: &[PointPair], work_size: (f64, f64), params: &GeometryParams) -> Verification {
    let min_inliers = params.min_inliers.max(2);
    let answer = |inliers: usize, transform: Option<Similarity>, decision| Verification {
        matches: pairs.len(),
        inliers,
        transform,
        decision,
        appearance: None,
        by_appearance: false,
        alignment: None,
    };
    if pairs.len() < min_inliers {
        return answer(0, None, LocalDecision::NoMatch(Rejection::TooFewMatches));
    }
    let plausible_scale =
        |m: &Similarity| m.scale >= params.min_scale && m.scale <= params.max_scale;
    let allowed = |m: &Similarity| plausible_scale(m) && (!m.reflected || params.allow_reflection);

    // Best hypothesis among the allowed ones, and the best of all, so that a rejection can say
    // what did fit when nothing allowed did.
    let mut best: Option<Fitted> = None;
    let mut best_any: Option<Fitted> = None;
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let min_separation = 2.0 * params.inlier_tolerance;
    for _ in 0..params.iterations {
        let i = rng.gen_range(0..pairs.len());
        let j = rng.gen_range(0..pairs.len());
        let (p, q) = (&pairs[i], &pairs[j]);
        // Two work samples at (nearly) one place fix neither scale nor angle. Query samples
        // at one place are allowed through: they give a scale near zero, which the scale
        // guard then names.
        if (p.work[0] - q.work[0]).hypot(p.work[1] - q.work[1]) < min_separation {
            continue;
        }
        for reflected in [false, true] {
            let Some(model) = fit(&[p, q], reflected) else {
                continue;
            };
            let candidate = Fitted::new(pairs, model, params.inlier_tolerance);
            if allowed(&model) {
                if best.as_ref().is_none_or(|b| candidate.cost < b.cost) {
                    best = Some(candidate);
                }
            } else if best_any
                .as_ref()
                .is_none_or(|b| candidate.inliers.len() > b.inliers.len())
            {
                best_any = Some(candidate);
            }
        }
    }
    // Refine the allowed model by least squares on its inliers while that lowers the cost.
    if let Some(b) = best.as_mut() {
        for _ in 0..5 {
            let Some(model) = fit(&b.inliers, b.model.reflected) else {
                break;
            };
            let refined = Fitted::new(pairs, model, params.inlier_tolerance);
            if refined.cost >= b.cost || !allowed(&model) {
                break;
            }
            *b = refined;
        }
    }

    let tolerance = params.inlier_tolerance;
    match best {
        Some(b) if b.inliers.len() >= min_inliers => {
            let places = distinct(&b.inliers, tolerance);
            let decision = if places < min_inliers {
                LocalDecision::NoMatch(Rejection::Collapsed)
            } else if spread(&b.inliers) < params.min_spread * work_size.0.min(work_size.1) {
                LocalDecision::NoMatch(Rejection::TooSmallSpread)
            } else {
                LocalDecision::Match
            };
            answer(places, Some(b.model), decision)
        }
        allowed_best => {
            let allowed_count = allowed_best.as_ref().map_or(0, |b| b.inliers.len());
            match best_any {
                // Something implausible explains the pairs better than anything plausible:
                // say what it was.
                Some(a) if a.inliers.len() >= min_inliers && a.inliers.len() > allowed_count => {
                    let reason = if plausible_scale(&a.model) {
                        Rejection::Reflection
                    } else {
                        Rejection::ScaleOutOfRange
                    };
                    answer(
                        distinct(&a.inliers, tolerance),
                        Some(a.model),
                        LocalDecision::NoMatch(reason),
                    )
                }
                _ => answer(
                    allowed_best
                        .as_ref()
                        .map_or(0, |b| distinct(&b.inliers, tolerance)),
                    allowed_best.map(|b| b.model),
                    LocalDecision::NoMatch(Rejection::TooFewInliers),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORK: (f64, f64) = (400.0, 300.0);

    /// A grid of work points spread over the work.
    fn grid(n: usize) -> Vec<[f64; 2]> {
        (0..n)
            .map(|i| {
                let (gx, gy) = ((i % 6) as f64, (i / 6) as f64);
                [30.0 + gx * 61.0 + (i as f64 * 7.3) % 11.0, 25.0 + gy * 47.0]
            })
            .collect()
    }

    fn pairs_under(t: &Similarity, work: &[[f64; 2]]) -> Vec<PointPair> {
        work.iter()
            .map(|&w| PointPair {
                work: w,
                query: t.apply(w),
            })
            .collect()
    }

    /// Deterministic junk correspondences all over both images.
    fn outliers(n: usize, seed: u64) -> Vec<PointPair> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| PointPair {
                work: [rng.gen_range(0.0..400.0), rng.gen_range(0.0..300.0)],
                query: [rng.gen_range(0.0..400.0), rng.gen_range(0.0..300.0)],
            })
            .collect()
    }

    #[test]
    fn a_known_similarity_is_recovered_among_outliers() {
        let truth = Similarity {
            scale: 1.18,
            angle_degrees: 5.0,
            translation: [-40.0, 12.5],
            reflected: false,
        };
        let mut pairs = pairs_under(&truth, &grid(30));
        pairs.extend(outliers(60, 1));
        let v = verify(&pairs, WORK, &GeometryParams::default());
        assert_eq!(v.decision, LocalDecision::Match);
        assert_eq!(v.inliers, 30);
        let t = v.transform.unwrap();
        assert!((t.scale - 1.18).abs() < 1e-6, "{t:?}");
        assert!((t.angle_degrees - 5.0).abs() < 1e-6, "{t:?}");
        assert!((t.translation[0] + 40.0).abs() < 1e-4, "{t:?}");
        assert!((t.translation[1] - 12.5).abs() < 1e-4, "{t:?}");
    }

    #[test]
    fn an_inverse_takes_every_point_back() {
        for reflected in [false, true] {
            let t = Similarity {
                scale: 0.8,
                angle_degrees: -33.0,
                translation: [17.0, -4.5],
                reflected,
            };
            let back = t.inverse().unwrap();
            for p in grid(12) {
                let q = back.apply(t.apply(p));
                assert!((q[0] - p[0]).abs() < 1e-9 && (q[1] - p[1]).abs() < 1e-9);
            }
        }
        let flat = Similarity {
            scale: 0.0,
            angle_degrees: 0.0,
            translation: [0.0, 0.0],
            reflected: false,
        };
        assert_eq!(flat.inverse(), None);
    }

    #[test]
    fn pure_outliers_are_not_a_match() {
        let v = verify(&outliers(150, 2), WORK, &GeometryParams::default());
        assert_eq!(v.decision, LocalDecision::NoMatch(Rejection::TooFewInliers));
        assert!(v.inliers < 6, "{v:?}");
    }

    #[test]
    fn too_few_matches_are_refused_before_estimating() {
        let truth = Similarity {
            scale: 1.0,
            angle_degrees: 0.0,
            translation: [0.0, 0.0],
            reflected: false,
        };
        let v = verify(
            &pairs_under(&truth, &grid(11)),
            WORK,
            &GeometryParams::default(),
        );
        assert_eq!(v.decision, LocalDecision::NoMatch(Rejection::TooFewMatches));
    }

    #[test]
    fn every_work_point_collapsing_onto_one_query_point_is_refused() {
        // Scale near zero: the whole work maps onto (200, 150).
        let pairs: Vec<PointPair> = grid(30)
            .into_iter()
            .map(|w| PointPair {
                work: w,
                query: [200.0 + w[0] * 0.001, 150.0 + w[1] * 0.001],
            })
            .collect();
        let v = verify(&pairs, WORK, &GeometryParams::default());
        assert_eq!(
            v.decision,
            LocalDecision::NoMatch(Rejection::ScaleOutOfRange)
        );
        assert!(v.transform.unwrap().scale < 0.01);
    }

    #[test]
    fn an_absurd_enlargement_is_refused() {
        let truth = Similarity {
            scale: 9.0,
            angle_degrees: 0.0,
            translation: [-1000.0, -900.0],
            reflected: false,
        };
        let small: Vec<[f64; 2]> = grid(30)
            .into_iter()
            .map(|w| [100.0 + w[0] / 4.0, 100.0 + w[1] / 4.0])
            .collect();
        let v = verify(
            &pairs_under(&truth, &small),
            WORK,
            &GeometryParams::default(),
        );
        assert_eq!(
            v.decision,
            LocalDecision::NoMatch(Rejection::ScaleOutOfRange)
        );
    }

    #[test]
    fn duplicates_at_one_place_count_once() {
        // 20 correspondences at the same two places (one corner found at many levels), plus 8
        // genuine ones: 10 distinct places, fewer than 12.
        let truth = Similarity {
            scale: 1.0,
            angle_degrees: 0.0,
            translation: [5.0, 5.0],
            reflected: false,
        };
        let mut work: Vec<[f64; 2]> = (0..20)
            .map(|i| {
                if i % 2 == 0 {
                    [50.0, 50.0]
                } else {
                    [350.0, 250.0]
                }
            })
            .collect();
        work.extend(grid(30).into_iter().skip(7).take(8));
        let v = verify(
            &pairs_under(&truth, &work),
            WORK,
            &GeometryParams::default(),
        );
        assert_eq!(v.decision, LocalDecision::NoMatch(Rejection::Collapsed));
        assert_eq!(v.inliers, 10);
    }

    #[test]
    fn a_mirror_image_is_refused_unless_reflections_are_allowed() {
        let truth = Similarity {
            scale: 1.0,
            angle_degrees: 0.0,
            translation: [0.0, 300.0],
            reflected: true,
        };
        let pairs = pairs_under(&truth, &grid(30));
        let v = verify(&pairs, WORK, &GeometryParams::default());
        assert_eq!(v.decision, LocalDecision::NoMatch(Rejection::Reflection));
        assert!(v.transform.unwrap().reflected);
        let allowed = GeometryParams {
            allow_reflection: true,
            ..GeometryParams::default()
        };
        let v = verify(&pairs, WORK, &allowed);
        assert_eq!(v.decision, LocalDecision::Match);
        let t = v.transform.unwrap();
        assert!(t.reflected && (t.translation[1] - 300.0).abs() < 1e-6);
    }

    #[test]
    fn inliers_along_one_line_are_too_thin() {
        // A caption line: 30 correspondences along y = 280, consistent with the identity.
        let line: Vec<[f64; 2]> = (0..30).map(|i| [10.0 + i as f64 * 12.7, 280.0]).collect();
        let truth = Similarity {
            scale: 1.0,
            angle_degrees: 0.0,
            translation: [0.0, 0.0],
            reflected: false,
        };
        let v = verify(
            &pairs_under(&truth, &line),
            WORK,
            &GeometryParams::default(),
        );
        assert_eq!(
            v.decision,
            LocalDecision::NoMatch(Rejection::TooSmallSpread)
        );
    }

    #[test]
    fn inliers_in_one_small_corner_are_too_small() {
        // A shared logo: 20 correspondences within a 20 x 20 pixel patch.
        let logo: Vec<[f64; 2]> = (0..20)
            .map(|i| [360.0 + (i % 5) as f64 * 5.0, 260.0 + (i / 5) as f64 * 5.0])
            .collect();
        let truth = Similarity {
            scale: 1.0,
            angle_degrees: 0.0,
            translation: [0.0, 0.0],
            reflected: false,
        };
        let v = verify(
            &pairs_under(&truth, &logo),
            WORK,
            &GeometryParams::default(),
        );
        assert!(!v.is_match(), "{v:?}");
    }

    #[test]
    fn the_same_pairs_give_the_same_answer() {
        let truth = Similarity {
            scale: 0.9,
            angle_degrees: -3.0,
            translation: [20.0, -7.0],
            reflected: false,
        };
        let mut pairs = pairs_under(&truth, &grid(20));
        pairs.extend(outliers(80, 3));
        let a = verify(&pairs, WORK, &GeometryParams::default());
        let b = verify(&pairs, WORK, &GeometryParams::default());
        assert_eq!(a, b);
        assert!(a.is_match());
    }
}
