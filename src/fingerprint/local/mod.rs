//! Local features (pure): keypoints with binary descriptors, pairwise matching, geometric
//! verification and a candidate index, so that a query showing only part of a work, slightly
//! rotated or partly covered, is still found (issue 7). The global hashes of the parent module
//! see a whole picture; these see corners.
//!
//! Pipeline, per image:
//! 1. the working image's BT.601 luma, capped at [`MAX_SIDE`] pixels a side;
//! 2. a pyramid of [`LEVELS`] levels, each [`LEVEL_SCALE`] times smaller than the last, so a
//!    crop that was enlarged back to its original size still meets its work at some level;
//! 3. FAST-9 corners ranked by the Harris measure, spread over a grid ([`detect`]);
//! 4. an orientation from the intensity centroid and a 256-bit BRIEF descriptor steered by it,
//!    on a smoothed level ([`describe`]); at most [`MAX_FEATURES`] features an image.
//!
//! Then: [`matching`] pairs a query's features with one work's (mutual nearest neighbours with
//! a ratio test), [`geometry`] accepts the pairing only when a similarity transform explains
//! enough of it, and [`candidates`] finds the few works worth verifying without touching the
//! others. Smooth works, which have too few corners for that, are proposed by their coarse
//! layout ([`layouts`]) and aligned by their appearance grids ([`appearance`]); an upload's
//! caption band ([`caption`]) is set aside for both.
//!
//! Literature: E. Rosten, T. Drummond, "Machine learning for high-speed corner detection"
//! (ECCV 2006, FAST); C. Harris, M. Stephens, "A combined corner and edge detector" (1988);
//! M. Calonder et al., "BRIEF: Binary Robust Independent Elementary Features" (ECCV 2010);
//! E. Rublee et al., "ORB: an efficient alternative to SIFT or SURF" (ICCV 2011: intensity
//! centroid, steering, pyramid); D. Lowe, "Distinctive image features from scale-invariant
//! keypoints" (IJCV 2004: ratio test); M. Fischler, R. Bolles, "Random sample consensus"
//! (CACM 1981); M. Norouzi, A. Punjani, D. Fleet, "Fast exact search in Hamming space with
//! multi-index hashing" (TPAMI 2014). See `docs/matching.md`.

pub mod appearance;
pub mod candidates;
pub mod caption;
pub mod corners;
pub mod describe;
pub mod detect;
mod filters;
pub mod geometry;
pub mod layouts;
pub mod matching;
#[cfg(test)]
mod scene;

use image::GrayImage;
use serde::{Deserialize, Serialize};

use super::borders::{crop, Rect};
use super::decode::{resize_packed, working_dims, WorkingImage};

pub use appearance::{Appearance, AppearanceAgreement};
pub use candidates::{CandidateIndex, CandidateParams, CandidateWork};
pub use describe::Descriptor;
pub use geometry::{GeometryParams, LocalDecision, Rejection, Similarity, Verification};
pub use matching::Correspondence;

/// Names the algorithm and parameters behind [`LocalFeatures`]; features stored under another
/// version must be recomputed, not compared.
pub const LOCAL_ALGORITHM_VERSION: &str =
    "pl-lf/1 luma512 pyr5x1.25 fast9(20|7)+harris grid4 centroid-r15 gauss2 brief256(chacha8:pl-lf/1)";

/// Longest side of the luma image features are computed on. The working image is already at
/// most 512 pixels a side by default; this keeps the cost bounded when a caller configures a
/// larger one.
pub const MAX_SIDE: usize = 512;
/// Pyramid levels, including the full-size one.
pub const LEVELS: usize = 5;
/// Size ratio between consecutive levels. 1.25 leaves at most a factor of about 1.12 between a
/// feature's scale in the query and the nearest level of the work, which steered BRIEF on a
/// smoothed image tolerates; 5 levels span 1 to 2.4, more than a 20% crop enlarged back needs.
pub const LEVEL_SCALE: f32 = 1.25;
/// At most this many features an image: 200 is enough for a few dozen geometric inliers on a
/// partial copy and keeps a work's serialised features under 8 KiB (issue 7's budget).
pub const MAX_FEATURES: usize = 200;

/// Serialisation format version (first byte after the magic). Version 3 appends the
/// [`Appearance`] luma and chroma grids; version 2 (a 24 x 24 luma grid, no chroma) and
/// version 1 (no grid) are still read: their works are verified as they were, and are not
/// aligned by appearance alone ([`appearance::align`] needs the chroma).
const FORMAT_VERSION: u8 = 3;
const FORMAT_VERSION_WITHOUT_CHROMA: u8 = 2;
const FORMAT_VERSION_WITHOUT_APPEARANCE: u8 = 1;
const MAGIC: [u8; 3] = *b"plf";
const HEADER_BYTES: usize = 10;
const FEATURE_BYTES: usize = 38;
/// Keypoint coordinates are stored in 1/32 pixel; the extraction rounds to the same grid so a
/// round trip is exact.
const SUBPIXEL: f32 = 32.0;

/// Everything that can be wrong with serialised local features.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LocalFeaturesError {
    #[error("local features must start with the bytes \"plf\" and a version")]
    NotLocalFeatures,
    #[error("local features format version {0} is not supported (1 and 2 are)")]
    UnsupportedVersion(u8),
    #[error("local features of {count} features need {expected} bytes; got {actual}")]
    WrongLength {
        count: usize,
        expected: usize,
        actual: usize,
    },
    #[error("{count} local features; at most 200 are allowed")]
    TooManyFeatures { count: usize },
    #[error("local feature {index} lies outside its {width}x{height} image or pyramid")]
    FeatureOutOfBounds {
        index: usize,
        width: u16,
        height: u16,
    },
    #[error("the appearance grids of {width}x{height} and {chroma_width}x{chroma_height} cells are not the shape of their image")]
    BadAppearance {
        width: u8,
        height: u8,
        chroma_width: u8,
        chroma_height: u8,
    },
}

/// Where a feature is: in the coordinates of the (capped) luma image it was computed on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    /// Pyramid level it was detected at (0 = full size).
    pub level: u8,
    /// Orientation in 1/256 of a turn, measured from +x towards +y (image coordinates, so
    /// clockwise as displayed).
    pub angle: u8,
}

impl Keypoint {
    pub fn angle_radians(&self) -> f32 {
        f32::from(self.angle) * std::f32::consts::TAU / 256.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Feature {
    pub keypoint: Keypoint,
    pub descriptor: Descriptor,
}

/// The local features of one image.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LocalFeatures {
    /// Size of the image the keypoints' coordinates refer to.
    pub width: u16,
    pub height: u16,
    pub features: Vec<Feature>,
    /// Mean luma of a coarse grid over the same image; empty for features stored before it
    /// existed (format version 1).
    pub appearance: Appearance,
    /// An upload's: what its caption bands leave of it, when it has any ([`caption`]). Never
    /// stored: a work is compared whole.
    pub uncovered: Option<Uncovered>,
    /// An upload's: whether its four corners are filled with one level, as a turn without a
    /// larger canvas leaves them ([`corners`]). Never stored.
    pub filled_corners: bool,
}

/// The rows of an upload's feature image its caption bands leave, and their appearance
/// alone: a crop of the work when the upload is a captioned copy.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Uncovered {
    pub top: u16,
    pub bottom: u16,
    pub appearance: Appearance,
}

impl LocalFeatures {
    /// The feature image's width and height, as the alignments measure it.
    pub fn size(&self) -> (f64, f64) {
        (f64::from(self.width), f64::from(self.height))
    }

    /// Compact, versioned bytes: a 10-byte header ("plf", version, width, height, count; little
    /// endian), 38 bytes a feature (x and y in 1/32 pixel, level, angle, 32 descriptor bytes),
    /// then the appearance's luma grid (its width and height in cells, one byte each, and a
    /// byte a cell) and chroma grid (width, height, and Cb and Cr a cell). At most
    /// 10 + 200 * 38 + 2 + 22 * 22 + 2 + 2 * 6 * 6 = 8,170 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let a = &self.appearance;
        let mut out = Vec::with_capacity(
            HEADER_BYTES
                + FEATURE_BYTES * self.features.len()
                + 4
                + a.cells.len()
                + 2 * a.chroma.len(),
        );
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&(self.features.len() as u16).to_le_bytes());
        for f in &self.features {
            out.extend_from_slice(&to_fixed(f.keypoint.x).to_le_bytes());
            out.extend_from_slice(&to_fixed(f.keypoint.y).to_le_bytes());
            out.push(f.keypoint.level);
            out.push(f.keypoint.angle);
            out.extend_from_slice(&f.descriptor.to_bytes());
        }
        out.push(a.width);
        out.push(a.height);
        out.extend_from_slice(&a.cells);
        out.push(a.chroma_width);
        out.push(a.chroma_height);
        out.extend(a.chroma.iter().flatten());
        out
    }

    /// The upload as its caption bands leave it, without keypoints, and the row it starts at:
    /// what the layout index and [`align_pair`] compare as a crop.
    pub fn uncovered_view(&self) -> Option<(LocalFeatures, u16)> {
        let u = self.uncovered.as_ref()?;
        let view = LocalFeatures {
            width: self.width,
            height: u.bottom - u.top,
            features: Vec::new(),
            appearance: u.appearance.clone(),
            uncovered: None,
            filled_corners: false,
        };
        Some((view, u.top))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LocalFeaturesError> {
        if bytes.len() < HEADER_BYTES || bytes[..3] != MAGIC {
            return Err(LocalFeaturesError::NotLocalFeatures);
        }
        let version = bytes[3];
        if !(FORMAT_VERSION_WITHOUT_APPEARANCE..=FORMAT_VERSION).contains(&version) {
            return Err(LocalFeaturesError::UnsupportedVersion(version));
        }
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let (width, height, count) = (u16_at(4), u16_at(6), usize::from(u16_at(8)));
        if count > MAX_FEATURES {
            return Err(LocalFeaturesError::TooManyFeatures { count });
        }
        let features_end = HEADER_BYTES + FEATURE_BYTES * count;
        // Each grid: its width and height (one byte each; read as 0 past the end, so that a
        // short input is a length error), then `bytes_per_cell` bytes a cell.
        let grid_at = |at: usize, bytes_per_cell: usize| {
            let (w, h) = match bytes.get(at..at + 2) {
                Some(&[w, h]) => (w, h),
                _ => (0, 0),
            };
            (
                w,
                h,
                at + 2,
                at + 2 + usize::from(w) * usize::from(h) * bytes_per_cell,
            )
        };
        let (grid_width, grid_height, luma_start, luma_end) =
            if version >= FORMAT_VERSION_WITHOUT_CHROMA {
                grid_at(features_end, 1)
            } else {
                (0, 0, features_end, features_end)
            };
        let (chroma_width, chroma_height, chroma_start, expected) = if version == FORMAT_VERSION {
            grid_at(luma_end, 2)
        } else {
            (0, 0, luma_end, luma_end)
        };
        if bytes.len() != expected {
            return Err(LocalFeaturesError::WrongLength {
                count,
                expected,
                actual: bytes.len(),
            });
        }
        let mut features = Vec::with_capacity(count);
        for (index, chunk) in bytes[HEADER_BYTES..features_end]
            .chunks_exact(FEATURE_BYTES)
            .enumerate()
        {
            let x = f32::from(u16::from_le_bytes([chunk[0], chunk[1]])) / SUBPIXEL;
            let y = f32::from(u16::from_le_bytes([chunk[2], chunk[3]])) / SUBPIXEL;
            let level = chunk[4];
            if x >= f32::from(width) || y >= f32::from(height) || usize::from(level) >= LEVELS {
                return Err(LocalFeaturesError::FeatureOutOfBounds {
                    index,
                    width,
                    height,
                });
            }
            let mut d = [0u8; 32];
            d.copy_from_slice(&chunk[6..38]);
            features.push(Feature {
                keypoint: Keypoint {
                    x,
                    y,
                    level,
                    angle: chunk[5],
                },
                descriptor: Descriptor::from_bytes(&d),
            });
        }
        let appearance = Appearance {
            width: grid_width,
            height: grid_height,
            cells: bytes[luma_start..luma_end].to_vec(),
            chroma_width,
            chroma_height,
            chroma: bytes[chroma_start..expected]
                .chunks_exact(2)
                .map(|c| [c[0], c[1]])
                .collect(),
        };
        if !appearance.fits(width, height) {
            return Err(LocalFeaturesError::BadAppearance {
                width: grid_width,
                height: grid_height,
                chroma_width,
                chroma_height,
            });
        }
        Ok(LocalFeatures {
            width,
            height,
            features,
            appearance,
            uncovered: None,
            filled_corners: false,
        })
    }
}

fn to_fixed(v: f32) -> u16 {
    (v * SUBPIXEL).round().clamp(0.0, f32::from(u16::MAX)) as u16
}

/// Rounds a coordinate to what [`LocalFeatures::to_bytes`] can store.
pub(crate) fn quantise(v: f32) -> f32 {
    f32::from(to_fixed(v)) / SUBPIXEL
}

/// Local features of an already decoded working image, with the chroma grid of its colours.
pub fn extract(working: &WorkingImage) -> LocalFeatures {
    let (w, h) = (working.work_width, working.work_height);
    let mut features = extract_from_luma(&working.luma8, w, h);
    if working.rgb.len() == w * h * 3 && !features.appearance.is_empty() {
        features.appearance =
            std::mem::take(&mut features.appearance).with_chroma_of_rgb(&working.rgb, w, h);
    }
    features
}

/// Local features of an upload: [`extract`], with a finer chroma grid to compare works'
/// cells with ([`Appearance::with_upload_chroma_of_rgb`]), and what its caption bands leave
/// of it ([`Uncovered`]) when it has any.
pub fn extract_upload(working: &WorkingImage) -> LocalFeatures {
    as_upload(extract(working), working)
}

/// A work's features ([`extract`] of `working`) as an upload's ([`extract_upload`]), without
/// computing the keypoints again: the same image is stored as a work and matched as an upload
/// when it is registered.
pub fn as_upload(mut features: LocalFeatures, working: &WorkingImage) -> LocalFeatures {
    let (w, h) = (working.work_width, working.work_height);
    if features.appearance.is_empty() || working.rgb.len() != w * h * 3 {
        return features;
    }
    features.appearance =
        std::mem::take(&mut features.appearance).with_upload_chroma_of_rgb(&working.rgb, w, h);
    features.filled_corners = corners::has_filled_corners(&working.luma8, w, h);
    let Some(rows) = caption::uncovered_rows(&working.luma8, w, h) else {
        return features;
    };
    let rect = Rect {
        x0: 0,
        y0: rows.start,
        x1: w,
        y1: rows.end,
    };
    let appearance = Appearance::of_luma(&crop(&working.luma8, w, 1, rect), w, rows.len())
        .with_upload_chroma_of_rgb(&crop(&working.rgb, w, 3, rect), w, rows.len());
    // The bands' rows in the feature image, which may be smaller than the working image.
    let to_features = |y: usize| (y * usize::from(features.height) / h) as u16;
    features.uncovered = Some(Uncovered {
        top: to_features(rows.start),
        bottom: to_features(rows.end),
        appearance,
    });
    features
}

/// Local features of a row-major 8-bit luma image; shrunk first if a side exceeds
/// [`MAX_SIDE`].
///
/// # Panics
/// If `luma.len() != width * height`.
pub fn extract_from_luma(luma: &[u8], width: usize, height: usize) -> LocalFeatures {
    assert_eq!(luma.len(), width * height, "luma buffer and size disagree");
    if width == 0 || height == 0 {
        return LocalFeatures::default();
    }
    let (w, h) = working_dims(width as u32, height as u32, MAX_SIDE as u32);
    let luma = if (w as usize, h as usize) == (width, height) {
        luma.to_vec()
    } else {
        // Area averaging cannot fail on a buffer whose size we just checked; an empty feature
        // set is the honest answer if it ever did.
        match resize_packed(
            luma.to_vec(),
            width as u32,
            height as u32,
            fast_image_resize::PixelType::U8,
            w,
            h,
        ) {
            Ok(small) => small,
            Err(_) => return LocalFeatures::default(),
        }
    };
    let Some(base) = GrayImage::from_raw(w, h, luma) else {
        return LocalFeatures::default();
    };
    let levels = detect::pyramid(&base);
    let features = detect::keypoints(&levels)
        .into_iter()
        .map(|k| Feature {
            keypoint: k.keypoint,
            descriptor: describe::steered_brief(
                &levels[usize::from(k.keypoint.level)].smoothed,
                k.level_x,
                k.level_y,
                k.keypoint.angle_radians(),
            ),
        })
        .collect::<Vec<_>>();
    LocalFeatures {
        width: w as u16,
        height: h as u16,
        appearance: Appearance::of_luma(base.as_raw(), w as usize, h as usize),
        features,
        uncovered: None,
        filled_corners: false,
    }
}

/// Everything needed to decide whether a query shows (part of) one work.
pub fn verify_pair(
    query: &LocalFeatures,
    work: &LocalFeatures,
    params: &GeometryParams,
) -> Verification {
    let correspondences = matching::match_features(query, work);
    let pairs: Vec<geometry::PointPair> = correspondences
        .iter()
        .map(|c| {
            let w = work.features[usize::from(c.work)].keypoint;
            let q = query.features[usize::from(c.query)].keypoint;
            geometry::PointPair {
                work: [f64::from(w.x), f64::from(w.y)],
                query: [f64::from(q.x), f64::from(q.y)],
            }
        })
        .collect();
    let work_size = work.size();
    let appearance_under = |transform: Option<Similarity>| {
        appearance::agreement(
            &work.appearance,
            work_size,
            &query.appearance,
            query.size(),
            &transform?,
        )
        .map(|a| a.correlation)
    };
    let mut verification = geometry::verify(&pairs, work_size, params);
    verification.appearance = appearance_under(verification.transform);
    // Too few inliers, or too thin a spread of them, can still be a copy: a smooth picture
    // has few corners, often along one edge. Then the transform they agree on must also
    // carry the work's appearance onto the query's.
    let short_of_keypoints = matches!(
        verification.decision,
        LocalDecision::NoMatch(
            Rejection::TooFewMatches
                | Rejection::TooFewInliers
                | Rejection::Collapsed
                | Rejection::TooSmallSpread
        )
    );
    if short_of_keypoints && pairs.len() >= params.min_inliers_with_appearance {
        let relaxed = GeometryParams {
            min_inliers: params.min_inliers_with_appearance,
            min_spread: 0.0,
            ..params.clone()
        };
        let mut fallback = geometry::verify(&pairs, work_size, &relaxed);
        fallback.appearance = appearance_under(fallback.transform);
        if fallback.is_match()
            && fallback
                .appearance
                .is_some_and(|a| a >= params.min_appearance_correlation)
        {
            fallback.by_appearance = true;
            return fallback;
        }
    }
    verification
}

/// A match found by aligning the two appearance grids ([`appearance::align`]), for a work
/// whose keypoints `keypoints` (its verification) could not show in the query; `None` when
/// the grids do not agree well enough under any transform searched.
///
/// Only works the layout index proposed get here (at most 4 an upload): the search is a few
/// hundred hypotheses over a few hundred cells, and together the alignments raised the local
/// stage's mean CPU time by about 2 ms an upload on the robustness corpus, and the trimmed
/// search score by 0.5 ms more (`docs/BENCHMARKS-fingerprint.md`, "Smooth pictures" and
/// "Alignment search score").
pub fn align_pair(
    query: &LocalFeatures,
    work: &LocalFeatures,
    params: &GeometryParams,
    keypoints: &Verification,
) -> Option<Verification> {
    align_and_judge(appearance::align, query, work, params, keypoints)
}

/// The alignment `aligner` finds between the two grids, a match when [`judge_alignment`]
/// finds it passes every threshold.
fn align_and_judge(
    aligner: appearance::Aligner,
    query: &LocalFeatures,
    work: &LocalFeatures,
    params: &GeometryParams,
    keypoints: &Verification,
) -> Option<Verification> {
    let found = aligner(
        &work.appearance,
        work.size(),
        &query.appearance,
        query.size(),
    )?;
    judge_alignment(found, params, keypoints)
}

/// A match by appearance when `found` passes every threshold of [`GeometryParams`].
fn judge_alignment(
    found: appearance::Alignment,
    params: &GeometryParams,
    keypoints: &Verification,
) -> Option<Verification> {
    let change = params.max_aligned_tone_change;
    let tone_kept = |gain: f64| gain >= 1.0 / change && gain <= change;
    let agrees = found.luma.correlation >= params.min_aligned_correlation
        && found.chroma_residual <= params.max_aligned_chroma_residual
        && found.work_chroma >= params.min_aligned_work_chroma
        && tone_kept(found.luma_gain)
        && tone_kept(found.chroma_gain)
        // A ratio, not a difference: a brightness edit of a light picture moves its mean by
        // 40 levels, and a dark sky 41% darker than a dark work moved it by 22 (a
        // distractor matched when the mean's shift was bounded by 25 levels instead).
        && tone_kept(found.luma_ratio);
    agrees.then_some(Verification {
        matches: keypoints.matches,
        inliers: 0,
        transform: Some(found.transform),
        decision: LocalDecision::Match,
        appearance: Some(found.luma.correlation),
        by_appearance: true,
        alignment: Some(found),
    })
}

/// [`align_pair`] on the whole upload, on what its caption bands leave when it has any
/// ([`Uncovered`]), and as its work turned whole when its corners are filled
/// ([`appearance::align_turned`]); the one whose luma agrees best of those that match.
fn align_upload(
    query: &LocalFeatures,
    work: &LocalFeatures,
    params: &GeometryParams,
    keypoints: &Verification,
) -> Option<Verification> {
    let whole = align_pair(query, work, params, keypoints);
    let uncovered = query.uncovered_view().and_then(|(view, top)| {
        let mut aligned = align_pair(&view, work, params, keypoints)?;
        // Back to the whole upload's coordinates: the view starts `top` rows down.
        let shift = |t: &mut Similarity| t.translation[1] += f64::from(top);
        if let Some(t) = aligned.transform.as_mut() {
            shift(t);
        }
        if let Some(a) = aligned.alignment.as_mut() {
            shift(&mut a.transform);
        }
        Some(aligned)
    });
    // An upload with filled corners may be its work turned, whole.
    let turned = query
        .filled_corners
        .then(|| align_and_judge(appearance::align_turned, query, work, params, keypoints))
        .flatten();
    let correlation = |v: &Verification| v.appearance.unwrap_or(f64::NEG_INFINITY);
    [whole, uncovered, turned]
        .into_iter()
        .flatten()
        .max_by(|a, b| correlation(a).total_cmp(&correlation(b)))
}

/// How many of the index's best candidates [`search`] should verify. Ranking by shared
/// descriptors is rough on flat-shaded pictures, whose sharp corners all look alike: on the
/// generated test scenes with a caption bar over them the true work ranked 11th of 28 by
/// score, while photographs rank first. Verifying costs well under a millisecond a candidate
/// (docs/BENCHMARKS-fingerprint.md), so 16 keeps a margin at a bounded cost.
pub const VERIFY_TOP: usize = 16;

/// A work the query was verified against, with the evidence.
#[derive(Clone, Debug)]
pub struct LocalMatch {
    pub work: u64,
    /// Query features that hit the work in the candidate index.
    pub votes: u32,
    pub verification: Verification,
    /// When the verification found a match: what it saw, for the answer.
    pub evidence: Option<LocalEvidence>,
}

/// Finds works the query shows: asks `index` for the works that share descriptors with it,
/// then verifies the best `verify_top` of them geometrically against their features, which
/// `features_of` supplies (from storage, in the service). Answers every verified candidate,
/// matches first, then by inlier count.
pub fn search(
    index: &CandidateIndex,
    query: &LocalFeatures,
    verify_top: usize,
    params: &GeometryParams,
    features_of: impl FnMut(u64) -> Option<LocalFeatures>,
) -> Vec<LocalMatch> {
    verify_candidates(
        query,
        &index.candidates(query, verify_top),
        params,
        features_of,
    )
}

/// Verifies each of `candidates` against its features (a candidate `features_of` has none
/// for is skipped); matches first, then by inlier count.
///
/// A candidate the keypoints refuse but the layout index proposed is aligned by appearance
/// ([`align_pair`]). Such a match is weaker evidence than keypoints, so it stands only when
/// nothing matched by keypoints, and only the best aligned work stands (two quadrants of one
/// gradient wallpaper both align with a crop of either).
pub fn verify_candidates(
    query: &LocalFeatures,
    candidates: &[CandidateWork],
    params: &GeometryParams,
    mut features_of: impl FnMut(u64) -> Option<LocalFeatures>,
) -> Vec<LocalMatch> {
    let mut out: Vec<LocalMatch> = candidates
        .iter()
        .filter_map(|c| {
            let work = features_of(c.work)?;
            let mut verification = verify_pair(query, &work, params);
            if !verification.is_match() && c.layout_distance.is_some() {
                if let Some(aligned) = align_upload(query, &work, params, &verification) {
                    verification = aligned;
                }
            }
            let evidence = LocalEvidence::of(&verification, query, &work);
            Some(LocalMatch {
                work: c.work,
                votes: c.votes,
                verification,
                evidence,
            })
        })
        .collect();
    let by_keypoints = out
        .iter()
        .any(|m| m.verification.is_match() && m.verification.alignment.is_none());
    let best_aligned = out
        .iter()
        .filter(|m| m.verification.is_match())
        .filter_map(|m| Some((m.work, m.verification.alignment?.luma.correlation)))
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(work, _)| work);
    for m in &mut out {
        let outdone = by_keypoints || best_aligned != Some(m.work);
        if m.verification.alignment.is_some() && outdone {
            m.verification.decision = LocalDecision::NoMatch(Rejection::Outdone);
            m.evidence = None;
        }
    }
    out.sort_by_key(|m| {
        (
            !m.verification.is_match(),
            std::cmp::Reverse(m.verification.inliers),
        )
    });
    out
}

/// What the second stage saw of a work in an upload, in terms a reader can check without our
/// feature images: positions are fractions of each image's longer side (so 1.0 is the whole
/// length of that side), angles are clockwise as displayed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalEvidence {
    /// Correspondences the transform explains, at distinct places.
    pub inliers: u32,
    /// Tentative correspondences examined.
    pub correspondences: u32,
    /// The transform from the work to the upload, `upload = scale * R(rotation) * work +
    /// translation`, in the fractional coordinates above: 1.0 when the work appears at the
    /// same share of the upload as of itself, 1.25 for a 20% crop enlarged back.
    pub scale: f64,
    pub rotation_degrees: f64,
    pub translation: [f64; 2],
    /// The part of the work the upload shows, `[left, top, right, bottom]` as fractions of the
    /// work's width and height.
    pub work_region: [f64; 4],
    /// How well the work's coarse appearance agrees with the upload's under the transform
    /// (correlation over the best-agreeing 80% of the overlap), when both have a grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appearance_correlation: Option<f64>,
    /// The match needed that agreement: the inliers alone were fewer than 12 or along a thin
    /// band of the work.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decided_by_appearance: bool,
    /// No keypoints decided: the transform was found by aligning the two appearance grids
    /// (a smooth picture, proposed by its layout); `chroma_residual` says how closely the
    /// colours agree under it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub aligned_by_appearance: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chroma_residual: Option<f64>,
}

impl LocalEvidence {
    /// The evidence of a verification that found a match; `None` otherwise.
    pub fn of(
        verification: &Verification,
        query: &LocalFeatures,
        work: &LocalFeatures,
    ) -> Option<Self> {
        let t = verification.transform.filter(|_| verification.is_match())?;
        let query_side = f64::from(query.width.max(query.height).max(1));
        let work_side = f64::from(work.width.max(work.height).max(1));
        let (wq, hq) = query.size();
        let (ww, hw) = (f64::from(work.width.max(1)), f64::from(work.height.max(1)));
        let inverse = t.inverse()?;
        let corners = [[0.0, 0.0], [wq, 0.0], [0.0, hq], [wq, hq]].map(|c| inverse.apply(c));
        let extent = |axis: usize, size: f64, pick: fn(f64, f64) -> f64, start: f64| {
            let v = corners.iter().map(|c| c[axis]).fold(start, pick);
            round4((v / size).clamp(0.0, 1.0))
        };
        Some(LocalEvidence {
            inliers: verification.inliers as u32,
            correspondences: verification.matches as u32,
            scale: round4(t.scale * work_side / query_side),
            rotation_degrees: round4(t.angle_degrees),
            translation: t.translation.map(|v| round4(v / query_side)),
            work_region: [
                extent(0, ww, f64::min, f64::INFINITY),
                extent(1, hw, f64::min, f64::INFINITY),
                extent(0, ww, f64::max, f64::NEG_INFINITY),
                extent(1, hw, f64::max, f64::NEG_INFINITY),
            ],
            appearance_correlation: verification.appearance.map(round4),
            decided_by_appearance: verification.by_appearance,
            aligned_by_appearance: verification.alignment.is_some(),
            chroma_residual: verification.alignment.map(|a| round4(a.chroma_residual)),
        })
    }
}

/// Four decimals: the estimate is not more precise than that, and the answer stays readable.
fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

#[cfg(test)]
mod tests;
