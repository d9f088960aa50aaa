//! Trimming uniform borders (letterboxing, pillarboxing, padding of any solid colour) so that a
//! padded copy hashes like the original.
//!
//! Trimming works on the luma that is hashed, not on RGB: a border that differs from the
//! content only in hue is invisible to the hash, and a grayscale copy of the original must trim
//! exactly where the colour original does. A border is cut only where it is (1) flat, every
//! line within a small tolerance of the outermost line's level, and (2) ends at an edge: the
//! first content line differs from the last border line in a good share of its pixels. Without
//! (2), smooth skies and gradients were trimmed to a depth that moved with every brightness or
//! contrast change, which put otherwise identical copies 100+ PDQ bits apart (docs/matching.md).
//! Trimming repeats (a few rounds at most) so that a padded copy of an image that has a flat
//! frame of its own trims both, like the original does.

/// Largest luma difference from the border level still counted as border.
pub const BORDER_TOLERANCE: u8 = 10;
/// Share of a line's pixels that must be within tolerance (in thousandths).
pub const BORDER_MIN_SHARE_PER_MILLE: usize = 985;
/// Largest difference between a border line's median and the outermost line's level: a
/// padding is flat, a gradient drifts.
pub const BORDER_MAX_DRIFT: u8 = 3;
/// Share of the first content line (in thousandths) that must differ from the last border line
/// by more than the tolerance for the border to count as ending at an edge. Small on purpose:
/// a letterboxed photograph whose own margin is dark (a fundus image, a night sky) meets the
/// bar with only the few pixels where its content begins, while a gradient, drifting a level
/// or two per line, has no such jump anywhere.
pub const EDGE_MIN_SHARE_PER_MILLE: usize = 10;
/// Trimming is abandoned when less than this share (in percent) of a side would remain: such an
/// image is mostly flat and its "content" is not a stable thing to hash.
pub const MIN_REMAINING_PERCENT: usize = 20;
/// Rounds of trimming: a border inside a border (padding around a framed picture).
const ROUNDS: usize = 3;

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

/// The median level of a non-empty line of pixels.
pub(crate) fn median(line: &[u8]) -> u8 {
    let mut sorted = line.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

fn is_flat(line: &[u8], level: u8) -> bool {
    let close = line
        .iter()
        .filter(|v| v.abs_diff(level) <= BORDER_TOLERANCE)
        .count();
    close * 1000 >= line.len() * BORDER_MIN_SHARE_PER_MILLE
        && median(line).abs_diff(level) <= BORDER_MAX_DRIFT
}

fn is_edge(border: &[u8], content: &[u8]) -> bool {
    let differ = border
        .iter()
        .zip(content)
        .filter(|(a, b)| a.abs_diff(**b) > BORDER_TOLERANCE)
        .count();
    differ * 1000 >= content.len() * EDGE_MIN_SHARE_PER_MILLE
}

/// How many lines from one side are border. `line(k)` returns the `k`-th line counted inwards;
/// `count` lines exist.
fn border_depth(count: usize, line: impl Fn(usize) -> Vec<u8>) -> usize {
    let outer = line(0);
    let level = median(&outer);
    if !is_flat(&outer, level) {
        return 0;
    }
    let mut last = outer;
    for k in 1..count {
        let next = line(k);
        if !is_flat(&next, level) {
            return if is_edge(&last, &next) { k } else { 0 };
        }
        last = next;
    }
    count
}

/// One round of trimming inside `r`: the rectangle after cutting the top and bottom, and the
/// one after cutting the sides too; `None` when nothing (or everything) would be cut.
fn trim_once(luma: &[u8], width: usize, r: Rect) -> Option<(Rect, Rect)> {
    let row = |y: usize, x0: usize, x1: usize| luma[y * width + x0..y * width + x1].to_vec();
    let col = |x: usize, y0: usize, y1: usize| (y0..y1).map(|y| luma[y * width + x]).collect();
    let h = r.height();
    let top = border_depth(h, |k| row(r.y0 + k, r.x0, r.x1));
    if top == h {
        return None;
    }
    let bottom = border_depth(h - top, |k| row(r.y1 - 1 - k, r.x0, r.x1));
    let (y0, y1) = (r.y0 + top, r.y1 - bottom);
    if y0 >= y1 {
        return None;
    }
    let w = r.width();
    let left = border_depth(w, |k| col(r.x0 + k, y0, y1));
    if left == w {
        return None;
    }
    let right = border_depth(w - left, |k| col(r.x1 - 1 - k, y0, y1));
    let out = Rect {
        x0: r.x0 + left,
        y0,
        x1: r.x1 - right,
        y1,
    };
    let rows_cut = Rect { y0, y1, ..r };
    (out != r && out.width() > 0 && out.height() > 0).then_some((rows_cut, out))
}

/// Where trimming a row-major luma image ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trim {
    /// The content rectangle: the whole image when there is no border, or when trimming was
    /// abandoned because too little would remain.
    pub content: Rect,
    /// When trimming was abandoned: the rectangle its first cut (the first round's top and
    /// bottom, or its sides when those were all it cut) had reached, if that left enough. A
    /// letterboxed picture with a flat sky or a flat side of its own ends here: the bars go
    /// first, and cutting the sky or the side as well would leave a strip. The picture
    /// itself, hashed whole because trimming it would leave a strip, is what the first cut
    /// leaves of the copy.
    pub before_over_trim: Option<Rect>,
}

/// Trims `luma` (see the module documentation).
pub fn trim(luma: &[u8], width: usize, height: usize) -> Trim {
    let full = Rect {
        x0: 0,
        y0: 0,
        x1: width,
        y1: height,
    };
    if width < 8 || height < 8 {
        return Trim {
            content: full,
            before_over_trim: None,
        };
    }
    let min_w = (width * MIN_REMAINING_PERCENT).div_ceil(100).max(4);
    let min_h = (height * MIN_REMAINING_PERCENT).div_ceil(100).max(4);
    let enough_left = |r: &Rect| r.width() >= min_w && r.height() >= min_h;
    let mut rect = full;
    let mut first_cut = None;
    for _ in 0..ROUNDS {
        let Some((rows_cut, all_cut)) = trim_once(luma, width, rect) else {
            break;
        };
        first_cut.get_or_insert(if rows_cut != full { rows_cut } else { all_cut });
        rect = all_cut;
    }
    if enough_left(&rect) {
        Trim {
            content: rect,
            before_over_trim: None,
        }
    } else {
        Trim {
            content: full,
            before_over_trim: first_cut.filter(|r| enough_left(r)),
        }
    }
}

/// Copies the rectangle out of a row-major image of `channels` values per pixel.
pub fn crop<T: Copy>(pixels: &[T], width: usize, channels: usize, rect: Rect) -> Vec<T> {
    let mut out = Vec::with_capacity(rect.width() * rect.height() * channels);
    for y in rect.y0..rect.y1 {
        out.extend_from_slice(
            &pixels[(y * width + rect.x0) * channels..(y * width + rect.x1) * channels],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Textured content that never repeats a line, like a photograph.
    fn content(width: usize, height: usize) -> Vec<u8> {
        (0..width * height)
            .map(|i| {
                let (x, y) = (i % width, i / width);
                ((x * 7 + y * 13) % 200 + (x * y) % 37 + 10) as u8
            })
            .collect()
    }

    fn content_rect(luma: &[u8], width: usize, height: usize) -> Rect {
        trim(luma, width, height).content
    }

    fn rect(x0: usize, y0: usize, x1: usize, y1: usize) -> Rect {
        Rect { x0, y0, x1, y1 }
    }

    /// Pads `width` x `height` content with `level`, adding noise of `noise` to the border.
    fn padded(
        inner: &[u8],
        width: usize,
        height: usize,
        pad: (usize, usize, usize, usize),
        level: u8,
        noise: u8,
    ) -> (Vec<u8>, usize, usize) {
        let (l, t, r, b) = pad;
        let (pw, ph) = (width + l + r, height + t + b);
        let mut out = Vec::with_capacity(pw * ph);
        for y in 0..ph {
            for x in 0..pw {
                let inside = x >= l && x < l + width && y >= t && y < t + height;
                if inside {
                    out.push(inner[(y - t) * width + (x - l)]);
                } else {
                    let jitter = ((x * 31 + y * 17) % (usize::from(noise) + 1)) as u8;
                    out.push(level.saturating_add(jitter));
                }
            }
        }
        (out, pw, ph)
    }

    #[test]
    fn no_border_means_the_whole_image() {
        let img = content(120, 80);
        assert_eq!(
            content_rect(&img, 120, 80),
            Rect {
                x0: 0,
                y0: 0,
                x1: 120,
                y1: 80
            }
        );
    }

    #[test]
    fn letterbox_pillarbox_and_padding_of_any_level_are_trimmed() {
        let inner = content(120, 80);
        for (pad, level) in [
            ((0, 30, 0, 30), 0),
            ((25, 0, 25, 0), 0),
            ((10, 12, 14, 16), 250),
            ((5, 5, 5, 5), 120),
        ] {
            let (img, w, h) = padded(&inner, 120, 80, pad, level, 4);
            let rect = content_rect(&img, w, h);
            assert_eq!(
                (rect.x0, rect.y0, rect.width(), rect.height()),
                (pad.0, pad.1, 120, 80),
                "pad {pad:?} level {level}"
            );
        }
    }

    #[test]
    fn a_padded_frame_trims_like_the_framed_original() {
        let inner = content(100, 60);
        let (framed, fw, fh) = padded(&inner, 100, 60, (8, 8, 8, 8), 40, 2);
        let (both, bw, bh) = padded(&framed, fw, fh, (20, 10, 20, 10), 255, 0);
        let original = content_rect(&framed, fw, fh);
        let copy = content_rect(&both, bw, bh);
        assert_eq!((original.width(), original.height()), (100, 60));
        assert_eq!((copy.width(), copy.height()), (100, 60));
    }

    #[test]
    fn a_smooth_gradient_is_not_a_border() {
        // A sky: rows flat across, brightening slowly downwards, above textured ground.
        let (w, h) = (120, 100);
        let ground = content(w, 50);
        let mut img: Vec<u8> = (0..50).flat_map(|y| vec![100 + y as u8 / 2; w]).collect();
        img.extend(ground);
        assert_eq!(content_rect(&img, w, h).height(), h);
    }

    #[test]
    fn an_abandoned_trim_keeps_its_first_cut_aside() {
        // A flat sky over 15% of textured ground: cutting the sky would leave too little.
        let (w, sky, ground) = (120, 85, 15);
        let mut picture = vec![200u8; w * sky];
        picture.extend(content(w, ground));
        let alone = trim(&picture, w, sky + ground);
        assert_eq!(alone.content, rect(0, 0, w, sky + ground));
        assert_eq!(alone.before_over_trim, None);

        let (boxed, bw, bh) = padded(&picture, w, sky + ground, (0, 30, 0, 30), 0, 3);
        let letterboxed = trim(&boxed, bw, bh);
        assert_eq!(letterboxed.content, rect(0, 0, bw, bh));
        assert_eq!(
            letterboxed.before_over_trim,
            Some(rect(0, 30, w, 30 + sky + ground))
        );
    }

    #[test]
    fn the_first_cut_is_the_bars_even_when_the_picture_trims_itself_first() {
        // Left to right: a dark band, a wide flat wall, a narrow textured strip. Alone, the
        // picture loses its band in a first round and would lose the wall in a second;
        // letterboxed, the first cut is the bars (top and bottom), whatever follows.
        let (w, h, band, wall) = (100, 60, 10, 75);
        let strip = content(w - band - wall, h);
        let picture: Vec<u8> = (0..h)
            .flat_map(|y| {
                let mut line = vec![40u8; band];
                line.extend(vec![200u8; wall]);
                line.extend_from_slice(&strip[y * (w - band - wall)..(y + 1) * (w - band - wall)]);
                line
            })
            .collect();
        let alone = trim(&picture, w, h);
        assert_eq!(alone.content, rect(0, 0, w, h));
        assert_eq!(alone.before_over_trim, Some(rect(band, 0, w, h)));
        let (boxed, bw, bh) = padded(&picture, w, h, (0, 20, 0, 20), 0, 3);
        let letterboxed = trim(&boxed, bw, bh);
        assert_eq!(letterboxed.content, rect(0, 0, bw, bh));
        assert_eq!(letterboxed.before_over_trim, Some(rect(0, 20, w, 20 + h)));
    }

    #[test]
    fn two_flat_bands_are_left_alone() {
        let mut img = vec![0u8; 64 * 64];
        img[64 * 32..].fill(255);
        assert_eq!(content_rect(&img, 64, 64).height(), 64);
        let rotated: Vec<u8> = (0..64 * 64)
            .map(|i| if i % 64 < 32 { 0 } else { 255 })
            .collect();
        assert_eq!(content_rect(&rotated, 64, 64).width(), 64);
    }

    #[test]
    fn a_flat_image_is_left_alone() {
        let img = vec![128u8; 64 * 64];
        assert_eq!(content_rect(&img, 64, 64).width(), 64);
    }

    #[test]
    fn crop_copies_the_rectangle() {
        let inner = content(10, 10);
        let (img, w, h) = padded(&inner, 10, 10, (2, 3, 4, 5), 0, 0);
        let rect = content_rect(&img, w, h);
        assert_eq!(crop(&img, w, 1, rect), inner);
    }
}
