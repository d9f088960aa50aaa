//! C2SP `tlog-tiles` paths and entry bundles.
//!
//! `tlog_tiles` implements Go's `sumdb` tiles, whose paths carry the tile height
//! (`tile/8/L/N`); C2SP fixes the height at 8 and drops it from the path (`tile/L/N`), and calls
//! data tiles "entries". We translate between the two and keep C2SP's stricter rules (level at
//! most 63, partial width 1 to 255).

use tlog_tiles::{HashReader, Tile};

use super::LedgerError;

/// C2SP tiles are 8 levels tall: 256 hashes wide.
pub const TILE_HEIGHT: u8 = 8;
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// A parsed request for a tile or entry bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileRequest {
    Hashes { level: u8, index: u64, width: u32 },
    Entries { index: u64, width: u32 },
}

impl TileRequest {
    /// Parses a path below the log prefix, such as `tile/0/x001/234.p/5` or `tile/entries/000`.
    pub fn parse(path: &str) -> Result<Self, LedgerError> {
        let invalid = || LedgerError::InvalidTilePath(path.to_owned());
        let rest = path.strip_prefix("tile/").ok_or_else(invalid)?;
        let (level_part, coords) = rest.split_once('/').ok_or_else(invalid)?;
        let go_level = if level_part == "entries" {
            "data"
        } else {
            level_part
        };
        // `Tile::from_path` panics (through `Tile::new`) on a width of 0 or a level above 63,
        // so those are refused here first; C2SP forbids both anyway.
        let level_ok = level_part == "entries"
            || level_part
                .parse::<u8>()
                .is_ok_and(|l| l < 64 && l.to_string() == level_part);
        let width_ok = match coords.rsplit_once(".p/") {
            Some((_, width)) => width
                .parse::<u16>()
                .is_ok_and(|w| (1..TILE_WIDTH as u16).contains(&w) && w.to_string() == width),
            None => true,
        };
        if !level_ok || !width_ok {
            return Err(invalid());
        }
        let tile = Tile::from_path(&format!("tile/{TILE_HEIGHT}/{go_level}/{coords}"))
            .map_err(|_| invalid())?;
        Ok(if tile.is_data() {
            TileRequest::Entries {
                index: tile.level_index(),
                width: tile.width(),
            }
        } else {
            TileRequest::Hashes {
                level: tile.level(),
                index: tile.level_index(),
                width: tile.width(),
            }
        })
    }

    pub fn is_full(&self) -> bool {
        self.width() as u64 == TILE_WIDTH
    }

    pub fn width(&self) -> u32 {
        match self {
            TileRequest::Hashes { width, .. } | TileRequest::Entries { width, .. } => *width,
        }
    }

    /// Whether a tree of `tree_size` leaves has every hash or entry this tile covers.
    pub fn exists_in(&self, tree_size: u64) -> bool {
        let (level, index) = match *self {
            TileRequest::Hashes { level, index, .. } => (level, index),
            TileRequest::Entries { index, .. } => (0, index),
        };
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let nodes_at_level = if shift >= 64 { 0 } else { tree_size >> shift };
        index
            .checked_mul(TILE_WIDTH)
            .and_then(|start| start.checked_add(u64::from(self.width())))
            .is_some_and(|end| end <= nodes_at_level)
    }

    /// The path below the log prefix in the C2SP encoding, such as `tile/0/x001/234.p/5`:
    /// the inverse of [`TileRequest::parse`].
    pub fn path(&self) -> String {
        let (level, index) = match *self {
            TileRequest::Hashes { level, index, .. } => (level.to_string(), index),
            TileRequest::Entries { index, .. } => ("entries".to_owned(), index),
        };
        // Groups of three digits, every group but the last prefixed with `x`.
        let digits = format!("{index:03}");
        let digits = format!("{}{digits}", "0".repeat((3 - digits.len() % 3) % 3));
        let groups: Vec<&str> = (0..digits.len() / 3)
            .map(|g| &digits[g * 3..g * 3 + 3])
            .collect();
        let mut path = format!("tile/{level}/");
        for (g, group) in groups.iter().enumerate() {
            if g + 1 < groups.len() {
                path.push('x');
            }
            path.push_str(group);
            if g + 1 < groups.len() {
                path.push('/');
            }
        }
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width()));
        }
        path
    }

    /// The range of entry indexes an entry bundle holds.
    pub fn entry_range(&self) -> Option<std::ops::Range<u64>> {
        match *self {
            TileRequest::Entries { index, width } => {
                let start = index * TILE_WIDTH;
                Some(start..start + u64::from(width))
            }
            TileRequest::Hashes { .. } => None,
        }
    }

    /// The concatenated hashes of a hash tile.
    pub fn read_hashes(&self, reader: &impl HashReader) -> Result<Vec<u8>, LedgerError> {
        match *self {
            TileRequest::Hashes {
                level,
                index,
                width,
            } => Ok(Tile::new(TILE_HEIGHT, level, index, width, false).read_data(reader)?),
            TileRequest::Entries { .. } => Err(LedgerError::InvalidTilePath(
                "an entry bundle has no hashes".into(),
            )),
        }
    }
}

/// An entry bundle: each entry prefixed with its length as a big-endian u16.
pub fn entry_bundle<T: AsRef<[u8]>>(entries: &[T]) -> Vec<u8> {
    let mut bundle = Vec::with_capacity(entries.iter().map(|e| e.as_ref().len() + 2).sum());
    for entry in entries {
        let entry = entry.as_ref();
        let len = u16::try_from(entry.len()).expect("entries are at most 65,535 bytes");
        bundle.extend_from_slice(&len.to_be_bytes());
        bundle.extend_from_slice(entry);
    }
    bundle
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{tree_root, MemoryHashes};

    #[test]
    fn paths_parse_per_the_c2sp_encoding() {
        assert_eq!(
            TileRequest::parse("tile/0/x001/x234/067").unwrap(),
            TileRequest::Hashes {
                level: 0,
                index: 1_234_067,
                width: 256
            }
        );
        assert_eq!(
            TileRequest::parse("tile/2/000.p/1").unwrap(),
            TileRequest::Hashes {
                level: 2,
                index: 0,
                width: 1
            }
        );
        assert_eq!(
            TileRequest::parse("tile/entries/001.p/17").unwrap(),
            TileRequest::Entries {
                index: 1,
                width: 17
            }
        );
        for bad in [
            "tile/0/1",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/x000/001",
            "tile/64/000",
            "tile/00/000",
            "tile/0/abc",
            "tile/entries/000/",
            "tile/8/0/000",
            "tiles/0/000",
            "tile/0/-01",
        ] {
            assert!(TileRequest::parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn paths_are_written_in_the_encoding_they_are_parsed_from() {
        for path in [
            "tile/0/000",
            "tile/0/067",
            "tile/0/x001/000",
            "tile/0/x001/x234/067",
            "tile/3/x999/999.p/255",
            "tile/entries/000.p/1",
            "tile/entries/x001/000",
            "tile/entries/x018/x446/x744/x073/x709/x551/615",
        ] {
            assert_eq!(TileRequest::parse(path).unwrap().path(), path);
        }
        let last = TileRequest::Entries {
            index: u64::MAX,
            width: 256,
        };
        assert_eq!(TileRequest::parse(&last.path()).unwrap(), last);
    }

    #[test]
    fn tiles_exist_only_for_the_sizes_that_cover_them() {
        // The spec's example: a tree of 70,000 has 273 full level-0 tiles, a partial one of
        // width 112, one full level-1 tile, a partial of width 17 and a level-2 tile of width 1.
        let size = 70_000;
        let t = |level, index, width| TileRequest::Hashes {
            level,
            index,
            width,
        };
        assert!(t(0, 272, 256).exists_in(size));
        assert!(!t(0, 273, 256).exists_in(size));
        assert!(t(0, 273, 112).exists_in(size));
        assert!(!t(0, 273, 113).exists_in(size));
        assert!(t(1, 0, 256).exists_in(size));
        assert!(t(1, 1, 17).exists_in(size));
        assert!(!t(1, 1, 18).exists_in(size));
        assert!(t(2, 0, 1).exists_in(size));
        assert!(!t(3, 0, 1).exists_in(size));
        assert!(!t(0, u64::MAX, 256).exists_in(u64::MAX));
    }

    #[test]
    fn a_full_level_0_tile_hashes_to_the_root_of_its_256_leaves() {
        let entries: Vec<Vec<u8>> = (0..256u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let store = MemoryHashes::build(&entries);
        let data = TileRequest::parse("tile/0/000")
            .unwrap()
            .read_hashes(&store)
            .unwrap();
        assert_eq!(data.len(), 256 * 32);
        assert_eq!(Tile::subtree_hash(&data), tree_root(256, &store).unwrap());
    }

    #[test]
    fn bundles_are_length_prefixed() {
        assert_eq!(
            entry_bundle(&[b"ab".to_vec(), vec![]]),
            vec![0, 2, b'a', b'b', 0, 0]
        );
    }
}
