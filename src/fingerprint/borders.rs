//! Trimming uniform borders (letterboxing, pillarboxing, padding of any solid colour) so that a
//! padded copy hashes like the original.
//!
//! A line (row or column) is border when nearly all of its pixels are within a tolerance of the
//! colour of the outermost line on that side. The tolerance absorbs JPEG ringing and chroma
//! bleed next to the content edge; the "nearly all" absorbs a stray logo pixel or noise. Both
//! the registered original and the query are trimmed the same way, so an original whose edge
//! happens to be a flat sky loses the same rows in both.

/// Largest per-channel difference from the border colour still counted as border.
pub const BORDER_TOLERANCE: u8 = 24;
/// Share of a line's pixels that must be within tolerance (in thousandths).
pub const BORDER_MIN_SHARE_PER_MILLE: usize = 970;
/// Trimming is abandoned when less than this share (in percent) of a side would remain: such an
/// image is mostly flat and its "content" is not a stable thing to hash.
pub const MIN_REMAINING_PERCENT: usize = 20;

/// A sub-rectangle of the working image: columns `x0..x1`, rows `y0..y1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Rect {
    pub fn width(&self) -> usize {
        self.x1 - self.x0
    }
    pub fn height(&self) -> usize {
        self.y1 - self.y0
    }
}

fn pixel(rgb: &[u8], width: usize, x: usize, y: usize) -> [u8; 3] {
    let i = (y * width + x) * 3;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

fn median_colour(pixels: &[[u8; 3]]) -> [u8; 3] {
    let mut out = [0u8; 3];
    for (c, slot) in out.iter_mut().enumerate() {
        let mut channel: Vec<u8> = pixels.iter().map(|p| p[c]).collect();
        channel.sort_unstable();
        *slot = channel[channel.len() / 2];
    }
    out
}

fn is_uniform(pixels: &[[u8; 3]], colour: [u8; 3]) -> bool {
    let close = pixels
        .iter()
        .filter(|p| (0..3).all(|c| p[c].abs_diff(colour[c]) <= BORDER_TOLERANCE))
        .count();
    close * 1000 >= pixels.len() * BORDER_MIN_SHARE_PER_MILLE
}

/// How many lines from one side are border. `line(k)` returns the `k`-th line counted inwards.
fn border_depth(count: usize, line: impl Fn(usize) -> Vec<[u8; 3]>) -> usize {
    let outer = line(0);
    let colour = median_colour(&outer);
    if !is_uniform(&outer, colour) {
        return 0;
    }
    (0..count)
        .take_while(|&k| is_uniform(&line(k), colour))
        .count()
}

/// The content rectangle of a packed RGB8 image, the whole image when there is no border.
pub fn content_rect(rgb: &[u8], width: usize, height: usize) -> Rect {
    let full = Rect {
        x0: 0,
        y0: 0,
        x1: width,
        y1: height,
    };
    if width < 8 || height < 8 {
        return full;
    }
    let row = |y: usize, x0: usize, x1: usize| (x0..x1).map(|x| pixel(rgb, width, x, y)).collect();
    let col = |x: usize, y0: usize, y1: usize| (y0..y1).map(|y| pixel(rgb, width, x, y)).collect();

    let top = border_depth(height, |k| row(k, 0, width));
    if top == height {
        return full;
    }
    let bottom = border_depth(height - top, |k| row(height - 1 - k, 0, width));
    let (y0, y1) = (top, height - bottom);
    if y0 >= y1 {
        // Two flat bands and nothing else, e.g. half black and half white.
        return full;
    }
    let left = border_depth(width, |k| col(k, y0, y1));
    if left == width {
        return full;
    }
    let right = border_depth(width - left, |k| col(width - 1 - k, y0, y1));
    let rect = Rect {
        x0: left,
        y0,
        x1: width - right,
        y1,
    };
    let min_w = (width * MIN_REMAINING_PERCENT).div_ceil(100).max(4);
    let min_h = (height * MIN_REMAINING_PERCENT).div_ceil(100).max(4);
    if rect.width() < min_w || rect.height() < min_h {
        full
    } else {
        rect
    }
}

/// Copies the rectangle out of a packed RGB8 image.
pub fn crop_rgb(rgb: &[u8], width: usize, rect: Rect) -> Vec<u8> {
    let mut out = Vec::with_capacity(rect.width() * rect.height() * 3);
    for y in rect.y0..rect.y1 {
        out.extend_from_slice(&rgb[(y * width + rect.x0) * 3..(y * width + rect.x1) * 3]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(width: usize, height: usize) -> Vec<[u8; 3]> {
        (0..width * height)
            .map(|i| {
                let (x, y) = (i % width, i / width);
                [
                    (x * 7 % 200 + 20) as u8,
                    (y * 5 % 180 + 30) as u8,
                    ((x + y) % 150 + 50) as u8,
                ]
            })
            .collect()
    }

    /// Pads `width` x `height` content with `colour`, adding noise of `noise` to the border.
    fn padded(
        width: usize,
        height: usize,
        pad: (usize, usize, usize, usize),
        colour: [u8; 3],
        noise: u8,
    ) -> (Vec<u8>, usize, usize) {
        let (l, t, r, b) = pad;
        let (pw, ph) = (width + l + r, height + t + b);
        let inner = content(width, height);
        let mut out = Vec::with_capacity(pw * ph * 3);
        for y in 0..ph {
            for x in 0..pw {
                let inside = x >= l && x < l + width && y >= t && y < t + height;
                if inside {
                    out.extend_from_slice(&inner[(y - t) * width + (x - l)]);
                } else {
                    let jitter = ((x * 31 + y * 17) % (usize::from(noise) + 1)) as u8;
                    out.extend(colour.map(|c| c.saturating_add(jitter)));
                }
            }
        }
        (out, pw, ph)
    }

    #[test]
    fn no_border_means_the_whole_image() {
        let (img, w, h) = padded(120, 80, (0, 0, 0, 0), [0, 0, 0], 0);
        assert_eq!(
            content_rect(&img, w, h),
            Rect {
                x0: 0,
                y0: 0,
                x1: 120,
                y1: 80
            }
        );
    }

    #[test]
    fn letterbox_pillarbox_and_padding_of_any_colour_are_trimmed() {
        for (pad, colour) in [
            ((0, 30, 0, 30), [0, 0, 0]),
            ((25, 0, 25, 0), [0, 0, 0]),
            ((10, 12, 14, 16), [255, 255, 255]),
            ((5, 5, 5, 5), [200, 30, 90]),
        ] {
            let (img, w, h) = padded(120, 80, pad, colour, 10);
            let rect = content_rect(&img, w, h);
            assert_eq!(
                (rect.x0, rect.y0, rect.width(), rect.height()),
                (pad.0, pad.1, 120, 80),
                "pad {pad:?} colour {colour:?}"
            );
        }
    }

    #[test]
    fn two_flat_bands_are_left_alone() {
        let mut img = vec![0u8; 64 * 64 * 3];
        img[64 * 32 * 3..].fill(255);
        assert_eq!(content_rect(&img, 64, 64).height(), 64);
        let rotated: Vec<u8> = (0..64 * 64)
            .flat_map(|i| if i % 64 < 32 { [0u8; 3] } else { [255u8; 3] })
            .collect();
        assert_eq!(content_rect(&rotated, 64, 64).width(), 64);
    }

    #[test]
    fn a_flat_image_is_left_alone() {
        let img = vec![128u8; 64 * 64 * 3];
        assert_eq!(content_rect(&img, 64, 64).width(), 64);
    }

    #[test]
    fn crop_copies_the_rectangle() {
        let (img, w, h) = padded(10, 10, (2, 3, 4, 5), [0, 0, 0], 0);
        let rect = content_rect(&img, w, h);
        let cropped = crop_rgb(&img, w, rect);
        let expected: Vec<u8> = content(10, 10).into_iter().flatten().collect();
        assert_eq!(cropped, expected);
    }
}
