//! A generated test picture, shared by the module's tests and `examples/local_features_eval.rs`
//! (which includes this file by path: an example cannot reach test-only code).

use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_circle_mut, draw_filled_rect_mut};
use imageproc::rect::Rect;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A generated picture: overlapping shapes in varied colours over a gradient, with mild noise.
pub fn scene(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (r0, g0) = (rng.gen_range(40.0..200.0f32), rng.gen_range(40.0..200.0f32));
    let mut img = RgbImage::from_fn(width, height, |x, y| {
        let t = (x + y) as f32 / (width + height) as f32;
        Rgb([
            (r0 + 50.0 * t) as u8,
            (g0 - 30.0 * t) as u8,
            (90.0 + 60.0 * t) as u8,
        ])
    });
    for _ in 0..40 {
        let colour = Rgb([rng.gen(), rng.gen(), rng.gen()]);
        let (x, y) = (
            rng.gen_range(0..width as i32),
            rng.gen_range(0..height as i32),
        );
        if rng.gen_bool(0.5) {
            let (w, h) = (rng.gen_range(8..width / 4), rng.gen_range(8..height / 4));
            draw_filled_rect_mut(&mut img, Rect::at(x, y).of_size(w, h), colour);
        } else {
            draw_filled_circle_mut(&mut img, (x, y), rng.gen_range(5..40), colour);
        }
    }
    for p in img.pixels_mut() {
        let n: i16 = rng.gen_range(-6..=6);
        for c in &mut p.0 {
            *c = (i16::from(*c) + n).clamp(0, 255) as u8;
        }
    }
    img
}
