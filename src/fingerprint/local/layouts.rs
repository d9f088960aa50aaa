//! The layout index: which registered works a query could be a crop, a slight rotation or an
//! overlaid copy of, judged by coarse brightness layout alone, for the works keypoints cannot
//! find (smooth and flat pictures share too few corners with their copies to be proposed by
//! [`super::candidates`]).
//!
//! Each work is indexed under [`WINDOWS`] 64-bit codes, one per window of its luma grid: the
//! whole grid, and nine windows each at 90% and 80% of its width and height (corners, edge
//! middles and centre). A code samples its window at 8 x 8 points and sets a bit where the
//! sample is brighter than the window's median, as an average hash does. An upload's code is
//! its whole grid's: a copy that shows 75-100% of its work lands close to the code of the
//! window nearest to what it shows. An upload turned by a few degrees is also looked up by its
//! centre turned back ([`LayoutIndex::nearest_turned_with_stats`]).
//!
//! Lookup is multi-index hashing (Norouzi, Punjani and Fleet, TPAMI 2014) with four 16-bit
//! tables: every code within [`LAYOUT_RADIUS`] bits of the query agrees with it within 2 bits
//! on at least one of its four substrings (four substrings of 3 or more differing bits make
//! 12), so probing each table at the 137 keys within 2 bits finds them all. The nearest
//! [`LAYOUT_TOP`] works are proposed; [`super::appearance::align`] verifies them.
//!
//! The codes say nothing about colour and, on smooth pictures, little about detail: they only
//! propose. Measured on the robustness corpus: `docs/matching.md`, "Smooth pictures".

use std::collections::HashMap;

use super::appearance::{Appearance, ALIGN_ANGLES};

/// Windows a work is indexed under ([`windows`]).
pub const WINDOWS: usize = 19;
/// Largest Hamming distance between an upload's code and a work's window code for the work to
/// be proposed. At most 11 keeps the 2-bit probes exact (see the module documentation).
pub const LAYOUT_RADIUS: u32 = 10;
/// Works proposed at most, nearest first.
pub const LAYOUT_TOP: usize = 4;
/// A 16-bit key posted by more codes than this is skipped, like a stop word: smooth pictures'
/// layouts crowd a few codes (a left-to-right gradient sets the same half of the bits), and
/// reading those lists made a query at 10^5 works cost tens of milliseconds. Each code is
/// still found through its other three keys unless they are all crowded.
pub const MAX_POSTINGS_PER_KEY: usize = 256;
/// A grid whose cells' standard deviation is below this (grey levels) is flat: its code is
/// noise, and a flat picture is the global stage's to match by its exact bytes or hashes.
const MIN_GRID_DEVIATION: f64 = 2.0;

/// The share of the width and height the turned centre codes sample: the work's centred
/// window of this share is one of [`WINDOWS`], and turned by up to 8 degrees it stays inside
/// the frame of pictures up to 16:9.
const TURNED_WINDOW_SHARE: f64 = 0.8;

const TABLES: usize = 4;
const CODE_SIDE: usize = 8;

/// The windows of a work's grid, `(share, left, top)` as fractions of its width and height;
/// the first is the whole grid.
fn windows() -> [(f64, f64, f64); WINDOWS] {
    let mut out = [(1.0, 0.0, 0.0); WINDOWS];
    let mut i = 1;
    for share in [0.9, 0.8] {
        for left in [0.0, 0.5, 1.0] {
            for top in [0.0, 0.5, 1.0] {
                out[i] = (share, left * (1.0 - share), top * (1.0 - share));
                i += 1;
            }
        }
    }
    out
}

/// The layout codes of every window of a luma grid, the whole grid's first; `None` for an
/// empty or flat grid.
pub fn layout_codes(grid: &Appearance) -> Option<[u64; WINDOWS]> {
    has_layout(grid).then(|| windows().map(|window| window_code(grid, window)))
}

/// Whether the grid is neither empty nor flat.
fn has_layout(grid: &Appearance) -> bool {
    !grid.is_empty() && deviation(&grid.cells) >= MIN_GRID_DEVIATION
}

/// The 64-bit layout code of the window `(share, left, top)` of a non-empty luma grid.
fn window_code(grid: &Appearance, window: (f64, f64, f64)) -> u64 {
    let (share, left, top) = window;
    let (w, h) = (f64::from(grid.width), f64::from(grid.height));
    code_of(grid, |u, v| ((left + share * u) * w, (top + share * v) * h))
}

/// The code of a non-empty luma grid's centred window of [`TURNED_WINDOW_SHARE`], turned by
/// `degrees` about the grid's centre (grid cells are square to within rounding, so the turn
/// is taken in grid coordinates).
///
/// When the upload is its work turned by that angle, this is the work's centred window code:
/// the window, turned with the picture, stays inside what the turn kept of it, away from the
/// corners the turn filled.
fn turned_centre_code(grid: &Appearance, degrees: f64) -> u64 {
    let (w, h) = (f64::from(grid.width), f64::from(grid.height));
    let (sin, cos) = degrees.to_radians().sin_cos();
    code_of(grid, |u, v| {
        let dx = (u - 0.5) * TURNED_WINDOW_SHARE * w;
        let dy = (v - 0.5) * TURNED_WINDOW_SHARE * h;
        (w / 2.0 + cos * dx - sin * dy, h / 2.0 + sin * dx + cos * dy)
    })
}

/// The code of the grid sampled at `CODE_SIDE` x `CODE_SIDE` points: `point(u, v)` gives the
/// grid coordinates of the sample at fractions `u`, `v` of the window.
fn code_of(grid: &Appearance, point: impl Fn(f64, f64) -> (f64, f64)) -> u64 {
    let samples: Vec<f64> = (0..CODE_SIDE * CODE_SIDE)
        .map(|i| {
            let u = ((i % CODE_SIDE) as f64 + 0.5) / CODE_SIDE as f64;
            let v = ((i / CODE_SIDE) as f64 + 0.5) / CODE_SIDE as f64;
            let (x, y) = point(u, v);
            grid.sample(x, y)
        })
        .collect();
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[31] + sorted[32]) / 2.0;
    samples
        .iter()
        .enumerate()
        .filter(|&(_, &s)| s > median)
        .fold(0u64, |code, (i, _)| code | 1 << i)
}

fn deviation(cells: &[u8]) -> f64 {
    let n = cells.len() as f64;
    let mean = cells.iter().map(|&c| f64::from(c)).sum::<f64>() / n;
    (cells
        .iter()
        .map(|&c| (f64::from(c) - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

/// A work proposed by its layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutCandidate {
    pub work: u64,
    /// Bits between the query's code and the nearest of the work's window codes.
    pub distance: u32,
}

/// Works by layout code. Works are named by the caller's `u64` ids; only works whose
/// appearance has a chroma grid are kept, since only those can be verified.
#[derive(Default)]
pub struct LayoutIndex {
    codes: Vec<u64>,
    /// Work id of each code.
    owners: Vec<u64>,
    /// Whether each code's work is still registered.
    alive: Vec<bool>,
    tables: [HashMap<u16, Vec<u32>>; TABLES],
    by_work: HashMap<u64, Vec<u32>>,
    dead: usize,
}

/// What one lookup read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayoutStats {
    pub postings_read: usize,
    /// Probed keys skipped for holding more than [`MAX_POSTINGS_PER_KEY`] postings.
    pub crowded_keys: usize,
}

impl LayoutIndex {
    pub fn len(&self) -> usize {
        self.by_work.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_work.is_empty()
    }

    /// Indexes `work` under its window codes (replacing any it had); a work without a chroma
    /// grid or with a flat grid is not indexed.
    pub fn insert(&mut self, work: u64, appearance: &Appearance) {
        self.remove(work);
        if !appearance.has_chroma() {
            return;
        }
        let Some(codes) = layout_codes(appearance) else {
            return;
        };
        let slots = codes
            .into_iter()
            .map(|code| self.post(work, code))
            .collect();
        self.by_work.insert(work, slots);
    }

    fn post(&mut self, work: u64, code: u64) -> u32 {
        let slot = self.codes.len() as u32;
        self.codes.push(code);
        self.owners.push(work);
        self.alive.push(true);
        for (t, table) in self.tables.iter_mut().enumerate() {
            table.entry(substring(code, t)).or_default().push(slot);
        }
        slot
    }

    /// Forgets a work; its codes stay in the tables, skipped, until [`LayoutIndex::rebuild`].
    pub fn remove(&mut self, work: u64) -> bool {
        let Some(slots) = self.by_work.remove(&work) else {
            return false;
        };
        for &slot in &slots {
            self.alive[slot as usize] = false;
        }
        self.dead += slots.len();
        true
    }

    /// Drops the codes of removed works.
    pub fn rebuild(&mut self) {
        if self.dead == 0 {
            return;
        }
        let mut kept = LayoutIndex::default();
        let mut works: Vec<(&u64, &Vec<u32>)> = self.by_work.iter().collect();
        works.sort_unstable_by_key(|(w, _)| **w);
        for (&work, slots) in works {
            let new_slots = slots
                .iter()
                .map(|&slot| kept.post(work, self.codes[slot as usize]))
                .collect();
            kept.by_work.insert(work, new_slots);
        }
        *self = kept;
    }

    /// The works within [`LAYOUT_RADIUS`] of the query's layout, nearest first (then by id),
    /// at most `top`.
    pub fn nearest(&self, query: &Appearance, top: usize) -> Vec<LayoutCandidate> {
        self.nearest_with_stats(query, top).0
    }

    pub fn nearest_with_stats(
        &self,
        query: &Appearance,
        top: usize,
    ) -> (Vec<LayoutCandidate>, LayoutStats) {
        self.nearest_by(query, top, |grid| vec![window_code(grid, windows()[0])])
    }

    /// Like [`LayoutIndex::nearest_with_stats`], for an upload turned by a few degrees (see
    /// [`super::corners`]): looked up by its centre turned back by each turn the alignment
    /// supposes ([`ALIGN_ANGLES`]; the sign is not known), the nearer code counting. A turn
    /// moves the whole code beyond [`LAYOUT_RADIUS`] (the corners are filled and the edges
    /// swing), while the centre turned back lands near the work's centred window.
    pub fn nearest_turned_with_stats(
        &self,
        query: &Appearance,
        top: usize,
    ) -> (Vec<LayoutCandidate>, LayoutStats) {
        self.nearest_by(query, top, |grid| {
            ALIGN_ANGLES
                .iter()
                .filter(|&&degrees| degrees != 0.0)
                .map(|&degrees| turned_centre_code(grid, degrees))
                .collect()
        })
    }

    /// The works within [`LAYOUT_RADIUS`] of any of the `codes` of the query's grid, by their
    /// nearest, at most `top`; none for an empty or flat grid.
    fn nearest_by(
        &self,
        query: &Appearance,
        top: usize,
        codes: impl FnOnce(&Appearance) -> Vec<u64>,
    ) -> (Vec<LayoutCandidate>, LayoutStats) {
        let mut stats = LayoutStats::default();
        if !has_layout(query) {
            return (Vec::new(), stats);
        }
        let mut best: HashMap<u64, u32> = HashMap::new();
        for code in codes(query) {
            for (t, table) in self.tables.iter().enumerate() {
                let key = substring(code, t);
                for probe in keys_within_two_bits(key) {
                    let Some(slots) = table.get(&probe) else {
                        continue;
                    };
                    if slots.len() > MAX_POSTINGS_PER_KEY {
                        stats.crowded_keys += 1;
                        continue;
                    }
                    stats.postings_read += slots.len();
                    for &slot in slots {
                        let slot = slot as usize;
                        let distance = (self.codes[slot] ^ code).count_ones();
                        if distance <= LAYOUT_RADIUS && self.alive[slot] {
                            let d = best.entry(self.owners[slot]).or_insert(distance);
                            *d = (*d).min(distance);
                        }
                    }
                }
            }
        }
        let mut out: Vec<LayoutCandidate> = best
            .into_iter()
            .map(|(work, distance)| LayoutCandidate { work, distance })
            .collect();
        out.sort_by_key(|c| (c.distance, c.work));
        out.truncate(top);
        (out, stats)
    }

    /// Bytes the index holds (hash maps estimated from their capacity).
    pub fn memory_bytes(&self) -> usize {
        let map_entry = |value: usize| (value + 1) * 8 / 7;
        let tables: usize = self
            .tables
            .iter()
            .map(|t| {
                t.capacity() * map_entry(2 + std::mem::size_of::<Vec<u32>>())
                    + t.values().map(|v| v.capacity() * 4).sum::<usize>()
            })
            .sum();
        let by_work = self.by_work.capacity() * map_entry(8 + std::mem::size_of::<Vec<u32>>())
            + self
                .by_work
                .values()
                .map(|v| v.capacity() * 4)
                .sum::<usize>();
        self.codes.capacity() * 8
            + self.owners.capacity() * 8
            + self.alive.capacity()
            + tables
            + by_work
    }
}

fn substring(code: u64, table: usize) -> u16 {
    (code >> (16 * table)) as u16
}

/// `key` and every 16-bit key one or two bits away from it (137 keys).
fn keys_within_two_bits(key: u16) -> impl Iterator<Item = u16> {
    std::iter::once(key)
        .chain((0..16).map(move |i| key ^ (1 << i)))
        .chain((0..16).flat_map(move |i| ((i + 1)..16).map(move |j| key ^ (1 << i) ^ (1 << j))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth picture with a bump at `(bx, by)` (fractions), `w` x `h`, with chroma.
    fn picture(w: usize, h: usize, bx: f64, by: f64) -> Appearance {
        crop((w, h), (0, 0, w, h), bx, by)
    }

    fn crop(
        full: (usize, usize),
        keep: (usize, usize, usize, usize),
        bx: f64,
        by: f64,
    ) -> Appearance {
        // The part `keep` (left, top, width, height) of that picture of size `full`, computed
        // at the crop's own pixels.
        let (w, h) = full;
        let (x0, y0, cw, ch) = keep;
        let luma: Vec<u8> = (y0..y0 + ch)
            .flat_map(|y| {
                (x0..x0 + cw).map(move |x| {
                    let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
                    let bump = (-((fx - bx).powi(2) + (fy - by).powi(2)) * 20.0).exp();
                    (40.0 + 100.0 * fx + 30.0 * fy + 80.0 * bump) as u8
                })
            })
            .collect();
        let rgb: Vec<u8> = luma.iter().flat_map(|&l| [l, l / 2, 255 - l]).collect();
        Appearance::of_luma(&luma, cw, ch).with_chroma_of_rgb(&rgb, cw, ch)
    }

    /// The picture of [`picture`] turned by `degrees` about its centre, as an editor turns a
    /// photo without growing the canvas: the corners it uncovers are black.
    fn turned(w: usize, h: usize, degrees: f64, bx: f64, by: f64) -> Appearance {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let luma: Vec<u8> = (0..h)
            .flat_map(|y| {
                (0..w).map(move |x| {
                    let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                    let (sx, sy) = (cx + cos * dx + sin * dy, cy - sin * dx + cos * dy);
                    if !(0.0..w as f64).contains(&sx) || !(0.0..h as f64).contains(&sy) {
                        return 0;
                    }
                    let (fx, fy) = (sx / w as f64, sy / h as f64);
                    let bump = (-((fx - bx).powi(2) + (fy - by).powi(2)) * 20.0).exp();
                    (40.0 + 100.0 * fx + 30.0 * fy + 80.0 * bump) as u8
                })
            })
            .collect();
        let rgb: Vec<u8> = luma.iter().flat_map(|&l| [l, l / 2, 255 - l]).collect();
        Appearance::of_luma(&luma, w, h).with_chroma_of_rgb(&rgb, w, h)
    }

    #[test]
    fn a_turned_copy_is_proposed_by_its_centre_turned_back() {
        let mut index = LayoutIndex::default();
        let work = picture(480, 360, 0.3, 0.6);
        index.insert(1, &work);
        index.insert(2, &picture(480, 360, 0.8, 0.2));
        let work_codes = layout_codes(&work).unwrap();
        let nearest = |code: u64| work_codes.iter().map(|c| (c ^ code).count_ones()).min();
        for degrees in [-6.0, -5.0, -3.0, 3.0, 5.0, 6.0] {
            let query = turned(480, 360, degrees, 0.3, 0.6);
            let (found, _) = index.nearest_turned_with_stats(&query, LAYOUT_TOP);
            let hit = found.first().expect("proposed");
            assert_eq!(hit.work, 1, "{degrees}: {found:?}");
            // No farther than by the whole code, whose corners are filled; nearer at the
            // turns looked up.
            let whole = nearest(window_code(&query, windows()[0])).unwrap();
            let nearer = |a: u32, b: u32| {
                if f64::abs(degrees) == 5.0 {
                    a < b
                } else {
                    a <= b
                }
            };
            assert!(
                nearer(hit.distance, whole),
                "{degrees}: {hit:?}, whole code {whole} bits"
            );
        }
    }

    #[test]
    fn every_key_within_two_bits_is_probed_once() {
        let keys: Vec<u16> = keys_within_two_bits(0b1010).collect();
        assert_eq!(keys.len(), 137);
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 137);
        assert!(keys.iter().all(|k| (k ^ 0b1010).count_ones() <= 2));
    }

    #[test]
    fn a_crop_finds_its_work_and_not_a_different_layout() {
        let mut index = LayoutIndex::default();
        index.insert(1, &picture(480, 360, 0.3, 0.6));
        index.insert(2, &picture(480, 360, 0.8, 0.2));
        assert_eq!(index.len(), 2);
        // The lower-right 85% of work 1.
        let query = crop((480, 360), (72, 54, 408, 306), 0.3, 0.6);
        let found = index.nearest(&query, LAYOUT_TOP);
        assert_eq!(found.first().map(|c| c.work), Some(1), "{found:?}");
        assert!(found.iter().all(|c| c.distance <= LAYOUT_RADIUS));
        let other = index.nearest(&picture(480, 360, 0.8, 0.2), LAYOUT_TOP);
        assert_eq!(
            other.first(),
            Some(&LayoutCandidate {
                work: 2,
                distance: 0
            })
        );
    }

    #[test]
    fn flat_grids_and_grids_without_chroma_are_not_indexed() {
        let mut index = LayoutIndex::default();
        let flat = Appearance::of_luma(&[90u8; 100 * 100], 100, 100).with_chroma_of_rgb(
            &[90u8; 100 * 100 * 3],
            100,
            100,
        );
        index.insert(1, &flat);
        let luma_only = Appearance {
            chroma: Vec::new(),
            chroma_width: 0,
            chroma_height: 0,
            ..picture(480, 360, 0.3, 0.6)
        };
        index.insert(2, &luma_only);
        assert!(index.is_empty());
        assert!(index.nearest(&flat, LAYOUT_TOP).is_empty());
    }

    #[test]
    fn keys_crowded_by_many_works_are_skipped_and_counted() {
        let mut index = LayoutIndex::default();
        let common = picture(480, 360, 0.5, 0.5);
        for work in 0..=MAX_POSTINGS_PER_KEY as u64 {
            index.insert(work, &common);
        }
        let (found, stats) = index.nearest_with_stats(&common, LAYOUT_TOP);
        assert!(found.is_empty(), "{found:?}");
        assert!(stats.crowded_keys >= TABLES, "{stats:?}");
        // A layout that shares none of those keys is still found.
        let rare = picture(480, 360, 0.9, 0.1);
        index.insert(9999, &rare);
        let (found, _) = index.nearest_with_stats(&rare, LAYOUT_TOP);
        assert_eq!(found.first().map(|c| c.work), Some(9999), "{found:?}");
    }

    #[test]
    fn removed_works_are_not_proposed_before_or_after_a_rebuild() {
        let mut index = LayoutIndex::default();
        let work = picture(480, 360, 0.3, 0.6);
        index.insert(1, &work);
        index.insert(2, &picture(480, 360, 0.8, 0.2));
        assert!(index.remove(1));
        assert!(!index.remove(1));
        assert!(index.nearest(&work, 8).iter().all(|c| c.work != 1));
        index.rebuild();
        assert_eq!(index.codes.len(), WINDOWS);
        assert!(index.nearest(&work, 8).iter().all(|c| c.work != 1));
        index.insert(1, &work);
        assert_eq!(index.nearest(&work, 1)[0].work, 1);
    }
}
