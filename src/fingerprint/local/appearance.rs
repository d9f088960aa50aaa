//! Appearance: a coarse grid of mean luma (and a coarser one of mean chroma) over the whole
//! feature image, kept beside a work's local features, so that a transform the keypoints
//! agree on can be checked against the pictures themselves, and so that a smooth picture
//! with too few corners for keypoints can still be aligned with its copy ([`align`]).
//!
//! Why: the geometric guards ([`super::geometry`]) refuse inliers that lie along one curve or
//! at few places, because a logo or a caption line shared by two different pictures agrees
//! with a transform over that small or thin area only. A true copy of a smooth wallpaper
//! produces exactly such inliers (its only corners are along one edge). What tells the two
//! apart is everything else: under the transform, a copy's whole overlap looks like the work;
//! two pictures sharing a caption differ everywhere but under it.

use serde::Serialize;

use super::geometry::Similarity;
use crate::fingerprint::decode::{resize_packed, working_dims};

/// Longest side of the luma grid, in cells. 22 x 22 cells are 484 bytes, which with the
/// chroma grid keeps a work's serialised local features (at most 7,610 bytes of keypoints)
/// within 8 KiB; a cell is about 23 pixels of a 512-pixel feature image, coarse enough that
/// the 5-pixel geometric tolerance and resampling do not matter, fine enough that a caption
/// bar covers several rows of cells. (Format 2 stored 24 x 24 grids; they are still read.)
pub const APPEARANCE_SIDE: usize = 22;

/// Longest side of the chroma grid, in cells: 6 x 6 cells of mean Cb and Cr are 72 bytes. A
/// smooth picture's colours change slowly, and colour is what tells two gradients of the same
/// shape apart (an orange sky and a violet one correlate in luma).
pub const CHROMA_SIDE: usize = 6;

/// Longest side of an upload's chroma grid, in cells. A work's 6 x 6 cells are each compared
/// with the mean of the upload's chroma over the cell's footprint under the transform; read
/// off a grid as coarse as the work's, that mean was a blend of neighbouring cells wherever
/// the two grids do not line up (a crop, or what a caption leaves), enough to push a true
/// copy's residual past the threshold on colourful works.
pub const UPLOAD_CHROMA_SIDE: usize = 24;

/// Points a side sampled over a work chroma cell's footprint (16 a cell).
const FOOTPRINT_SAMPLES: usize = 4;

/// Share of the overlapping cells the agreement is measured on: those the best linear map
/// from work to query luma explains best. A caption bar or a corner logo covers up to a sixth
/// of a copy and would otherwise decide the measure; two pictures that share only such an
/// overlay still disagree on the rest, which is most of what is kept.
pub const KEPT_SHARE: f64 = 0.8;

/// Fewest work cells the transform must carry into the query for an agreement to be measured:
/// a quarter of a full 22 x 22 grid; a copy that shows less of its work than that is the
/// keypoints' to prove alone.
pub const MIN_OVERLAP_CELLS: usize = 121;

/// Mean luma of `width` x `height` cells over an image (row-major), and mean chroma of a
/// coarser grid over the same image.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Appearance {
    pub width: u8,
    pub height: u8,
    pub cells: Vec<u8>,
    pub chroma_width: u8,
    pub chroma_height: u8,
    /// Mean BT.601 Cb and Cr, each + 128, of each chroma cell (row-major); empty when the
    /// features were computed from luma alone or stored before chroma was kept (format 2).
    pub chroma: Vec<[u8; 2]>,
}

impl Appearance {
    /// The luma grid of a row-major 8-bit luma image: at most [`APPEARANCE_SIDE`] cells a
    /// side, with the image's aspect ratio, each the image's area average; no chroma. Empty
    /// for an empty image.
    ///
    /// # Panics
    /// If `luma.len() != width * height`.
    pub fn of_luma(luma: &[u8], width: usize, height: usize) -> Self {
        assert_eq!(luma.len(), width * height, "luma buffer and size disagree");
        if width == 0 || height == 0 {
            return Appearance::default();
        }
        let (w, h) = working_dims(width as u32, height as u32, APPEARANCE_SIDE as u32);
        match resize_packed(
            luma.to_vec(),
            width as u32,
            height as u32,
            fast_image_resize::PixelType::U8,
            w,
            h,
        ) {
            Ok(cells) => Appearance {
                width: w as u8,
                height: h as u8,
                cells,
                ..Appearance::default()
            },
            // Area averaging cannot fail on a buffer whose size was just checked; no grid is
            // the honest answer if it ever did (the guards then stand as they are).
            Err(_) => Appearance::default(),
        }
    }

    /// Adds the chroma grid of a packed RGB8 image of the same picture (any size): at most
    /// [`CHROMA_SIDE`] cells a side, with the image's aspect ratio.
    ///
    /// # Panics
    /// If `rgb.len() != width * height * 3`.
    pub fn with_chroma_of_rgb(self, rgb: &[u8], width: usize, height: usize) -> Self {
        self.with_chroma_grid(rgb, width, height, CHROMA_SIDE)
    }

    /// [`Appearance::with_chroma_of_rgb`] for an upload: a finer grid, [`UPLOAD_CHROMA_SIDE`]
    /// cells a side, over which each work cell's footprint is averaged when the two are
    /// compared ([`align`]). Never stored.
    pub fn with_upload_chroma_of_rgb(self, rgb: &[u8], width: usize, height: usize) -> Self {
        self.with_chroma_grid(rgb, width, height, UPLOAD_CHROMA_SIDE)
    }

    fn with_chroma_grid(mut self, rgb: &[u8], width: usize, height: usize, side: usize) -> Self {
        assert_eq!(
            rgb.len(),
            width * height * 3,
            "RGB buffer and size disagree"
        );
        if width == 0 || height == 0 {
            return self;
        }
        let (w, h) = working_dims(width as u32, height as u32, side as u32);
        // BT.601 chroma is linear in RGB, so the chroma of each cell's mean colour is the mean
        // of its chroma: one area resize of the colour image does it.
        let Ok(means) = resize_packed(
            rgb.to_vec(),
            width as u32,
            height as u32,
            fast_image_resize::PixelType::U8x3,
            w,
            h,
        ) else {
            return self;
        };
        self.chroma_width = w as u8;
        self.chroma_height = h as u8;
        self.chroma = means
            .chunks_exact(3)
            .map(|p| {
                let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
                let cb = -0.168_736 * r - 0.331_264 * g + 0.5 * b;
                let cr = 0.5 * r - 0.418_688 * g - 0.081_312 * b;
                [to_byte(cb + 128.0), to_byte(cr + 128.0)]
            })
            .collect();
        self
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub fn has_chroma(&self) -> bool {
        !self.chroma.is_empty()
    }

    /// Whether these are grids [`Appearance::of_luma`] and [`Appearance::with_chroma_of_rgb`]
    /// could have made of a `width` x `height` image (or no grid at all; the luma grid may
    /// also be format 2's 24 cells a side): stored bytes are checked before a grid is sampled.
    pub fn fits(&self, width: u16, height: u16) -> bool {
        let grid_fits = |w: u8, h: u8, len: usize, sides: &[usize]| {
            let (w, h) = (usize::from(w), usize::from(h));
            if len == 0 {
                return w == 0 && h == 0;
            }
            width > 0
                && height > 0
                && len == w * h
                && sides.iter().any(|&side| {
                    working_dims(u32::from(width), u32::from(height), side as u32)
                        == (w as u32, h as u32)
                })
        };
        grid_fits(
            self.width,
            self.height,
            self.cells.len(),
            &[APPEARANCE_SIDE, FORMAT_2_SIDE],
        ) && grid_fits(
            self.chroma_width,
            self.chroma_height,
            self.chroma.len(),
            &[CHROMA_SIDE],
        ) && (self.chroma.is_empty() || !self.cells.is_empty())
    }

    /// Bilinear sample of the luma grid at grid coordinates (cell centres at `i + 0.5`).
    pub(super) fn sample(&self, gx: f64, gy: f64) -> f64 {
        bilinear(self.width, self.height, gx, gy, |i| {
            f64::from(self.cells[i])
        })
    }

    /// Bilinear sample of the chroma grid, Cb and Cr centred on 0.
    fn sample_chroma(&self, gx: f64, gy: f64) -> [f64; 2] {
        let (w, h) = (self.chroma_width, self.chroma_height);
        [0, 1].map(|c| bilinear(w, h, gx, gy, |i| f64::from(self.chroma[i][c]) - 128.0))
    }
}

/// The luma grid's side in stored features of format 2.
const FORMAT_2_SIDE: usize = 24;

fn to_byte(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// Bilinear sample of a `w` x `h` grid whose cell `i` (row-major) is `at(i)`, at grid
/// coordinates (cell centres at `i + 0.5`), clamped at the edges.
fn bilinear(w: u8, h: u8, gx: f64, gy: f64, at: impl Fn(usize) -> f64) -> f64 {
    let (w, h) = (usize::from(w), usize::from(h));
    let fx = (gx - 0.5).clamp(0.0, (w - 1) as f64);
    let fy = (gy - 0.5).clamp(0.0, (h - 1) as f64);
    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (tx, ty) = (fx - x0 as f64, fy - y0 as f64);
    let top = at(y0 * w + x0) * (1.0 - tx) + at(y0 * w + x1) * tx;
    let bottom = at(y1 * w + x0) * (1.0 - tx) + at(y1 * w + x1) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// How the work's grid compares with the query's where `transform` (work feature-image
/// coordinates to query feature-image coordinates) puts each work cell.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AppearanceAgreement {
    /// Pearson correlation of the work cells with the query sampled at their images, over the
    /// [`KEPT_SHARE`] of them that agree best, -1..=1 (0 when either side is uniform there):
    /// brightness and contrast edits leave it unchanged.
    pub correlation: f64,
    /// Work cells whose centre lands inside the query.
    pub overlap_cells: usize,
}

/// The two images' sizes (feature-image pixels) and grids, for comparing them under
/// transforms.
struct Pair<'a> {
    work: &'a Appearance,
    work_size: (f64, f64),
    query: &'a Appearance,
    query_size: (f64, f64),
}

impl<'a> Pair<'a> {
    /// `None` when either luma grid is empty or either size is not positive.
    fn of(
        work: &'a Appearance,
        work_size: (f64, f64),
        query: &'a Appearance,
        query_size: (f64, f64),
    ) -> Option<Self> {
        let positive = |(w, h): (f64, f64)| w > 0.0 && h > 0.0;
        (!work.is_empty() && !query.is_empty() && positive(work_size) && positive(query_size))
            .then_some(Pair {
                work,
                work_size,
                query,
                query_size,
            })
    }

    /// [`Pair::of`], and `None` also when either side lacks a chroma grid: the alignments
    /// judge colour.
    fn with_chroma(
        work: &'a Appearance,
        work_size: (f64, f64),
        query: &'a Appearance,
        query_size: (f64, f64),
    ) -> Option<Self> {
        if !work.has_chroma() || !query.has_chroma() {
            return None;
        }
        Pair::of(work, work_size, query, query_size)
    }

    /// `(work cell, query sample)` for every `stride`-th work cell in each direction whose
    /// centre `transform` puts inside the query.
    fn luma_pairs(&self, transform: &Similarity, stride: usize) -> Vec<(f64, f64)> {
        self.luma_pairs_where(transform, stride, |_| true)
    }

    /// [`Pair::luma_pairs`] of every cell, keeping only query samples made of the work's pixels
    /// alone (see [`Pair::sees_only_work`]).
    fn clean_luma_pairs(&self, transform: &Similarity) -> Vec<(f64, f64)> {
        let Some(inverse) = transform.inverse() else {
            return Vec::new();
        };
        let reach = self.query_cell(self.query.width, self.query.height);
        self.luma_pairs_where(transform, 1, |q| self.sees_only_work(&inverse, q, reach))
    }

    fn luma_pairs_where(
        &self,
        transform: &Similarity,
        stride: usize,
        keep: impl Fn([f64; 2]) -> bool,
    ) -> Vec<(f64, f64)> {
        let (work, query) = (self.work, self.query);
        let (ww, wh) = (usize::from(work.width), usize::from(work.height));
        let cell_w = self.work_size.0 / ww as f64;
        let cell_h = self.work_size.1 / wh as f64;
        let to_grid_x = f64::from(query.width) / self.query_size.0;
        let to_grid_y = f64::from(query.height) / self.query_size.1;
        let mut pairs = Vec::with_capacity(ww * wh);
        for y in (0..wh).step_by(stride) {
            for x in (0..ww).step_by(stride) {
                let centre = [(x as f64 + 0.5) * cell_w, (y as f64 + 0.5) * cell_h];
                let [qx, qy] = transform.apply(centre);
                if self.inside_query(qx, qy) && keep([qx, qy]) {
                    let seen = query.sample(qx * to_grid_x, qy * to_grid_y);
                    pairs.push((f64::from(work.cells[y * ww + x]), seen));
                }
            }
        }
        pairs
    }

    fn inside_query(&self, qx: f64, qy: f64) -> bool {
        qx >= 0.0 && qy >= 0.0 && qx < self.query_size.0 && qy < self.query_size.1
    }

    /// The size, in query feature-image pixels, of a cell of a `width` x `height` query grid.
    fn query_cell(&self, width: u8, height: u8) -> [f64; 2] {
        [
            self.query_size.0 / f64::from(width.max(1)),
            self.query_size.1 / f64::from(height.max(1)),
        ]
    }

    /// Whether a query grid sample at `q` is made of the work's pixels alone under the
    /// transform whose inverse is `inverse`: the query pixels within `reach` of `q` (one grid
    /// cell: what a bilinear sample of area-averaged cells mostly blends), inside the query's
    /// frame, all map inside the work. Along a turned copy's edges the grid cells average the
    /// fill of its corners with the picture.
    fn sees_only_work(&self, inverse: &Similarity, q: [f64; 2], reach: [f64; 2]) -> bool {
        // Points on the work's own border map a rounding error either way.
        const SLACK: f64 = 1e-6;
        let (qw, qh) = self.query_size;
        let (ww, wh) = self.work_size;
        let xs = [(q[0] - reach[0]).max(0.0), (q[0] + reach[0]).min(qw)];
        let ys = [(q[1] - reach[1]).max(0.0), (q[1] + reach[1]).min(qh)];
        // The work is a rectangle and the map a similarity: the box is inside when its
        // corners are.
        xs.iter().all(|&x| {
            ys.iter().all(|&y| {
                let [wx, wy] = inverse.apply([x, y]);
                (-SLACK..=ww + SLACK).contains(&wx) && (-SLACK..=wh + SLACK).contains(&wy)
            })
        })
    }
}

/// Compares `work` (of a `work_size` feature image) with `query` (of a `query_size` one) under
/// `transform`; `None` when either grid is empty or fewer than [`MIN_OVERLAP_CELLS`] work cells
/// land inside the query.
pub fn agreement(
    work: &Appearance,
    work_size: (f64, f64),
    query: &Appearance,
    query_size: (f64, f64),
    transform: &Similarity,
) -> Option<AppearanceAgreement> {
    let pair = Pair::of(work, work_size, query, query_size)?;
    robust_fit(pair.luma_pairs(transform, 1)).map(|(agreement, _)| agreement)
}

/// The agreement of the overlapping `(work cell, query sample)` pairs, and the line through the
/// pairs it keeps: the tones are read where the work shows, as the correlation is (over every
/// cell, a white logo on a dark corner or a caption steepened the line to a gain of 1.35-1.42
/// on copies whose tones were untouched).
fn robust_fit(pairs: Vec<(f64, f64)>) -> Option<(AppearanceAgreement, Line)> {
    if pairs.len() < MIN_OVERLAP_CELLS {
        return None;
    }
    let overlap_cells = pairs.len();
    let kept = best_explained(pairs, KEPT_SHARE);
    let agreement = AppearanceAgreement {
        correlation: pearson(&kept),
        overlap_cells,
    };
    Some((agreement, Line::through(&kept)))
}

/// Shares of the work's extent (along each side) that [`align`] supposes a copy shows: from
/// the whole work down to a 25% crop.
pub const ALIGN_SHARES: [f64; 6] = [1.0, 0.95, 0.9, 0.85, 0.8, 0.75];
/// Rotations (degrees) [`align`] supposes, before its refinement adds half a step each way.
pub const ALIGN_ANGLES: [f64; 3] = [-5.0, 0.0, 5.0];
/// Step of the shown region's centre, as a share of the work's side: about one cell.
const ALIGN_STEP: f64 = 0.05;
/// Coarse hypotheses refined around.
const ALIGN_REFINED: usize = 3;
/// Search scores this close to the best are a tie, broken by the tones ([`least_tone_change`]).
const ALIGN_TIE: f64 = 0.002;
/// Tone changes (|ln| of the luma gain) this close to the least are alike: 5%.
const TONE_SLACK: f64 = 0.05;

/// What [`align`] found: the transform under which the work's grids best explain the
/// query's, and how well they do.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Alignment {
    /// Work feature-image coordinates to query feature-image coordinates.
    pub transform: Similarity,
    /// The luma agreement under it, as [`agreement`] measures it.
    pub luma: AppearanceAgreement,
    /// Mean distance between the work's chroma and the query's under the transform, after
    /// the best gain (as the colour layout's comparison allows: 0.6-1.6), over the 80% of
    /// overlapping chroma cells that agree best; in BT.601 chroma units (Cb + Cr).
    pub chroma_residual: f64,
    /// Mean chroma magnitude (|Cb| + |Cr|) of the work's overlapping chroma cells: a grey
    /// work's chroma agrees with any grey query and so corroborates nothing.
    pub work_chroma: f64,
    /// The least-squares line from work luma to query luma over the overlap's cells that
    /// agree best (those `luma` correlates): a crop or an overlay leaves the tones as they
    /// were (gain near 1, shift near 0), where a different picture of the same shape is
    /// usually lighter, darker or flatter.
    pub luma_gain: f64,
    pub luma_shift: f64,
    /// The query's mean luma over the work's, on the same cells (0 for a black work): a
    /// brightness edit (an exposure change) scales the tones, moving the mean of a light
    /// picture far more than a dark one's.
    pub luma_ratio: f64,
    /// The gain fitted to the chroma (clamped to 0.6-1.6).
    pub chroma_gain: f64,
    /// Pearson correlation over every overlapping cell (no overlay set aside).
    pub plain_correlation: f64,
}

/// Searches the transforms a crop, a small rotation or an overlay makes (the query shows
/// [`ALIGN_SHARES`] of the work, anywhere in it, turned by up to about 7 degrees) for the one
/// under which the work's luma grid best predicts the query's; answers it with the chroma
/// grids' agreement. `None` when either side lacks a luma or a chroma grid, or no transform
/// overlaps enough.
///
/// Written here because this is a search over a handful of parameters on grids of a few
/// hundred cells: a coarse grid of hypotheses scored (`Scored`) on every other cell, then
/// the best few refined by half steps, their ties broken by the tones (`least_tone_change`),
/// then the robust measure on the winner.
pub fn align(
    work: &Appearance,
    work_size: (f64, f64),
    query: &Appearance,
    query_size: (f64, f64),
) -> Option<Alignment> {
    let pair = Pair::with_chroma(work, work_size, query, query_size)?;
    let score = |h: &Hypothesis, stride: usize| {
        let pairs = pair.luma_pairs(&h.transform(&pair), stride);
        (pairs.len() * stride * stride >= MIN_OVERLAP_CELLS).then(|| Scored::of(pairs))
    };
    let mut coarse: Vec<(f64, Hypothesis)> = Vec::new();
    for &share in &ALIGN_SHARES {
        let free = 1.0 - share;
        let steps = (free / ALIGN_STEP + 1e-9).floor() as usize;
        let centres = || (0..=steps).map(|i| share / 2.0 + free * i as f64 / steps.max(1) as f64);
        for cx in centres() {
            for cy in centres() {
                for &angle in &ALIGN_ANGLES {
                    let h = Hypothesis {
                        share,
                        centre: [cx, cy],
                        angle,
                    };
                    if let Some(s) = score(&h, 2) {
                        coarse.push((s.score, h));
                    }
                }
            }
        }
    }
    coarse.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut refined: Vec<(Scored, Similarity)> = Vec::new();
    for (_, h) in coarse.into_iter().take(ALIGN_REFINED) {
        for ds in [-0.025, 0.0, 0.025] {
            for dx in [-0.025, 0.0, 0.025] {
                for dy in [-0.025, 0.0, 0.025] {
                    for da in [-2.5, 0.0, 2.5] {
                        let near = Hypothesis {
                            share: h.share + ds,
                            centre: [h.centre[0] + dx, h.centre[1] + dy],
                            angle: h.angle + da,
                        };
                        if let Some(s) = score(&near, 1) {
                            refined.push((s, near.transform(&pair)));
                        }
                    }
                }
            }
        }
    }
    let chosen = least_tone_change(refined)?;
    measure(&pair, chosen, Samples::All)
}

/// [`align`] or [`align_turned`]: work grids and feature-image size, then the query's.
pub type Aligner = fn(&Appearance, (f64, f64), &Appearance, (f64, f64)) -> Option<Alignment>;

/// Turns (degrees) [`align_turned`] tries, each way: as far as [`align`]'s search reaches.
const TURN_REACH: f64 = 7.5;
/// Step between the turns [`align_turned`] tries.
const TURN_STEP: f64 = 0.5;

/// [`align`] for an upload that shows its whole work turned by a few degrees, its uncovered
/// corners filled ([`super::corners`]): a turn about the centre, on the same canvas or on one
/// grown to hold the turned picture, every [`TURN_STEP`] up to [`TURN_REACH`] each way. Such an
/// upload is no crop (cropping would have cut its filled corners away), and on a smooth
/// picture [`align`]'s search preferred a zoomed-in crop to the turn (a gradient correlates at
/// any zoom; its tones do not), judged with the query cells along the edges that blend the
/// fill. Here those cells are set aside, in the search and in the measures.
pub fn align_turned(
    work: &Appearance,
    work_size: (f64, f64),
    query: &Appearance,
    query_size: (f64, f64),
) -> Option<Alignment> {
    let pair = Pair::with_chroma(work, work_size, query, query_size)?;
    let (ww, wh) = work_size;
    let steps = (TURN_REACH / TURN_STEP).round() as i32;
    let mut scored: Vec<(Scored, Similarity)> = Vec::new();
    for i in -steps..=steps {
        let angle = f64::from(i) * TURN_STEP;
        let (sin, cos) = angle.to_radians().sin_cos();
        let (sin, cos) = (sin.abs(), cos.abs());
        // The grown canvas holds the turned work's bounding box.
        let grown = (((ww * cos + wh * sin) * (ww * sin + wh * cos)) / (ww * wh)).sqrt();
        for share in [1.0, grown] {
            let transform = Hypothesis {
                share,
                centre: [0.5, 0.5],
                angle,
            }
            .transform(&pair);
            let pairs = pair.clean_luma_pairs(&transform);
            if pairs.len() < MIN_OVERLAP_CELLS {
                continue;
            }
            scored.push((Scored::of(pairs), transform));
        }
    }
    let chosen = least_tone_change(scored)?;
    measure(&pair, chosen, Samples::OnlyWork)
}

/// How well a transform's luma pairs agree, as the alignment searches rank them.
#[derive(Clone, Copy, Debug)]
struct Scored {
    /// The mean of the plain correlation and the correlation over the [`KEPT_SHARE`] of the
    /// pairs that agree best. Not on those alone: on a two-tone picture any transform that
    /// keeps the tones apart explains 80% of the cells perfectly, and the plain correlation
    /// tells those apart. Nor on the plain one alone: a rotation's black corners steered the
    /// search to a neighbouring transform, and on mostly flat illustrations the winner's
    /// best-agreeing cells were flat ones only (correlation 0). Measured:
    /// docs/BENCHMARKS-fingerprint.md, "Alignment search score".
    score: f64,
    /// |ln| of the slope of the luma line through the best-agreeing pairs: 0 when the tones
    /// are kept.
    tone_change: f64,
}

impl Scored {
    fn of(pairs: Vec<(f64, f64)>) -> Self {
        let plain = pearson(&pairs);
        let (kept, slope) = pearson_and_slope(&best_explained(pairs, KEPT_SHARE));
        Scored {
            score: (plain + kept) / 2.0,
            tone_change: slope.max(1e-3).ln().abs(),
        }
    }
}

/// Of the `scored` transforms that explain the grids as well as the best (within
/// [`ALIGN_TIE`]), the best-scoring one of those that leave the tones as nearly as they were
/// as any does (within [`TONE_SLACK`]). A gradient correlates at any zoom, its tones do not: on
/// smooth works the best score alone fell to a zoom a step off, with a luma gain of 1.35-1.45
/// where the copy's tones were untouched. The slack keeps the score in charge where the tones
/// tell nothing apart (the turns of a smooth picture all keep them).
fn least_tone_change(scored: Vec<(Scored, Similarity)>) -> Option<Similarity> {
    let top = scored
        .iter()
        .map(|s| s.0.score)
        .fold(f64::NEG_INFINITY, f64::max);
    let tied: Vec<(Scored, Similarity)> = scored
        .into_iter()
        .filter(|s| s.0.score >= top - ALIGN_TIE)
        .collect();
    let least = tied
        .iter()
        .map(|s| s.0.tone_change)
        .fold(f64::INFINITY, f64::min);
    tied.into_iter()
        .filter(|s| s.0.tone_change <= least + TONE_SLACK)
        .max_by(|a, b| a.0.score.total_cmp(&b.0.score))
        .map(|(_, transform)| transform)
}

/// Which query samples an alignment's measures read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Samples {
    /// Every one inside the query.
    All,
    /// Only those made of the work's pixels alone ([`Pair::sees_only_work`]).
    OnlyWork,
}

/// The [`Alignment`] of the pair's grids under `transform`; `None` when too few cells overlap.
fn measure(pair: &Pair, transform: Similarity, samples: Samples) -> Option<Alignment> {
    let overlap = match samples {
        Samples::All => pair.luma_pairs(&transform, 1),
        Samples::OnlyWork => pair.clean_luma_pairs(&transform),
    };
    let plain_correlation = pearson(&overlap);
    let (luma, tones) = robust_fit(overlap)?;
    let (chroma_residual, work_chroma, chroma_gain) = chroma_agreement(pair, &transform, samples)?;
    Some(Alignment {
        transform,
        luma,
        chroma_residual,
        work_chroma,
        luma_gain: tones.slope,
        luma_shift: tones.mean_b - tones.mean_a,
        luma_ratio: if tones.mean_a > 1e-9 {
            tones.mean_b / tones.mean_a
        } else {
            0.0
        },
        chroma_gain,
        plain_correlation,
    })
}

/// A supposed copy: the query shows `share` of the work's width and height around `centre`
/// (fractions of the work's sides), turned by `angle` degrees.
#[derive(Clone, Copy, Debug)]
struct Hypothesis {
    share: f64,
    centre: [f64; 2],
    angle: f64,
}

impl Hypothesis {
    fn transform(&self, pair: &Pair) -> Similarity {
        let (ww, wh) = pair.work_size;
        let (qw, qh) = pair.query_size;
        // Uniform scale: the geometric mean of the two sides' when the aspect ratios differ.
        let scale = ((qw * qh) / (ww * wh)).sqrt() / self.share;
        let centre = [self.centre[0] * ww, self.centre[1] * wh];
        let rotation = Similarity {
            scale,
            angle_degrees: self.angle,
            translation: [0.0, 0.0],
            reflected: false,
        };
        let moved = rotation.apply(centre);
        Similarity {
            translation: [qw / 2.0 - moved[0], qh / 2.0 - moved[1]],
            ..rotation
        }
    }
}

/// `(chroma residual, work chroma, chroma gain)` of [`Alignment`]; `None` when fewer than a
/// quarter of the work's chroma cells land inside the query.
fn chroma_agreement(
    pair: &Pair,
    transform: &Similarity,
    samples: Samples,
) -> Option<(f64, f64, f64)> {
    let (work, query) = (pair.work, pair.query);
    let (cw, ch) = (
        usize::from(work.chroma_width),
        usize::from(work.chroma_height),
    );
    let cell_w = pair.work_size.0 / cw as f64;
    let cell_h = pair.work_size.1 / ch as f64;
    let to_grid_x = f64::from(query.chroma_width) / pair.query_size.0;
    let to_grid_y = f64::from(query.chroma_height) / pair.query_size.1;
    // Only the turned alignment sets samples aside; the others need no inverse.
    let only_work = match samples {
        Samples::All => None,
        Samples::OnlyWork => Some(transform.inverse()?),
    };
    let reach = pair.query_cell(query.chroma_width, query.chroma_height);
    let readable = |qx: f64, qy: f64| {
        pair.inside_query(qx, qy)
            && only_work
                .as_ref()
                .is_none_or(|inverse| pair.sees_only_work(inverse, [qx, qy], reach))
    };
    // The query's mean chroma over the part of a work cell's footprint inside the query (and
    // made of the work alone, when asked); `None` when none of its sample points is.
    let footprint_mean = |x: usize, y: usize| {
        let (mut sum, mut n) = ([0.0, 0.0], 0.0);
        for i in 0..FOOTPRINT_SAMPLES {
            for j in 0..FOOTPRINT_SAMPLES {
                let at = |cell: usize, k: usize, size: f64| {
                    (cell as f64 + (k as f64 + 0.5) / FOOTPRINT_SAMPLES as f64) * size
                };
                let [qx, qy] = transform.apply([at(x, i, cell_w), at(y, j, cell_h)]);
                if readable(qx, qy) {
                    let [cb, cr] = query.sample_chroma(qx * to_grid_x, qy * to_grid_y);
                    sum = [sum[0] + cb, sum[1] + cr];
                    n += 1.0;
                }
            }
        }
        (n > 0.0).then(|| [sum[0] / n, sum[1] / n])
    };
    let mut pairs: Vec<([f64; 2], [f64; 2])> = Vec::with_capacity(cw * ch);
    for y in 0..ch {
        for x in 0..cw {
            let centre = [(x as f64 + 0.5) * cell_w, (y as f64 + 0.5) * cell_h];
            let [qx, qy] = transform.apply(centre);
            if pair.inside_query(qx, qy) {
                let [cb, cr] = work.chroma[y * cw + x];
                let own = [f64::from(cb) - 128.0, f64::from(cr) - 128.0];
                let seen = match footprint_mean(x, y) {
                    Some(mean) => mean,
                    None if readable(qx, qy) => query.sample_chroma(qx * to_grid_x, qy * to_grid_y),
                    None => continue,
                };
                pairs.push((own, seen));
            }
        }
    }
    if pairs.len() * 4 < cw * ch || pairs.is_empty() {
        return None;
    }
    let dot = |a: [f64; 2], b: [f64; 2]| a[0] * b[0] + a[1] * b[1];
    let (cross, own) = pairs
        .iter()
        .fold((0.0, 0.0), |(c, o), &(w, q)| (c + dot(w, q), o + dot(w, w)));
    let gain = if own > 1e-9 {
        (cross / own).clamp(0.6, 1.6)
    } else {
        1.0
    };
    let mut residuals: Vec<f64> = pairs
        .iter()
        .map(|&(w, q)| (q[0] - gain * w[0]).abs() + (q[1] - gain * w[1]).abs())
        .collect();
    residuals.sort_by(f64::total_cmp);
    residuals.truncate(((residuals.len() as f64 * KEPT_SHARE).ceil() as usize).max(1));
    let mean = |v: &mut dyn Iterator<Item = f64>, n: usize| v.sum::<f64>() / n as f64;
    let residual = mean(&mut residuals.iter().copied(), residuals.len());
    let work_chroma = mean(
        &mut pairs.iter().map(|(w, _)| w[0].abs() + w[1].abs()),
        pairs.len(),
    );
    Some((residual, work_chroma, gain))
}

/// The `share` of `pairs` with the smallest residuals from the least-squares line through all
/// of them (least trimmed squares in one step: enough to set an overlay's cells aside).
fn best_explained(pairs: Vec<(f64, f64)>, share: f64) -> Vec<(f64, f64)> {
    let keep = ((pairs.len() as f64 * share).ceil() as usize).max(2);
    if keep >= pairs.len() {
        return pairs;
    }
    let line = Line::through(&pairs);
    let mut ranked: Vec<(f64, (f64, f64))> = pairs
        .into_iter()
        .map(|(x, y)| {
            (
                (y - line.mean_b - line.slope * (x - line.mean_a)).abs(),
                (x, y),
            )
        })
        .collect();
    // Which pairs are kept is all that matters, not their order: a selection, not a sort
    // (the alignment's search calls this for every hypothesis).
    ranked.select_nth_unstable_by(keep - 1, |a, b| a.0.total_cmp(&b.0));
    ranked.truncate(keep);
    ranked.into_iter().map(|(_, pair)| pair).collect()
}

/// The least-squares line `b = mean_b + slope * (a - mean_a)` through `(a, b)` pairs (slope 0
/// when the `a` are all equal).
struct Line {
    mean_a: f64,
    mean_b: f64,
    slope: f64,
}

impl Line {
    fn through(pairs: &[(f64, f64)]) -> Self {
        let (mean_a, mean_b) = means(pairs);
        let (cov, var_a) = pairs.iter().fold((0.0, 0.0), |(c, v), &(x, y)| {
            (c + (x - mean_a) * (y - mean_b), v + (x - mean_a).powi(2))
        });
        Line {
            mean_a,
            mean_b,
            slope: if var_a > 1e-9 { cov / var_a } else { 0.0 },
        }
    }
}

fn means(pairs: &[(f64, f64)]) -> (f64, f64) {
    let n = pairs.len() as f64;
    pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x / n, b + y / n))
}

fn pearson(pairs: &[(f64, f64)]) -> f64 {
    pearson_and_slope(pairs).0
}

/// The Pearson correlation of `pairs` and the slope of their least-squares line (as
/// [`Line::through`]), from one pass: the alignment searches need both for every hypothesis.
fn pearson_and_slope(pairs: &[(f64, f64)]) -> (f64, f64) {
    let (mean_a, mean_b) = means(pairs);
    let (mut cov, mut var_a, mut var_b) = (0.0, 0.0, 0.0);
    for &(x, y) in pairs {
        let (da, db) = (x - mean_a, y - mean_b);
        cov += da * db;
        var_a += da * da;
        var_b += db * db;
    }
    let slope = if var_a > 1e-9 { cov / var_a } else { 0.0 };
    // A uniform side has no pattern to agree with: no evidence either way.
    if var_a < 1e-9 || var_b < 1e-9 {
        return (0.0, slope);
    }
    (cov / (var_a * var_b).sqrt(), slope)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth diagonal gradient with a bump, `w` x `h`.
    fn picture(w: usize, h: usize) -> Vec<u8> {
        (0..h)
            .flat_map(|y| {
                (0..w).map(move |x| {
                    let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
                    let bump = (-((fx - 0.3).powi(2) + (fy - 0.6).powi(2)) * 20.0).exp();
                    (40.0 + 120.0 * fx + 40.0 * fy + 50.0 * bump) as u8
                })
            })
            .collect()
    }

    #[test]
    fn the_grid_keeps_the_aspect_ratio_and_averages_areas() {
        let a = Appearance::of_luma(&[200u8; 480 * 240], 480, 240);
        assert_eq!((a.width, a.height), (22, 11));
        assert!(a.cells.iter().all(|&c| c == 200));
        let small = Appearance::of_luma(&[7u8; 10 * 5], 10, 5);
        assert_eq!((small.width, small.height, small.cells.len()), (10, 5, 50));
        assert!(Appearance::of_luma(&[], 0, 0).is_empty());
    }

    #[test]
    fn a_picture_agrees_with_itself_and_with_a_crop_of_it() {
        let (w, h) = (480usize, 360usize);
        let luma = picture(w, h);
        let work = Appearance::of_luma(&luma, w, h);
        let same = agreement(
            &work,
            (480.0, 360.0),
            &work,
            (480.0, 360.0),
            &Similarity::identity(),
        )
        .unwrap();
        assert!(same.correlation > 0.999, "{same:?}");
        let all_cells = usize::from(work.width) * usize::from(work.height);
        assert_eq!(same.overlap_cells, all_cells);

        // The right 80% and top 80%, at the same size: work x maps to x - 96, y to y.
        let (cx, cw, ch) = (96usize, 384usize, 288usize);
        let crop: Vec<u8> = (0..ch)
            .flat_map(|y| luma[y * w + cx..y * w + cx + cw].to_vec())
            .collect();
        let query = Appearance::of_luma(&crop, cw, ch);
        let transform = Similarity {
            scale: 1.0,
            angle_degrees: 0.0,
            translation: [-96.0, 0.0],
            reflected: false,
        };
        let crop_agrees =
            agreement(&work, (480.0, 360.0), &query, (384.0, 288.0), &transform).unwrap();
        assert!(crop_agrees.correlation > 0.99, "{crop_agrees:?}");
        assert!(crop_agrees.overlap_cells < all_cells && crop_agrees.overlap_cells > all_cells / 2);
    }

    /// A smooth colour picture `w` x `h` turned by `degrees` about its centre, the corners it
    /// uncovers black (a photograph straightened without cropping): its grids with chroma.
    fn turned(w: usize, h: usize, degrees: f64) -> Appearance {
        turned_on(w, h, degrees, (w, h))
    }

    /// [`turned`] on a `canvas` (width, height) of its own, the picture's centre at the
    /// canvas's (an editor that grows the canvas to hold the whole turned picture).
    fn turned_on(w: usize, h: usize, degrees: f64, canvas: (usize, usize)) -> Appearance {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let (canvas_w, canvas_h) = canvas;
        let shade = |x: f64, y: f64| {
            let (fx, fy) = (x / w as f64, y / h as f64);
            let bump = (-((fx - 0.7).powi(2) + (fy - 0.3).powi(2)) * 12.0).exp();
            let dip = (-((fx - 0.25).powi(2) + (fy - 0.75).powi(2)) * 16.0).exp();
            40.0 + 90.0 * fx + 30.0 * fy + 70.0 * bump - 35.0 * dip
        };
        let mut luma = Vec::with_capacity(canvas_w * canvas_h);
        let mut rgb = Vec::with_capacity(canvas_w * canvas_h * 3);
        for y in 0..canvas_h {
            for x in 0..canvas_w {
                let dx = x as f64 + 0.5 - canvas_w as f64 / 2.0;
                let dy = y as f64 + 0.5 - canvas_h as f64 / 2.0;
                let (sx, sy) = (cx + cos * dx + sin * dy, cy - sin * dx + cos * dy);
                let inside = sx >= 0.0 && sy >= 0.0 && sx < w as f64 && sy < h as f64;
                let l = if inside { shade(sx, sy) as u8 } else { 0 };
                luma.push(l);
                rgb.extend(if inside {
                    [l, l / 2, 255 - l]
                } else {
                    [0, 0, 0]
                });
            }
        }
        Appearance::of_luma(&luma, canvas_w, canvas_h).with_chroma_of_rgb(&rgb, canvas_w, canvas_h)
    }

    #[test]
    fn a_turned_copy_is_aligned_whole_on_either_canvas_with_its_fill_set_aside() {
        let size = (480.0, 360.0);
        let work = turned(480, 360, 0.0);
        for degrees in [-5.0, 3.0, 6.5] {
            let (sin, cos) = f64::to_radians(degrees).abs().sin_cos();
            let grown = (
                (480.0 * cos + 360.0 * sin).ceil() as usize,
                (480.0 * sin + 360.0 * cos).ceil() as usize,
            );
            for canvas in [(480, 360), grown] {
                let copy = turned_on(480, 360, degrees, canvas);
                let canvas_size = (canvas.0 as f64, canvas.1 as f64);
                let found = align_turned(&work, size, &copy, canvas_size).expect("an alignment");
                let t = found.transform;
                assert!(
                    (t.angle_degrees - degrees).abs() <= TURN_STEP,
                    "{degrees} {canvas:?}: {found:?}"
                );
                assert!(
                    (t.scale - 1.0).abs() < 0.02,
                    "{degrees} {canvas:?}: {found:?}"
                );
                assert!(
                    found.luma.correlation >= 0.99,
                    "{degrees} {canvas:?}: {found:?}"
                );
                // The fill set aside, the tones are the work's.
                assert!(
                    (found.luma_gain - 1.0).abs() < 0.1,
                    "{degrees} {canvas:?}: {found:?}"
                );
                assert!(
                    found.luma_shift.abs() < 5.0,
                    "{degrees} {canvas:?}: {found:?}"
                );
                assert!(
                    found.chroma_residual <= 4.0,
                    "{degrees} {canvas:?}: {found:?}"
                );
            }
        }
        // A different picture turned the same way does not agree.
        let rgb = colourful(480, 360);
        let other = grids(&rgb, 480, 360, false);
        let copy = turned(480, 360, 5.0);
        let found = align_turned(&other, size, &copy, size).expect("an alignment");
        assert!(found.luma.correlation < 0.9, "{found:?}");
    }

    #[test]
    fn of_transforms_scored_alike_the_one_keeping_the_tones_is_chosen() {
        // A linear gradient: every zoom correlates alike, and steepens it.
        let (w, h) = (480, 360);
        let luma: Vec<u8> = (0..w * h)
            .map(|i| (40 + 150 * (i % w) / w + 40 * (i / w) / h) as u8)
            .collect();
        let rgb: Vec<u8> = luma.iter().flat_map(|&l| [l, l / 2, 255 - l]).collect();
        let gradient = Appearance::of_luma(&luma, w, h).with_chroma_of_rgb(&rgb, w, h);
        let size = (480.0, 360.0);
        let pair = Pair::with_chroma(&gradient, size, &gradient, size).unwrap();
        let own = Similarity::identity();
        let zoomed = Hypothesis {
            share: 0.8,
            centre: [0.5, 0.5],
            angle: 0.0,
        }
        .transform(&pair);
        // Scored by the pictures' pairs, the scores then set as a search might find them.
        let scored = |transform: Similarity, score: f64| {
            let measured = Scored::of(pair.luma_pairs(&transform, 1));
            (Scored { score, ..measured }, transform)
        };
        let choose = |own_score: f64, zoomed_score: f64| {
            least_tone_change(vec![scored(zoomed, zoomed_score), scored(own, own_score)]).unwrap()
        };
        assert_eq!(choose(0.999, 0.9995), own);
        assert_eq!(choose(0.99, 0.9995), zoomed);
    }

    #[test]
    fn a_turned_copy_with_black_corners_is_aligned_to_its_turn() {
        let size = (480.0, 360.0);
        let work = turned(480, 360, 0.0);
        for degrees in [-5.0, 5.0] {
            let copy = turned(480, 360, degrees);
            let found = align(&work, size, &copy, size).expect("an alignment");
            // A smooth picture pins the turn only roughly: within one refinement step.
            assert!(
                (found.transform.angle_degrees - degrees).abs() <= 2.5,
                "{degrees}: {found:?}"
            );
            assert!(found.luma.correlation >= 0.98, "{degrees}: {found:?}");
            assert!(found.chroma_residual <= 6.0, "{degrees}: {found:?}");
        }
    }

    /// A picture whose colours change at about the chroma cells' scale, `w` x `h`: packed RGB.
    fn colourful(w: usize, h: usize) -> Vec<u8> {
        let wave =
            |v: f64, turns: f64| (128.0 + 100.0 * (v * turns * std::f64::consts::TAU).sin()) as u8;
        (0..h)
            .flat_map(|y| {
                (0..w).flat_map(move |x| {
                    let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
                    [wave(fx, 2.5), 120, wave(fy + 0.1, 2.0)]
                })
            })
            .collect()
    }

    fn grids(rgb: &[u8], w: usize, h: usize, upload: bool) -> Appearance {
        let luma: Vec<u8> = rgb
            .chunks_exact(3)
            .map(|p| {
                (0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])) as u8
            })
            .collect();
        let grids = Appearance::of_luma(&luma, w, h);
        if upload {
            grids.with_upload_chroma_of_rgb(rgb, w, h)
        } else {
            grids.with_chroma_of_rgb(rgb, w, h)
        }
    }

    #[test]
    fn a_crops_colours_are_compared_over_each_work_cells_footprint() {
        let (w, h) = (480usize, 360usize);
        let rgb = colourful(w, h);
        let work = grids(&rgb, w, h, false);
        // The top 86% (what a caption bar over the bottom leaves): the work's chroma cells
        // and the crop's do not line up.
        let ch = 310;
        let crop = &rgb[..w * ch * 3];
        let residual = |upload: bool| {
            let query = grids(crop, w, ch, upload);
            let pair = Pair::of(&work, (480.0, 360.0), &query, (480.0, 310.0)).unwrap();
            chroma_agreement(&pair, &Similarity::identity(), Samples::All)
                .unwrap()
                .0
        };
        let (coarse, fine) = (residual(false), residual(true));
        assert!(
            fine < 1.5 && coarse > 3.0 * fine,
            "coarse {coarse}, fine {fine}"
        );
    }

    #[test]
    fn a_different_picture_or_a_wrong_transform_disagrees() {
        let (w, h) = (480usize, 360usize);
        let work = Appearance::of_luma(&picture(w, h), w, h);
        let mirrored: Vec<u8> = picture(w, h)
            .chunks(w)
            .flat_map(|row| row.iter().rev().copied())
            .collect();
        let other = Appearance::of_luma(&mirrored, w, h);
        let a = agreement(
            &work,
            (480.0, 360.0),
            &other,
            (480.0, 360.0),
            &Similarity::identity(),
        )
        .unwrap();
        assert!(a.correlation < 0.7, "{a:?}");
        let shifted = Similarity {
            translation: [-360.0, 0.0],
            ..Similarity::identity()
        };
        assert_eq!(
            agreement(&work, (480.0, 360.0), &work, (480.0, 360.0), &shifted),
            None,
            "too little overlap to judge"
        );
        let uniform = Appearance::of_luma(&[90u8; 480 * 360], 480, 360);
        let flat = agreement(
            &work,
            (480.0, 360.0),
            &uniform,
            (480.0, 360.0),
            &Similarity::identity(),
        );
        assert_eq!(flat.unwrap().correlation, 0.0);
    }
}
