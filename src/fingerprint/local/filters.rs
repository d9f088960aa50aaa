//! The two image filters the detector needs, written to give exactly the pixels `imageproc`'s
//! `gaussian_blur_f32` and `horizontal_sobel`/`vertical_sobel` give (the tests compare them).
//!
//! Why by hand: `imageproc` runs both through generic per-pixel loops that clamp every tap's
//! coordinates and accumulate through a per-channel slice; on the robustness corpus those two
//! loops were half of a check's CPU time. Here the borders are handled once per row (a padded
//! copy) and the inner loops run over whole rows in the same order of operations, so the
//! compiler vectorises them and every output is bit-identical, which keeps stored features
//! valid (`LOCAL_ALGORITHM_VERSION` is unchanged).

use image::GrayImage;

/// `imageproc`'s Gaussian kernel for `sigma`: radius `ceil(2 sigma)`, normalised to sum 1,
/// computed with the same `f32` operations so the weights are the same bits.
fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let pdf = |x: f32| {
        (sigma * (2.0 * std::f32::consts::PI).sqrt()).recip()
            * (-x.powi(2) / (2.0 * sigma.powi(2))).exp()
    };
    let radius = (2.0 * sigma).ceil() as usize;
    let mut kernel = vec![0.0f32; 2 * radius + 1];
    for i in 0..=radius {
        let value = pdf(i as f32);
        kernel[radius + i] = value;
        kernel[radius - i] = value;
    }
    let sum: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= sum);
    kernel
}

/// `imageproc`'s conversion of an accumulated value to a pixel: truncation, saturating.
fn clamp_to_u8(v: f32) -> u8 {
    if v < 255.0 {
        if v > 0.0 {
            v as u8
        } else {
            0
        }
    } else {
        255
    }
}

/// Gaussian blur with standard deviation `sigma`, edges padded by continuity: a horizontal
/// pass rounded to 8 bits, then a vertical pass, each tap added in kernel order.
pub fn gaussian_blur(image: &GrayImage, sigma: f32) -> GrayImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if w == 0 || h == 0 {
        return image.clone();
    }
    let kernel = gaussian_kernel(sigma);
    let radius = kernel.len() / 2;
    let src = image.as_raw();
    let mut acc = vec![0.0f32; w];

    let mut horizontal = vec![0u8; w * h];
    let mut padded = vec![0.0f32; w + 2 * radius];
    for (row, out) in src.chunks_exact(w).zip(horizontal.chunks_exact_mut(w)) {
        for (i, p) in padded.iter_mut().enumerate() {
            *p = f32::from(row[i.saturating_sub(radius).min(w - 1)]);
        }
        acc.fill(0.0);
        for (i, &k) in kernel.iter().enumerate() {
            for (a, &p) in acc.iter_mut().zip(&padded[i..i + w]) {
                *a += p * k;
            }
        }
        for (o, &a) in out.iter_mut().zip(&acc) {
            *o = clamp_to_u8(a);
        }
    }

    let mut out = vec![0u8; w * h];
    for (y, out_row) in out.chunks_exact_mut(w).enumerate() {
        acc.fill(0.0);
        for (i, &k) in kernel.iter().enumerate() {
            let sy = (y + i).saturating_sub(radius).min(h - 1);
            for (a, &p) in acc.iter_mut().zip(&horizontal[sy * w..sy * w + w]) {
                *a += f32::from(p) * k;
            }
        }
        for (o, &a) in out_row.iter_mut().zip(&acc) {
            *o = clamp_to_u8(a);
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).expect("buffer sized to the image")
}

/// 3x3 Sobel gradients of the pixels at least one pixel inside the image; the outermost ring
/// is left at zero, as no caller reads it (Harris windows stay [`super::detect::EDGE`] pixels
/// inside).
pub struct Gradients {
    width: usize,
    gx: Vec<i16>,
    gy: Vec<i16>,
}

impl Gradients {
    pub fn interior(image: &GrayImage) -> Self {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let mut gx = vec![0i16; w * h];
        let mut gy = vec![0i16; w * h];
        let src = image.as_raw();
        let px = |i: usize| i16::from(src[i]);
        for y in 1..h.saturating_sub(1) {
            let (up, mid, down) = ((y - 1) * w, y * w, (y + 1) * w);
            for x in 1..w.saturating_sub(1) {
                // Correlation with [-1 0 1; -2 0 2; -1 0 1] and its transpose.
                gx[mid + x] = (px(up + x + 1) - px(up + x - 1))
                    + 2 * (px(mid + x + 1) - px(mid + x - 1))
                    + (px(down + x + 1) - px(down + x - 1));
                gy[mid + x] = (px(down + x - 1) - px(up + x - 1))
                    + 2 * (px(down + x) - px(up + x))
                    + (px(down + x + 1) - px(up + x + 1));
            }
        }
        Gradients { width: w, gx, gy }
    }

    /// `(gx, gy)` at `(x, y)`; zero on the outermost ring.
    pub fn at(&self, x: u32, y: u32) -> (i16, i16) {
        let i = y as usize * self.width + x as usize;
        (self.gx[i], self.gy[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn images() -> Vec<GrayImage> {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut out: Vec<GrayImage> = [(1, 1), (3, 2), (8, 5), (9, 40), (64, 48), (301, 177)]
            .into_iter()
            .map(|(w, h)| GrayImage::from_fn(w, h, |_, _| image::Luma([rng.gen()])))
            .collect();
        // Smooth content, where rounding and truncation decide more pixels than on noise.
        out.push(GrayImage::from_fn(200, 120, |x, y| {
            image::Luma([((x as f32 * 0.37).sin() * 90.0 + y as f32 * 0.9 + 60.0) as u8])
        }));
        out.push(GrayImage::from_pixel(50, 30, image::Luma([255])));
        out
    }

    #[test]
    fn the_blur_gives_imageprocs_pixels_exactly() {
        for img in images() {
            for sigma in [2.0f32, 1.0, 0.7, 3.3] {
                let ours = gaussian_blur(&img, sigma);
                let theirs = imageproc::filter::gaussian_blur_f32(&img, sigma);
                assert_eq!(
                    ours,
                    theirs,
                    "{}x{} sigma {sigma}",
                    img.width(),
                    img.height()
                );
            }
        }
    }

    #[test]
    fn the_gradients_give_imageprocs_sobel_inside_the_outer_ring() {
        for img in images() {
            let ours = Gradients::interior(&img);
            let gx = imageproc::gradients::horizontal_sobel(&img);
            let gy = imageproc::gradients::vertical_sobel(&img);
            let (w, h) = img.dimensions();
            for y in 1..h.saturating_sub(1) {
                for x in 1..w.saturating_sub(1) {
                    assert_eq!(
                        ours.at(x, y),
                        (gx.get_pixel(x, y)[0], gy.get_pixel(x, y)[0]),
                        "at ({x}, {y}) of {w}x{h}"
                    );
                }
            }
        }
    }
}
