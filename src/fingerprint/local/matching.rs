//! Tentative correspondences between a query's features and one work's: mutual nearest
//! neighbours in Hamming distance that also pass a ratio test.

use super::LocalFeatures;

/// Largest descriptor distance (of 256 bits) a correspondence may have. Copies of a corner
/// under resizing, recompression and small rotations sit mostly below 50 bits; unrelated
/// descriptors are near 128.
pub const MAX_MATCH_DISTANCE: u32 = 64;
/// Lowe's ratio test: the nearest work feature must be clearly nearer than the nearest one at
/// another place. 0.8 is Lowe's value; binary descriptors are commonly matched at 0.7-0.8.
pub const RATIO: f32 = 0.8;
/// The "second nearest" is taken among work features at least this far (work pixels) from
/// the nearest: the pyramid detects one corner at several levels with nearly equal
/// descriptors, and comparing with one's own twin would reject exactly the distinctive
/// corners.
pub const TWIN_RADIUS: f32 = 4.0;

/// Query feature `query` corresponds to work feature `work`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Correspondence {
    pub query: u16,
    pub work: u16,
    pub distance: u32,
}

/// Mutual nearest neighbours (so every work feature is used at most once, and so is every
/// query feature) within [`MAX_MATCH_DISTANCE`] that pass the ratio test.
pub fn match_features(query: &LocalFeatures, work: &LocalFeatures) -> Vec<Correspondence> {
    let (nq, nw) = (query.features.len(), work.features.len());
    if nq == 0 || nw == 0 {
        return Vec::new();
    }
    // One pass over the distance matrix finds each query feature's nearest work feature and
    // each work feature's nearest query feature; ties go to the lowest index, so the result
    // does not depend on iteration details.
    let mut dist = vec![0u16; nq * nw];
    let mut best_query = vec![(u16::MAX, 0usize); nw];
    let mut best_work = vec![(u16::MAX, 0usize); nq];
    for (i, q) in query.features.iter().enumerate() {
        let row = &mut dist[i * nw..(i + 1) * nw];
        for (j, (w, cell)) in work.features.iter().zip(row.iter_mut()).enumerate() {
            let d = q.descriptor.distance(&w.descriptor) as u16;
            *cell = d;
            if d < best_query[j].0 {
                best_query[j] = (d, i);
            }
            if d < best_work[i].0 {
                best_work[i] = (d, j);
            }
        }
    }
    let mut out = Vec::new();
    for i in 0..nq {
        let row = &dist[i * nw..(i + 1) * nw];
        let (d, j) = best_work[i];
        if u32::from(d) > MAX_MATCH_DISTANCE || best_query[j].1 != i {
            continue;
        }
        let at = work.features[j].keypoint;
        let second = row
            .iter()
            .zip(work.features.iter())
            .filter(|(_, f)| (f.keypoint.x - at.x).hypot(f.keypoint.y - at.y) > TWIN_RADIUS)
            .map(|(d, _)| *d)
            .min()
            .unwrap_or(u16::MAX);
        if f32::from(d) < RATIO * f32::from(second) {
            out.push(Correspondence {
                query: i as u16,
                work: j as u16,
                distance: u32::from(d),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Descriptor, Feature, Keypoint};
    use super::*;

    fn feature(x: f32, bits: [u64; 4]) -> Feature {
        Feature {
            keypoint: Keypoint {
                x,
                y: 10.0,
                level: 0,
                angle: 0,
            },
            descriptor: Descriptor(bits),
        }
    }

    fn set(features: Vec<Feature>) -> LocalFeatures {
        LocalFeatures {
            width: 100,
            height: 100,
            features,
            ..LocalFeatures::default()
        }
    }

    #[test]
    fn a_work_feature_is_matched_at_most_once() {
        // Two query features both nearest to work feature 0: only the nearer one keeps it.
        let work = set(vec![feature(10.0, [0; 4]), feature(50.0, [u64::MAX; 4])]);
        let query = set(vec![
            feature(10.0, [0b111, 0, 0, 0]),
            feature(30.0, [0b1, 0, 0, 0]),
        ]);
        let m = match_features(&query, &work);
        assert_eq!(
            m,
            vec![Correspondence {
                query: 1,
                work: 0,
                distance: 1
            }]
        );
    }

    #[test]
    fn ambiguous_and_distant_features_are_not_matched() {
        // Work features 0 and 1 are at different places with nearly equal descriptors: the
        // ratio test refuses. Query feature 1 is 128 bits from everything.
        let work = set(vec![
            feature(10.0, [0; 4]),
            feature(60.0, [0b11, 0, 0, 0]),
            feature(90.0, [u64::MAX, u64::MAX, 0, 0]),
        ]);
        let query = set(vec![
            feature(10.0, [0b1, 0, 0, 0]),
            feature(50.0, [0, 0, u64::MAX, u64::MAX]),
        ]);
        assert!(match_features(&query, &work).is_empty());
    }

    #[test]
    fn a_twin_at_the_same_place_does_not_defeat_the_ratio_test() {
        // The same corner detected at two levels: equal descriptors at the same place.
        let work = set(vec![
            feature(10.0, [0; 4]),
            feature(11.0, [0b1, 0, 0, 0]),
            feature(80.0, [u64::MAX; 4]),
        ]);
        let query = set(vec![feature(20.0, [0; 4])]);
        assert_eq!(match_features(&query, &work).len(), 1);
    }
}
