//! Colour layout: the mean colour of a 4x4 grid over the trimmed image, in BT.601 YCbCr.
//!
//! PDQ and pHash read luminance alone and both threshold DCT coefficients, so on a smooth
//! picture (a gradient wallpaper, a sky) most coefficients sit near the threshold and a
//! recompression flips half the bits: copies of such works land 50-110 PDQ bits and 8-18 pHash
//! bits from them. The layout keeps magnitudes instead of bits, which is what a smooth picture
//! still has: where it is light and dark, and which colours. It corroborates a pHash hit on a
//! work whose PDQ is untrusted (`index::decide`); it never finds a work on its own, because
//! every blue gradient resembles every other at 16 cells.
//!
//! The idea is MPEG-7's Colour Layout descriptor (ISO/IEC 15938-3), without its DCT: at 4x4
//! cells the grid is as small as the coefficients it would keep. Written here because no
//! crate computes a colour layout, and the grid is a dozen lines over the working image.
//!
//! Comparison ([`compare`]) is made to survive the edits a copy goes through: luma by
//! correlation (brightness and contrast are a gain and an offset), chroma after fitting one
//! gain (a brighter or flatter copy scales its chroma; a copy turned grey has none, and so
//! does not agree with a colourful work).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::borders::Rect;
use super::pdq::{bt601_luma, Dihedral};
use super::FingerprintError;

/// Cells per side.
pub const GRID: usize = 4;
const CELLS: usize = GRID * GRID;
/// The chroma gains [`compare`] allows between a copy and its work: brightness x1.3 scales
/// chroma by 1.3, contrast x0.7 by 0.7; a ratio outside this range is a different colour.
const CHROMA_GAIN: (f32, f32) = (0.6, 1.6);

/// Mean Y, Cb + 128 and Cr + 128 of each cell, rounded, rows top to bottom; hex in JSON
/// (96 digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ColourLayout(pub [[u8; 3]; CELLS]);

/// How well an upload's layout agrees with a work's, in the orientation where the luma agrees
/// best.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColourAgreement {
    /// Pearson correlation of the 16 cells' luma, -1..=1 (0 when either is uniform).
    pub correlation: f32,
    /// Mean distance between the cells' chroma after the best gain, in BT.601 chroma units
    /// (-128..=127 each of Cb and Cr).
    pub chroma_residual: f32,
    /// The transform taking the work to the upload.
    pub orientation: Dihedral,
}

impl ColourLayout {
    /// The layout of the `rect` part of a packed RGB8 image `width` pixels wide; `None` when
    /// the part is too small to have a pixel in every cell.
    pub fn of_rgb(rgb: &[u8], width: usize, rect: Rect) -> Option<ColourLayout> {
        let (w, h) = (rect.width(), rect.height());
        if w < GRID || h < GRID {
            return None;
        }
        // Pixel x is in column x * GRID / w, so column j spans bound(j)..bound(j + 1); likewise
        // rows. Every cell is non-empty because w, h >= GRID. Sums per contiguous run of a row
        // keep the inner loop free of per-pixel bookkeeping (a run's u32 sums would overflow
        // only past 16 million pixels, a row far wider than any working image).
        let bound = |i: usize, n: usize| (i * n).div_ceil(GRID);
        let mut sums = [[0u64; 3]; CELLS];
        for y in 0..h {
            let row = (y * GRID / h) * GRID;
            let line = ((rect.y0 + y) * width + rect.x0) * 3;
            for col in 0..GRID {
                let run = &rgb[line + bound(col, w) * 3..line + bound(col + 1, w) * 3];
                let (mut r, mut g, mut b) = (0u32, 0u32, 0u32);
                for pixel in run.chunks_exact(3) {
                    r += u32::from(pixel[0]);
                    g += u32::from(pixel[1]);
                    b += u32::from(pixel[2]);
                }
                let cell = &mut sums[row + col];
                cell[0] += u64::from(r);
                cell[1] += u64::from(g);
                cell[2] += u64::from(b);
            }
        }
        let mut cells = [[0u8; 3]; CELLS];
        for (i, (out, sum)) in cells.iter_mut().zip(&sums).enumerate() {
            let (row, col) = (i / GRID, i % GRID);
            let count = (bound(row + 1, h) - bound(row, h)) * (bound(col + 1, w) - bound(col, w));
            let [r, g, b] = sum.map(|s| s as f32 / count as f32);
            let y = bt601_luma(r, g, b);
            let cb = 0.564 * (b - y);
            let cr = 0.713 * (r - y);
            *out = [y, cb + 128.0, cr + 128.0].map(|v| v.round().clamp(0.0, 255.0) as u8);
        }
        Some(ColourLayout(cells))
    }

    pub fn from_hex(s: &str) -> Result<Self, FingerprintError> {
        let malformed = || FingerprintError::MalformedHash {
            expected_hex_digits: CELLS * 6,
        };
        let mut bytes = [0u8; CELLS * 3];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| malformed())?;
        let mut cells = [[0u8; 3]; CELLS];
        for (cell, chunk) in cells.iter_mut().zip(bytes.chunks_exact(3)) {
            cell.copy_from_slice(chunk);
        }
        Ok(ColourLayout(cells))
    }

    fn luma(&self) -> [f32; CELLS] {
        self.0.map(|c| f32::from(c[0]))
    }

    fn chroma(&self) -> [[f32; 2]; CELLS] {
        self.0
            .map(|c| [f32::from(c[1]) - 128.0, f32::from(c[2]) - 128.0])
    }
}

impl fmt::Debug for ColourLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ColourLayout({self})")
    }
}

impl fmt::Display for ColourLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.as_flattened()))
    }
}

impl Serialize for ColourLayout {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ColourLayout {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ColourLayout::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// Compares an upload's layout with a work's in all eight orientations and answers the one
/// whose luma correlates best, with its chroma residual.
pub fn compare(upload: &ColourLayout, work: &ColourLayout) -> ColourAgreement {
    let work_luma = centred(work.luma());
    let work_chroma = work.chroma();
    let mut best: Option<ColourAgreement> = None;
    for t in Dihedral::ALL {
        let (cells, _, _) = t.apply(&upload.0, GRID, GRID);
        let turned = ColourLayout(cells.try_into().expect("a turned grid has 16 cells"));
        let correlation = correlation(&centred(turned.luma()), &work_luma);
        if best.is_some_and(|b| b.correlation >= correlation) {
            continue;
        }
        best = Some(ColourAgreement {
            correlation,
            chroma_residual: chroma_residual(&turned.chroma(), &work_chroma),
            orientation: t.inverse(),
        });
    }
    best.expect("eight orientations")
}

fn centred(v: [f32; CELLS]) -> [f32; CELLS] {
    let mean = v.iter().sum::<f32>() / CELLS as f32;
    v.map(|x| x - mean)
}

fn correlation(a: &[f32; CELLS], b: &[f32; CELLS]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norms = a.iter().map(|x| x * x).sum::<f32>() * b.iter().map(|x| x * x).sum::<f32>();
    // A uniform grid (a flat grey, rounding noise of one level) has no shape to correlate.
    if norms < 1.0 {
        return 0.0;
    }
    dot / norms.sqrt()
}

/// Mean over cells of |upload - gain * work| in the (Cb, Cr) plane, `gain` the least-squares
/// fit clamped to [`CHROMA_GAIN`] (1 for a work without colour).
fn chroma_residual(upload: &[[f32; 2]; CELLS], work: &[[f32; 2]; CELLS]) -> f32 {
    let dot: f32 = upload
        .iter()
        .zip(work)
        .map(|(u, w)| u[0] * w[0] + u[1] * w[1])
        .sum();
    let energy: f32 = work.iter().map(|w| w[0] * w[0] + w[1] * w[1]).sum();
    let gain = if energy < 1.0 {
        1.0
    } else {
        (dot / energy).clamp(CHROMA_GAIN.0, CHROMA_GAIN.1)
    };
    upload
        .iter()
        .zip(work)
        .map(|(u, w)| (u[0] - gain * w[0]).hypot(u[1] - gain * w[1]))
        .sum::<f32>()
        / CELLS as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth diagonal gradient from dark blue to light violet, like the wallpapers PDQ
    /// cannot trust.
    fn gradient(width: usize, height: usize) -> Vec<u8> {
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                let t = (x + y) as f32 / (width + height) as f32;
                rgb.extend([40.0 + 150.0 * t, 40.0 + 90.0 * t, 120.0 + 100.0 * t].map(|v| v as u8));
            }
        }
        rgb
    }

    fn whole(width: usize, height: usize) -> Rect {
        Rect {
            x0: 0,
            y0: 0,
            x1: width,
            y1: height,
        }
    }

    fn layout(rgb: &[u8], width: usize, height: usize) -> ColourLayout {
        ColourLayout::of_rgb(rgb, width, whole(width, height)).unwrap()
    }

    #[test]
    fn cells_hold_the_mean_colour_of_their_part() {
        // Left half red, right half blue: the two left columns of cells are red.
        let (w, h) = (40, 20);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                if i % w < w / 2 {
                    [255, 0, 0]
                } else {
                    [0, 0, 255]
                }
            })
            .collect();
        let l = layout(&rgb, w, h);
        assert_eq!(l.0[0], [76, 85, 255]);
        assert_eq!(l.0[1], l.0[0]);
        assert_eq!(l.0[2], [29, 255, 107]);
        assert_eq!(l.0[15], l.0[2]);
    }

    #[test]
    fn every_pixel_lands_in_the_cell_of_its_position_whatever_the_size() {
        for (w, h) in [(4, 4), (5, 7), (13, 6), (37, 41), (511, 383)] {
            let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7919 % 251) as u8).collect();
            let mut sums = [[0f64; 3]; CELLS];
            let mut counts = [0f64; CELLS];
            for y in 0..h {
                for x in 0..w {
                    let cell = (y * GRID / h) * GRID + x * GRID / w;
                    for c in 0..3 {
                        sums[cell][c] += f64::from(rgb[(y * w + x) * 3 + c]);
                    }
                    counts[cell] += 1.0;
                }
            }
            let l = layout(&rgb, w, h);
            for cell in 0..CELLS {
                let [r, g, b] = sums[cell].map(|s| s / counts[cell]);
                let y = 0.299 * r + 0.587 * g + 0.114 * b;
                let expected = [y, 0.564 * (b - y) + 128.0, 0.713 * (r - y) + 128.0];
                for (got, want) in l.0[cell].iter().zip(expected) {
                    assert!(
                        (f64::from(*got) - want).abs() <= 0.5 + 1e-3,
                        "{w}x{h} cell {cell}"
                    );
                }
            }
        }
    }

    #[test]
    fn only_the_rect_counts() {
        let (w, h) = (60, 40);
        let mut rgb = vec![255u8; w * h * 3];
        let inner = gradient(40, 20);
        for y in 0..20 {
            let at = ((10 + y) * w + 10) * 3;
            rgb[at..at + 40 * 3].copy_from_slice(&inner[y * 120..(y + 1) * 120]);
        }
        let rect = Rect {
            x0: 10,
            y0: 10,
            x1: 50,
            y1: 30,
        };
        assert_eq!(
            ColourLayout::of_rgb(&rgb, w, rect).unwrap(),
            layout(&inner, 40, 20)
        );
        assert_eq!(ColourLayout::of_rgb(&rgb, w, whole(3, 40)), None);
    }

    #[test]
    fn hex_round_trips() {
        let l = layout(&gradient(64, 48), 64, 48);
        let hex = l.to_string();
        assert_eq!(hex.len(), 96);
        assert_eq!(ColourLayout::from_hex(&hex).unwrap(), l);
        assert!(ColourLayout::from_hex("abc").is_err());
    }

    #[test]
    fn a_copy_in_any_orientation_agrees_and_names_the_orientation() {
        let (w, h) = (64, 48);
        let rgb = gradient(w, h);
        let work = layout(&rgb, w, h);
        let pixels: Vec<[u8; 3]> = rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
        for t in Dihedral::ALL {
            let (moved, mw, mh) = t.apply(&pixels, w, h);
            let flat: Vec<u8> = moved.into_iter().flatten().collect();
            let a = compare(&layout(&flat, mw, mh), &work);
            assert!(a.correlation > 0.999, "{t:?}: {a:?}");
            assert!(a.chroma_residual < 1.0, "{t:?}: {a:?}");
            // A symmetric gradient has two equally good orientations; either takes the work
            // to the upload.
            let (back, _, _) = a.orientation.apply(&work.0, GRID, GRID);
            assert_eq!(back, layout(&flat, mw, mh).0, "{t:?}: {a:?}");
        }
    }

    #[test]
    fn brightness_and_contrast_keep_agreement_and_a_grey_copy_loses_the_colour() {
        let (w, h) = (64, 48);
        let rgb = gradient(w, h);
        let work = layout(&rgb, w, h);
        let edit = |f: &dyn Fn(f32) -> f32| -> Vec<u8> {
            rgb.iter()
                .map(|&v| f(f32::from(v)).clamp(0.0, 255.0) as u8)
                .collect()
        };
        for copy in [edit(&|v| v * 1.2), edit(&|v| 128.0 + (v - 128.0) * 0.7)] {
            let a = compare(&layout(&copy, w, h), &work);
            assert!(a.correlation > 0.99 && a.chroma_residual < 2.0, "{a:?}");
        }
        let grey: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| {
                let y = (0.299 * f32::from(p[0])
                    + 0.587 * f32::from(p[1])
                    + 0.114 * f32::from(p[2])) as u8;
                [y, y, y]
            })
            .collect();
        let a = compare(&layout(&grey, w, h), &work);
        assert!(a.correlation > 0.99, "{a:?}");
        assert!(a.chroma_residual > 20.0, "{a:?}");
    }

    #[test]
    fn another_colour_or_another_shape_disagrees() {
        let (w, h) = (64, 48);
        let rgb = gradient(w, h);
        let work = layout(&rgb, w, h);
        // The same shape in teal instead of violet.
        let teal: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0] / 4, p[2], p[1]])
            .collect();
        let a = compare(&layout(&teal, w, h), &work);
        assert!(a.chroma_residual > 10.0, "{a:?}");
        // The same colours, lit from the middle instead of a corner.
        let centre: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = ((i % w) as f32 - 32.0, (i / w) as f32 - 24.0);
                let t = 1.0 - (x * x + y * y).sqrt() / 40.0;
                [40.0 + 150.0 * t, 40.0 + 90.0 * t, 120.0 + 100.0 * t].map(|v| v as u8)
            })
            .collect();
        let a = compare(&layout(&centre, w, h), &work);
        assert!(a.correlation < 0.5, "{a:?}");
        // A uniform picture has no shape at all.
        let flat = vec![90u8; w * h * 3];
        assert_eq!(compare(&layout(&flat, w, h), &work).correlation, 0.0);
    }
}
