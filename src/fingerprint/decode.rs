//! Bytes to a small RGB working image, within hard limits.
//!
//! The format is sniffed from the content, never taken from a file name or a declared type.
//! Every decode runs under `image::Limits`, so a file that lies about its size cannot make the
//! decoder allocate past `DecodeLimits::max_alloc`. Fingerprints need at most 512 pixels a side,
//! so the full-size image only lives long enough to be shrunk by `fast_image_resize`: `image`
//! 0.25 decodes JPEG with zune-jpeg, which offers no DCT-domain downscaling through `image`.

use std::io::Cursor;

use fast_image_resize::images::Image as FirImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::error::{ImageError, LimitErrorKind};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::pdq::Dihedral;
use super::FingerprintError;

/// Caps on what one decode may read and allocate. The defaults admit a 100-megapixel photo
/// (e.g. 11648 x 8736) stored as 16-bit RGB, and nothing much larger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Size of the encoded file.
    pub max_bytes: u64,
    pub max_width: u32,
    pub max_height: u32,
    pub max_pixels: u64,
    /// Bytes the decoder may allocate, the decoded buffer included.
    pub max_alloc: u64,
    /// Raw-to-encoded size ratio above which an over-limit image is called a decompression
    /// bomb rather than merely too large: real photos compress about 3:1 (PNG) to 20:1 (JPEG).
    pub bomb_ratio: u64,
    /// Longest side of the working image the hashes are computed on.
    pub working_size: u32,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_bytes: 256 << 20,
            max_width: 32_768,
            max_height: 32_768,
            max_pixels: 120_000_000,
            max_alloc: 768 << 20,
            bomb_ratio: 100,
            working_size: 512,
        }
    }
}

/// The decoded image, oriented upright and shrunk to the working size.
#[derive(Clone, Debug)]
pub struct WorkingImage {
    pub format: ImageFormat,
    /// Size of the full image after EXIF orientation.
    pub width: u32,
    pub height: u32,
    /// Packed RGB8, `work_width` x `work_height`, longest side at most `working_size`.
    pub rgb: Vec<u8>,
    pub work_width: usize,
    pub work_height: usize,
}

const SUPPORTED: [ImageFormat; 6] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::WebP,
    ImageFormat::Gif,
    ImageFormat::Tiff,
    ImageFormat::Bmp,
];

pub(crate) fn format_name(format: ImageFormat) -> &'static str {
    format
        .extensions_str()
        .first()
        .copied()
        .unwrap_or("unknown")
}

/// Decodes `bytes` (any supported format; GIF: the first frame) into a [`WorkingImage`].
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<WorkingImage, FingerprintError> {
    let len = bytes.len() as u64;
    if len > limits.max_bytes {
        return Err(FingerprintError::FileTooLarge {
            bytes: len,
            max_bytes: limits.max_bytes,
        });
    }
    let format = image::guess_format(bytes).map_err(|_| FingerprintError::NotAnImage)?;
    if !SUPPORTED.contains(&format) {
        return Err(FingerprintError::UnsupportedFormat {
            format: format_name(format).to_string(),
        });
    }
    if looks_truncated(format, bytes) {
        return Err(FingerprintError::TruncatedImage {
            format: format_name(format),
        });
    }

    let mut image_limits = Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_alloc);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(image_limits);
    let mut decoder = match reader.into_decoder() {
        Ok(d) => d,
        Err(ImageError::Limits(e)) if matches!(e.kind(), LimitErrorKind::DimensionError) => {
            let (width, height) = claimed_dimensions(bytes, format).unwrap_or((0, 0));
            return Err(too_large(width, height, len, limits));
        }
        Err(e) => return Err(map_error(e, format, limits)),
    };
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(FingerprintError::CorruptImage {
            format: format_name(format),
            detail: "zero width or height".into(),
        });
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(too_large(width, height, len, limits));
    }
    if decoder.total_bytes() > limits.max_alloc {
        return Err(FingerprintError::AllocationLimitExceeded {
            needed: decoder.total_bytes(),
            max_alloc: limits.max_alloc,
        });
    }
    // A broken EXIF block should not cost the upload its fingerprint: assume upright.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| map_error(e, format, limits))?;

    let (rgb, w, h) = shrink_to_rgb(image, limits.working_size)?;
    let turn = dihedral_of(orientation);
    let (rgb, work_width, work_height) = apply_to_rgb(turn, &rgb, w, h);
    let (width, height) = if work_width == w {
        (width, height)
    } else {
        (height, width)
    };
    Ok(WorkingImage {
        format,
        width,
        height,
        rgb,
        work_width,
        work_height,
    })
}

fn too_large(width: u32, height: u32, bytes: u64, limits: &DecodeLimits) -> FingerprintError {
    let raw = u64::from(width) * u64::from(height) * 3;
    if raw / bytes.max(1) > limits.bomb_ratio {
        FingerprintError::DecompressionBomb {
            width,
            height,
            bytes,
        }
    } else {
        FingerprintError::ImageTooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
        }
    }
}

/// Reads only the header, under an allocation cap but no dimension cap, to name the size of an
/// image that `image` refused for its dimensions.
fn claimed_dimensions(bytes: &[u8], format: ImageFormat) -> Option<(u32, u32)> {
    let mut limits = Limits::no_limits();
    limits.max_alloc = Some(16 << 20);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    reader.into_dimensions().ok()
}

/// Some decoders (zune-jpeg in particular) fill a missing tail with grey and report success,
/// so a cut-off file is recognised by its missing end marker where the format has one.
fn looks_truncated(format: ImageFormat, bytes: &[u8]) -> bool {
    match format {
        ImageFormat::Jpeg => {
            // Entropy-coded data escapes 0xFF, so the only FF D9 after the last start-of-scan
            // is the end-of-image marker.
            let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
            match last_sos {
                Some(at) => !bytes[at..].windows(2).any(|w| w == [0xFF, 0xD9]),
                None => true,
            }
        }
        ImageFormat::Png => !bytes.windows(4).rev().take(4096).any(|w| w == b"IEND"),
        ImageFormat::WebP => {
            // RIFF length field counts the bytes after the first eight.
            bytes.len() < 12
                || (u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize)
                    .saturating_add(8)
                    > bytes.len()
        }
        _ => false,
    }
}

fn map_error(e: ImageError, format: ImageFormat, limits: &DecodeLimits) -> FingerprintError {
    let name = format_name(format);
    match e {
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError => FingerprintError::ImageTooLarge {
                width: 0,
                height: 0,
                max_pixels: limits.max_pixels,
            },
            _ => FingerprintError::AllocationLimitExceeded {
                needed: 0,
                max_alloc: limits.max_alloc,
            },
        },
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            FingerprintError::TruncatedImage { format: name }
        }
        ImageError::Unsupported(u) => FingerprintError::UnsupportedFormat {
            format: format!("{name} ({u})"),
        },
        other => {
            let detail = other.to_string();
            let lower = detail.to_ascii_lowercase();
            if lower.contains("eof") || lower.contains("end of file") || lower.contains("truncat") {
                FingerprintError::TruncatedImage { format: name }
            } else {
                FingerprintError::CorruptImage {
                    format: name,
                    detail,
                }
            }
        }
    }
}

fn dihedral_of(o: Orientation) -> Dihedral {
    match o {
        Orientation::NoTransforms => Dihedral::Original,
        Orientation::Rotate90 => Dihedral::Rotate90,
        Orientation::Rotate180 => Dihedral::Rotate180,
        Orientation::Rotate270 => Dihedral::Rotate270,
        Orientation::FlipHorizontal => Dihedral::FlipHorizontal,
        Orientation::FlipVertical => Dihedral::FlipVertical,
        Orientation::Rotate90FlipH => Dihedral::Transpose,
        Orientation::Rotate270FlipH => Dihedral::Transverse,
    }
}

pub(crate) fn apply_to_rgb(
    t: Dihedral,
    rgb: &[u8],
    width: usize,
    height: usize,
) -> (Vec<u8>, usize, usize) {
    if t == Dihedral::Original {
        return (rgb.to_vec(), width, height);
    }
    let pixels: Vec<[u8; 3]> = rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
    let (moved, w, h) = t.apply(&pixels, width, height);
    (moved.into_iter().flatten().collect(), w, h)
}

/// Size of the working image: longest side `max_side`, aspect kept, never enlarged.
pub(crate) fn working_dims(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= max_side {
        return (width, height);
    }
    let scale = f64::from(max_side) / f64::from(longest);
    let w = ((f64::from(width) * scale).round() as u32).clamp(1, max_side);
    let h = ((f64::from(height) * scale).round() as u32).clamp(1, max_side);
    (w, h)
}

/// Area-averaging resize of packed pixels. Alpha is dropped, not composited: the PDQ reference
/// converts to RGB the same way, and a transparent pixel's colour is whatever the encoder left.
pub(crate) fn resize_packed(
    data: Vec<u8>,
    width: u32,
    height: u32,
    pixel: PixelType,
    dst_width: u32,
    dst_height: u32,
) -> Result<Vec<u8>, FingerprintError> {
    if (width, height) == (dst_width, dst_height) {
        return Ok(data);
    }
    let internal = |detail: String| FingerprintError::CorruptImage {
        format: "resize",
        detail,
    };
    let src =
        FirImage::from_vec_u8(width, height, data, pixel).map_err(|e| internal(e.to_string()))?;
    let mut dst = FirImage::new(dst_width, dst_height, pixel);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Box))
        .use_alpha(false);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| internal(e.to_string()))?;
    Ok(dst.into_vec())
}

fn shrink_to_rgb(
    image: DynamicImage,
    max_side: u32,
) -> Result<(Vec<u8>, usize, usize), FingerprintError> {
    let (width, height) = (image.width(), image.height());
    let (w, h) = working_dims(width, height, max_side);
    let rgb = match image {
        DynamicImage::ImageRgb8(buf) => {
            resize_packed(buf.into_raw(), width, height, PixelType::U8x3, w, h)?
        }
        DynamicImage::ImageRgba8(buf) => {
            let small = resize_packed(buf.into_raw(), width, height, PixelType::U8x4, w, h)?;
            small
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect()
        }
        DynamicImage::ImageLuma8(buf) => {
            let small = resize_packed(buf.into_raw(), width, height, PixelType::U8, w, h)?;
            small.into_iter().flat_map(|v| [v, v, v]).collect()
        }
        // 16-bit and float images are rare enough to pay for a full-size conversion.
        other => resize_packed(
            other.to_rgb8().into_raw(),
            width,
            height,
            PixelType::U8x3,
            w,
            h,
        )?,
    };
    Ok((rgb, w as usize, h as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, RgbImage};

    fn photo(width: u32, height: u32) -> RgbImage {
        ImageBuffer::from_fn(width, height, |x, y| {
            Rgb([
                (x * 255 / width) as u8,
                (y * 255 / height) as u8,
                ((x ^ y) & 0xFF) as u8,
            ])
        })
    }

    fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img.clone())
            .write_to(&mut out, format)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn decodes_every_supported_format_by_content() {
        let img = photo(300, 200);
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::WebP,
            ImageFormat::Gif,
            ImageFormat::Tiff,
            ImageFormat::Bmp,
        ] {
            let bytes = encode(&img, format);
            let w = decode(&bytes, &DecodeLimits::default())
                .unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!((w.format, w.width, w.height), (format, 300, 200));
            assert_eq!((w.work_width, w.work_height), (300, 200));
        }
    }

    #[test]
    fn large_images_shrink_to_the_working_size() {
        let bytes = encode(&photo(1600, 900), ImageFormat::Png);
        let w = decode(&bytes, &DecodeLimits::default()).unwrap();
        assert_eq!((w.work_width, w.work_height), (512, 288));
        assert_eq!(w.rgb.len(), 512 * 288 * 3);
    }

    #[test]
    fn non_images_and_unsupported_formats_are_named() {
        let limits = DecodeLimits::default();
        assert!(matches!(
            decode(b"hello, world", &limits),
            Err(FingerprintError::NotAnImage)
        ));
        assert!(matches!(
            decode(b"", &limits),
            Err(FingerprintError::NotAnImage)
        ));
        let mut ico = vec![0u8, 0, 1, 0, 1, 0];
        ico.extend_from_slice(&[0; 32]);
        assert!(matches!(
            decode(&ico, &limits),
            Err(FingerprintError::UnsupportedFormat { .. })
        ));
    }

    #[test]
    fn truncated_files_are_reported_as_truncated() {
        let img = photo(400, 300);
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::WebP,
            ImageFormat::Gif,
            ImageFormat::Tiff,
            ImageFormat::Bmp,
        ] {
            let bytes = encode(&img, format);
            let cut = &bytes[..bytes.len() * 2 / 3];
            match decode(cut, &DecodeLimits::default()) {
                Err(FingerprintError::TruncatedImage { .. }) => {}
                other => panic!("{format:?}: expected TruncatedImage, got {other:?}"),
            }
        }
    }

    #[test]
    fn limits_refuse_oversized_input_before_decoding() {
        let bytes = encode(&photo(400, 300), ImageFormat::Png);
        let tight = DecodeLimits {
            max_pixels: 100_000,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            decode(&bytes, &tight),
            Err(FingerprintError::ImageTooLarge {
                width: 400,
                height: 300,
                ..
            })
        ));
        let small_file = DecodeLimits {
            max_bytes: 100,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            decode(&bytes, &small_file),
            Err(FingerprintError::FileTooLarge { .. })
        ));
        let narrow = DecodeLimits {
            max_width: 200,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            decode(&bytes, &narrow),
            Err(FingerprintError::ImageTooLarge { width: 400, .. })
        ));
    }

    /// CRC-32 (IEEE), enough to re-seal a PNG chunk after editing it.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for b in data {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_small_file_claiming_a_huge_image_is_a_decompression_bomb() {
        // A 1x1 PNG whose header is edited to claim 30000 x 30000 pixels.
        let mut bytes = encode(&photo(1, 1), ImageFormat::Png);
        bytes[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        match decode(&bytes, &DecodeLimits::default()) {
            Err(FingerprintError::DecompressionBomb {
                width: 30_000,
                height: 30_000,
                ..
            }) => {}
            other => panic!("expected DecompressionBomb, got {other:?}"),
        }
    }

    #[test]
    fn exif_orientation_maps_like_image_applies_it() {
        let img = DynamicImage::ImageRgb8(photo(5, 3));
        let raw = img.to_rgb8().into_raw();
        for o in [
            Orientation::Rotate90,
            Orientation::Rotate180,
            Orientation::Rotate270,
            Orientation::FlipHorizontal,
            Orientation::FlipVertical,
            Orientation::Rotate90FlipH,
            Orientation::Rotate270FlipH,
        ] {
            let mut expected = img.clone();
            expected.apply_orientation(o);
            let (ours, w, h) = apply_to_rgb(dihedral_of(o), &raw, 5, 3);
            assert_eq!((w as u32, h as u32), (expected.width(), expected.height()));
            assert_eq!(ours, expected.to_rgb8().into_raw(), "{o:?}");
        }
    }
}
