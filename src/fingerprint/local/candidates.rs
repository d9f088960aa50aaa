//! The candidate index: which registered works share descriptors with a query, without
//! looking at the others.
//!
//! Multi-index hashing (Norouzi, Punjani and Fleet, TPAMI 2014) over the 256-bit descriptors:
//! each of the first [`CandidateParams::tables`] 32-bit substrings of every work descriptor is
//! a key in its own table. A query descriptor looks up, in each table, its own substring (and,
//! at `probe_radius` 1, the 32 substrings one bit away). Unlike the PDQ index this search is
//! not exact and is not meant to be: a query feature votes for a work when at least
//! `min_substring_hits` of its substrings hit it, a work is a candidate when enough of the
//! query's features vote for it, and the geometric verification decides. A copy's
//! corresponding descriptors differ by 10-50 bits of 256, but (we take it) not uniformly:
//! the tests between pixels of nearly equal brightness flip and the others hold, so whole
//! substrings often survive intact, and a copy shares dozens of features with two or more
//! intact substrings (measured, below).
//!
//! Why exact keys and two of them (measured on the robustness corpus, 894 partial copies:
//! `docs/BENCHMARKS-fingerprint.md`, "Candidate index keys"): steered BRIEF describes every
//! sharp corner nearly alike, so with one-bit probes and one substring enough, the features of
//! an upload with a caption or a logo gave 3 or more votes to 122-127 of the 149 works, and
//! the overlay's corners outvoted the true work. Exact keys read 33 times fewer keys; requiring two of eight keeps a copy's
//! features and drops most chance hits.
//!
//! Layout, as in the PDQ index (`super::super::index`): each table is compressed sparse rows
//! keyed by the substring's top 16 bits (65,537 offsets), then the low 16 bits (sorted within
//! a bucket, binary-searched) and the work's slot: 6 bytes a posting. New works land in a
//! pending hash map per table and are merged in bulk once the pending part outgrows 1/64 of
//! the index (amortised inserts); removal marks a slot dead and a rebuild drops it.
//!
//! Keys shared by very many works carry no information and would make a query read long
//! lists: a key with more than `max_postings_per_key` postings is skipped, like a stop word in
//! text retrieval, and so is a query feature that hits more works than that.
//!
//! Candidates are ranked by votes weighted by rarity (inverse document frequency, as in text
//! retrieval and in Sivic and Zisserman's "Video Google", ICCV 2003): a query feature that hits
//! `k` of `N` works gives each of them `ln((N + 1) / k)`. Plain counting failed on the
//! generated test scenes: steered BRIEF describes every sharp right-angled corner between flat
//! areas nearly alike, so half of a query's features hit every one of 28 flat-shaded works,
//! and the true work fell out of the top five once a caption bar covered part of it.

use std::collections::HashMap;

use foldhash::fast::FixedState;

use super::layouts::{LayoutCandidate, LayoutIndex, LAYOUT_TOP};
use super::LocalFeatures;

/// The maps a query probes tens of thousands of times (8 tables x 33 keys x 200 features):
/// std's default SipHash made hashing a visible share of a check; foldhash is the hasher
/// hashbrown itself defaults to, and a fixed seed keeps runs reproducible (keys are descriptor
/// bits, not input an attacker picks freely: a flooded bucket only costs that query time).
type FastMap<K, V> = HashMap<K, V, FixedState>;

const BUCKET_BITS: u32 = 16;
const BUCKETS: usize = 1 << BUCKET_BITS;
/// Merge the pending postings once they exceed this share of the built ones (or a floor).
const PENDING_SHARE: usize = 64;
const PENDING_FLOOR: usize = 1 << 16;

/// The index's parameters. Defaults and their evidence: `docs/matching.md`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateParams {
    /// How many 32-bit substrings (1..=8) of each descriptor are indexed: memory and recall
    /// grow with it.
    pub tables: usize,
    /// 0: exact substring lookups only; 1: also every substring one bit away (33 probes).
    pub probe_radius: u32,
    /// Fewest of a query feature's substrings (over all tables and probes) that must hit a
    /// work for the feature to vote for it.
    pub min_substring_hits: usize,
    /// Fewest query features that must hit a work for it to be a candidate.
    pub min_votes: u32,
    /// Keys with more postings than this are skipped, and so are query features that hit more
    /// works than this (postings of removed works count until the next rebuild).
    pub max_postings_per_key: usize,
}

impl Default for CandidateParams {
    fn default() -> Self {
        CandidateParams {
            tables: 8,
            probe_radius: 0,
            min_substring_hits: 2,
            min_votes: 3,
            max_postings_per_key: 256,
        }
    }
}

/// A work that shares descriptors with the query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CandidateWork {
    pub work: u64,
    /// Query features that hit it.
    pub votes: u32,
    /// Those votes weighted by rarity; candidates are ranked by it.
    pub score: f32,
    /// When the layout index ([`super::layouts`]) proposed the work too: the bits between the
    /// query's layout code and the work's nearest; such a work may be verified by its
    /// appearance alone.
    pub layout_distance: Option<u32>,
}

/// What one query read, to show it touched only part of the index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryStats {
    pub probes: usize,
    pub postings_read: usize,
    /// Of the layout index ([`super::layouts`]).
    pub layout_postings_read: usize,
    pub layout_crowded_keys: usize,
}

struct Table {
    /// `offsets[b]..offsets[b + 1]` are bucket `b`'s postings.
    offsets: Vec<u32>,
    lows: Vec<u16>,
    slots: Vec<u32>,
    pending: FastMap<u32, Vec<u32>>,
}

impl Table {
    fn new() -> Self {
        Table {
            offsets: vec![0; BUCKETS + 1],
            lows: Vec::new(),
            slots: Vec::new(),
            pending: FastMap::default(),
        }
    }

    /// Slots posted under `key`, unless there are more than `cap` of them.
    fn lookup(&self, key: u32, cap: usize, out: &mut Vec<u32>, stats: &mut QueryStats) {
        stats.probes += 1;
        let b = (key >> BUCKET_BITS) as usize;
        let (start, end) = (self.offsets[b] as usize, self.offsets[b + 1] as usize);
        if start < end {
            let lows = &self.lows[start..end];
            let low = key as u16;
            let from = lows.partition_point(|&l| l < low);
            let to = from + lows[from..].partition_point(|&l| l == low);
            if to > from && to - from <= cap {
                stats.postings_read += to - from;
                out.extend_from_slice(&self.slots[start + from..start + to]);
            }
        }
        if self.pending.is_empty() {
            return;
        }
        if let Some(list) = self.pending.get(&key) {
            if list.len() <= cap {
                stats.postings_read += list.len();
                out.extend_from_slice(list);
            }
        }
    }

    fn pending_bytes(&self) -> usize {
        // hashbrown: key, value and one control byte a bucket, at most 7/8 full.
        let buckets = self.pending.capacity() * 8 / 7;
        buckets * (4 + std::mem::size_of::<Vec<u32>>() + 1)
            + self
                .pending
                .values()
                .map(|v| v.capacity() * 4)
                .sum::<usize>()
    }
}

/// Candidate works by shared descriptors. Works are named by the caller's `u64` ids.
pub struct CandidateIndex {
    params: CandidateParams,
    tables: Vec<Table>,
    /// Work id of each slot.
    ids: Vec<u64>,
    alive: Vec<bool>,
    /// Postings each slot holds over all tables (to know when dead ones are worth dropping).
    posting_counts: Vec<u32>,
    by_id: HashMap<u64, u32>,
    built_postings: usize,
    pending_postings: usize,
    dead_postings: usize,
    /// Works by coarse layout, for those whose keypoints their copies barely share.
    layouts: LayoutIndex,
}

impl Default for CandidateIndex {
    fn default() -> Self {
        CandidateIndex::new(CandidateParams::default())
    }
}

impl CandidateIndex {
    /// # Panics
    /// If `params.tables` is not within 1..=8 or `params.probe_radius` above 1.
    pub fn new(params: CandidateParams) -> Self {
        assert!((1..=8).contains(&params.tables), "tables must be 1..=8");
        assert!(params.probe_radius <= 1, "probe radius must be 0 or 1");
        CandidateIndex {
            tables: (0..params.tables).map(|_| Table::new()).collect(),
            params,
            ids: Vec::new(),
            alive: Vec::new(),
            posting_counts: Vec::new(),
            by_id: HashMap::new(),
            built_postings: 0,
            pending_postings: 0,
            dead_postings: 0,
            layouts: LayoutIndex::default(),
        }
    }

    pub fn params(&self) -> &CandidateParams {
        &self.params
    }

    /// Registered works.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn contains(&self, work: u64) -> bool {
        self.by_id.contains_key(&work)
    }

    /// Adds (or replaces) a work's features.
    pub fn insert(&mut self, work: u64, features: &LocalFeatures) {
        self.remove(work);
        self.add_work(work, features, None);
        if self.pending_postings > (self.built_postings / PENDING_SHARE).max(PENDING_FLOOR) {
            self.rebuild();
        }
    }

    /// Adds (or replaces) many works with one rebuild: loading a registry through
    /// [`Self::insert`] would merge the pending postings about 64 times per doubling.
    ///
    /// The postings go straight into one sorted run per table (8 bytes a posting), not
    /// through the pending maps: those hold a small vector per key, an estimated 70 bytes a
    /// posting (map slot, vector header, smallest allocation) when nearly every key is new;
    /// loading 10^6 works that way went past 22 GB.
    pub fn extend<'a>(&mut self, works: impl IntoIterator<Item = (u64, &'a LocalFeatures)>) {
        let mut fresh: Vec<Vec<u64>> = vec![Vec::new(); self.tables.len()];
        for (work, features) in works {
            self.add_work(work, features, Some(&mut fresh));
        }
        self.merge(fresh);
    }

    /// Gives the work a new slot and posts its keys: into `fresh` (one run per table) when
    /// given, otherwise into the tables' pending maps. A replaced work's old slot is only
    /// marked dead here, so that the slots `fresh` holds stay valid until the merge.
    fn add_work(
        &mut self,
        work: u64,
        features: &LocalFeatures,
        mut fresh: Option<&mut [Vec<u64>]>,
    ) {
        self.mark_removed(work);
        let slot = self.ids.len() as u32;
        let mut count = 0u32;
        let mut keys = Vec::with_capacity(features.features.len());
        for (t, table) in self.tables.iter_mut().enumerate() {
            keys.clear();
            keys.extend(features.features.iter().map(|f| f.descriptor.substring(t)));
            // One corner found at several levels can repeat a key; one posting is enough.
            keys.sort_unstable();
            keys.dedup();
            match fresh.as_deref_mut() {
                Some(runs) => runs[t].extend(keys.iter().map(|&key| posting(key, slot))),
                None => {
                    for &key in &keys {
                        table.pending.entry(key).or_default().push(slot);
                    }
                }
            }
            count += keys.len() as u32;
        }
        self.ids.push(work);
        self.alive.push(true);
        self.posting_counts.push(count);
        self.by_id.insert(work, slot);
        self.pending_postings += count as usize;
        self.layouts.insert(work, &features.appearance);
    }

    /// Removes a work; answers whether it was there.
    pub fn remove(&mut self, work: u64) -> bool {
        let removed = self.mark_removed(work);
        if self.dead_postings > (self.built_postings + self.pending_postings) / 4 {
            self.rebuild();
        }
        removed
    }

    fn mark_removed(&mut self, work: u64) -> bool {
        let Some(slot) = self.by_id.remove(&work) else {
            return false;
        };
        self.alive[slot as usize] = false;
        self.layouts.remove(work);
        self.dead_postings += self.posting_counts[slot as usize] as usize;
        true
    }

    /// Merges pending postings into the tables, drops dead works and renumbers slots densely.
    pub fn rebuild(&mut self) {
        self.merge(Vec::new());
    }

    /// [`Self::rebuild`], taking in `fresh` runs of postings too (one per table, or none).
    fn merge(&mut self, mut fresh: Vec<Vec<u64>>) {
        let mut renumber = vec![u32::MAX; self.ids.len()];
        let mut ids = Vec::with_capacity(self.by_id.len());
        let mut counts = Vec::with_capacity(self.by_id.len());
        for (old, &id) in self.ids.iter().enumerate() {
            if self.alive[old] {
                renumber[old] = ids.len() as u32;
                ids.push(id);
                counts.push(self.posting_counts[old]);
            }
        }
        let mut built = 0;
        fresh.resize(self.tables.len(), Vec::new());
        for (table, run) in self.tables.iter_mut().zip(&mut fresh) {
            // Taken, so that each run is freed once its table is merged.
            let run = std::mem::take(run);
            let mut entries: Vec<u64> = Vec::with_capacity(table.slots.len() + run.len());
            for b in 0..BUCKETS {
                for k in table.offsets[b] as usize..table.offsets[b + 1] as usize {
                    let slot = renumber[table.slots[k] as usize];
                    if slot != u32::MAX {
                        let key = ((b as u32) << BUCKET_BITS) | u32::from(table.lows[k]);
                        entries.push(posting(key, slot));
                    }
                }
            }
            // The built postings come out in order (renumbering keeps slots' order).
            let built_end = entries.len();
            let pending = table
                .pending
                .iter()
                .flat_map(|(&key, slots)| slots.iter().map(move |&slot| posting(key, slot)));
            for entry in pending.chain(run) {
                let slot = renumber[entry as u32 as usize];
                if slot != u32::MAX {
                    entries.push(posting((entry >> 32) as u32, slot));
                }
            }
            // Only the new postings need sorting; the stable sort then finds the two ascending
            // runs and merges them in one pass, where sorting everything again would make each
            // batch of a large load dearer than the last.
            entries[built_end..].sort_unstable();
            entries.sort();
            let mut offsets = vec![0u32; BUCKETS + 1];
            for e in &entries {
                offsets[(e >> (32 + BUCKET_BITS)) as usize + 1] += 1;
            }
            for b in 0..BUCKETS {
                offsets[b + 1] += offsets[b];
            }
            table.lows = entries.iter().map(|e| (e >> 32) as u16).collect();
            table.slots = entries.iter().map(|e| *e as u32).collect();
            table.offsets = offsets;
            table.pending = FastMap::default();
            built += entries.len();
        }
        self.by_id = ids
            .iter()
            .enumerate()
            .map(|(slot, &id)| (id, slot as u32))
            .collect();
        self.alive = vec![true; ids.len()];
        self.ids = ids;
        self.posting_counts = counts;
        self.built_postings = built;
        self.pending_postings = 0;
        self.dead_postings = 0;
        self.layouts.rebuild();
    }

    /// The works at least `min_votes` query features hit, highest score first (then by id),
    /// at most `top` of them; then the works the layout index proposes that are not among
    /// them (at most [`LAYOUT_TOP`] from each layout lookup: the whole upload's, what its
    /// caption bands leave, its centre turned back when its corners are filled), with no votes.
    pub fn candidates(&self, query: &LocalFeatures, top: usize) -> Vec<CandidateWork> {
        self.candidates_with_stats(query, top).0
    }

    pub fn candidates_with_stats(
        &self,
        query: &LocalFeatures,
        top: usize,
    ) -> (Vec<CandidateWork>, QueryStats) {
        let mut stats = QueryStats::default();
        let mut votes: FastMap<u32, (u32, f32)> = FastMap::default();
        let mut hits = Vec::new();
        let cap = self.params.max_postings_per_key;
        let works = (self.len() + 1) as f32;
        for f in &query.features {
            hits.clear();
            for (t, table) in self.tables.iter().enumerate() {
                let key = f.descriptor.substring(t);
                table.lookup(key, cap, &mut hits, &mut stats);
                if self.params.probe_radius == 1 {
                    for bit in 0..32 {
                        table.lookup(key ^ (1 << bit), cap, &mut hits, &mut stats);
                    }
                }
            }
            // One vote per query feature for each work enough of its substrings hit.
            hits.retain(|&slot| self.alive[slot as usize]);
            hits.sort_unstable();
            keep_repeated(&mut hits, self.params.min_substring_hits);
            // A feature that hits more works than a key may hold is a stop word too: its keys
            // can each be rare while their one-bit neighbourhoods together reach everywhere.
            if hits.is_empty() || hits.len() > cap {
                continue;
            }
            let weight = (works / hits.len() as f32).ln();
            for &slot in &hits {
                let v = votes.entry(slot).or_default();
                v.0 += 1;
                v.1 += weight;
            }
        }
        let mut out: Vec<CandidateWork> = votes
            .into_iter()
            .filter(|&(_, (count, _))| count >= self.params.min_votes)
            .map(|(slot, (votes, score))| CandidateWork {
                work: self.ids[slot as usize],
                votes,
                score,
                layout_distance: None,
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.work.cmp(&b.work)));
        out.truncate(top);
        // An upload with a caption is looked up by what the caption leaves of it too, and one
        // turned by a few degrees by its centre turned back: the bar and the filled corners
        // change its whole layout's code. Each lookup proposes its own nearest, so that none
        // crowds out another's.
        let layouts = &self.layouts;
        let mut lookups = vec![layouts.nearest_with_stats(&query.appearance, LAYOUT_TOP)];
        if let Some(uncovered) = &query.uncovered {
            lookups.push(layouts.nearest_with_stats(&uncovered.appearance, LAYOUT_TOP));
        }
        if query.filled_corners {
            lookups.push(layouts.nearest_turned_with_stats(&query.appearance, LAYOUT_TOP));
        }
        for (proposals, layout_stats) in lookups {
            stats.layout_postings_read += layout_stats.postings_read;
            stats.layout_crowded_keys += layout_stats.crowded_keys;
            for proposed in proposals {
                propose(&mut out, proposed);
            }
        }
        (out, stats)
    }

    /// Bytes the index holds, allocations included (pending maps estimated from their
    /// capacity).
    pub fn memory_bytes(&self) -> usize {
        let tables: usize = self
            .tables
            .iter()
            .map(|t| {
                t.offsets.capacity() * 4
                    + t.lows.capacity() * 2
                    + t.slots.capacity() * 4
                    + t.pending_bytes()
            })
            .sum();
        let per_slot =
            self.ids.capacity() * 8 + self.alive.capacity() + self.posting_counts.capacity() * 4;
        let by_id = self.by_id.capacity() * 8 / 7 * (8 + 4 + 1);
        tables + per_slot + by_id + self.layouts.memory_bytes() + std::mem::size_of::<Self>()
    }
}

/// Marks `proposed` as a layout proposal among `out`, or adds it with no votes; a work
/// proposed twice keeps its nearer distance.
fn propose(out: &mut Vec<CandidateWork>, proposed: LayoutCandidate) {
    match out.iter_mut().find(|c| c.work == proposed.work) {
        Some(listed) => {
            let nearest = listed
                .layout_distance
                .map_or(proposed.distance, |d| d.min(proposed.distance));
            listed.layout_distance = Some(nearest);
        }
        None => out.push(CandidateWork {
            work: proposed.work,
            votes: 0,
            score: 0.0,
            layout_distance: Some(proposed.distance),
        }),
    }
}

/// A posting as the merge sorts it: the key above the slot.
fn posting(key: u32, slot: u32) -> u64 {
    (u64::from(key) << 32) | u64::from(slot)
}

/// Keeps one of each value that occurs at least `times` times in the sorted `values`.
fn keep_repeated(values: &mut Vec<u32>, times: usize) {
    let mut kept = 0;
    let mut run_start = 0;
    for i in 0..values.len() {
        let run_ends = i + 1 == values.len() || values[i + 1] != values[i];
        if run_ends {
            if i + 1 - run_start >= times {
                values[kept] = values[i];
                kept += 1;
            }
            run_start = i + 1;
        }
    }
    values.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::super::{Descriptor, Feature, Keypoint};
    use super::*;
    use rand::Rng;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn random_features(rng: &mut ChaCha8Rng, n: usize) -> LocalFeatures {
        LocalFeatures {
            width: 400,
            height: 300,
            features: (0..n)
                .map(|_| Feature {
                    keypoint: Keypoint {
                        x: rng.gen_range(0.0..400.0),
                        y: rng.gen_range(0.0..300.0),
                        level: 0,
                        angle: 0,
                    },
                    descriptor: Descriptor([rng.gen(), rng.gen(), rng.gen(), rng.gen()]),
                })
                .collect(),
            ..LocalFeatures::default()
        }
    }

    /// The same features with `bits` random bits of each descriptor flipped. Real copies flip
    /// 10-50 bits, but concentrated in the unstable tests; 8 uniformly random flips leave about
    /// as many substrings intact as a real copy's corners do.
    fn perturbed(rng: &mut ChaCha8Rng, f: &LocalFeatures, bits: usize) -> LocalFeatures {
        let mut out = f.clone();
        for feature in &mut out.features {
            for _ in 0..bits {
                let b = rng.gen_range(0..256);
                feature.descriptor.0[b / 64] ^= 1 << (b % 64);
            }
        }
        out
    }

    #[test]
    fn a_perturbed_copy_finds_its_work_first_and_touches_few_postings() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let works: Vec<LocalFeatures> = (0..300).map(|_| random_features(&mut rng, 200)).collect();
        let mut index = CandidateIndex::default();
        for (i, w) in works.iter().enumerate() {
            index.insert(i as u64 * 10, w);
        }
        assert_eq!(index.len(), 300);
        let total_postings = 300 * 200 * 8;
        for target in [0usize, 137, 299] {
            let query = perturbed(&mut rng, &works[target], 8);
            let (found, stats) = index.candidates_with_stats(&query, 5);
            assert_eq!(found[0].work, target as u64 * 10, "{found:?}");
            assert!(found[0].votes >= 40, "{found:?}");
            // Unrelated random works share almost no substrings with the query.
            assert!(found.iter().skip(1).all(|c| c.votes < 5), "{found:?}");
            assert!(
                stats.postings_read < total_postings / 20,
                "{stats:?} of {total_postings}"
            );
        }
    }

    #[test]
    fn a_feature_votes_only_where_enough_of_its_substrings_hit() {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let work = random_features(&mut rng, 20);
        let mut index = CandidateIndex::default();
        index.insert(1, &work);
        // Each query feature keeps exactly `intact` of the work feature's eight 32-bit
        // substrings and has every other substring changed.
        let sharing = |intact: usize| {
            let mut q = work.clone();
            for f in &mut q.features {
                for t in intact..8 {
                    f.descriptor.0[t / 2] ^= 0xFFFF_u64 << (32 * (t % 2));
                }
            }
            q
        };
        assert!(index.candidates(&sharing(1), 5).is_empty());
        let found = index.candidates(&sharing(2), 5);
        assert_eq!((found[0].work, found[0].votes), (1, 20), "{found:?}");
    }

    #[test]
    fn repeated_values_are_kept_once() {
        let mut v = vec![1, 1, 2, 3, 3, 3, 5];
        keep_repeated(&mut v, 2);
        assert_eq!(v, vec![1, 3]);
        let mut w = vec![4, 4, 9];
        keep_repeated(&mut w, 1);
        assert_eq!(w, vec![4, 9]);
        let mut none: Vec<u32> = vec![];
        keep_repeated(&mut none, 2);
        assert!(none.is_empty());
    }

    #[test]
    fn loading_in_bulk_answers_as_inserting_one_by_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let works: Vec<LocalFeatures> = (0..400).map(|_| random_features(&mut rng, 200)).collect();
        let mut one_by_one = CandidateIndex::default();
        for (i, w) in works.iter().enumerate() {
            one_by_one.insert(i as u64, w);
        }
        let mut bulk = CandidateIndex::default();
        bulk.extend(works.iter().enumerate().map(|(i, w)| (i as u64, w)));
        assert_eq!(bulk.len(), 400);
        // The same on top of pending works, replacing some of them and one of its own batch.
        let mut mixed = CandidateIndex::default();
        for (i, w) in works.iter().enumerate().take(10) {
            mixed.insert(i as u64, w);
        }
        assert_eq!(
            mixed.built_postings, 0,
            "the first works should still be pending"
        );
        let batch = works.iter().enumerate().skip(5).chain([(7, &works[7])]);
        mixed.extend(batch.map(|(i, w)| (i as u64, w)));
        assert_eq!(mixed.len(), 400);
        for target in [3usize, 7, 250] {
            let query = perturbed(&mut rng, &works[target], 8);
            let expected = one_by_one.candidates(&query, 5);
            assert_eq!(expected[0].work, target as u64);
            assert_eq!(bulk.candidates(&query, 5), expected);
            assert_eq!(mixed.candidates(&query, 5), expected);
        }
    }

    #[test]
    fn removed_and_replaced_works_are_answered_as_they_are_now() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let a = random_features(&mut rng, 150);
        let b = random_features(&mut rng, 150);
        let mut index = CandidateIndex::default();
        index.insert(1, &a);
        index.insert(2, &b);
        assert_eq!(index.candidates(&a, 5)[0].work, 1);
        assert!(index.remove(1));
        assert!(!index.remove(1));
        assert!(index.candidates(&a, 5).is_empty());
        // Work 2 now shows a's features: only 2 answers, with a's votes.
        index.insert(2, &a);
        let found = index.candidates(&a, 5);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].work, 2);
        assert!(index.candidates(&b, 5).is_empty());
        // The same after merging and compacting.
        index.rebuild();
        assert_eq!(index.candidates(&a, 5), found);
        assert!(index.candidates(&b, 5).is_empty());
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn bulk_merges_keep_every_answer() {
        // Enough works that pending postings are merged several times.
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let works: Vec<LocalFeatures> = (0..200).map(|_| random_features(&mut rng, 100)).collect();
        let mut index = CandidateIndex::new(CandidateParams {
            tables: 4,
            ..CandidateParams::default()
        });
        for (i, w) in works.iter().enumerate() {
            index.insert(i as u64, w);
        }
        assert!(index.built_postings > 0, "no merge happened");
        for (i, w) in works.iter().enumerate().step_by(17) {
            let found = index.candidates(w, 1);
            assert_eq!(found[0].work, i as u64);
            assert_eq!(found[0].votes, 100);
            assert!(found.len() == 1 || found[1].votes < 5, "{found:?}");
        }
    }

    #[test]
    fn keys_shared_by_too_many_works_are_skipped() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        let common = random_features(&mut rng, 10);
        let mut index = CandidateIndex::new(CandidateParams {
            max_postings_per_key: 20,
            ..CandidateParams::default()
        });
        for i in 0..21 {
            index.insert(i, &common);
        }
        assert!(index.candidates(&common, 50).is_empty());
        // A removed work's postings count until the next rebuild drops them.
        index.remove(0);
        index.rebuild();
        assert_eq!(index.candidates(&common, 50).len(), 20);
    }

    #[test]
    fn rare_shared_features_outrank_common_ones() {
        // 29 works share 40 generic features; work 7 has none of them but shares 15 of its own
        // with the query, which also shows the 40 generic ones. By count the others lead
        // (40 votes to 15); weighted by rarity work 7 does.
        let mut rng = ChaCha8Rng::seed_from_u64(16);
        let generic = random_features(&mut rng, 40);
        let own = random_features(&mut rng, 60);
        let mut index = CandidateIndex::default();
        for i in 0..30 {
            let mut f = if i == 7 {
                own.clone()
            } else {
                random_features(&mut rng, 60)
            };
            if i != 7 {
                f.features.extend_from_slice(&generic.features);
            }
            index.insert(i, &f);
        }
        let mut query = generic.clone();
        query.features.extend_from_slice(&own.features[..15]);
        let found = index.candidates(&query, 3);
        assert_eq!(found[0].work, 7, "{found:?}");
        assert_eq!(found[0].votes, 15);
        assert_eq!(found[1].votes, 40);
    }

    #[test]
    fn memory_grows_by_about_six_bytes_a_posting() {
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        let mut index = CandidateIndex::default();
        for i in 0..400 {
            index.insert(i, &random_features(&mut rng, 200));
        }
        index.rebuild();
        let fixed = CandidateIndex::default().memory_bytes();
        let per_work = (index.memory_bytes() - fixed) / 400;
        // 8 tables x 200 postings x 6 bytes, plus the slot and id maps.
        assert!((9_600..10_000).contains(&per_work), "{per_work}");
    }
}
