//! Bytes to a small working image (luma, and RGB when a thumbnail is wanted), within hard limits.
//!
//! The format is sniffed from the content, never taken from a file name or a declared type.
//! Every decode is checked against [`DecodeLimits`] from the header before any pixel buffer is
//! allocated, so a file that lies about its size cannot make the decoder allocate past
//! `DecodeLimits::max_alloc`. Fingerprints need at most 512 pixels a side, so the full-size image
//! only lives long enough to be shrunk by `fast_image_resize`.
//!
//! JPEG, nearly every upload, goes straight to zune-jpeg (the decoder `image` uses, with the
//! same options), so that the header is parsed once, the input is not copied, and a progressive
//! file's coefficient memory is counted against the cap before decoding. Two faster routes were
//! measured and not taken (docs/BENCHMARKS-fingerprint.md): decoding the Y plane alone (1.5x
//! faster per fingerprint, but a JPEG then hashes a little differently from a PNG of the same
//! pixels, which cost 0.3% of recall at the thresholds), and DCT-domain downscaling with
//! `jpeg-decoder` (its entropy decoder is slower than zune-jpeg's, and entropy decoding is most
//! of the cost at any scale).

use std::io::Cursor;

use fast_image_resize::images::Image as FirImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::error::{ImageError, LimitErrorKind};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::errors::DecodeErrors;
use zune_jpeg::JpegDecoder;

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
    /// BT.601 luma (0..=255), `work_width` x `work_height`, longest side at most `working_size`.
    pub luma: Vec<f32>,
    /// The same rounded to integers (border trimming and pHash read these).
    pub luma8: Vec<u8>,
    /// Packed RGB8 of the same size (the colour layout and the thumbnail read it; for RGB
    /// sources it is the shrunk buffer itself, not a copy).
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

/// A full-size decoded image before shrinking: packed 8-bit samples of `pixel` type.
struct Decoded {
    data: Vec<u8>,
    pixel: PixelType,
    width: u32,
    height: u32,
    orientation: Orientation,
}

impl Decoded {
    /// Shrinks to the working size and orients upright.
    fn into_working(
        self,
        limits: &DecodeLimits,
    ) -> Result<(Vec<u8>, PixelType, usize, usize), FingerprintError> {
        let (w, h) = working_dims(self.width, self.height, limits.working_size);
        let small = resize_packed(self.data, self.width, self.height, self.pixel, w, h)?;
        let (w, h) = (w as usize, h as usize);
        let turn = dihedral_of(self.orientation);
        let (small, w, h) = match self.pixel {
            PixelType::U8 => apply_to_packed::<1>(turn, small, w, h),
            PixelType::U8x4 => apply_to_packed::<4>(turn, small, w, h),
            _ => apply_to_packed::<3>(turn, small, w, h),
        };
        Ok((small, self.pixel, w, h))
    }
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
    let decoded = if format == ImageFormat::Jpeg {
        decode_jpeg(bytes, limits)?
    } else {
        decode_with_image(bytes, format, limits)?
    };
    let (width, height) = (decoded.width, decoded.height);
    let turns = matches!(
        dihedral_of(decoded.orientation),
        Dihedral::Rotate90 | Dihedral::Rotate270 | Dihedral::Transpose | Dihedral::Transverse
    );
    let (width, height) = if turns {
        (height, width)
    } else {
        (width, height)
    };
    let (small, pixel, work_width, work_height) = decoded.into_working(limits)?;
    let luma = luma_of(&small, pixel);
    let luma8 = match pixel {
        // Already integers: the decoder's own samples.
        PixelType::U8 => small.clone(),
        _ => luma.iter().map(|v| v.round() as u8).collect(),
    };
    let rgb = rgb_of(small, pixel);
    Ok(WorkingImage {
        format,
        width,
        height,
        luma,
        luma8,
        rgb,
        work_width,
        work_height,
    })
}

/// BT.601 luma of shrunk pixels.
fn luma_of(small: &[u8], pixel: PixelType) -> Vec<f32> {
    match pixel {
        // Through the RGB weights, not `f32::from`: their sum is not exactly 1 in f32, and a
        // grey image must hash as it did when it was expanded to RGB first.
        PixelType::U8 => small
            .iter()
            .map(|&v| super::pdq::luma_of_pixel(v, v, v))
            .collect(),
        PixelType::U8x4 => small
            .chunks_exact(4)
            .map(|p| super::pdq::luma_of_pixel(p[0], p[1], p[2]))
            .collect(),
        _ => super::pdq::luma_from_rgb8(small),
    }
}

/// Packed RGB of shrunk pixels. Alpha is dropped, not composited: the PDQ reference converts
/// to RGB the same way, and a transparent pixel's colour is whatever the encoder left.
fn rgb_of(small: Vec<u8>, pixel: PixelType) -> Vec<u8> {
    match pixel {
        PixelType::U8 => small.iter().flat_map(|&v| [v, v, v]).collect(),
        PixelType::U8x4 => small
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        _ => small,
    }
}

/// Bytes a zune-jpeg decode allocates, bounded from the header: the output, and for a
/// progressive file the coefficients of every component at full size (64 `i16` per 8x8 block,
/// blocks padded to the largest MCU, 32 pixels).
fn jpeg_alloc_bound(width: u32, height: u32, components: u8, progressive: bool, out: u8) -> u64 {
    let output = u64::from(width) * u64::from(height) * u64::from(out);
    let coefficients = if progressive {
        let pad = |v: u32| u64::from(v.div_ceil(32)) * 32;
        pad(width) * pad(height) * 2 * u64::from(components)
    } else {
        0
    };
    output + coefficients
}

/// Decodes a JPEG as `image` would: grey files to luma, every other colour space to RGB.
fn decode_jpeg(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded, FingerprintError> {
    let len = bytes.len() as u64;
    // No dimension cap inside zune-jpeg: the header's claim is checked here, so that an
    // oversized file is named with its size (too large, or a bomb) like every other format.
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(jpeg_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| jpeg_error(DecodeErrors::ZeroError))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    if width == 0 || height == 0 {
        return Err(FingerprintError::CorruptImage {
            format: "jpg",
            detail: "zero width or height".into(),
        });
    }
    if width > limits.max_width
        || height > limits.max_height
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(too_large(width, height, len, limits));
    }
    let input = decoder.input_colorspace().unwrap_or(ColorSpace::YCbCr);
    let (out, pixel) = match input {
        ColorSpace::Luma => (ColorSpace::Luma, PixelType::U8),
        _ => (ColorSpace::RGB, PixelType::U8x3),
    };
    let needed = jpeg_alloc_bound(
        width,
        height,
        info.components,
        info.sof.is_progressive(),
        out.num_components() as u8,
    );
    if needed > limits.max_alloc {
        return Err(FingerprintError::AllocationLimitExceeded {
            needed,
            max_alloc: limits.max_alloc,
        });
    }
    // A broken EXIF block should not cost the upload its fingerprint: assume upright.
    let orientation = decoder
        .exif()
        .and_then(|exif| Orientation::from_exif_chunk(exif))
        .unwrap_or(Orientation::NoTransforms);
    decoder.set_options(decoder.options().jpeg_set_out_colorspace(out));
    let data = decoder.decode().map_err(jpeg_error)?;
    let expected = u64::from(width) * u64::from(height) * out.num_components() as u64;
    if data.len() as u64 != expected {
        return Err(FingerprintError::CorruptImage {
            format: "jpg",
            detail: format!("decoded {} bytes, expected {expected}", data.len()),
        });
    }
    Ok(Decoded {
        data,
        pixel,
        width,
        height,
        orientation,
    })
}

/// A decoder's error that has no kind of its own: decoders report a file that ends early in
/// words, not in a type, so the words decide between truncated and corrupt.
fn truncated_or_corrupt(format: &'static str, detail: String) -> FingerprintError {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("eof") || lower.contains("end of file") || lower.contains("truncat") {
        FingerprintError::TruncatedImage { format }
    } else {
        FingerprintError::CorruptImage { format, detail }
    }
}

fn jpeg_error(e: DecodeErrors) -> FingerprintError {
    match e {
        DecodeErrors::ExhaustedData => FingerprintError::TruncatedImage { format: "jpg" },
        DecodeErrors::Unsupported(scheme) => FingerprintError::UnsupportedFormat {
            format: format!("jpg ({scheme:?})"),
        },
        other => truncated_or_corrupt("jpg", other.to_string()),
    }
}

/// Every format but JPEG, through `image` under its own limits.
fn decode_with_image(
    bytes: &[u8],
    format: ImageFormat,
    limits: &DecodeLimits,
) -> Result<Decoded, FingerprintError> {
    let len = bytes.len() as u64;
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
    let (data, pixel) = match image {
        DynamicImage::ImageRgb8(buf) => (buf.into_raw(), PixelType::U8x3),
        DynamicImage::ImageRgba8(buf) => (buf.into_raw(), PixelType::U8x4),
        DynamicImage::ImageLuma8(buf) => (buf.into_raw(), PixelType::U8),
        // 16-bit and float images are rare enough to pay for a full-size conversion.
        other => (other.to_rgb8().into_raw(), PixelType::U8x3),
    };
    Ok(Decoded {
        data,
        pixel,
        width,
        height,
        orientation,
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
        other => truncated_or_corrupt(name, other.to_string()),
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

/// Applies `t` to packed pixels of `N` bytes each.
pub(crate) fn apply_to_packed<const N: usize>(
    t: Dihedral,
    data: Vec<u8>,
    width: usize,
    height: usize,
) -> (Vec<u8>, usize, usize) {
    if t == Dihedral::Original {
        return (data, width, height);
    }
    let pixels: Vec<[u8; N]> = data
        .chunks_exact(N)
        .map(|p| p.try_into().expect("chunks of N"))
        .collect();
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

/// Area-averaging resize of packed pixels (alpha, if any, is resized like any other channel).
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
        assert_eq!(w.luma.len(), 512 * 288);
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

    /// Made with Pillow (`progressive=True`; `exif` with Orientation 6): 64x48 gradients with
    /// noise.
    const PROGRESSIVE_JPEG: &[u8] = include_bytes!("testdata/progressive-64x48.jpg");
    const ROTATED_JPEG: &[u8] = include_bytes!("testdata/orientation-6-64x48.jpg");

    #[test]
    fn a_jpeg_claiming_a_huge_image_is_a_decompression_bomb() {
        let mut bytes = encode(&photo(16, 16), ImageFormat::Jpeg);
        // Baseline start-of-frame: FF C0, length, precision, then height and width.
        let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        bytes[sof + 5..sof + 7].copy_from_slice(&30_000u16.to_be_bytes());
        bytes[sof + 7..sof + 9].copy_from_slice(&30_000u16.to_be_bytes());
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
    fn a_jpeg_is_refused_before_decoding_when_its_memory_would_pass_the_cap() {
        let bytes = encode(&photo(200, 100), ImageFormat::Jpeg);
        let tight = DecodeLimits {
            max_alloc: 200 * 100 * 3 - 1,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            decode(&bytes, &tight),
            Err(FingerprintError::AllocationLimitExceeded { needed: 60_000, .. })
        ));
    }

    #[test]
    fn a_progressive_jpeg_counts_its_coefficients_against_the_cap() {
        let w = decode(PROGRESSIVE_JPEG, &DecodeLimits::default()).unwrap();
        assert_eq!((w.width, w.height), (64, 48));
        // The RGB output fits, the output plus 2 bytes per pixel per component does not.
        let tight = DecodeLimits {
            max_alloc: 64 * 48 * 3 * 2,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            decode(PROGRESSIVE_JPEG, &tight),
            Err(FingerprintError::AllocationLimitExceeded { .. })
        ));
    }

    #[test]
    fn a_jpeg_exif_orientation_is_applied() {
        let w = decode(ROTATED_JPEG, &DecodeLimits::default()).unwrap();
        assert_eq!((w.width, w.height), (48, 64));
        assert_eq!((w.work_width, w.work_height), (48, 64));
        let upright = decode(PROGRESSIVE_JPEG, &DecodeLimits::default()).unwrap();
        // Orientation 6 is a clockwise quarter turn: the upright image's bottom-left corner
        // (dark in x, bright in y) comes to the top-left.
        let corner = |luma: &[u8], width: usize, x: usize, y: usize| luma[y * width + x];
        assert_eq!(w.rgb.len(), 48 * 64 * 3);
        assert!(corner(&upright.luma8, 64, 0, 47) > corner(&upright.luma8, 64, 0, 0) + 60);
        assert!(corner(&w.luma8, 48, 0, 0) > corner(&w.luma8, 48, 47, 0) + 60);
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
            let (ours, w, h) = apply_to_packed::<3>(dihedral_of(o), raw.clone(), 5, 3);
            assert_eq!((w as u32, h as u32), (expected.width(), expected.height()));
            assert_eq!(ours, expected.to_rgb8().into_raw(), "{o:?}");
        }
    }
}
