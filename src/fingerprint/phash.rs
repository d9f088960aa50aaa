//! A 64-bit DCT perceptual hash from `image_hasher`, the second, independent opinion beside PDQ.
//!
//! Configuration: `HashAlg::Median` with DCT preprocessing and an 8x8 hash, the pHash
//! construction (Krawetz, "Looks like it", 2011; `image_hasher` documents Median + DCT as
//! pHash): shrink to 16x16, 2-D DCT, keep the 8x8 lowest frequencies, one bit per coefficient
//! above their median. Python `imagehash.phash` differs in detail (32x32 input), so the two are
//! not interchangeable bit for bit.
//!
//! The median matters. With `HashAlg::Mean` (version 1 of these fingerprints) the DC
//! coefficient, many times larger than the rest, drags the mean above nearly every AC
//! coefficient, so most bits were 0 for every photograph: unrelated works sat at distance 0
//! and 3,972 of 5,000 distractors "matched" (docs/matching.md). The median splits the 64
//! coefficients in half whatever the DC term does.
//!
//! The input is first reduced to a 32x32 luma square so that the eight dihedral variants cost
//! eight hashes of a tiny image rather than eight full resizes.

use std::fmt;

use fast_image_resize::PixelType;
use image::GrayImage;
use image_hasher::{HashAlg, HasherConfig};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::decode::resize_packed;
use super::pdq::Dihedral;
use super::FingerprintError;

const SQUARE: usize = 32;

/// A 64-bit pHash; hex is big-endian, 16 digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PHash(pub u64);

impl PHash {
    pub fn distance(&self, other: &PHash) -> u32 {
        (self.0 ^ other.0).count_ones()
    }

    pub fn from_hex(s: &str) -> Result<Self, FingerprintError> {
        if s.len() != 16 {
            return Err(FingerprintError::MalformedHash {
                expected_hex_digits: 16,
            });
        }
        u64::from_str_radix(s, 16)
            .map(PHash)
            .map_err(|_| FingerprintError::MalformedHash {
                expected_hex_digits: 16,
            })
    }
}

impl fmt::Debug for PHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PHash({:016x})", self.0)
    }
}

impl fmt::Display for PHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for PHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:016x}", self.0))
    }
}

impl<'de> Deserialize<'de> for PHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PHash::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// pHashes of a row-major luma image under the eight transforms of [`Dihedral::ALL`].
pub fn phash_variants(
    luma: &[u8],
    width: usize,
    height: usize,
) -> Result<[PHash; 8], FingerprintError> {
    let luma = luma.to_vec();
    let side = SQUARE as u32;
    let square = resize_packed(luma, width as u32, height as u32, PixelType::U8, side, side)?;
    let hasher = HasherConfig::with_bytes_type::<[u8; 8]>()
        .hash_alg(HashAlg::Median)
        .preproc_dct()
        .hash_size(8, 8)
        .to_hasher();
    let mut out = [PHash::default(); 8];
    for (slot, t) in out.iter_mut().zip(Dihedral::ALL) {
        let (moved, _, _) = t.apply(&square, SQUARE, SQUARE);
        let img = GrayImage::from_raw(side, side, moved).expect("buffer is side x side");
        let hash = hasher.hash_image(&img);
        let bytes: [u8; 8] = hash.as_bytes().try_into().expect("8x8 hash is 8 bytes");
        *slot = PHash(u64::from_be_bytes(bytes));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(width: usize, height: usize, seed: usize) -> Vec<u8> {
        (0..width * height)
            .map(|i| {
                let (x, y) = (i % width, i / width);
                let v = ((x * (3 + seed) + y * (5 + 2 * seed)) % 256) as u8;
                let w = (((x / 16) ^ (y / (8 + seed))) * 40 % 256) as u8;
                v / 2 + w / 2
            })
            .collect()
    }

    #[test]
    fn hex_round_trips() {
        let h = PHash(0x0123_4567_89ab_cdef);
        assert_eq!(PHash::from_hex(&h.to_string()).unwrap(), h);
        assert!(PHash::from_hex("12").is_err());
    }

    #[test]
    fn resizing_keeps_the_hash_close() {
        let a = phash_variants(&scene(400, 300, 1), 400, 300).unwrap()[0];
        let small = scene(400, 300, 1);
        let shrunk = resize_packed(small, 400, 300, PixelType::U8, 200, 150).unwrap();
        let b = phash_variants(&shrunk, 200, 150).unwrap()[0];
        assert!(a.distance(&b) <= 4, "resized: {}", a.distance(&b));
    }
}
