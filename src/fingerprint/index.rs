//! The in-memory match index: exact lookup by SHA-256 and exact Hamming-radius search over PDQ
//! (256-bit) and pHash (64-bit) codes by multi-index hashing.
//!
//! Multi-index hashing (Norouzi, Punjani and Fleet, TPAMI 2014): cut every code into `m`
//! disjoint substrings and index each substring in its own table. If two codes are within
//! Hamming distance `r`, then by the pigeonhole principle at least one of their `m` substrings
//! differs in at most `floor(r / m)` bits. So probing, in every table, all keys within
//! `floor(r / m)` of the query's substring finds every code within `r`; candidates are then
//! checked against the full code. The search is exact, not approximate. Substrings are about
//! `log2(N)` bits, which keeps the expected bucket size near one.
//!
//! Tables are compressed-sparse-row arrays (a bucket-offset array of `2^b + 1` entries and one
//! slot array), rebuilt in bulk. New works land in a small pending tail that queries scan
//! linearly, and the tables are rebuilt once the tail outgrows about 1/64 of the index, so
//! inserts cost amortised `O(m)`. Removal marks a slot dead; dead slots are dropped at the next
//! rebuild. Everything stays within 256 bytes per registered work (see `memory_bytes`).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::colour::{self, ColourAgreement, ColourLayout};
use super::local::LocalEvidence;
use super::pdq::{Dihedral, PdqHash};
use super::phash::PHash;
use super::Fingerprints;

/// PDQ distance at or below which two images are the same work (of 256 bits), when both
/// hashes have at least [`PDQ_FULL_QUALITY`]. Tuned on the robustness benchmark
/// (`bench/robustness/run.py tune`): among 50,000 distractors none came nearer a work than 56
/// at that quality. See `docs/matching.md`.
pub const PDQ_MATCH_DISTANCE: u32 = 40;
/// The quality (the reference's own recommendation) from which [`PDQ_MATCH_DISTANCE`] applies.
pub const PDQ_FULL_QUALITY: u8 = 50;
/// PDQ distance for a match when either hash's quality is between [`PDQ_MIN_QUALITY`] and
/// [`PDQ_FULL_QUALITY`]: among 50,000 distractors two met such works at 40 and 42 bits, while
/// true copies of them stay within 22 (p95); 32 keeps the 6-bit tuning margin below 40.
pub const PDQ_MATCH_DISTANCE_LOW_QUALITY: u32 = 32;
/// PDQ distance at or below which a work is reported as a possible match; also the radius the
/// PDQ tables are searched with, which sets the query cost.
pub const PDQ_POSSIBLE_DISTANCE: u32 = 48;
/// Below this quality (on either side) a PDQ hash is not trusted to decide a match alone: flat,
/// dark or very smooth images hash to unstable bits. The reference suggests 50; on the benchmark
/// copies of works of quality 25..50 stay within 26 bits (p95) and unrelated images no nearer
/// than 56, while below 20 true copies spread to 80 bits.
pub const PDQ_MIN_QUALITY: u8 = 25;
/// pHash distance at or below which a work whose PDQ is untrusted is the same work (of 64
/// bits), and then only when PDQ is within [`PDQ_MATCH_DISTANCE`] too. Unrelated photographs
/// meet at pHash distance 2 on the benchmark, so pHash never decides alone.
pub const PHASH_MATCH_DISTANCE: u32 = 4;
/// pHash distance at or below which a work is reported as a possible match; also the pHash
/// search radius (over works with untrusted PDQ only).
pub const PHASH_POSSIBLE_DISTANCE: u32 = 8;
/// pHash distance at or below which a work whose PDQ is untrusted is the same work when the
/// colour layouts agree too ([`COLOUR_MIN_CORRELATION`], [`COLOUR_MAX_CHROMA_RESIDUAL`]): the
/// path for smooth pictures, whose copies keep their layout but scatter both hashes. On the
/// benchmark (149 works, 50,000 distractors) 14 let a copy of one gradient quadrant match its
/// near-mirror neighbour; 12 matches no distractor and no wrong work (`docs/matching.md`).
pub const PHASH_COLOUR_MATCH_DISTANCE: u32 = 12;
/// Least correlation of the 4x4 layouts' luma for [`PHASH_COLOUR_MATCH_DISTANCE`]; on the
/// benchmark 0.96 still matched no distractor, 0.95 two.
pub const COLOUR_MIN_CORRELATION: f32 = 0.98;
/// Greatest mean chroma distance of the layouts (BT.601 units, after the best gain) for
/// [`PHASH_COLOUR_MATCH_DISTANCE`]; on the benchmark 3 still matched no distractor, 5 three.
pub const COLOUR_MAX_CHROMA_RESIDUAL: f32 = 2.0;
/// pHash distance at or below which a work whose PDQ is untrusted is the same work when the
/// layouts agree closely ([`COLOUR_TIGHT_MIN_CORRELATION`], and the same chroma bound): the
/// further the pHash, the closer the layouts must agree. Recompressed, resized or flattened
/// copies of gradients land 14-18 pHash bits from their work with layouts still at
/// correlation 0.998-0.9999. On the benchmark 20 still matched no distractor and no wrong
/// work; the nearest unrelated pair within 18 bits whose luma correlated this well had a
/// chroma residual of 5.5 (`docs/matching.md`).
pub const PHASH_TIGHT_COLOUR_MATCH_DISTANCE: u32 = 18;
/// Least luma correlation for [`PHASH_TIGHT_COLOUR_MATCH_DISTANCE`]: above the 0.9955 of the
/// benchmark's two near-mirror quadrants of one wallpaper, the closest pair of distinct works.
pub const COLOUR_TIGHT_MIN_CORRELATION: f32 = 0.997;

/// The distances that turn evidence into decisions; [`Thresholds::default`] uses the constants
/// above.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub pdq_match: u32,
    pub pdq_full_quality: u8,
    pub pdq_match_low_quality: u32,
    pub pdq_possible: u32,
    pub pdq_min_quality: u8,
    pub phash_match: u32,
    pub phash_possible: u32,
    pub phash_colour_match: u32,
    pub colour_min_correlation: f32,
    pub colour_max_chroma_residual: f32,
    pub phash_tight_colour_match: u32,
    pub colour_tight_min_correlation: f32,
}

impl Thresholds {
    /// Whether a pHash `distance` from a work with untrusted PDQ is close enough, given how
    /// well the colour layouts agree, for the two to be the same picture.
    fn phash_corroborated_by_colour(&self, distance: u32, colour: &ColourAgreement) -> bool {
        let min_correlation = if distance <= self.phash_colour_match {
            self.colour_min_correlation
        } else if distance <= self.phash_tight_colour_match {
            self.colour_tight_min_correlation
        } else {
            return false;
        };
        colour.correlation >= min_correlation
            && colour.chroma_residual <= self.colour_max_chroma_residual
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            pdq_match: PDQ_MATCH_DISTANCE,
            pdq_full_quality: PDQ_FULL_QUALITY,
            pdq_match_low_quality: PDQ_MATCH_DISTANCE_LOW_QUALITY,
            pdq_possible: PDQ_POSSIBLE_DISTANCE,
            pdq_min_quality: PDQ_MIN_QUALITY,
            phash_match: PHASH_MATCH_DISTANCE,
            phash_possible: PHASH_POSSIBLE_DISTANCE,
            phash_colour_match: PHASH_COLOUR_MATCH_DISTANCE,
            colour_min_correlation: COLOUR_MIN_CORRELATION,
            colour_max_chroma_residual: COLOUR_MAX_CHROMA_RESIDUAL,
            phash_tight_colour_match: PHASH_TIGHT_COLOUR_MATCH_DISTANCE,
            colour_tight_min_correlation: COLOUR_TIGHT_MIN_CORRELATION,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    None,
    Possible,
    Match,
}

/// Why a work was found. `orientation` is the transform that takes the registered work to the
/// upload (e.g. `FlipHorizontal` for a mirrored copy).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    ExactBytes,
    Pdq {
        distance: u32,
        orientation: Dihedral,
    },
    Phash {
        distance: u32,
        orientation: Dihedral,
        /// How the colour layouts agree, when both images have one and the work's PDQ is
        /// untrusted (see [`PHASH_COLOUR_MATCH_DISTANCE`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        colour: Option<ColourAgreement>,
    },
    /// The second stage: local features the upload shares with the work, geometrically
    /// consistent (`super::local`).
    LocalFeatures(LocalEvidence),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub work_id: i64,
    pub decision: Decision,
    /// The evidence behind `decision`.
    pub evidence: Evidence,
    /// Best PDQ distance over the eight orientations, when within the search radius.
    pub pdq_distance: Option<u32>,
    /// Whether both PDQ hashes were of trustworthy quality.
    pub pdq_trusted: bool,
    /// Best pHash distance over the eight orientations, when within the search radius.
    pub phash_distance: Option<u32>,
    /// Geometrically consistent local features, when the second stage verified the work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_inliers: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchOutcome {
    /// The best candidate's decision, `None` when there are no candidates.
    pub decision: Decision,
    /// The evidence that decided, i.e. that of the best candidate.
    pub decided_by: Option<Evidence>,
    /// Best first: by decision, then exact bytes before PDQ before pHash before local
    /// features, then distance (or most inliers).
    pub candidates: Vec<Candidate>,
}

impl MatchOutcome {
    fn ranked(mut candidates: Vec<Candidate>) -> Self {
        candidates.sort_by(rank);
        MatchOutcome {
            decision: candidates.first().map_or(Decision::None, |c| c.decision),
            decided_by: candidates.first().map(|c| c.evidence),
            candidates,
        }
    }

    /// One decision over both stages: adds the works the local-feature stage verified. A work
    /// it verified is a match; when the global stage found it too, the global evidence stays
    /// the deciding one if it already decided a match, and the inlier count is added beside it.
    pub fn with_local(self, verified: impl IntoIterator<Item = (i64, LocalEvidence)>) -> Self {
        let mut candidates = self.candidates;
        for (work_id, evidence) in verified {
            match candidates.iter_mut().find(|c| c.work_id == work_id) {
                Some(c) => {
                    c.local_inliers = Some(evidence.inliers);
                    if c.decision != Decision::Match {
                        c.decision = Decision::Match;
                        c.evidence = Evidence::LocalFeatures(evidence);
                    }
                }
                None => candidates.push(Candidate {
                    work_id,
                    decision: Decision::Match,
                    evidence: Evidence::LocalFeatures(evidence),
                    pdq_distance: None,
                    pdq_trusted: false,
                    phash_distance: None,
                    local_inliers: Some(evidence.inliers),
                }),
            }
        }
        MatchOutcome::ranked(candidates)
    }
}

/// One multi-index over codes of `W` 64-bit words.
#[derive(Debug, Default)]
struct MultiIndex<const W: usize> {
    tables: Vec<Table>,
}

#[derive(Debug)]
struct Table {
    start: u32,
    bits: u32,
    /// `offsets[k]..offsets[k + 1]` is the range of `slots` whose substring is `k`.
    offsets: Vec<u32>,
    slots: Vec<u32>,
}

fn substring<const W: usize>(code: &[u64; W], start: u32, bits: u32) -> u32 {
    let word = (start / 64) as usize;
    let shift = start % 64;
    let mut v = code[word] >> shift;
    if shift + bits > 64 && word + 1 < W {
        v |= code[word + 1] << (64 - shift);
    }
    (v & ((1u64 << bits) - 1)) as u32
}

/// Calls `f` with every `bits`-bit key within Hamming distance `radius` of `key`.
fn for_each_within(key: u32, bits: u32, radius: u32, f: &mut impl FnMut(u32)) {
    fn go(key: u32, from: u32, bits: u32, left: u32, f: &mut impl FnMut(u32)) {
        f(key);
        if left == 0 {
            return;
        }
        for b in from..bits {
            go(key ^ (1 << b), b + 1, bits, left - 1, f);
        }
    }
    go(key, 0, bits, radius.min(bits), f);
}

impl<const W: usize> MultiIndex<W> {
    /// Substring length for `n` codes: about `log2(n)` bits, so buckets hold about one code.
    fn substring_bits(n: usize) -> u32 {
        (usize::BITS - n.max(1).leading_zeros())
            .saturating_sub(1)
            .clamp(8, 24)
    }

    fn build(codes: &[[u64; W]]) -> Self {
        let total = 64 * W as u32;
        let b = Self::substring_bits(codes.len()).min(total);
        let m = total.div_ceil(b);
        let mut tables = Vec::with_capacity(m as usize);
        let mut start = 0;
        for t in 0..m {
            // Spread the remainder so lengths differ by at most one bit.
            let bits = total / m + u32::from(t < total % m);
            let mut offsets = vec![0u32; (1usize << bits) + 1];
            for code in codes {
                offsets[substring(code, start, bits) as usize + 1] += 1;
            }
            for k in 1..offsets.len() {
                offsets[k] += offsets[k - 1];
            }
            let mut cursor = offsets.clone();
            let mut slots = vec![0u32; codes.len()];
            for (slot, code) in codes.iter().enumerate() {
                let key = substring(code, start, bits) as usize;
                slots[cursor[key] as usize] = slot as u32;
                cursor[key] += 1;
            }
            tables.push(Table {
                start,
                bits,
                offsets,
                slots,
            });
            start += bits;
        }
        MultiIndex { tables }
    }

    /// Per-table probe radii that still guarantee every code within `radius` is found.
    ///
    /// With `m` tables and `radius = m * k + a` (`a < m`), a code within `radius` has, in one
    /// of the first `a + 1` tables, a substring within `k`, or else, in one of the others, a
    /// substring within `k - 1` (otherwise its distance would be at least
    /// `(a + 1)(k + 1) + (m - a - 1) k > radius`); Norouzi et al. 2014, section 3. Probing
    /// fewer keys in most tables cuts the work by about a third at the radii used here.
    fn table_radii(&self, radius: u32) -> impl Iterator<Item = Option<u32>> + '_ {
        let m = self.tables.len() as u32;
        let (k, a) = (radius / m.max(1), radius % m.max(1));
        (0..m).map(move |i| if i <= a { Some(k) } else { k.checked_sub(1) })
    }

    /// Calls `f` with every slot that may be within `radius` of `query` (a superset, with
    /// repeats); exact: no slot within `radius` is left out.
    fn for_each_candidate(&self, query: &[u64; W], radius: u32, f: &mut impl FnMut(u32)) {
        for (table, r) in self.tables.iter().zip(self.table_radii(radius)) {
            let Some(r) = r else { continue };
            let key = substring(query, table.start, table.bits);
            for_each_within(key, table.bits, r, &mut |k| {
                let (lo, hi) = (
                    table.offsets[k as usize] as usize,
                    table.offsets[k as usize + 1] as usize,
                );
                for &slot in &table.slots[lo..hi] {
                    f(slot);
                }
            });
        }
    }

    /// Slots that may be within `radius` of `query` (a superset, with repeats).
    #[cfg(test)]
    fn candidates(&self, query: &[u64; W], radius: u32, out: &mut Vec<u32>) {
        self.for_each_candidate(query, radius, &mut |s| out.push(s));
    }

    fn memory_bytes(&self) -> usize {
        self.tables
            .iter()
            .map(|t| 4 * (t.offsets.capacity() + t.slots.capacity()))
            .sum()
    }
}

fn pdq_distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// Registered works and their fingerprints, searchable by SHA-256, PDQ and pHash.
#[derive(Debug)]
pub struct MatchIndex {
    thresholds: Thresholds,
    // One entry per slot; slots `frozen..` are the pending tail.
    work_ids: Vec<i64>,
    sha: Vec<[u8; 32]>,
    pdq: Vec<[u64; 4]>,
    phash: Vec<u64>,
    quality: Vec<u8>,
    alive: Vec<bool>,
    frozen: usize,
    dead: usize,
    works: usize,
    /// Frozen slots ordered by work id, then by SHA-256, for binary search.
    by_work: Vec<u32>,
    by_sha: Vec<u32>,
    pdq_index: MultiIndex<4>,
    /// Slots whose PDQ is untrusted, in the order `phash_index` numbers them.
    phash_slots: Vec<u32>,
    phash_index: MultiIndex<1>,
    /// Colour layouts of the works whose PDQ is untrusted, the only ones compared by colour.
    colour: HashMap<i64, ColourLayout>,
    min_pending: usize,
}

impl Default for MatchIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl MatchIndex {
    pub fn new() -> Self {
        Self::with_thresholds(Thresholds::default())
    }

    pub fn with_thresholds(thresholds: Thresholds) -> Self {
        MatchIndex {
            thresholds,
            work_ids: Vec::new(),
            sha: Vec::new(),
            pdq: Vec::new(),
            phash: Vec::new(),
            quality: Vec::new(),
            alive: Vec::new(),
            frozen: 0,
            dead: 0,
            works: 0,
            by_work: Vec::new(),
            by_sha: Vec::new(),
            pdq_index: MultiIndex::default(),
            phash_slots: Vec::new(),
            phash_index: MultiIndex::default(),
            colour: HashMap::new(),
            min_pending: 1024,
        }
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Number of registered works.
    pub fn len(&self) -> usize {
        self.works
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Registers (or re-registers, replacing the old fingerprints) a work. A work whose border
    /// was trimmed takes two slots, one per registered PDQ code.
    pub fn insert(&mut self, work_id: i64, fp: &Fingerprints) {
        self.remove(work_id);
        self.keep_colour_layout(work_id, fp);
        for code in fp.pdq_registered_codes() {
            self.work_ids.push(work_id);
            self.sha.push(fp.sha256.0);
            self.pdq.push(code.0);
            self.phash.push(fp.phash.0);
            self.quality.push(fp.pdq_quality);
            self.alive.push(true);
        }
        self.works += 1;
        let pending = self.work_ids.len() - self.frozen;
        if pending > self.min_pending.max(self.frozen / 64) {
            self.rebuild();
        }
    }

    /// Registers many works and builds the tables once. Linear in the batch and the index:
    /// `insert` looks each id up in the pending tail, which over a large batch is quadratic.
    pub fn extend<F: Borrow<Fingerprints>>(&mut self, works: impl IntoIterator<Item = (i64, F)>) {
        let batch: Vec<(i64, F)> = works.into_iter().collect();
        // The last registration of an id wins, as with repeated inserts.
        let mut last: HashMap<i64, usize> = HashMap::with_capacity(batch.len());
        for (i, (id, _)) in batch.iter().enumerate() {
            last.insert(*id, i);
        }
        for (alive, id) in self.alive.iter_mut().zip(&self.work_ids) {
            if *alive && last.contains_key(id) {
                *alive = false;
                self.dead += 1;
                self.colour.remove(id);
            }
        }
        for (i, (id, fp)) in batch.iter().enumerate() {
            if last[id] != i {
                continue;
            }
            let fp = fp.borrow();
            self.keep_colour_layout(*id, fp);
            for code in fp.pdq_registered_codes() {
                self.work_ids.push(*id);
                self.sha.push(fp.sha256.0);
                self.pdq.push(code.0);
                self.phash.push(fp.phash.0);
                self.quality.push(fp.pdq_quality);
                self.alive.push(true);
            }
        }
        self.rebuild();
    }

    fn keep_colour_layout(&mut self, work_id: i64, fp: &Fingerprints) {
        if let (true, Some(layout)) = (
            fp.pdq_quality < self.thresholds.pdq_min_quality,
            fp.colour_layout,
        ) {
            self.colour.insert(work_id, layout);
        }
    }

    /// Forgets a work; returns whether it was registered.
    pub fn remove(&mut self, work_id: i64) -> bool {
        self.colour.remove(&work_id);
        let slots = self.slots_of(work_id);
        if slots.is_empty() {
            return false;
        }
        for &slot in &slots {
            self.alive[slot] = false;
        }
        self.dead += slots.len();
        self.works -= 1;
        if self.dead > self.min_pending.max(self.work_ids.len() / 4) {
            self.rebuild();
        }
        true
    }

    /// The live slots of a work (one or two).
    fn slots_of(&self, work_id: i64) -> Vec<usize> {
        let from = self
            .by_work
            .partition_point(|&s| self.work_ids[s as usize] < work_id);
        let frozen = self.by_work[from..]
            .iter()
            .map(|&s| s as usize)
            .take_while(|&s| self.work_ids[s] == work_id);
        let pending = self.frozen..self.work_ids.len();
        frozen
            .chain(pending.filter(|&s| self.work_ids[s] == work_id))
            .filter(|&s| self.alive[s])
            .collect()
    }

    /// Drops dead slots and indexes everything, leaving an empty pending tail.
    pub fn rebuild(&mut self) {
        let keep: Vec<usize> = (0..self.work_ids.len())
            .filter(|&s| self.alive[s])
            .collect();
        fn compact<T: Copy>(v: &mut Vec<T>, keep: &[usize], spare: usize) {
            let mut out = Vec::with_capacity(keep.len() + spare);
            out.extend(keep.iter().map(|&s| v[s]));
            *v = out;
        }
        // Room for the next pending tail, so growth never doubles the arrays.
        let spare = self.min_pending.min(1 << 20).max(keep.len() / 64) + 1;
        compact(&mut self.work_ids, &keep, spare);
        compact(&mut self.sha, &keep, spare);
        compact(&mut self.pdq, &keep, spare);
        compact(&mut self.phash, &keep, spare);
        compact(&mut self.quality, &keep, spare);
        self.alive = vec![true; keep.len()];
        self.alive.reserve_exact(spare);
        self.dead = 0;
        self.frozen = self.work_ids.len();
        let n = self.frozen as u32;
        self.by_work = (0..n).collect();
        self.by_work
            .sort_unstable_by_key(|&s| self.work_ids[s as usize]);
        self.works = 1 + self
            .by_work
            .windows(2)
            .filter(|w| self.work_ids[w[0] as usize] != self.work_ids[w[1] as usize])
            .count();
        if n == 0 {
            self.works = 0;
        }
        self.by_sha = (0..n).collect();
        self.by_sha.sort_unstable_by_key(|&s| self.sha[s as usize]);
        self.pdq_index = MultiIndex::build(&self.pdq);
        let min_quality = self.thresholds.pdq_min_quality;
        self.phash_slots = (0..n)
            .filter(|&s| self.quality[s as usize] < min_quality)
            .collect();
        let phashes: Vec<[u64; 1]> = self
            .phash_slots
            .iter()
            .map(|&s| [self.phash[s as usize]])
            .collect();
        self.phash_index = MultiIndex::build(&phashes);
    }

    /// Approximate heap bytes held, for the 256-bytes-per-work budget.
    pub fn memory_bytes(&self) -> usize {
        self.work_ids.capacity() * 8
            + self.sha.capacity() * 32
            + self.pdq.capacity() * 32
            + self.phash.capacity() * 8
            + self.quality.capacity()
            + self.alive.capacity()
            + (self.by_work.capacity() + self.by_sha.capacity() + self.phash_slots.capacity()) * 4
            + self.pdq_index.memory_bytes()
            + self.phash_index.memory_bytes()
            // A hash-map bucket: the key, the layout and a control byte.
            + self.colour.capacity() * (8 + std::mem::size_of::<ColourLayout>() + 1)
    }

    /// Every registered work within the search radii of `fp`, with a decision.
    pub fn query(&self, fp: &Fingerprints) -> MatchOutcome {
        let t = &self.thresholds;
        let mut found: Vec<Found> = Vec::new();

        // Exact bytes.
        let at = self
            .by_sha
            .partition_point(|&s| self.sha[s as usize] < fp.sha256.0);
        let frozen_hits = self.by_sha[at..]
            .iter()
            .map(|&s| s as usize)
            .take_while(|&s| self.sha[s] == fp.sha256.0);
        let pending_hits = (self.frozen..self.sha.len()).filter(|&s| self.sha[s] == fp.sha256.0);
        for slot in frozen_hits.chain(pending_hits) {
            if self.alive[slot] {
                self.entry(&mut found, slot).exact = true;
            }
        }

        // PDQ: every code of the query (eight orientations, two or three sets of them when it
        // had a border) against every registered code. Each candidate is checked against the
        // code that found it; only hits (rare) are then compared with all of them, so a
        // candidate costs one 32-byte read and four popcounts.
        let codes: Vec<(Dihedral, &PdqHash)> = fp.pdq_query_codes(t.pdq_min_quality).collect();
        let untrusted_upload = fp.pdq_quality < t.pdq_min_quality;
        let mut hits: Vec<u32> = Vec::new();
        for (_, code) in &codes {
            self.pdq_index
                .for_each_candidate(&code.0, t.pdq_possible, &mut |slot| {
                    if pdq_distance(&code.0, &self.pdq[slot as usize]) <= t.pdq_possible {
                        hits.push(slot);
                    }
                });
        }
        hits.extend(self.frozen as u32..self.pdq.len() as u32);
        hits.sort_unstable();
        hits.dedup();
        for &slot in &hits {
            let slot = slot as usize;
            if !self.alive[slot] {
                continue;
            }
            let (k, d) = best_of(&codes, |(_, c)| pdq_distance(&c.0, &self.pdq[slot]));
            if d <= t.pdq_possible {
                let e = self.entry(&mut found, slot);
                if e.pdq.is_none_or(|(old, _)| d < old) {
                    e.pdq = Some((d, codes[k].0.inverse()));
                }
                // An upload whose own PDQ is untrusted (a low-contrast copy of a trusted work)
                // needs the pHash of every work its PDQ came near, not only of the works in
                // the pHash table.
                if untrusted_upload {
                    let (d, orientation) = self.phash_distance(fp, slot);
                    if d <= t.phash_possible {
                        e.phash = Some((d, orientation));
                    }
                }
            }
        }

        // pHash, only against works whose PDQ is untrusted: where PDQ is trusted on both sides
        // it is the better witness, and unrelated photographs share pHashes (docs/matching.md).
        // Beyond `phash_possible` a work is kept only when the colour layouts agree.
        let radius = t
            .phash_possible
            .max(t.phash_colour_match)
            .max(t.phash_tight_colour_match);
        hits.clear();
        for variant in &fp.phash_dihedral {
            self.phash_index
                .for_each_candidate(&[variant.0], radius, &mut |i| {
                    let slot = self.phash_slots[i as usize];
                    if variant.distance(&PHash(self.phash[slot as usize])) <= radius {
                        hits.push(slot);
                    }
                });
        }
        hits.extend(
            (self.frozen as u32..self.phash.len() as u32)
                .filter(|&s| self.quality[s as usize] < t.pdq_min_quality),
        );
        hits.sort_unstable();
        hits.dedup();
        for &slot in &hits {
            let slot = slot as usize;
            if !self.alive[slot] {
                continue;
            }
            let (d, orientation) = self.phash_distance(fp, slot);
            let colour = fp
                .colour_layout
                .zip(self.colour.get(&self.work_ids[slot]))
                .map(|(upload, work)| colour::compare(&upload, work));
            let agrees = colour.is_some_and(|c| t.phash_corroborated_by_colour(d, &c));
            if d <= t.phash_possible || agrees {
                let e = self.entry(&mut found, slot);
                e.phash = Some((d, orientation));
                e.colour = colour;
            }
        }

        MatchOutcome::ranked(
            found
                .into_iter()
                .map(|f| decide(t, f.work_id, &f, fp.pdq_quality, f.quality))
                .collect(),
        )
    }
}

/// What the query found of one work (over all of its slots).
struct Found {
    work_id: i64,
    quality: u8,
    exact: bool,
    pdq: Option<(u32, Dihedral)>,
    phash: Option<(u32, Dihedral)>,
    colour: Option<ColourAgreement>,
}

impl MatchIndex {
    /// Best pHash distance from the upload's eight variants to a slot's, with the orientation
    /// taking the work to the upload.
    fn phash_distance(&self, fp: &Fingerprints, slot: usize) -> (u32, Dihedral) {
        let (k, d) = best_of(&fp.phash_dihedral, |v| v.distance(&PHash(self.phash[slot])));
        (d, Dihedral::ALL[k].inverse())
    }

    fn entry<'a>(&self, found: &'a mut Vec<Found>, slot: usize) -> &'a mut Found {
        let work_id = self.work_ids[slot];
        let i = match found.iter().position(|f| f.work_id == work_id) {
            Some(i) => i,
            None => {
                found.push(Found {
                    work_id,
                    quality: self.quality[slot],
                    exact: false,
                    pdq: None,
                    phash: None,
                    colour: None,
                });
                found.len() - 1
            }
        };
        &mut found[i]
    }
}

/// Index and distance of the closest variant; ties go to the earlier (simpler) transform.
fn best_of<T>(variants: &[T], dist: impl Fn(&T) -> u32) -> (usize, u32) {
    variants
        .iter()
        .map(dist)
        .enumerate()
        .min_by_key(|&(k, d)| (d, k))
        .expect("at least one variant")
}

/// The decision rule; `bench/robustness/run.py` (`simulate`) replays it to tune thresholds, so
/// the two must change together.
///
/// - Exact bytes decide.
/// - PDQ decides when both hashes are trustworthy (quality at least `pdq_min_quality`) and
///   within `pdq_match`, or within the stricter `pdq_match_low_quality` when either quality
///   is below `pdq_full_quality`.
/// - pHash decides only where either PDQ hash is untrusted (flat, dark or smooth pictures, or
///   a low-contrast copy), within the strict `phash_match`, and only when the PDQ hashes are
///   also within `pdq_match`: on the robustness corpus unrelated photographs meet at pHash
///   distance 2, and flat distractors meet flat works at pHash 0 and PDQ 51, never on both at
///   once.
/// - For a work whose own PDQ is untrusted, pHash also decides within the looser
///   `phash_colour_match` when the colour layouts agree (luma correlation and chroma
///   residual), and within `phash_tight_colour_match` when they agree closely: smooth
///   pictures keep their layout under edits that scatter both hashes.
/// - Anything else found is `Possible`, with the evidence that found it.
fn decide(
    t: &Thresholds,
    work_id: i64,
    f: &Found,
    query_quality: u8,
    work_quality: u8,
) -> Candidate {
    let pdq_trusted = query_quality >= t.pdq_min_quality && work_quality >= t.pdq_min_quality;
    let trusted_pdq_match = if query_quality.min(work_quality) >= t.pdq_full_quality {
        t.pdq_match
    } else {
        t.pdq_match_low_quality
    };
    let pdq_ev = f.pdq.map(|(distance, orientation)| Evidence::Pdq {
        distance,
        orientation,
    });
    let phash_ev = f.phash.map(|(distance, orientation)| Evidence::Phash {
        distance,
        orientation,
        colour: f.colour,
    });
    let pdq_d = f.pdq.map(|p| p.0);
    let phash_d = f.phash.map(|p| p.0);
    let phash_corroborated_by_pdq =
        pdq_d.is_some_and(|d| d <= t.pdq_match) && phash_d.is_some_and(|d| d <= t.phash_match);
    let phash_corroborated_by_colour = phash_d
        .zip(f.colour)
        .is_some_and(|(d, c)| t.phash_corroborated_by_colour(d, &c));
    let (decision, evidence) = if f.exact {
        (Decision::Match, Evidence::ExactBytes)
    } else if pdq_trusted && pdq_d.is_some_and(|d| d <= trusted_pdq_match) {
        (Decision::Match, pdq_ev.expect("has distance"))
    } else if !pdq_trusted && phash_corroborated_by_pdq
        || work_quality < t.pdq_min_quality && phash_corroborated_by_colour
    {
        (Decision::Match, phash_ev.expect("has distance"))
    } else if let (true, Some(ev)) = (pdq_trusted, pdq_ev) {
        (Decision::Possible, ev)
    } else if let Some(ev) = phash_ev {
        (Decision::Possible, ev)
    } else {
        // Untrusted PDQ within the radius: reported, never decisive.
        (Decision::Possible, pdq_ev.expect("found by some path"))
    };
    Candidate {
        work_id,
        decision,
        evidence,
        pdq_distance: pdq_d,
        pdq_trusted,
        phash_distance: phash_d,
        local_inliers: None,
    }
}

fn rank(a: &Candidate, b: &Candidate) -> Ordering {
    fn key(c: &Candidate) -> (std::cmp::Reverse<Decision>, u8, u32, i64) {
        let (kind, d) = match c.evidence {
            Evidence::ExactBytes => (0, 0),
            Evidence::Pdq { distance, .. } => (1, distance),
            Evidence::Phash { distance, .. } => (2, distance),
            Evidence::LocalFeatures(local) => (3, u32::MAX - local.inliers),
        };
        (std::cmp::Reverse(c.decision), kind, d, c.work_id)
    }
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{Sha256Digest, ALGORITHM_VERSION};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn random_fp(rng: &mut StdRng) -> Fingerprints {
        let pdq = PdqHash([rng.gen(), rng.gen(), rng.gen(), rng.gen()]);
        let phash = PHash(rng.gen());
        let mut sha = [0u8; 32];
        rng.fill(&mut sha);
        fingerprints(pdq, phash, Sha256Digest(sha), 100)
    }

    /// Fingerprints whose dihedral variants are distinct random codes, as they would be for a
    /// real, asymmetric image.
    fn fingerprints(pdq: PdqHash, phash: PHash, sha: Sha256Digest, quality: u8) -> Fingerprints {
        let mut pdq_dihedral = [pdq; 8];
        let mut phash_dihedral = [phash; 8];
        for k in 1..8u64 {
            let spin = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(k);
            pdq_dihedral[k as usize] = PdqHash(pdq.0.map(|w| w.rotate_left(k as u32 * 7) ^ spin));
            phash_dihedral[k as usize] = PHash(phash.0.rotate_left(k as u32 * 5) ^ spin);
        }
        Fingerprints {
            algorithm: ALGORITHM_VERSION.into(),
            sha256: sha,
            format: "png".into(),
            width: 100,
            height: 100,
            pdq,
            pdq_quality: quality,
            pdq_dihedral,
            phash,
            phash_dihedral,
            trimmed: false,
            pdq_untrimmed_dihedral: None,
            colour_layout: None,
            pdq_outer_trim: None,
        }
    }

    fn flip_bits<const W: usize>(code: &mut [u64; W], n: usize, rng: &mut StdRng) {
        let mut chosen = std::collections::HashSet::new();
        while chosen.len() < n {
            chosen.insert(rng.gen_range(0..64 * W));
        }
        for b in chosen {
            code[b / 64] ^= 1 << (b % 64);
        }
    }

    #[test]
    fn substrings_cover_every_bit_once() {
        let code = [u64::MAX, 0, u64::MAX, 0];
        let mi = MultiIndex::<4>::build(&[code]);
        let total: u32 = mi.tables.iter().map(|t| t.bits).sum();
        assert_eq!(total, 256);
        let ones: u32 = mi
            .tables
            .iter()
            .map(|t| substring(&code, t.start, t.bits).count_ones())
            .sum();
        assert_eq!(ones, 128);
    }

    #[test]
    fn enumerates_exactly_the_keys_within_the_radius() {
        let mut keys = Vec::new();
        for_each_within(0b1010, 6, 2, &mut |k| keys.push(k));
        keys.sort_unstable();
        let expected: Vec<u32> = (0..64u32)
            .filter(|k| (k ^ 0b1010).count_ones() <= 2)
            .collect();
        assert_eq!(keys, expected);
    }

    #[test]
    fn multi_index_search_equals_brute_force() {
        let mut rng = StdRng::seed_from_u64(7);
        let n = 20_000;
        let mut codes: Vec<[u64; 4]> = (0..n)
            .map(|_| [rng.gen(), rng.gen(), rng.gen(), rng.gen()])
            .collect();
        // Plant near neighbours of a few queries at every distance up to the radius.
        let queries: Vec<[u64; 4]> = (0..20)
            .map(|_| [rng.gen(), rng.gen(), rng.gen(), rng.gen()])
            .collect();
        for q in &queries {
            for d in (0..=60).step_by(3) {
                let mut c = *q;
                flip_bits(&mut c, d, &mut rng);
                codes.push(c);
            }
        }
        let mi = MultiIndex::<4>::build(&codes);
        for radius in [0, 10, 31, 45, 60] {
            for q in &queries {
                let mut got = Vec::new();
                mi.candidates(q, radius, &mut got);
                got.sort_unstable();
                got.dedup();
                got.retain(|&s| pdq_distance(&codes[s as usize], q) <= radius);
                let expected: Vec<u32> = (0..codes.len() as u32)
                    .filter(|&s| pdq_distance(&codes[s as usize], q) <= radius)
                    .collect();
                assert_eq!(got, expected, "radius {radius}");
            }
        }
    }

    #[test]
    fn finds_near_copies_in_any_orientation_frozen_or_pending() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut index = MatchIndex::new();
        let works: Vec<Fingerprints> = (0..3000).map(|_| random_fp(&mut rng)).collect();
        index.extend(works.iter().enumerate().map(|(i, f)| (i as i64, f)));
        // One more work that stays in the pending tail.
        let late = random_fp(&mut rng);
        index.insert(9999, &late);
        assert_eq!(index.len(), 3001);

        for (work_id, original) in [(17i64, &works[17]), (9999, &late)] {
            // An upload that is the work mirrored: its Transpose variant is the original.
            let mut upload = random_fp(&mut rng);
            let mut near = original.pdq.0;
            flip_bits(&mut near, 20, &mut rng);
            upload.pdq_dihedral[6] = PdqHash(near);
            let out = index.query(&upload);
            assert_eq!(out.decision, Decision::Match, "{out:?}");
            let best = &out.candidates[0];
            assert_eq!(best.work_id, work_id);
            assert_eq!(
                best.evidence,
                Evidence::Pdq {
                    distance: 20,
                    orientation: Dihedral::Transpose
                }
            );
        }
    }

    #[test]
    fn exact_bytes_decide_and_removal_forgets() {
        let mut rng = StdRng::seed_from_u64(2);
        let mut index = MatchIndex::new();
        let a = random_fp(&mut rng);
        index.insert(1, &a);
        index.insert(2, &random_fp(&mut rng));
        let out = index.query(&a);
        assert_eq!(out.decision, Decision::Match);
        assert_eq!(out.decided_by, Some(Evidence::ExactBytes));
        assert_eq!(out.candidates[0].work_id, 1);
        assert!(index.remove(1));
        assert!(!index.remove(1));
        assert_eq!(index.query(&a).decision, Decision::None);
        index.rebuild();
        assert_eq!(index.len(), 1);
        assert_eq!(index.query(&a).decision, Decision::None);
    }

    #[test]
    fn low_quality_pdq_falls_back_to_phash_and_is_never_decisive_alone() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut index = MatchIndex::new();
        let dark = fingerprints(
            PdqHash([1, 2, 3, 4]),
            PHash(0xF0F0),
            Sha256Digest([9; 32]),
            10,
        );
        index.insert(5, &dark);
        // Same PDQ, unrelated pHash: only a possible match.
        let mut other = fingerprints(
            PdqHash([1, 2, 3, 4]),
            PHash(!0xF0F0),
            Sha256Digest([8; 32]),
            10,
        );
        other.phash_dihedral = [PHash(!0xF0F0); 8];
        let out = index.query(&other);
        assert_eq!(out.decision, Decision::Possible);
        assert!(!out.candidates[0].pdq_trusted);
        // Near pHash but unrelated PDQ: a pHash coincidence, not a match.
        let mut twin = fingerprints(
            random_fp(&mut rng).pdq,
            PHash(0xF0F1),
            Sha256Digest([7; 32]),
            10,
        );
        twin.phash_dihedral[0] = PHash(0xF0F1);
        let out = index.query(&twin);
        assert_ne!(out.decision, Decision::Match, "{out:?}");
        // Near pHash and PDQ within the search radius: a match, decided by pHash.
        let mut close = PdqHash([1, 2, 3, 4]);
        flip_bits(&mut close.0, 30, &mut rng);
        let mut near = fingerprints(close, PHash(0xF0F1), Sha256Digest([6; 32]), 10);
        near.phash_dihedral[0] = PHash(0xF0F1);
        let out = index.query(&near);
        assert_eq!(out.decision, Decision::Match);
        assert!(matches!(
            out.decided_by,
            Some(Evidence::Phash { distance: 1, .. })
        ));
    }

    #[test]
    fn a_low_contrast_copy_of_a_trusted_work_matches_by_phash_with_pdq() {
        let mut rng = StdRng::seed_from_u64(8);
        let mut index = MatchIndex::new();
        let photo = random_fp(&mut rng);
        index.insert(1, &photo);
        // The copy's PDQ quality fell below the floor; its codes stayed close.
        let copy_with = |phash_bits: usize, rng: &mut StdRng| {
            let mut code = photo.pdq.0;
            flip_bits(&mut code, 4, rng);
            let mut phash = [photo.phash.0];
            flip_bits(&mut phash, phash_bits, rng);
            let mut copy = fingerprints(PdqHash(code), PHash(phash[0]), Sha256Digest([3; 32]), 10);
            copy.phash_dihedral[0] = PHash(phash[0]);
            copy
        };
        let out = index.query(&copy_with(2, &mut rng));
        assert_eq!(out.decision, Decision::Match, "{out:?}");
        assert!(!out.candidates[0].pdq_trusted);
        assert!(matches!(
            out.decided_by,
            Some(Evidence::Phash { distance: 2, .. })
        ));
        // PDQ alone, untrusted, still only finds it.
        let out = index.query(&copy_with(10, &mut rng));
        assert_eq!(out.decision, Decision::Possible, "{out:?}");
    }

    /// A 4x4 layout whose luma rises to the right, tinted by `(cb, cr)`.
    fn layout(cb: u8, cr: u8) -> ColourLayout {
        ColourLayout(std::array::from_fn(|i| [40 + 30 * (i % 4) as u8, cb, cr]))
    }

    #[test]
    fn a_smooth_work_matches_on_a_looser_phash_when_the_colour_layouts_agree() {
        let mut rng = StdRng::seed_from_u64(7);
        let phash_of = |bits: u32| PHash((1u64 << bits) - 1);
        let mut smooth = |phash: PHash, quality: u8, colour: ColourLayout, sha: u8| {
            let mut fp = fingerprints(
                random_fp(&mut rng).pdq,
                phash,
                Sha256Digest([sha; 32]),
                quality,
            );
            fp.phash_dihedral = [phash; 8];
            fp.colour_layout = Some(colour);
            fp
        };
        let violet = layout(150, 140);
        let teal = layout(140, 100);
        let mut index = MatchIndex::new();
        index.insert(1, &smooth(PHash(0), 5, violet, 1));
        // A photograph-like work (trusted PDQ) with the same pHash and layout: never compared
        // by colour.
        index.insert(2, &smooth(PHash(0), 90, violet, 2));

        let copy = smooth(phash_of(PHASH_COLOUR_MATCH_DISTANCE), 3, violet, 10);
        let out = index.query(&copy);
        assert_eq!(out.decision, Decision::Match, "{out:?}");
        assert_eq!(out.candidates.len(), 1, "{out:?}");
        let Some(Evidence::Phash {
            distance,
            colour: Some(colour),
            ..
        }) = out.decided_by
        else {
            panic!("decided by pHash with colour: {out:?}");
        };
        assert_eq!(distance, PHASH_COLOUR_MATCH_DISTANCE);
        assert!(
            colour.correlation > 0.99 && colour.chroma_residual < 0.5,
            "{colour:?}"
        );

        let roughly_violet = ColourLayout(std::array::from_fn(|i| {
            let bump = if i % 5 == 0 { 14 } else { 0 };
            [40 + 30 * (i % 4) as u8 + bump, 150, 140]
        }));
        let rough = colour::compare(&roughly_violet, &violet);
        assert!(
            rough.correlation >= COLOUR_MIN_CORRELATION
                && rough.correlation < COLOUR_TIGHT_MIN_CORRELATION,
            "{rough:?}"
        );
        // The further the pHash, the closer the layouts must agree; beyond that, not even a
        // candidate.
        let (loose, tight) = (
            PHASH_COLOUR_MATCH_DISTANCE,
            PHASH_TIGHT_COLOUR_MATCH_DISTANCE,
        );
        for (sha, distance, colour, expected) in [
            (15, loose, roughly_violet, Decision::Match),
            (11, loose + 1, roughly_violet, Decision::None),
            (16, tight, violet, Decision::Match),
            (17, tight + 1, violet, Decision::None),
        ] {
            let upload = smooth(phash_of(distance), 3, colour, sha);
            let out = index.query(&upload);
            assert_eq!(out.decision, expected, "pHash {distance}: {out:?}");
        }
        // Another tint at the same distance: not even a candidate.
        let other_tint = smooth(phash_of(PHASH_COLOUR_MATCH_DISTANCE), 3, teal, 12);
        assert_eq!(index.query(&other_tint).decision, Decision::None);
        // Within the possible radius another tint is reported, not decided.
        let near_other_tint = smooth(phash_of(PHASH_POSSIBLE_DISTANCE), 3, teal, 13);
        assert_eq!(index.query(&near_other_tint).decision, Decision::Possible);
        // Without a layout (fingerprints stored before layouts existed) the strict rule holds.
        let mut unlaid = smooth(phash_of(PHASH_COLOUR_MATCH_DISTANCE), 3, violet, 14);
        unlaid.colour_layout = None;
        assert_eq!(index.query(&unlaid).decision, Decision::None);
        // Removing the work forgets its layout with it.
        assert!(index.remove(1));
        assert_eq!(index.query(&copy).decision, Decision::None);
    }

    #[test]
    fn pdq_of_middling_quality_must_agree_more_closely() {
        let mut rng = StdRng::seed_from_u64(6);
        for (quality, bits, expected) in [
            (PDQ_FULL_QUALITY, PDQ_MATCH_DISTANCE, Decision::Match),
            (PDQ_FULL_QUALITY, PDQ_MATCH_DISTANCE + 1, Decision::Possible),
            (PDQ_FULL_QUALITY - 1, PDQ_MATCH_DISTANCE, Decision::Possible),
            (
                PDQ_FULL_QUALITY - 1,
                PDQ_MATCH_DISTANCE_LOW_QUALITY,
                Decision::Match,
            ),
            (
                PDQ_MIN_QUALITY,
                PDQ_MATCH_DISTANCE_LOW_QUALITY,
                Decision::Match,
            ),
            (
                PDQ_MIN_QUALITY,
                PDQ_MATCH_DISTANCE_LOW_QUALITY + 1,
                Decision::Possible,
            ),
        ] {
            let work = random_fp(&mut rng);
            let mut index = MatchIndex::new();
            index.insert(1, &work);
            let mut pdq = work.pdq;
            flip_bits(&mut pdq.0, bits as usize, &mut rng);
            // The work keeps quality 100: the lower of the two qualities decides.
            let mut copy = fingerprints(pdq, PHash(!work.phash.0), Sha256Digest([2; 32]), quality);
            copy.pdq_dihedral[0] = pdq;
            let out = index.query(&copy);
            assert_eq!(out.decision, expected, "quality {quality}, {bits} bits");
            assert_eq!(out.candidates[0].pdq_distance, Some(bits));
        }
    }

    #[test]
    fn trusted_distant_pdq_vetoes_a_phash_coincidence() {
        let mut rng = StdRng::seed_from_u64(4);
        let mut index = MatchIndex::new();
        let a = random_fp(&mut rng);
        index.insert(1, &a);
        let mut b = random_fp(&mut rng);
        b.phash_dihedral[0] = a.phash;
        let out = index.query(&b);
        // Where PDQ is trusted on both sides, pHash is not even consulted.
        assert_eq!(out.decision, Decision::None, "{out:?}");
    }

    #[test]
    fn a_trimmed_work_is_found_by_either_code_and_removed_whole() {
        let mut rng = StdRng::seed_from_u64(8);
        let mut index = MatchIndex::new();
        index.extend((0..2000).map(|i| (i, random_fp(&mut rng))));
        let mut framed = random_fp(&mut rng);
        let whole = random_fp(&mut rng).pdq_dihedral;
        framed.trimmed = true;
        framed.pdq_untrimmed_dihedral = Some(whole);
        index.insert(5000, &framed);
        assert_eq!(index.len(), 2001);
        // An upload that only resembles the untrimmed picture.
        let mut upload = random_fp(&mut rng);
        let mut near = whole[0].0;
        flip_bits(&mut near, 10, &mut rng);
        upload.pdq_dihedral[0] = PdqHash(near);
        let out = index.query(&upload);
        assert_eq!(out.candidates.len(), 1, "{out:?}");
        assert_eq!(out.candidates[0].work_id, 5000);
        assert_eq!(out.decision, Decision::Match);
        assert!(index.remove(5000));
        assert_eq!(index.len(), 2000);
        assert_eq!(index.query(&upload).decision, Decision::None);
        index.rebuild();
        assert_eq!(index.query(&upload).decision, Decision::None);
    }

    #[test]
    fn reinserting_a_work_replaces_it() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut index = MatchIndex::new();
        let a = random_fp(&mut rng);
        let b = random_fp(&mut rng);
        index.insert(1, &a);
        index.insert(1, &b);
        assert_eq!(index.len(), 1);
        assert_eq!(index.query(&a).decision, Decision::None);
        assert_eq!(index.query(&b).candidates[0].work_id, 1);
    }

    #[test]
    fn stays_within_256_bytes_per_work() {
        let mut rng = StdRng::seed_from_u64(6);
        let works: Vec<Fingerprints> = (0..100_000).map(|_| random_fp(&mut rng)).collect();
        let mut index = MatchIndex::new();
        index.extend(works.iter().enumerate().map(|(i, f)| (i as i64, f)));
        for (i, f) in works.iter().take(1000).enumerate() {
            index.insert(200_000 + i as i64, f);
        }
        let per_work = index.memory_bytes() / index.len();
        assert!(per_work <= 256, "{per_work} bytes per work");
    }
}
