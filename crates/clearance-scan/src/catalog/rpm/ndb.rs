//! The package blobs of an rpm "NDB" database held in memory:
//! `Packages.db`, rpm's own format that SUSE uses (rpm
//! `lib/backend/ndb/rpmpkg.c`). All numbers are little-endian.
//!
//! ```text
//! slot pages: `slot_pages` × 4096 bytes from offset 0, 256 slots of 16 bytes;
//!   the first two slots are the file header:
//!     magic "RpmP", version 0, generation, slot_pages, …
//!   each slot after them: magic "Slot", package number (0: free),
//!     block offset, block count (blocks of 16 bytes)
//! a blob at block offset × 16: magic "BlbS", package number, checksum,
//!   length, then `length` bytes of rpm header
//! ```
//!
//! The blob checksums are not verified: a header that does not parse is
//! reported by the header parser.

/// What is wrong with an NDB file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdbError {
    /// No `RpmP` magic, or a version other than 0.
    #[error("not an rpm NDB database")]
    NotNdb,
    /// The slot pages run past the file.
    #[error("the file is {len} bytes, shorter than its {pages} slot pages (truncated)")]
    Truncated {
        /// Bytes there are.
        len: usize,
        /// Slot pages the header gives.
        pages: u32,
    },
    /// A slot or blob that does not fit.
    #[error("slot {slot}: {what}")]
    Corrupt {
        /// The slot's index.
        slot: usize,
        /// What does not fit.
        what: &'static str,
    },
    /// More packages than the caller allows.
    #[error("the database holds more than {0} packages")]
    TooManyBlobs(usize),
}

const SLOT_PAGE: usize = 4096;
const SLOT: usize = 16;
const BLOCK: usize = 16;
/// The header's magic, `RpmP` as bytes in the file.
pub const MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_MAGIC: &[u8; 4] = b"BlbS";

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Each used slot's package number and header blob, in slot order.
///
/// # Errors
///
/// An [`NdbError`] when the file is not an NDB database, is truncated, a
/// slot or blob is corrupt (wrong magic, outside the file, a blob of
/// another package), or more than `max_blobs` slots are used.
pub fn blobs(file: &[u8], max_blobs: usize) -> Result<Vec<(u32, &[u8])>, NdbError> {
    if file.get(..4) != Some(&MAGIC[..]) || le32(file, 4) != Some(0) {
        return Err(NdbError::NotNdb);
    }
    let pages = le32(file, 12).ok_or(NdbError::NotNdb)?;
    let slots_end = (pages as usize)
        .checked_mul(SLOT_PAGE)
        .filter(|&end| end <= file.len() && pages > 0)
        .ok_or(NdbError::Truncated {
            len: file.len(),
            pages,
        })?;
    let mut out = Vec::new();
    // The first two slots are the file header.
    for (i, slot) in file[..slots_end].chunks_exact(SLOT).enumerate().skip(2) {
        let corrupt = |what| NdbError::Corrupt { slot: i, what };
        if &slot[..4] != SLOT_MAGIC {
            return Err(corrupt("no slot magic"));
        }
        let field = |at| le32(slot, at).unwrap_or(0);
        let (package, offset, count) = (field(4), field(8) as usize, field(12) as usize);
        if package == 0 {
            continue;
        }
        if out.len() >= max_blobs {
            return Err(NdbError::TooManyBlobs(max_blobs));
        }
        let block = offset
            .checked_mul(BLOCK)
            .zip(count.checked_mul(BLOCK))
            .and_then(|(start, len)| file.get(start..start.checked_add(len)?))
            .filter(|b| b.len() >= 16)
            .ok_or_else(|| corrupt("its blocks lie outside the file"))?;
        if &block[..4] != BLOB_MAGIC {
            return Err(corrupt("its blob has no blob magic"));
        }
        if le32(block, 4) != Some(package) {
            return Err(corrupt("its blob belongs to another package"));
        }
        let len = le32(block, 12).unwrap_or(0) as usize;
        let blob = block
            .get(16..16 + len)
            .ok_or_else(|| corrupt("its blob is longer than its blocks"))?;
        out.push((package, blob));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An NDB file of one slot page holding these blobs as packages 1, 2, ….
    pub(crate) fn database(values: &[&[u8]]) -> Vec<u8> {
        let mut file = vec![0u8; SLOT_PAGE];
        file[..4].copy_from_slice(MAGIC);
        file[12..16].copy_from_slice(&1u32.to_le_bytes());
        for i in 2..SLOT_PAGE / SLOT {
            file[i * SLOT..i * SLOT + 4].copy_from_slice(SLOT_MAGIC);
        }
        for (n, v) in values.iter().enumerate() {
            let offset = file.len() / BLOCK;
            let mut blob = Vec::new();
            blob.extend_from_slice(BLOB_MAGIC);
            blob.extend_from_slice(&(n as u32 + 1).to_le_bytes());
            blob.extend_from_slice(&0u32.to_le_bytes());
            blob.extend_from_slice(&(v.len() as u32).to_le_bytes());
            blob.extend_from_slice(v);
            blob.extend_from_slice(&[0; 12]);
            blob.resize(blob.len().next_multiple_of(BLOCK), 0);
            let slot = (2 + n) * SLOT;
            file[slot + 4..slot + 8].copy_from_slice(&(n as u32 + 1).to_le_bytes());
            file[slot + 8..slot + 12].copy_from_slice(&(offset as u32).to_le_bytes());
            file[slot + 12..slot + 16]
                .copy_from_slice(&((blob.len() / BLOCK) as u32).to_le_bytes());
            file.extend_from_slice(&blob);
        }
        file
    }

    #[test]
    fn used_slots_give_their_blobs() {
        let db = database(&[b"one", b"two two"]);
        assert_eq!(
            blobs(&db, 10).unwrap(),
            [(1, &b"one"[..]), (2, &b"two two"[..])]
        );
        assert_eq!(blobs(&db, 1), Err(NdbError::TooManyBlobs(1)));
    }

    #[test]
    fn truncated_and_corrupt_files_are_refused() {
        let db = database(&[b"one"]);
        assert_eq!(blobs(b"RpmP", 10), Err(NdbError::NotNdb));
        assert!(matches!(
            blobs(&db[..4000], 10),
            Err(NdbError::Truncated { .. })
        ));
        assert!(matches!(
            blobs(&db[..SLOT_PAGE + 8], 10),
            Err(NdbError::Corrupt { slot: 2, .. })
        ));
        let mut other = db.clone();
        other[SLOT_PAGE + 4] = 7;
        assert!(
            matches!(blobs(&other, 10), Err(NdbError::Corrupt { slot: 2, what }) if what.contains("another"))
        );
        let mut long = db.clone();
        long[SLOT_PAGE + 12..SLOT_PAGE + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            blobs(&long, 10),
            Err(NdbError::Corrupt { slot: 2, .. })
        ));
        let mut far = db;
        far[2 * SLOT + 8..2 * SLOT + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            blobs(&far, 10),
            Err(NdbError::Corrupt { slot: 2, .. })
        ));
    }
}
