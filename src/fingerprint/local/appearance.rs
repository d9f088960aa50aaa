//! Appearance: a coarse grid of mean luma over the whole feature image, kept beside a work's
//! local features, so that a transform the keypoints agree on can be checked against the
//! pictures themselves.
//!
//! Why: the geometric guards ([`super::geometry`]) refuse inliers that lie along one curve or
//! at few places, because a logo or a caption line shared by two different pictures agrees
//! with a transform over that small or thin area only. A true copy of a smooth wallpaper
//! produces exactly such inliers (its only corners are along one edge). What tells the two
//! apart is everything else: under the transform, a copy's whole overlap looks like the work;
//! two pictures sharing a caption differ everywhere but under it.

use super::geometry::Similarity;
use crate::fingerprint::decode::{resize_packed, working_dims};

/// Longest side of the grid, in cells. 24 x 24 cells are 576 bytes, which keeps a work's
/// serialised local features (at most 7,610 bytes of keypoints) within 8 KiB; a cell is about
/// 21 pixels of a 512-pixel feature image, coarse enough that the 5-pixel geometric tolerance
/// and resampling do not matter, fine enough that a caption bar covers several rows of cells.
pub const APPEARANCE_SIDE: usize = 24;

/// Share of the overlapping cells the agreement is measured on: those the best linear map
/// from work to query luma explains best. A caption bar or a corner logo covers up to a sixth
/// of a copy and would otherwise decide the measure; two pictures that share only such an
/// overlay still disagree on the rest, which is most of what is kept.
pub const KEPT_SHARE: f64 = 0.8;

/// Fewest work cells the transform must carry into the query for an agreement to be measured:
/// a quarter of a full grid; a copy that shows less of its work than that is the keypoints'
/// to prove alone.
pub const MIN_OVERLAP_CELLS: usize = 144;

/// Mean luma of `width` x `height` cells over an image (row-major).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Appearance {
    pub width: u8,
    pub height: u8,
    pub cells: Vec<u8>,
}

impl Appearance {
    /// The grid of a row-major 8-bit luma image: at most [`APPEARANCE_SIDE`] cells a side, with
    /// the image's aspect ratio, each the image's area average. Empty for an empty image.
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
            },
            // Area averaging cannot fail on a buffer whose size was just checked; no grid is
            // the honest answer if it ever did (the guards then stand as they are).
            Err(_) => Appearance::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Whether this is a grid [`Appearance::of_luma`] could have made of a `width` x `height`
    /// image (or no grid at all): stored bytes are checked before a grid is sampled.
    pub fn fits(&self, width: u16, height: u16) -> bool {
        let (w, h) = (usize::from(self.width), usize::from(self.height));
        if self.is_empty() {
            return w == 0 && h == 0;
        }
        width > 0
            && height > 0
            && self.cells.len() == w * h
            && working_dims(u32::from(width), u32::from(height), APPEARANCE_SIDE as u32)
                == (w as u32, h as u32)
    }

    /// Bilinear sample at grid coordinates (cell centres at `i + 0.5`), clamped at the edges.
    fn sample(&self, gx: f64, gy: f64) -> f64 {
        let (w, h) = (usize::from(self.width), usize::from(self.height));
        let fx = (gx - 0.5).clamp(0.0, (w - 1) as f64);
        let fy = (gy - 0.5).clamp(0.0, (h - 1) as f64);
        let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (tx, ty) = (fx - x0 as f64, fy - y0 as f64);
        let at = |x: usize, y: usize| f64::from(self.cells[y * w + x]);
        let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
        let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
        top * (1.0 - ty) + bottom * ty
    }
}

/// How the work's grid compares with the query's where `transform` (work feature-image
/// coordinates to query feature-image coordinates) puts each work cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AppearanceAgreement {
    /// Pearson correlation of the work cells with the query sampled at their images, over the
    /// [`KEPT_SHARE`] of them that agree best, -1..=1 (0 when either side is uniform there):
    /// brightness and contrast edits leave it unchanged.
    pub correlation: f64,
    /// Work cells whose centre lands inside the query.
    pub overlap_cells: usize,
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
    if work.is_empty() || query.is_empty() || query_size.0 <= 0.0 || query_size.1 <= 0.0 {
        return None;
    }
    let (ww, wh) = (usize::from(work.width), usize::from(work.height));
    let cell_w = work_size.0 / ww as f64;
    let cell_h = work_size.1 / wh as f64;
    let to_grid_x = f64::from(query.width) / query_size.0;
    let to_grid_y = f64::from(query.height) / query_size.1;
    let mut pairs = Vec::with_capacity(ww * wh);
    for y in 0..wh {
        for x in 0..ww {
            let centre = [(x as f64 + 0.5) * cell_w, (y as f64 + 0.5) * cell_h];
            let [qx, qy] = transform.apply(centre);
            if qx < 0.0 || qy < 0.0 || qx >= query_size.0 || qy >= query_size.1 {
                continue;
            }
            let seen = query.sample(qx * to_grid_x, qy * to_grid_y);
            pairs.push((f64::from(work.cells[y * ww + x]), seen));
        }
    }
    if pairs.len() < MIN_OVERLAP_CELLS {
        return None;
    }
    let overlap_cells = pairs.len();
    Some(AppearanceAgreement {
        correlation: pearson(&best_explained(pairs, KEPT_SHARE)),
        overlap_cells,
    })
}

/// The `share` of `pairs` with the smallest residuals from the least-squares line through all
/// of them (least trimmed squares in one step: enough to set an overlay's cells aside).
fn best_explained(mut pairs: Vec<(f64, f64)>, share: f64) -> Vec<(f64, f64)> {
    let n = pairs.len() as f64;
    let (mean_a, mean_b) = means(&pairs);
    let (cov, var_a) = pairs.iter().fold((0.0, 0.0), |(c, v), &(x, y)| {
        (c + (x - mean_a) * (y - mean_b), v + (x - mean_a).powi(2))
    });
    let slope = if var_a > 1e-9 { cov / var_a } else { 0.0 };
    let residual = |&(x, y): &(f64, f64)| (y - mean_b - slope * (x - mean_a)).abs();
    pairs.sort_by(|p, q| residual(p).total_cmp(&residual(q)));
    pairs.truncate(((n * share).ceil() as usize).max(2));
    pairs
}

fn means(pairs: &[(f64, f64)]) -> (f64, f64) {
    let n = pairs.len() as f64;
    pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x / n, b + y / n))
}

fn pearson(pairs: &[(f64, f64)]) -> f64 {
    let (mean_a, mean_b) = means(pairs);
    let (mut cov, mut var_a, mut var_b) = (0.0, 0.0, 0.0);
    for &(x, y) in pairs {
        let (da, db) = (x - mean_a, y - mean_b);
        cov += da * db;
        var_a += da * da;
        var_b += db * db;
    }
    // A uniform side has no pattern to agree with: no evidence either way.
    if var_a < 1e-9 || var_b < 1e-9 {
        return 0.0;
    }
    cov / (var_a * var_b).sqrt()
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
        assert_eq!((a.width, a.height), (24, 12));
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
        assert_eq!(same.overlap_cells, 24 * 18);

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
        assert!(crop_agrees.overlap_cells < 24 * 18 && crop_agrees.overlap_cells > 200);
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
