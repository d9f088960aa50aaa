//! Keypoints: a small pyramid, FAST-9 corners (imageproc) ranked by the Harris measure and
//! spread over a grid, each with an orientation from its intensity centroid.

use std::cell::OnceCell;

use image::GrayImage;
use imageproc::corners::{corners_fast9, Corner};
use imageproc::suppress::local_maxima;

use super::super::decode::resize_packed;
use super::filters::{gaussian_blur, Gradients};
use super::{quantise, Keypoint, LEVELS, LEVEL_SCALE, MAX_FEATURES};

/// FAST threshold (grey levels between the centre and the arc). 20 is ORB's default; a level
/// that yields fewer corners than its share is searched again at
/// [`FAST_FALLBACK_THRESHOLD`], so dark and low-contrast works still get features.
pub const FAST_THRESHOLD: u8 = 20;
pub const FAST_FALLBACK_THRESHOLD: u8 = 7;
/// Keypoints stay this far from a level's edges: the orientation patch has radius 15 and the
/// steered descriptor's samples at most 14 pixels from the centre.
pub const EDGE: u32 = 16;
/// Gaussian smoothing of a level before orientation and descriptor: BRIEF's binary tests on
/// raw pixels flip with JPEG noise; ORB and BRIEF smooth with a sigma of about 2.
pub const SMOOTHING_SIGMA: f32 = 2.0;
/// Radius of the disc the intensity centroid is taken over. A disc, not a square, so the
/// measured angle turns with the image (a square's corners enter and leave under rotation).
const CENTROID_RADIUS: i32 = 15;
const HARRIS_K: f32 = 0.04;
/// Half-size of the window the Harris structure tensor sums over (7x7).
const HARRIS_RADIUS: i32 = 3;
/// Non-maximum suppression radius on the FAST score: neighbouring pixels of one corner all
/// pass the test, and would otherwise use up a cell's share.
const NMS_RADIUS: u32 = 2;
/// Each level is cut into `GRID` x `GRID` cells, and no cell takes more than twice its even
/// share while others have candidates: features cluster in textured regions otherwise, and a
/// crop or an overlay that removes that region would remove all of them.
const GRID: u32 = 4;
/// Smallest side a pyramid level may have: the edge margin on both sides plus room for
/// corners.
const MIN_LEVEL_SIDE: u32 = 2 * EDGE + 16;

/// One level of the pyramid.
pub struct Level {
    pub image: GrayImage,
    pub smoothed: GrayImage,
    /// Level-0 pixels per level pixel, per axis.
    pub scale_x: f32,
    pub scale_y: f32,
}

/// A keypoint with its position in its own level's pixels (for the descriptor).
pub struct LevelKeypoint {
    pub keypoint: Keypoint,
    pub level_x: u32,
    pub level_y: u32,
}

/// The pyramid of `base`: level `l` is `base` area-averaged by `LEVEL_SCALE^l`, as long as
/// both sides stay at least `MIN_LEVEL_SIDE`.
pub fn pyramid(base: &GrayImage) -> Vec<Level> {
    let (w0, h0) = base.dimensions();
    let mut levels = Vec::with_capacity(LEVELS);
    for l in 0..LEVELS {
        let factor = LEVEL_SCALE.powi(l as i32);
        let (w, h) = (
            (w0 as f32 / factor).round() as u32,
            (h0 as f32 / factor).round() as u32,
        );
        if w < MIN_LEVEL_SIDE || h < MIN_LEVEL_SIDE {
            break;
        }
        let image = if l == 0 {
            base.clone()
        } else {
            let Ok(raw) = resize_packed(
                base.as_raw().clone(),
                w0,
                h0,
                fast_image_resize::PixelType::U8,
                w,
                h,
            ) else {
                break;
            };
            match GrayImage::from_raw(w, h, raw) {
                Some(img) => img,
                None => break,
            }
        };
        let smoothed = gaussian_blur(&image, SMOOTHING_SIGMA);
        levels.push(Level {
            image,
            smoothed,
            scale_x: w0 as f32 / w as f32,
            scale_y: h0 as f32 / h as f32,
        });
    }
    levels
}

/// At most [`MAX_FEATURES`] keypoints over all levels. Each level's share is proportional to
/// its area (as in ORB); a level that cannot fill its share passes the rest on.
pub fn keypoints(levels: &[Level]) -> Vec<LevelKeypoint> {
    let area = |l: &Level| (l.image.width() * l.image.height()) as f32;
    let total: f32 = levels.iter().map(area).sum();
    let mut out = Vec::with_capacity(MAX_FEATURES);
    let mut carry = 0usize;
    for (index, level) in levels.iter().enumerate() {
        let left = MAX_FEATURES - out.len();
        let share = if index + 1 == levels.len() {
            left
        } else {
            ((MAX_FEATURES as f32 * area(level) / total).round() as usize + carry).min(left)
        };
        let picked = level_keypoints(level, index as u8, share);
        carry = share - picked.len();
        out.extend(picked);
    }
    out
}

fn level_keypoints(level: &Level, index: u8, share: usize) -> Vec<LevelKeypoint> {
    if share == 0 {
        return Vec::new();
    }
    // The gradients do not depend on the FAST threshold: computed at most once a level.
    let gradients = OnceCell::new();
    let mut scored = corner_candidates(&level.image, FAST_THRESHOLD, &gradients);
    if scored.len() < share {
        scored = corner_candidates(&level.image, FAST_FALLBACK_THRESHOLD, &gradients);
    }
    let chosen = spread_over_grid(&scored, level.image.width(), level.image.height(), share);
    chosen
        .into_iter()
        .map(|c| {
            let angle = intensity_centroid_angle(&level.smoothed, c.x, c.y);
            let turns = (angle / std::f32::consts::TAU * 256.0).round() as i32;
            LevelKeypoint {
                keypoint: Keypoint {
                    x: quantise((c.x as f32 + 0.5) * level.scale_x - 0.5),
                    y: quantise((c.y as f32 + 0.5) * level.scale_y - 0.5),
                    level: index,
                    angle: turns.rem_euclid(256) as u8,
                },
                level_x: c.x,
                level_y: c.y,
            }
        })
        .collect()
}

/// FAST-9 corners away from the edges, one per local maximum of the FAST score, scored by the
/// Harris measure; corners whose Harris measure says "edge" (not positive) are dropped, as
/// FAST alone also fires along strong straight edges.
fn corner_candidates(
    image: &GrayImage,
    threshold: u8,
    gradients: &OnceCell<Gradients>,
) -> Vec<Corner> {
    let (w, h) = image.dimensions();
    let inside: Vec<Corner> = corners_fast9(image, threshold)
        .into_iter()
        .filter(|c| c.x >= EDGE && c.y >= EDGE && c.x + EDGE < w && c.y + EDGE < h)
        .collect();
    if inside.is_empty() {
        return inside;
    }
    let gradients = gradients.get_or_init(|| Gradients::interior(image));
    local_maxima(&inside, NMS_RADIUS)
        .into_iter()
        .filter_map(|c| {
            let (mut sxx, mut syy, mut sxy) = (0f32, 0f32, 0f32);
            for dy in -HARRIS_RADIUS..=HARRIS_RADIUS {
                for dx in -HARRIS_RADIUS..=HARRIS_RADIUS {
                    let (x, y) = ((c.x as i32 + dx) as u32, (c.y as i32 + dy) as u32);
                    let (gx, gy) = gradients.at(x, y);
                    let (ix, iy) = (f32::from(gx), f32::from(gy));
                    sxx += ix * ix;
                    syy += iy * iy;
                    sxy += ix * iy;
                }
            }
            let response = sxx * syy - sxy * sxy - HARRIS_K * (sxx + syy) * (sxx + syy);
            (response > 0.0).then_some(Corner::new(c.x, c.y, response))
        })
        .collect()
}

/// The best `share` corners by score, no grid cell taking more than twice its even share
/// while candidates elsewhere remain.
fn spread_over_grid(corners: &[Corner], width: u32, height: u32, share: usize) -> Vec<Corner> {
    let mut order: Vec<&Corner> = corners.iter().collect();
    // Ties broken by position so the choice never depends on the detector's output order.
    order.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then((a.y, a.x).cmp(&(b.y, b.x)))
    });
    let cells = (GRID * GRID) as usize;
    let cap = (2 * share).div_ceil(cells).max(1);
    let cell_of = |c: &Corner| {
        let cx = (c.x * GRID / width).min(GRID - 1);
        let cy = (c.y * GRID / height).min(GRID - 1);
        (cy * GRID + cx) as usize
    };
    let mut per_cell = vec![0usize; cells];
    let mut taken = vec![false; order.len()];
    let mut out = Vec::with_capacity(share);
    for (i, c) in order.iter().enumerate() {
        if out.len() == share {
            break;
        }
        let cell = cell_of(c);
        if per_cell[cell] < cap {
            per_cell[cell] += 1;
            taken[i] = true;
            out.push(**c);
        }
    }
    for (i, c) in order.iter().enumerate() {
        if out.len() == share {
            break;
        }
        if !taken[i] {
            out.push(**c);
        }
    }
    out
}

/// Angle (radians, from +x towards +y) of the vector from the keypoint to the intensity
/// centroid of the disc around it (Rosin 1999, as used by ORB).
fn intensity_centroid_angle(image: &GrayImage, x: u32, y: u32) -> f32 {
    let r = CENTROID_RADIUS;
    let (mut m10, mut m01) = (0i64, 0i64);
    for dy in -r..=r {
        let half = ((r * r - dy * dy) as f32).sqrt() as i32;
        let row = (y as i32 + dy) as u32;
        for dx in -half..=half {
            let v = i64::from(image.get_pixel((x as i32 + dx) as u32, row)[0]);
            m10 += i64::from(dx) * v;
            m01 += i64::from(dy) * v;
        }
    }
    (m01 as f32).atan2(m10 as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_keeps_a_dense_corner_cluster_from_taking_every_slot() {
        // 100 strong corners in the top-left cell, 10 weaker ones spread elsewhere.
        let mut corners: Vec<Corner> = (0..100)
            .map(|i| Corner::new(20 + i % 10, 20 + i / 10, 1000.0 + i as f32))
            .collect();
        corners.extend((0..10).map(|i| Corner::new(200 + i * 20, 300, 1.0)));
        let chosen = spread_over_grid(&corners, 400, 400, 32);
        assert_eq!(chosen.len(), 32);
        let in_cluster = chosen.iter().filter(|c| c.x < 100 && c.y < 100).count();
        // Cap: ceil(2 * 32 / 16) = 4 per cell. First pass: 4 from the cluster, 4 from each of
        // the two cells the weak row falls in; then the strongest remaining fill the rest.
        assert_eq!(in_cluster, 24);
        assert_eq!(chosen.iter().filter(|c| c.y == 300).count(), 8);
    }

    #[test]
    fn the_centroid_angle_points_at_the_bright_side() {
        for (bright_x, bright_y, expected) in [
            (true, false, 0.0f32),
            (false, true, std::f32::consts::FRAC_PI_2),
        ] {
            let img = GrayImage::from_fn(64, 64, |x, y| {
                let lit = (bright_x && x > 32) || (bright_y && y > 32);
                image::Luma([if lit { 200 } else { 20 }])
            });
            let angle = intensity_centroid_angle(&img, 32, 32);
            assert!((angle - expected).abs() < 0.05, "{angle} vs {expected}");
        }
    }
}
