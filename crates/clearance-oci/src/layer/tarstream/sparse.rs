//! GNU sparse files: the map of data regions (old GNU headers, or PAX 0.x
//! and 1.0), checked as BSD tar and Go check it, and the logical content
//! (holes read as zeros).

use super::TarError;

/// One data region of a sparse file: `length` bytes stored at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Region {
    pub offset: u64,
    pub length: u64,
}

/// The regions of a sparse file, in order and not overlapping, all within
/// its real size; their lengths add up to the bytes stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SparseMap {
    pub regions: Vec<Region>,
    pub real_size: u64,
}

impl SparseMap {
    /// Check regions against the real size and the stored byte count.
    pub fn new(regions: Vec<Region>, real_size: u64, stored: u64) -> Result<SparseMap, TarError> {
        let mut end = 0u64;
        let mut data = 0u64;
        for r in &regions {
            let r_end = r
                .offset
                .checked_add(r.length)
                .filter(|&e| e <= real_size && r.offset >= end)
                .ok_or(TarError::Sparse(
                    "regions overlap, are out of order or pass the end",
                ))?;
            end = r_end;
            data = data
                .checked_add(r.length)
                .ok_or(TarError::Sparse("region lengths overflow"))?;
        }
        if data != stored {
            return Err(TarError::Sparse(
                "region lengths differ from the bytes stored",
            ));
        }
        Ok(SparseMap { regions, real_size })
    }
}

/// `"off,len,off,len"` with `numblocks` pairs (PAX 0.0 and 0.1).
pub(super) fn from_records(
    numblocks: Option<&str>,
    map: &[String],
) -> Result<Vec<Region>, TarError> {
    let numbers: Vec<&str> = map
        .iter()
        .flat_map(|m| m.split(','))
        .filter(|s| !(map.len() == 1 && s.is_empty()))
        .collect();
    let blocks: usize = numblocks
        .unwrap_or("0")
        .parse()
        .map_err(|_| TarError::Sparse("GNU.sparse.numblocks is not a number"))?;
    if Some(numbers.len()) != blocks.checked_mul(2) {
        return Err(TarError::Sparse(
            "GNU.sparse.map does not hold numblocks pairs",
        ));
    }
    pairs(numbers.into_iter())
}

/// The 1.0 map at the start of the data: decimal numbers, one per line —
/// the count, then offset and length of each region.
pub(super) fn from_data_text(text: &[u8]) -> Result<Option<(Vec<Region>, usize)>, TarError> {
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    // The last piece has no newline yet: not a complete token.
    let complete = &lines[..lines.len().saturating_sub(1)];
    let Some(first) = complete.first() else {
        return Ok(None);
    };
    let count: usize = ascii_number(first)?
        .try_into()
        .map_err(|_| TarError::Sparse("sparse map count out of range"))?;
    let needed = count
        .checked_mul(2)
        .and_then(|n| n.checked_add(1))
        .ok_or(TarError::Sparse("sparse map count out of range"))?;
    if complete.len() < needed {
        return Ok(None);
    }
    let numbers = complete[1..needed]
        .iter()
        .map(|l| std::str::from_utf8(l).unwrap_or("x"));
    let used: usize = complete[..needed].iter().map(|l| l.len() + 1).sum();
    Ok(Some((pairs(numbers)?, used)))
}

fn pairs<'a>(mut numbers: impl Iterator<Item = &'a str>) -> Result<Vec<Region>, TarError> {
    let mut out = Vec::new();
    while let Some(offset) = numbers.next() {
        let length = numbers
            .next()
            .ok_or(TarError::Sparse("an offset without a length"))?;
        out.push(Region {
            offset: ascii_number(offset.as_bytes())?,
            length: ascii_number(length.as_bytes())?,
        });
    }
    Ok(out)
}

fn ascii_number(s: &[u8]) -> Result<u64, TarError> {
    std::str::from_utf8(s)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|n| u64::try_from(n).ok())
        .ok_or(TarError::Sparse(
            "a sparse map number is not a decimal number",
        ))
}

/// Where the logical reader stands in a sparse file.
#[derive(Debug, Clone, Default)]
pub(super) struct SparseCursor {
    pub pos: u64,
    pub region: usize,
}

/// What the next read of a sparse file gives: `Zeros(n)` of a hole, or
/// `Data(n)` bytes from the stream; `None` at the end.
pub(super) enum Next {
    Zeros(u64),
    Data(u64),
}

impl SparseMap {
    pub fn next(&self, c: &SparseCursor) -> Option<Next> {
        match self.regions.get(c.region) {
            Some(r) if c.pos < r.offset => Some(Next::Zeros(r.offset - c.pos)),
            Some(r) => Some(Next::Data(r.offset + r.length - c.pos)),
            None if c.pos < self.real_size => Some(Next::Zeros(self.real_size - c.pos)),
            None => None,
        }
    }

    pub fn advance(&self, c: &mut SparseCursor, n: u64) {
        c.pos += n;
        while let Some(r) = self.regions.get(c.region) {
            if c.pos >= r.offset + r.length {
                c.region += 1;
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(offset: u64, length: u64) -> Region {
        Region { offset, length }
    }

    #[test]
    fn maps_are_checked_like_bsd_tar_checks_them() {
        assert!(SparseMap::new(vec![region(0, 5), region(10, 5)], 20, 10).is_ok());
        // overlap, out of order, past the end, lengths not matching the data
        assert!(SparseMap::new(vec![region(0, 5), region(4, 1)], 20, 6).is_err());
        assert!(SparseMap::new(vec![region(10, 1), region(0, 1)], 20, 2).is_err());
        assert!(SparseMap::new(vec![region(15, 10)], 20, 10).is_err());
        assert!(SparseMap::new(vec![region(0, 5)], 20, 6).is_err());
        assert!(SparseMap::new(vec![region(u64::MAX, 2)], u64::MAX, 2).is_err());
    }

    #[test]
    fn the_1_0_map_needs_every_line_before_it_counts() {
        assert_eq!(from_data_text(b"2\n0\n5\n10").unwrap(), None);
        let (regions, used) = from_data_text(b"2\n0\n5\n10\n5\n\0\0").unwrap().unwrap();
        assert_eq!(regions, vec![region(0, 5), region(10, 5)]);
        assert_eq!(used, 11);
        assert!(from_data_text(b"1\n-1\n5\n").is_err());
        assert!(from_data_text(b"99999999999999999999\n").is_err());
    }

    #[test]
    fn records_need_numblocks_pairs() {
        let map = vec!["0,5,10,5".to_owned()];
        assert_eq!(from_records(Some("2"), &map).unwrap().len(), 2);
        assert!(from_records(Some("3"), &map).is_err());
        assert!(
            from_records(Some("0"), &[String::new()])
                .unwrap()
                .is_empty()
        );
    }
}
