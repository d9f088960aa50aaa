//! Small previews of registered works, made from the working image the fingerprints were
//! computed on, so the full-size image is decoded once per registration.
//!
//! A thumbnail is a convenience for people looking at matches; it is not ledger data and no
//! check depends on it.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::RgbImage;

use super::{FingerprintError, WorkingImage};

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX_SIDE: u32 = 256;

/// The media type of what [`thumbnail`] produces.
pub const THUMBNAIL_CONTENT_TYPE: &str = "image/jpeg";

const JPEG_QUALITY: u8 = 82;

/// A JPEG of the upright working image, its longest side at most `max_side` pixels (never
/// enlarged).
pub fn thumbnail(working: &WorkingImage, max_side: u32) -> Result<Vec<u8>, FingerprintError> {
    let (w, h) = (working.work_width as u32, working.work_height as u32);
    let corrupt = |detail: String| FingerprintError::CorruptImage {
        format: super::decode::format_name(working.format),
        detail,
    };
    let rgb = RgbImage::from_raw(w, h, working.rgb.clone())
        .ok_or_else(|| corrupt("the working image has the wrong length".into()))?;
    let longest = w.max(h).max(1);
    let rgb = if longest > max_side {
        let scale = f64::from(max_side) / f64::from(longest);
        let tw = ((f64::from(w) * scale).round() as u32).clamp(1, max_side);
        let th = ((f64::from(h) * scale).round() as u32).clamp(1, max_side);
        image::imageops::resize(&rgb, tw, th, FilterType::Triangle)
    } else {
        rgb
    };
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| corrupt(format!("encoding the thumbnail: {e}")))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{decode::decode, DecodeLimits};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_large_image_shrinks_to_the_limit_keeping_its_shape() {
        let working = decode(&png(1200, 600), &DecodeLimits::default()).unwrap();
        let jpeg = thumbnail(&working, THUMBNAIL_MAX_SIDE).unwrap();
        let back = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (256, 128));
        assert_eq!(
            image::guess_format(&jpeg).unwrap(),
            image::ImageFormat::Jpeg
        );
    }

    #[test]
    fn a_small_image_is_not_enlarged() {
        let working = decode(&png(40, 90), &DecodeLimits::default()).unwrap();
        let back = image::load_from_memory(&thumbnail(&working, 256).unwrap()).unwrap();
        assert_eq!((back.width(), back.height()), (40, 90));
    }
}
