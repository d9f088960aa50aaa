//! Caption bands: a strip across the top or the bottom of an upload, of one background level
//! with text over it (a news caption, a meme's line, a credit). It hides the part of the work
//! beneath it, and it is not what the work looks like: left in, it decides a coarse layout
//! code (a dark bar flips the bottom row of bits) and a good share of the appearance grids, so
//! a smooth picture's copy under a caption was neither proposed nor aligned. Set aside, what
//! the bands leave of the upload is simply a crop of the work, which [`super::appearance`]
//! already aligns.
//!
//! A band is found the way [`crate::fingerprint::borders`] finds a border, from the edge
//! inwards, with two differences: lines crossing the letters may be only a third at the band's
//! level, provided what is off it is mostly far off (lettering), not just off (a picture's own
//! shading near that level); and some lines must cross letters, since a plain flat strip is a
//! border, trimmed for the global stage. A band wrongly found costs one more lookup and
//! alignment, never a match: the whole upload is still compared as it is. Measured on the
//! robustness corpus (`docs/BENCHMARKS-fingerprint.md`, "Caption bands"): a band is found in
//! 106 of 107 captioned copies and 0.3% of unrelated uploads.

use std::ops::Range;

use crate::fingerprint::borders::median;

/// Largest luma difference from the band's level still counted as background.
pub const BAND_TOLERANCE: u8 = 14;
/// Luma difference from the band's level from which a pixel counts as lettering: captions are
/// set to be read, light on dark or dark on light.
pub const TEXT_CONTRAST: u8 = 60;
/// Share of a line's pixels (percent) at the band's level for the line to be background.
pub const BACKGROUND_MIN_PERCENT: usize = 95;
/// A line crossing the letters: at least this share (percent) at the band's level (large
/// letters cover up to about half a line) ...
pub const TEXT_LINE_MIN_BACKGROUND_PERCENT: usize = 35;
/// ... and at most this share between background and lettering (the letters' anti-aliased
/// edges, JPEG ringing); a picture's own flat area that happens to sit near the level has
/// far more of its pixels in between.
pub const TEXT_LINE_MAX_BETWEEN_PERCENT: usize = 20;
/// Over the lines crossing the letters, pixels at lettering contrast must outnumber those in
/// between by this factor.
const LETTERING_OVER_BETWEEN: usize = 2;
/// Shares of the image's height (percent) a band may span: thinner is a rule or a border,
/// deeper is no caption but part of the picture.
pub const BAND_MIN_PERCENT: usize = 4;
pub const BAND_MAX_PERCENT: usize = 30;
/// Of a band's lines, at least this share (percent) cross letters: a flat strip alone is a
/// border, the global stage's to trim.
const TEXT_LINES_MIN_PERCENT: usize = 15;
/// Least share of the height (percent) the bands must leave.
const MIN_LEFT_PERCENT: usize = 60;

/// The rows of a row-major 8-bit luma image that neither a top nor a bottom caption band
/// covers; `None` when there is no band (or the bands would leave too little).
///
/// # Panics
/// If `luma.len() != width * height`.
pub fn uncovered_rows(luma: &[u8], width: usize, height: usize) -> Option<Range<usize>> {
    assert_eq!(luma.len(), width * height, "luma buffer and size disagree");
    if width < 16 || height < 16 {
        return None;
    }
    let row = |y: usize| &luma[y * width..(y + 1) * width];
    let top = band_depth(height, |k| row(k));
    let bottom = band_depth(height, |k| row(height - 1 - k));
    let left = height.saturating_sub(top + bottom);
    ((top > 0 || bottom > 0) && left * 100 >= height * MIN_LEFT_PERCENT)
        .then_some(top..height - bottom)
}

/// How a line's pixels stand against the band's level: shares (percent) at the level and
/// between the level and lettering contrast.
struct LineShares {
    background: usize,
    between: usize,
}

impl LineShares {
    fn of(line: &[u8], level: u8) -> Self {
        let (mut background, mut between) = (0, 0);
        for v in line {
            match v.abs_diff(level) {
                d if d <= BAND_TOLERANCE => background += 1,
                d if d < TEXT_CONTRAST => between += 1,
                _ => {}
            }
        }
        let n = line.len().max(1);
        LineShares {
            background: background * 100 / n,
            between: between * 100 / n,
        }
    }

    fn lettering(&self) -> usize {
        100 - self.background - self.between
    }
}

/// How many lines from one side are a caption band (0 when there is none). `line(k)` returns
/// the `k`-th line counted inwards; `count` lines exist.
///
/// A band starts with background at the edge, then lines of background crossing letters, and
/// ends on a background line (the padding above the letters) where the picture begins. The
/// deepest such end that keeps the band caption-like is taken: the picture may carry on at the
/// band's level for a while (a dark photograph under a dark bar).
fn band_depth<'a>(count: usize, line: impl Fn(usize) -> &'a [u8]) -> usize {
    let level = median(line(0));
    let (mut text_lines, mut lettering, mut between) = (0, 0, 0);
    let mut depth = 0;
    for k in 0..count * BAND_MAX_PERCENT / 100 {
        let shares = LineShares::of(line(k), level);
        if shares.background >= BACKGROUND_MIN_PERCENT {
            let end = k + 1;
            let caption_like = end * 100 >= count * BAND_MIN_PERCENT
                && text_lines * 100 >= end * TEXT_LINES_MIN_PERCENT
                && lettering >= LETTERING_OVER_BETWEEN * between;
            if caption_like {
                depth = end;
            }
        } else if k > 0
            && shares.background >= TEXT_LINE_MIN_BACKGROUND_PERCENT
            && shares.between <= TEXT_LINE_MAX_BETWEEN_PERCENT
        {
            text_lines += 1;
            lettering += shares.lettering();
            between += shares.between;
        } else {
            break;
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Textured content that never repeats a line, like a photograph.
    fn picture(width: usize, height: usize) -> Vec<u8> {
        (0..width * height)
            .map(|i| {
                let (x, y) = (i % width, i / width);
                ((x * 7 + y * 13) % 200 + (x * y) % 37 + 10) as u8
            })
            .collect()
    }

    /// Paints rows `rows` at `level` with vertical strokes of the opposite shade ("letters")
    /// on the lines between a fifth and four fifths of the band.
    fn caption(luma: &mut [u8], width: usize, rows: Range<usize>, level: u8) {
        let (start, len) = (rows.start, rows.len());
        for y in rows {
            let lettered = (y - start) * 5 >= len && (y - start) * 5 < len * 4;
            for x in 0..width {
                let stroke = lettered && x % 7 < 2 && x > width / 20 && x < width * 9 / 10;
                let ink = if level > 128 { 20 } else { 235 };
                luma[y * width + x] = if stroke { ink } else { level };
            }
        }
    }

    #[test]
    fn a_caption_over_the_bottom_is_set_aside() {
        let (w, h) = (400, 300);
        let mut luma = picture(w, h);
        caption(&mut luma, w, 258..300, 22);
        assert_eq!(uncovered_rows(&luma, w, h), Some(0..258));
    }

    #[test]
    fn captions_at_the_top_and_the_bottom_are_both_set_aside() {
        let (w, h) = (300, 400);
        let mut luma = picture(w, h);
        caption(&mut luma, w, 0..40, 240);
        caption(&mut luma, w, 350..400, 30);
        assert_eq!(uncovered_rows(&luma, w, h), Some(40..350));
    }

    #[test]
    fn pictures_plain_strips_and_deep_flat_areas_are_no_captions() {
        let (w, h) = (400, 300);
        assert_eq!(uncovered_rows(&picture(w, h), w, h), None);
        // A flat strip without text is a border, the global stage's to trim.
        let mut bordered = picture(w, h);
        bordered[250 * w..].fill(20);
        assert_eq!(uncovered_rows(&bordered, w, h), None);
        // Lettering over half the picture is no caption band.
        let mut poster = picture(w, h);
        caption(&mut poster, w, 150..300, 20);
        assert_eq!(uncovered_rows(&poster, w, h), None);
        // A soft sky with a few dark birds: near its level, but shaded, not lettered.
        let mut sky = picture(w, h);
        for y in 0..90 {
            for x in 0..w {
                let bird = y % 30 == 12 && x % 97 < 6;
                sky[y * w + x] = if bird { 30 } else { (190 + x / 10) as u8 };
            }
        }
        assert_eq!(uncovered_rows(&sky, w, h), None);
        // Too thin to be a caption.
        let mut ruled = picture(w, h);
        caption(&mut ruled, w, 292..300, 20);
        assert_eq!(uncovered_rows(&ruled, w, h), None);
    }
}
