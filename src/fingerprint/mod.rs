//! Image fingerprints (pure): decoding, perceptual hashes, distances and the match index.
