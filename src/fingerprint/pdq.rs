//! PDQ: a 256-bit perceptual hash with a quality score, after Meta's "The TMK+PDQF and PDQ
//! hashing algorithms" (`hashing.pdf`, ThreatExchange `pdq/`).
//!
//! Implemented here over a float luminance buffer rather than through the `pdqhash` crate,
//! because that crate pins `image` 0.23 and would pull a second, older copy of the decoders
//! into the build.
//!
//! Steps, as the reference lays them out: BT.601 luma; a Jarosz tent filter (two X/Y passes of
//! 1-D box filters, each window about 1/128 of the dimension) so that decimating to 64x64 keeps
//! energy from every input pixel; a 2-D DCT of which only frequencies 1..=16 in each direction
//! are computed (the DC term carries brightness, not structure); one bit per coefficient, set
//! when it is above the median; and a quality score counting strong gradients in the 64x64
//! image. The eight dihedral hashes come from sign flips and a transpose of the one 16x16 DCT,
//! because mirroring a cosine basis function of odd or even order only changes its sign.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::FingerprintError;

/// Side of the decimated image the DCT runs on.
const DOWNSAMPLED: usize = 64;
/// Coefficients kept per direction; 16 x 16 = 256 bits.
const KEPT: usize = 16;

/// A 256-bit PDQ hash. Bit `k` is DCT coefficient `(k / 16, k % 16)`; the hex form is the
/// reference's: the 256-bit number written most significant nibble first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PdqHash(pub [u64; 4]);

impl PdqHash {
    pub fn distance(&self, other: &PdqHash) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    pub fn bit(&self, k: usize) -> bool {
        self.0[k / 64] >> (k % 64) & 1 == 1
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().rev().map(|w| format!("{w:016x}")).collect()
    }

    pub fn from_hex(s: &str) -> Result<Self, FingerprintError> {
        if s.len() != 64 || !s.is_ascii() {
            return Err(FingerprintError::MalformedHash {
                expected_hex_digits: 64,
            });
        }
        let mut words = [0u64; 4];
        for (i, word) in words.iter_mut().rev().enumerate() {
            *word = u64::from_str_radix(&s[i * 16..i * 16 + 16], 16).map_err(|_| {
                FingerprintError::MalformedHash {
                    expected_hex_digits: 64,
                }
            })?;
        }
        Ok(PdqHash(words))
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({})", self.to_hex())
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for PdqHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PdqHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PdqHash::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// The eight symmetries of a rectangle. `Dihedral::ALL[k]` is the transform whose hash is at
/// index `k` of [`PdqHashes::variants`] and of the pHash variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dihedral {
    Original,
    /// Clockwise.
    Rotate90,
    Rotate180,
    /// Clockwise, i.e. 90 degrees counter-clockwise.
    Rotate270,
    /// Mirror left-right.
    FlipHorizontal,
    /// Mirror top-bottom.
    FlipVertical,
    /// Mirror about the main diagonal (x and y swapped).
    Transpose,
    /// Mirror about the anti-diagonal.
    Transverse,
}

impl Dihedral {
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipHorizontal,
        Dihedral::FlipVertical,
        Dihedral::Transpose,
        Dihedral::Transverse,
    ];

    /// The transform that undoes this one. A query hashed under `t` that matches a work means
    /// the upload was the work transformed by `t.inverse()`.
    pub fn inverse(self) -> Dihedral {
        match self {
            Dihedral::Rotate90 => Dihedral::Rotate270,
            Dihedral::Rotate270 => Dihedral::Rotate90,
            other => other,
        }
    }

    /// Applies the transform to a row-major `width` x `height` buffer, returning the new buffer
    /// and its width and height.
    pub fn apply<T: Copy>(self, buf: &[T], width: usize, height: usize) -> (Vec<T>, usize, usize) {
        let swaps = matches!(
            self,
            Dihedral::Rotate90 | Dihedral::Rotate270 | Dihedral::Transpose | Dihedral::Transverse
        );
        let (nw, nh) = if swaps {
            (height, width)
        } else {
            (width, height)
        };
        let mut out = Vec::with_capacity(buf.len());
        for y in 0..nh {
            for x in 0..nw {
                let (sx, sy) = match self {
                    Dihedral::Original => (x, y),
                    Dihedral::Rotate90 => (y, height - 1 - x),
                    Dihedral::Rotate180 => (width - 1 - x, height - 1 - y),
                    Dihedral::Rotate270 => (width - 1 - y, x),
                    Dihedral::FlipHorizontal => (width - 1 - x, y),
                    Dihedral::FlipVertical => (x, height - 1 - y),
                    Dihedral::Transpose => (y, x),
                    Dihedral::Transverse => (width - 1 - y, height - 1 - x),
                };
                out.push(buf[sy * width + sx]);
            }
        }
        (out, nw, nh)
    }

    /// Maps the 16x16 DCT of an image to the DCT of the transformed image. Row index `i` is
    /// vertical frequency `i + 1`, column `j` horizontal frequency `j + 1`; mirroring an axis
    /// multiplies a coefficient by `(-1)^frequency` along it, so even indices change sign.
    fn transform_dct(self, dct: &[f32; KEPT * KEPT]) -> [f32; KEPT * KEPT] {
        let mut out = [0f32; KEPT * KEPT];
        for i in 0..KEPT {
            for j in 0..KEPT {
                let neg_i = i % 2 == 0;
                let neg_j = j % 2 == 0;
                // (source row, source col, sign) for output (i, j).
                let (si, sj, negate) = match self {
                    Dihedral::Original => (i, j, false),
                    Dihedral::FlipHorizontal => (i, j, neg_j),
                    Dihedral::FlipVertical => (i, j, neg_i),
                    Dihedral::Rotate180 => (i, j, neg_i ^ neg_j),
                    Dihedral::Transpose => (j, i, false),
                    // Clockwise 90 = transpose, then mirror left-right.
                    Dihedral::Rotate90 => (j, i, neg_j),
                    // Clockwise 270 = transpose, then mirror top-bottom.
                    Dihedral::Rotate270 => (j, i, neg_i),
                    Dihedral::Transverse => (j, i, neg_i ^ neg_j),
                };
                let v = dct[si * KEPT + sj];
                out[i * KEPT + j] = if negate { -v } else { v };
            }
        }
        out
    }
}

/// PDQ hashes of an image under all eight dihedral transforms, and its quality.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdqHashes {
    /// Indexed like [`Dihedral::ALL`]; `variants[0]` is the image as given.
    pub variants: [PdqHash; 8],
    /// 0..=100; the reference treats hashes below about 50 as unreliable (flat or dark images).
    pub quality: u8,
}

impl PdqHashes {
    pub fn hash(&self) -> PdqHash {
        self.variants[0]
    }
}

/// BT.601 luma, the reference's weights (not `image`'s Rec. 709 ones), so that hashes agree.
pub fn luma_of_pixel(r: u8, g: u8, b: u8) -> f32 {
    bt601_luma(f32::from(r), f32::from(g), f32::from(b))
}

/// The weights of [`luma_of_pixel`] on any RGB values (the colour layout's cell means).
pub fn bt601_luma(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// [`luma_of_pixel`] of packed RGB8.
pub fn luma_from_rgb8(rgb: &[u8]) -> Vec<f32> {
    rgb.chunks_exact(3)
        .map(|p| luma_of_pixel(p[0], p[1], p[2]))
        .collect()
}

/// Hashes a row-major luma buffer (values 0..=255).
///
/// # Panics
/// If `luma.len() != width * height` or either side is zero.
pub fn pdq_from_luma(luma: &[f32], width: usize, height: usize) -> PdqHashes {
    assert!(width > 0 && height > 0 && luma.len() == width * height);
    let small = jarosz_decimated(luma, width, height);
    let quality = quality(&small);
    let dct = dct_64_to_16(&small);
    let mut variants = [PdqHash::default(); 8];
    for (slot, t) in variants.iter_mut().zip(Dihedral::ALL) {
        *slot = bits_above_median(&t.transform_dct(&dct));
    }
    PdqHashes { variants, quality }
}

fn window_size(dimension: usize) -> usize {
    // Two passes each of about half of 1/64 of the side make one 64th-wide tent.
    dimension.div_ceil(2 * DOWNSAMPLED)
}

/// Samples `ahead` of and `behind` a box filter's centre: the reference's alignment, which
/// matters because decimation samples single pixels of the filtered image.
fn reach(window: usize) -> (usize, usize) {
    let ahead = (window + 2) / 2 - 1;
    (ahead, window - 1 - ahead)
}

/// The pixels decimation keeps along a side of `n`: the centres of 64 equal cells.
fn sample_positions(n: usize) -> [usize; DOWNSAMPLED] {
    std::array::from_fn(|i| ((i as f64 + 0.5) * n as f64 / DOWNSAMPLED as f64) as usize)
}

/// The Jarosz filter (two box passes along each axis), evaluated only where decimation to
/// 64x64 samples it. Columns first, whole rows at a time (contiguous, vectorisable): the first
/// pass as a running sum sliding down the image, read only where the second pass needs it, and
/// the second only at the 64 sampled rows, written transposed. The passes along the two axes
/// commute, so the same step on that transposed 64-row strip filters the rows. The result
/// equals filtering every pixel and then decimating (the test below keeps that version) to
/// float rounding, at a small fraction of the cost: the full filter was half the time of a
/// fingerprint (docs/BENCHMARKS-fingerprint.md).
fn jarosz_decimated(luma: &[f32], width: usize, height: usize) -> Vec<f32> {
    let strip = columns_filtered_and_sampled(luma, width, height, window_size(height));
    columns_filtered_and_sampled(&strip, DOWNSAMPLED, width, window_size(width))
}

/// Two box passes down each column of a row-major `width` x `height` image, kept at the 64
/// sampled rows only and written transposed: `out[x * 64 + i]` is column `x` at sampled row `i`.
fn columns_filtered_and_sampled(
    data: &[f32],
    width: usize,
    height: usize,
    window: usize,
) -> Vec<f32> {
    let (ahead, behind) = reach(window);
    let mut column = ColumnBox::new(data, width, height, window);
    let mut acc = vec![0f64; width];
    let mut out = vec![0f32; width * DOWNSAMPLED];
    for (i, y) in sample_positions(height).into_iter().enumerate() {
        let (lo, hi) = (y.saturating_sub(behind), (y + ahead).min(height - 1));
        acc.fill(0.0);
        for k in lo..=hi {
            column.add_row_to(k, &mut acc);
        }
        let inv = 1.0 / (hi + 1 - lo) as f64;
        for (x, a) in acc.iter().enumerate() {
            out[x * DOWNSAMPLED + i] = (a * inv) as f32;
        }
    }
    out
}

/// One box pass down every column, as a window sum per column (f64, so that tall images do not
/// drift) that slides down the image and is read row by row on demand.
struct ColumnBox<'a> {
    luma: &'a [f32],
    width: usize,
    height: usize,
    ahead: usize,
    behind: usize,
    /// Window sums for row `at`.
    sum: Vec<f64>,
    at: usize,
}

impl<'a> ColumnBox<'a> {
    fn new(luma: &'a [f32], width: usize, height: usize, window: usize) -> Self {
        let (ahead, behind) = reach(window);
        let mut b = ColumnBox {
            luma,
            width,
            height,
            ahead,
            behind,
            sum: vec![0f64; width],
            at: 0,
        };
        b.restart(0);
        b
    }

    fn row(&self, y: usize) -> &'a [f32] {
        &self.luma[y * self.width..(y + 1) * self.width]
    }

    fn bounds(&self, y: usize) -> (usize, usize) {
        (
            y.saturating_sub(self.behind),
            (y + self.ahead).min(self.height - 1),
        )
    }

    /// Sums row `y`'s window from scratch: at the start, and when the windows of two sampled
    /// rows overlap (images under 128 pixels high) so that the next one starts further up.
    fn restart(&mut self, y: usize) {
        let (lo, hi) = self.bounds(y);
        self.sum.fill(0.0);
        for k in lo..=hi {
            let row = self.row(k);
            for (s, v) in self.sum.iter_mut().zip(row) {
                *s += f64::from(*v);
            }
        }
        self.at = y;
    }

    /// Adds the first pass's output at row `y` to `acc`.
    fn add_row_to(&mut self, y: usize, acc: &mut [f64]) {
        if y < self.at {
            self.restart(y);
        }
        while self.at < y {
            let (lo, hi) = self.bounds(self.at);
            if hi + 1 < self.height {
                let entering = self.row(hi + 1);
                for (s, v) in self.sum.iter_mut().zip(entering) {
                    *s += f64::from(*v);
                }
            }
            if self.at >= self.behind {
                let leaving = self.row(lo);
                for (s, v) in self.sum.iter_mut().zip(leaving) {
                    *s -= f64::from(*v);
                }
            }
            self.at += 1;
        }
        let (lo, hi) = self.bounds(y);
        let inv = 1.0 / (hi + 1 - lo) as f64;
        for (a, s) in acc.iter_mut().zip(&self.sum) {
            // Rounded to f32 like every pass's output, so the sampled values do not depend on
            // which pixels happened to be computed.
            *a += f64::from((s * inv) as f32);
        }
    }
}

/// Counts gradients between neighbours of the 64x64 image in percent-of-range units, truncated
/// so that the many tiny steps of a smooth or dark image add nothing.
fn quality(small: &[f32]) -> u8 {
    let step = |u: f32, v: f32| (((u - v) * 100.0 / 255.0) as i32).unsigned_abs();
    let mut sum = 0u32;
    for i in 0..DOWNSAMPLED {
        for j in 0..DOWNSAMPLED {
            let here = small[i * DOWNSAMPLED + j];
            if i + 1 < DOWNSAMPLED {
                sum += step(here, small[(i + 1) * DOWNSAMPLED + j]);
            }
            if j + 1 < DOWNSAMPLED {
                sum += step(here, small[i * DOWNSAMPLED + j + 1]);
            }
        }
    }
    (sum / 90).min(100) as u8
}

fn dct_matrix() -> &'static [f32; KEPT * DOWNSAMPLED] {
    static MATRIX: OnceLock<[f32; KEPT * DOWNSAMPLED]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0 / DOWNSAMPLED as f64).sqrt();
        let mut m = [0f32; KEPT * DOWNSAMPLED];
        for i in 0..KEPT {
            for j in 0..DOWNSAMPLED {
                let angle = std::f64::consts::PI / (2.0 * DOWNSAMPLED as f64)
                    * (i + 1) as f64
                    * (2 * j + 1) as f64;
                m[i * DOWNSAMPLED + j] = (scale * angle.cos()) as f32;
            }
        }
        m
    })
}

/// `D * A * D^T` with `D` the 16x64 slice of the DCT-II basis, computed directly: only 256 of
/// the 4096 outputs are wanted, which makes a fast full transform no faster.
fn dct_64_to_16(a: &[f32]) -> [f32; KEPT * KEPT] {
    let d = dct_matrix();
    let mut t = [0f32; KEPT * DOWNSAMPLED];
    for i in 0..KEPT {
        for k in 0..DOWNSAMPLED {
            let dik = d[i * DOWNSAMPLED + k];
            let row = &a[k * DOWNSAMPLED..(k + 1) * DOWNSAMPLED];
            let trow = &mut t[i * DOWNSAMPLED..(i + 1) * DOWNSAMPLED];
            for (tv, av) in trow.iter_mut().zip(row) {
                *tv += dik * av;
            }
        }
    }
    let mut b = [0f32; KEPT * KEPT];
    for i in 0..KEPT {
        for j in 0..KEPT {
            let trow = &t[i * DOWNSAMPLED..(i + 1) * DOWNSAMPLED];
            let drow = &d[j * DOWNSAMPLED..(j + 1) * DOWNSAMPLED];
            b[i * KEPT + j] = trow.iter().zip(drow).map(|(x, y)| x * y).sum();
        }
    }
    b
}

/// The reference's median is the lower one (element 127 of 256 sorted), and a bit is set only
/// when strictly greater, so a typical hash has exactly 128 bits set.
fn bits_above_median(dct: &[f32; KEPT * KEPT]) -> PdqHash {
    let mut sorted = *dct;
    sorted.sort_unstable_by(f32::total_cmp);
    let median = sorted[KEPT * KEPT / 2 - 1];
    let mut words = [0u64; 4];
    for (k, v) in dct.iter().enumerate() {
        if *v > median {
            words[k / 64] |= 1 << (k % 64);
        }
    }
    PdqHash(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textured(width: usize, height: usize, seed: u64) -> Vec<f32> {
        // Smooth structure plus detail: a deterministic stand-in for a photograph.
        let mut out = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
                let s = seed as f32;
                let v = 128.0
                    + 60.0 * (6.3 * fx * (1.0 + s * 0.1) + 2.0 * fy).sin()
                    + 40.0 * (9.0 * fy + s).cos() * (3.0 * fx).sin()
                    + 20.0 * ((x * 7 + y * 13) as f32 * 0.05).sin();
                out.push(v.clamp(0.0, 255.0));
            }
        }
        out
    }

    /// f64 prefix sums keep long rows from drifting the way a running f32 sum would.
    fn prefix_sums(input: &[f32], prefix: &mut Vec<f64>) {
        prefix.clear();
        prefix.push(0f64);
        let mut acc = 0f64;
        for v in input {
            acc += f64::from(*v);
            prefix.push(acc);
        }
    }

    /// Mean over the window around `k`, shrinking at the ends instead of padding.
    fn window_mean(prefix: &[f64], k: usize, window: usize) -> f32 {
        let n = prefix.len() - 1;
        let (ahead, behind) = reach(window);
        let lo = k.saturating_sub(behind);
        let hi = (k + ahead).min(n - 1);
        ((prefix[hi + 1] - prefix[lo]) / (hi + 1 - lo) as f64) as f32
    }

    /// One box pass along a line.
    fn box_1d(input: &[f32], window: usize, out: &mut Vec<f32>, prefix: &mut Vec<f64>) {
        prefix_sums(input, prefix);
        out.clear();
        out.extend((0..input.len()).map(|k| window_mean(prefix, k, window)));
    }

    /// The Jarosz filter as the reference lays it out: every pixel, rows then columns, twice,
    /// then decimation.
    fn jarosz_then_decimate(luma: &[f32], width: usize, height: usize) -> Vec<f32> {
        let mut buf = luma.to_vec();
        let (mut line, mut out, mut prefix) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..2 {
            for row in buf.chunks_exact_mut(width) {
                box_1d(row, window_size(width), &mut out, &mut prefix);
                row.copy_from_slice(&out);
            }
            for x in 0..width {
                line.clear();
                line.extend((0..height).map(|y| buf[y * width + x]));
                box_1d(&line, window_size(height), &mut out, &mut prefix);
                for (y, v) in out.iter().enumerate() {
                    buf[y * width + x] = *v;
                }
            }
        }
        let (xs, ys) = (sample_positions(width), sample_positions(height));
        ys.iter()
            .flat_map(|&y| xs.iter().map(move |&x| (x, y)))
            .map(|(x, y)| buf[y * width + x])
            .collect()
    }

    #[test]
    fn filtering_only_the_sampled_pixels_equals_filtering_all_of_them() {
        for (w, h) in [
            (300, 200),
            (512, 288),
            (97, 411),
            (64, 64),
            (1, 130),
            (700, 3),
        ] {
            let luma = textured(w, h, 3);
            let fast = jarosz_decimated(&luma, w, h);
            let full = jarosz_then_decimate(&luma, w, h);
            let worst = fast
                .iter()
                .zip(&full)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-3, "{w}x{h}: largest difference {worst}");
        }
    }

    #[test]
    fn hex_round_trips_and_is_most_significant_nibble_first() {
        let mut h = PdqHash::default();
        h.0[3] = 1 << 63;
        assert!(h.to_hex().starts_with('8'));
        assert_eq!(PdqHash::from_hex(&h.to_hex()).unwrap(), h);
        assert!(PdqHash::from_hex("zz").is_err());
    }

    #[test]
    fn half_the_bits_are_set_for_a_textured_image() {
        let luma = textured(300, 200, 1);
        let h = pdq_from_luma(&luma, 300, 200);
        let ones: u32 = h.hash().0.iter().map(|w| w.count_ones()).sum();
        assert_eq!(ones, 128);
        assert!(h.quality >= 50, "quality {}", h.quality);
    }

    #[test]
    fn flat_image_has_zero_quality() {
        let luma = vec![90.0; 128 * 128];
        assert_eq!(pdq_from_luma(&luma, 128, 128).quality, 0);
    }

    #[test]
    fn inverse_undoes_the_transform() {
        let buf: Vec<u32> = (0..12).collect();
        for t in Dihedral::ALL {
            let (a, w, h) = t.apply(&buf, 4, 3);
            let (b, w2, h2) = t.inverse().apply(&a, w, h);
            assert_eq!((b, w2, h2), (buf.clone(), 4, 3), "{t:?}");
        }
    }

    #[test]
    fn different_images_are_far_apart() {
        let a = pdq_from_luma(&textured(200, 200, 1), 200, 200).hash();
        let b = pdq_from_luma(&textured(200, 200, 7), 200, 200).hash();
        assert!(a.distance(&b) > 60, "distance {}", a.distance(&b));
    }
}
