//! Image fingerprints (pure): decoding, perceptual hashes, distances and the match index.
//!
//! An upload becomes [`Fingerprints`]: the SHA-256 of its bytes (exact copies), a 256-bit PDQ
//! hash with its quality score and its eight dihedral variants, a 64-bit DCT pHash (also
//! for all eight orientations), and a 4x4 colour layout for pictures too smooth for either. [`MatchIndex`] finds registered works near those fingerprints.
//!
//! Specifications followed:
//! - PDQ: Meta, "The TMK+PDQF and PDQ hashing algorithms for video and image" (`hashing.pdf`
//!   in the ThreatExchange repository, `pdq/`), with its reference implementations as the
//!   interoperability target; see `contracts/pdq-reference.json` and `docs/matching.md`.
//! - pHash: N. Krawetz, "Looks like it" (2011), as configured in [`phash`].
//! - Multi-index hashing: M. Norouzi, A. Punjani, D. Fleet, "Fast exact search in Hamming space
//!   with multi-index hashing", IEEE TPAMI 2014; see [`index`].
//!
//! Pipeline: sniff the format and decode under [`DecodeLimits`]; shrink to a working image of
//! at most 512 pixels a side (the PDQ reference itself hashes a 512-pixel thumbnail); apply the
//! EXIF orientation; trim uniform borders; hash. The module does no I/O of its own and must
//! not depend on the web, database or async layers.

pub mod borders;
pub mod colour;
pub mod decode;
pub mod index;
pub mod local;
pub mod pdq;
pub mod phash;
pub mod thumbnail;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

pub use colour::{ColourAgreement, ColourLayout};
pub use decode::{DecodeLimits, WorkingImage};
pub use index::{Candidate, Decision, Evidence, MatchIndex, MatchOutcome, Thresholds};
pub use pdq::{Dihedral, PdqHash, PdqHashes};
pub use phash::PHash;

/// Names the algorithms and parameters behind [`Fingerprints`]; stored fingerprints made under
/// another version must be recomputed, not compared.
pub const ALGORITHM_VERSION: &str =
    "pl-fp/2 sha256+pdq256(jarosz,work512,luma-edge-trim,+untrimmed)+phash64(median-dct8x8)";

/// Everything that can go wrong turning bytes into fingerprints.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error("the file is {bytes} bytes; the limit is {max_bytes}")]
    FileTooLarge { bytes: u64, max_bytes: u64 },
    #[error("the image is {width}x{height} pixels; the limit is {max_pixels} pixels")]
    ImageTooLarge {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error("a {bytes}-byte file claims {width}x{height} pixels: a decompression bomb")]
    DecompressionBomb { width: u32, height: u32, bytes: u64 },
    #[error("decoding needs {needed} bytes of memory; the limit is {max_alloc}")]
    AllocationLimitExceeded { needed: u64, max_alloc: u64 },
    #[error("the {format} file ends before the image does (truncated)")]
    TruncatedImage { format: &'static str },
    #[error("{format} images are not supported (JPEG, PNG, WebP, GIF, TIFF and BMP are)")]
    UnsupportedFormat { format: String },
    #[error("the content is not an image in any known format")]
    NotAnImage,
    #[error("the {format} data is corrupt: {detail}")]
    CorruptImage {
        format: &'static str,
        detail: String,
    },
    #[error("a hash must be {expected_hex_digits} hexadecimal digits")]
    MalformedHash { expected_hex_digits: usize },
}

/// SHA-256 of the uploaded bytes; hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Digest(Sha256::digest(bytes).into())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", hex::encode(self.0))
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(Sha256Digest(out))
    }
}

/// The fingerprints of one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprints {
    /// [`ALGORITHM_VERSION`] at the time these were computed.
    pub algorithm: String,
    pub sha256: Sha256Digest,
    /// Detected from the content ("jpg", "png", ...).
    pub format: String,
    /// Size after EXIF orientation, before border trimming.
    pub width: u32,
    pub height: u32,
    /// PDQ of the upright, trimmed image.
    pub pdq: PdqHash,
    /// 0..=100; below [`index::PDQ_MIN_QUALITY`] the PDQ hash is not trusted for matching.
    pub pdq_quality: u8,
    /// PDQ under each transform of [`Dihedral::ALL`]; `pdq_dihedral[0] == pdq`.
    pub pdq_dihedral: [PdqHash; 8],
    pub phash: PHash,
    /// pHash under each transform of [`Dihedral::ALL`]; `phash_dihedral[0] == phash`.
    pub phash_dihedral: [PHash; 8],
    /// Whether a uniform border was trimmed before hashing.
    pub trimmed: bool,
    /// When a border was trimmed: PDQ of the whole, untrimmed image under each transform of
    /// [`Dihedral::ALL`]. Trimming can misjudge a picture whose own margin is flat (a
    /// letterboxed night sky, a synthetic wallpaper), so both are registered and both are
    /// searched; `None` when nothing was trimmed (the two would be equal).
    #[serde(default)]
    pub pdq_untrimmed_dihedral: Option<[PdqHash; 8]>,
    /// Mean colours of a 4x4 grid over the trimmed image ([`colour`]): what corroborates a
    /// pHash hit on a smooth picture. `None` for an image under 4 pixels a side, and in
    /// fingerprints stored before it existed (such works match as they did then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour_layout: Option<ColourLayout>,
    /// When trimming was abandoned because it would have cut into the picture itself
    /// ([`borders::Trim::before_over_trim`]): PDQ of what its first cut (the bars of a
    /// letterbox) left. An upload searches with these codes too; a work never registers them,
    /// so works stored before they existed match as they did then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq_outer_trim: Option<OuterTrimPdq>,
}

/// PDQ of an image with only its outer border trimmed (see [`Fingerprints::pdq_outer_trim`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OuterTrimPdq {
    /// 0..=100, like [`Fingerprints::pdq_quality`].
    pub quality: u8,
    /// Under each transform of [`Dihedral::ALL`].
    pub dihedral: [PdqHash; 8],
}

impl Fingerprints {
    /// Every PDQ code of the upload to search with: the trimmed image's eight orientations,
    /// then the untrimmed image's when there was a border, then the outer-trimmed image's when
    /// its quality is at least `min_outer_trim_quality`. That last one is a second guess at
    /// where the picture starts, kept only where its own hash can be trusted.
    pub fn pdq_query_codes(
        &self,
        min_outer_trim_quality: u8,
    ) -> impl Iterator<Item = (Dihedral, &PdqHash)> {
        let untrimmed = self.pdq_untrimmed_dihedral.iter().flatten();
        let outer_trim = self
            .pdq_outer_trim
            .iter()
            .filter(move |o| o.quality >= min_outer_trim_quality)
            .flat_map(|o| &o.dihedral);
        Dihedral::ALL
            .iter()
            .cycle()
            .copied()
            .zip(self.pdq_dihedral.iter().chain(untrimmed).chain(outer_trim))
    }

    /// The registered codes of a work: the trimmed image's PDQ, and the untrimmed one's when a
    /// border was trimmed.
    pub fn pdq_registered_codes(&self) -> impl Iterator<Item = &PdqHash> {
        std::iter::once(&self.pdq).chain(self.pdq_untrimmed_dihedral.iter().map(|v| &v[0]))
    }
}

/// Decodes `bytes` within `limits` and computes all fingerprints.
pub fn fingerprint(bytes: &[u8], limits: &DecodeLimits) -> Result<Fingerprints, FingerprintError> {
    let working = decode::decode(bytes, limits)?;
    fingerprint_working(Sha256Digest::of(bytes), &working)
}

/// Decodes `bytes` and answers its fingerprints with the decoded working image, from which
/// the second matching stage computes local features ([`local::extract`]) when it is needed.
pub fn fingerprint_keeping_image(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<(Fingerprints, WorkingImage), FingerprintError> {
    let working = decode::decode(bytes, limits)?;
    let fingerprints = fingerprint_working(Sha256Digest::of(bytes), &working)?;
    Ok((fingerprints, working))
}

/// What registering a work keeps of its image: fingerprints, local features and a thumbnail.
#[derive(Debug, Clone)]
pub struct Registration {
    pub fingerprints: Fingerprints,
    /// What is stored of its local features ([`local::extract`]).
    pub local: local::LocalFeatures,
    /// The same as an upload's ([`local::as_upload`]): before it is stored, the image is
    /// matched against the registry as any upload is.
    pub local_as_upload: local::LocalFeatures,
    /// At most `max_side` pixels a side (see [`thumbnail`]).
    pub thumbnail: Vec<u8>,
}

/// Decodes `bytes` once for everything a registration keeps. The fingerprints are those
/// [`fingerprint`] answers for the same bytes.
pub fn analyse_for_registration(
    bytes: &[u8],
    limits: &DecodeLimits,
    max_side: u32,
) -> Result<Registration, FingerprintError> {
    let working = decode::decode(bytes, limits)?;
    let local = local::extract(&working);
    Ok(Registration {
        fingerprints: fingerprint_working(Sha256Digest::of(bytes), &working)?,
        local_as_upload: local::as_upload(local.clone(), &working),
        local,
        thumbnail: thumbnail::thumbnail(&working, max_side)?,
    })
}

/// Fingerprints an already decoded working image; `sha256` is that of the original bytes.
pub fn fingerprint_working(
    sha256: Sha256Digest,
    working: &WorkingImage,
) -> Result<Fingerprints, FingerprintError> {
    let (w, h) = (working.work_width, working.work_height);
    let luma = &working.luma;
    let luma8 = &working.luma8;
    let trim = borders::trim(luma8, w, h);
    let rect = trim.content;
    let trimmed = (rect.width(), rect.height()) != (w, h);
    let colour_layout = ColourLayout::of_rgb(&working.rgb, w, rect);
    let (pdq, phash_dihedral, untrimmed) = if trimmed {
        let (cw, ch) = (rect.width(), rect.height());
        let content = borders::crop(luma, w, 1, rect);
        let content8 = borders::crop(luma8, w, 1, rect);
        (
            pdq::pdq_from_luma(&content, cw, ch),
            phash::phash_variants(&content8, cw, ch)?,
            Some(pdq::pdq_from_luma(luma, w, h).variants),
        )
    } else {
        (
            pdq::pdq_from_luma(luma, w, h),
            phash::phash_variants(luma8, w, h)?,
            None,
        )
    };
    let pdq_outer_trim = trim.before_over_trim.map(|r| {
        let outer = pdq::pdq_from_luma(&borders::crop(luma, w, 1, r), r.width(), r.height());
        OuterTrimPdq {
            quality: outer.quality,
            dihedral: outer.variants,
        }
    });
    Ok(Fingerprints {
        algorithm: ALGORITHM_VERSION.to_string(),
        sha256,
        format: decode::format_name(working.format).to_string(),
        width: working.width,
        height: working.height,
        pdq: pdq.hash(),
        pdq_quality: pdq.quality,
        pdq_dihedral: pdq.variants,
        phash: phash_dihedral[0],
        phash_dihedral,
        trimmed,
        pdq_untrimmed_dihedral: untrimmed,
        colour_layout,
        pdq_outer_trim,
    })
}

#[cfg(test)]
mod tests;
