//! Turned copies: a photograph straightened or tilted by a few degrees without growing its
//! canvas shows the work turned, and fills the four corners the turn uncovers with one level
//! (black, most often). Its whole layout code is then not the work's (the corners darken and
//! the edges swing), so such an upload is also looked up by its centre turned back
//! ([`super::layouts`]). Only the cost depends on this test: a picture whose own corners
//! happen to share a level pays a few more lookups, and every proposal is still verified.

/// Side (pixels) of the square read at each corner: inside the fill of a turn by a degree or
/// more of a picture a few hundred pixels across.
const CORNER_SIDE: usize = 3;
/// Largest spread of luma within a corner's square, and between the corners' means: the fill
/// is one level, give or take compression.
const FILL_TOLERANCE: u8 = 12;

/// Whether the four corners of a row-major 8-bit luma image are each uniform and all of one
/// level.
pub fn has_filled_corners(luma: &[u8], width: usize, height: usize) -> bool {
    if width < 2 * CORNER_SIDE || height < 2 * CORNER_SIDE || luma.len() != width * height {
        return false;
    }
    let corner = |left: usize, top: usize| {
        let pixels = (top..top + CORNER_SIDE).flat_map(|y| {
            luma[y * width + left..y * width + left + CORNER_SIDE]
                .iter()
                .copied()
        });
        let (low, high, sum) = pixels.fold((u8::MAX, 0u8, 0u32), |(lo, hi, sum), p| {
            (lo.min(p), hi.max(p), sum + u32::from(p))
        });
        (high - low <= FILL_TOLERANCE).then(|| sum / (CORNER_SIDE * CORNER_SIDE) as u32)
    };
    let (right, bottom) = (width - CORNER_SIDE, height - CORNER_SIDE);
    let levels: Option<Vec<u32>> = [(0, 0), (right, 0), (0, bottom), (right, bottom)]
        .into_iter()
        .map(|(x, y)| corner(x, y))
        .collect();
    levels.is_some_and(|levels| {
        let (low, high) = (levels.iter().min(), levels.iter().max());
        high.zip(low)
            .is_some_and(|(h, l)| h - l <= u32::from(FILL_TOLERANCE))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w` x `h` picture (a diagonal shade with a ripple) turned by `degrees` about its
    /// centre, the uncovered corners at `fill`.
    fn turned(w: usize, h: usize, degrees: f64, fill: u8) -> Vec<u8> {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        (0..h)
            .flat_map(|y| {
                (0..w).map(move |x| {
                    let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                    let (sx, sy) = (cx + cos * dx + sin * dy, cy - sin * dx + cos * dy);
                    if !(0.0..w as f64).contains(&sx) || !(0.0..h as f64).contains(&sy) {
                        return fill;
                    }
                    (60.0 + 0.2 * sx + 0.1 * sy + 20.0 * (sx / 9.0).sin()) as u8
                })
            })
            .collect()
    }

    #[test]
    fn a_turned_picture_has_filled_corners_and_the_picture_itself_has_not() {
        for (degrees, fill) in [(5.0, 0), (-5.0, 0), (2.0, 255), (-8.0, 0)] {
            let luma = turned(512, 384, degrees, fill);
            assert!(has_filled_corners(&luma, 512, 384), "{degrees} {fill}");
        }
        assert!(!has_filled_corners(&turned(512, 384, 0.0, 0), 512, 384));
    }

    #[test]
    fn corners_of_different_levels_or_tiny_images_are_not_a_fill() {
        let mut luma = turned(512, 384, 5.0, 0);
        // The bottom-right corner lighter than the others.
        for y in 380..384 {
            for x in 508..512 {
                luma[y * 512 + x] = 40;
            }
        }
        assert!(!has_filled_corners(&luma, 512, 384));
        assert!(!has_filled_corners(&[0; 25], 5, 5));
    }
}
