//! 256-bit BRIEF descriptors steered by the keypoint's orientation (ORB's "steered BRIEF").
//!
//! Written here because no maintained crate steers BRIEF: imageproc's `brief` compares fixed,
//! unrotated test pairs (so a 5 degree rotation changes many bits) and draws its pattern from an
//! unseeded generator, which stored descriptors cannot depend on.

use std::sync::OnceLock;

use image::GrayImage;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Test points lie within this radius of the keypoint, so a rotated point rounded to the pixel
/// grid stays within 14 pixels, inside the detector's edge margin of 16.
pub const PATTERN_RADIUS: f32 = 13.0;
/// Standard deviation of the test points around the keypoint: BRIEF's best sampling strategy
/// (G II) uses an isotropic Gaussian of S/5 for a patch of side S (here 31).
const PATTERN_SIGMA: f64 = 31.0 / 5.0;
/// The pattern is part of the algorithm version: changing the seed or the sampling changes
/// every descriptor. A test pins it.
const PATTERN_SEED: u64 = 0x706c_2d6c_662f_3101; // "pl-lf/1\x01"

/// A 256-bit binary descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Descriptor(pub [u64; 4]);

impl Descriptor {
    pub fn distance(&self, other: &Descriptor) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    /// Bits `32 * i .. 32 * i + 32`, for multi-index hashing.
    pub fn substring(&self, i: usize) -> u32 {
        (self.0[i / 2] >> (32 * (i % 2))) as u32
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.0.iter()) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *word = u64::from_le_bytes(b);
        }
        Descriptor(words)
    }
}

/// 256 pairs of test points `[x1, y1, x2, y2]`, relative to the keypoint.
pub fn pattern() -> &'static [[f32; 4]; 256] {
    static PATTERN: OnceLock<[[f32; 4]; 256]> = OnceLock::new();
    PATTERN.get_or_init(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(PATTERN_SEED);
        // Uniform in (0, 1] from 53 random bits: defined here rather than through rand's
        // distributions so the pattern depends only on the ChaCha8 stream.
        let mut uniform = move || ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64;
        let mut point = move || loop {
            // Box-Muller.
            let (u, v) = (uniform(), uniform());
            let r = (-2.0 * u.ln()).sqrt() * PATTERN_SIGMA;
            let (x, y) = (
                (r * (std::f64::consts::TAU * v).cos()) as f32,
                (r * (std::f64::consts::TAU * v).sin()) as f32,
            );
            if x.hypot(y) <= PATTERN_RADIUS {
                return [x.round(), y.round()];
            }
        };
        let mut pairs = [[0f32; 4]; 256];
        let mut n = 0;
        while n < 256 {
            let (p, q) = (point(), point());
            // Two samples closer than 2 pixels compare nearly the same smoothed value: a bit
            // that flips with noise.
            if (p[0] - q[0]).hypot(p[1] - q[1]) < 2.0 {
                continue;
            }
            pairs[n] = [p[0], p[1], q[0], q[1]];
            n += 1;
        }
        pairs
    })
}

/// The descriptor of the keypoint at `(x, y)` of `smoothed` (level pixels), with the pattern
/// turned by `angle` radians (from +x towards +y). Bit `i` is set when the first point of pair
/// `i` is darker than the second.
///
/// # Panics
/// If the keypoint is closer than 15 pixels to an edge (the detector keeps 16).
pub fn steered_brief(smoothed: &GrayImage, x: u32, y: u32, angle: f32) -> Descriptor {
    let (sin, cos) = angle.sin_cos();
    let (cx, cy) = (x as f32, y as f32);
    let sample = |px: f32, py: f32| {
        let rx = (cx + cos * px - sin * py).round() as u32;
        let ry = (cy + sin * px + cos * py).round() as u32;
        smoothed.get_pixel(rx, ry)[0]
    };
    let mut words = [0u64; 4];
    for (i, p) in pattern().iter().enumerate() {
        if sample(p[0], p[1]) < sample(p[2], p[3]) {
            words[i / 64] |= 1 << (i % 64);
        }
    }
    Descriptor(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_test_pattern_is_pinned() {
        // Stored descriptors are only comparable while the pattern stays the same; a change
        // must come with a new LOCAL_ALGORITHM_VERSION and this digest.
        let mut h = Sha256::new();
        for pair in pattern() {
            for v in pair {
                h.update((*v as i8).to_le_bytes());
            }
        }
        assert_eq!(
            hex::encode(h.finalize()),
            "a1de6f4c227c5f8ca624c4aad3e1cdac9e980f71c51f7bab7e618792d8bf26b4",
            "the BRIEF pattern changed"
        );
        assert!(pattern()
            .iter()
            .all(|p| p.iter().all(|v| v.abs() <= PATTERN_RADIUS)));
    }

    #[test]
    fn descriptor_bytes_and_substrings_round_trip() {
        let d = Descriptor([0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 0, u64::MAX]);
        assert_eq!(Descriptor::from_bytes(&d.to_bytes()), d);
        assert_eq!(d.substring(0), 0x89ab_cdef);
        assert_eq!(d.substring(1), 0x0123_4567);
        assert_eq!(d.substring(6), u32::MAX);
        assert_eq!(d.distance(&Descriptor::default()), 32 + 32 + 64);
    }

    #[test]
    fn steering_follows_a_quarter_turn_of_the_image() {
        // A quarter turn of the image, with the pattern turned by the same quarter, samples
        // exactly the same pixels: the descriptors must agree bit for bit.
        let img = GrayImage::from_fn(64, 64, |x, y| {
            image::Luma([((x * 7 + y * 13) % 251) as u8 ^ ((x * y) % 64) as u8])
        });
        let turned = image::imageops::rotate90(&img);
        // rotate90 maps (x, y) to (h - 1 - y, x): the centre (32, 31) lands on (32, 32).
        let a = steered_brief(&img, 32, 31, 0.3);
        let b = steered_brief(&turned, 32, 32, 0.3 + std::f32::consts::FRAC_PI_2);
        assert_eq!(a.distance(&b), 0);
        // And without steering they differ a lot.
        let c = steered_brief(&turned, 32, 32, 0.3);
        assert!(a.distance(&c) > 64, "{}", a.distance(&c));
    }
}
