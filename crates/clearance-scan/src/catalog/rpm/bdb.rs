//! The values of a Berkeley DB hash database held in memory, as rpm
//! before 4.16 keeps its `Packages` (RHEL and CentOS ≤ 8, Amazon Linux 2).
//!
//! The layout is Berkeley DB's (`dbinc/db_page.h`): page 0 is the hash
//! metadata page (magic `0x061561` at byte 12, in the byte order of the
//! machine that wrote it, which the magic tells; page size at 20; page
//! type 8 at 25; last page number at 32). Every page starts with a
//! 26-byte header (page number at 8, next page at 16, entry count at 20,
//! `hf_offset` at 22, type at 25). A hash page (type 13, or 2 before
//! Berkeley DB 4.6) has after its header an array of 2-byte item offsets,
//! keys and values alternating; an item starts with its kind: 1 the bytes
//! inline (up to the previous item's offset, or the page end for the
//! first), 3 a value on overflow pages (page number at 4, total length
//! at 8). Overflow pages (type 7) hold `hf_offset` bytes each after their
//! header and chain through their next-page field.
//!
//! rpm's keys are package numbers; key 0 holds rpm's next free number,
//! not a header, and is passed over. Pages are read in file order, each
//! overflow page at most once, and no size the file gives is trusted past
//! the file's own length.

use std::borrow::Cow;

/// What is wrong with a Berkeley DB file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BdbError {
    /// No hash database magic at byte 12.
    #[error("not a Berkeley DB hash database")]
    NotBdb,
    /// A metadata field outside what rpm's databases use.
    #[error("bad Berkeley DB metadata: {0}")]
    Metadata(&'static str),
    /// The file ends before its last page.
    #[error(
        "the file is {len} bytes, shorter than its {pages} pages of {page_size} bytes (truncated)"
    )]
    Truncated {
        /// Bytes there are.
        len: usize,
        /// Pages the metadata gives.
        pages: u64,
        /// Bytes per page.
        page_size: usize,
    },
    /// An item, offset or chain that does not fit.
    #[error("page {page}: {what}")]
    Corrupt {
        /// The page it lies on.
        page: u32,
        /// What does not fit.
        what: &'static str,
    },
    /// More values than the caller allows.
    #[error("the database holds more than {0} values")]
    TooManyValues(usize),
}

/// Page types (`db_page.h`).
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
/// Item kinds on a hash page.
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
/// Bytes of a page header.
const PAGE_HEADER: usize = 26;
const MAGIC: u32 = 0x0006_1561;

/// Whether `file` starts like a Berkeley DB hash database.
pub fn is_bdb(file: &[u8]) -> bool {
    file.get(12..16)
        .is_some_and(|m| m == MAGIC.to_le_bytes() || m == MAGIC.to_be_bytes())
}

/// A value and its key: an rpm package number and its header, borrowed
/// from the file when it lies inline on a hash page.
pub type Value<'a> = (u32, Cow<'a, [u8]>);

/// Every value of the hash database `file` whose key is not rpm's key 0,
/// each with its key as a number, in page order.
///
/// # Errors
///
/// A [`BdbError`] when the file is not a hash database, is encrypted,
/// truncated or corrupt, or holds more than `max_values` values.
pub fn values(file: &[u8], max_values: usize) -> Result<Vec<Value<'_>>, BdbError> {
    let db = Bdb::open(file)?;
    let mut seen = vec![false; db.pages as usize];
    let mut out = Vec::new();
    for n in 1..db.pages {
        let p = db.page(n);
        if !matches!(p[25], P_HASH | P_HASH_UNSORTED) {
            continue;
        }
        let corrupt = |what| BdbError::Corrupt { page: n, what };
        let entries = usize::from(db.u16_at(p, 20));
        let items_start = PAGE_HEADER + 2 * entries;
        if entries % 2 != 0 || items_start > p.len() {
            return Err(corrupt("the item count does not fit the page"));
        }
        // Items lie from the end of the page down, in index order: each
        // ends where the one before it starts.
        let mut end = p.len();
        let mut items = Vec::with_capacity(entries);
        for i in 0..entries {
            let start = usize::from(db.u16_at(p, PAGE_HEADER + 2 * i));
            if start < items_start || start >= end {
                return Err(corrupt("an item lies outside the page's item area"));
            }
            items.push(&p[start..end]);
            end = start;
        }
        for pair in items.chunks_exact(2) {
            let (key, value) = (pair[0], pair[1]);
            if key[0] != H_KEYDATA || key.len() != 5 {
                return Err(corrupt("a key is not a 4-byte package number"));
            }
            let number = db.u32_at(key, 1);
            if number == 0 {
                continue;
            }
            if out.len() >= max_values {
                return Err(BdbError::TooManyValues(max_values));
            }
            let bytes = match value[0] {
                H_KEYDATA => Cow::Borrowed(&value[1..]),
                H_OFFPAGE if value.len() >= 12 => {
                    let first = db.u32_at(value, 4);
                    let total = db.u32_at(value, 8) as usize;
                    Cow::Owned(db.overflow(first, total, &mut seen)?)
                }
                _ => return Err(corrupt("a value is neither inline nor on overflow pages")),
            };
            out.push((number, bytes));
        }
    }
    Ok(out)
}

struct Bdb<'a> {
    file: &'a [u8],
    /// Whether the writer was big-endian.
    big: bool,
    page_size: usize,
    /// Pages the metadata gives, all inside the file.
    pages: u32,
}

impl<'a> Bdb<'a> {
    fn open(file: &'a [u8]) -> Result<Bdb<'a>, BdbError> {
        if !is_bdb(file) {
            return Err(BdbError::NotBdb);
        }
        let mut db = Bdb {
            file,
            big: file[12..16] == MAGIC.to_be_bytes(),
            page_size: 512,
            pages: 1,
        };
        if file.len() < 512 {
            return Err(BdbError::Truncated {
                len: file.len(),
                pages: 1,
                page_size: 512,
            });
        }
        let page_size = db.u32_at(file, 20) as usize;
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(BdbError::Metadata("page size"));
        }
        if file[24] != 0 {
            return Err(BdbError::Metadata("the database is encrypted"));
        }
        if file[25] != P_HASHMETA {
            return Err(BdbError::Metadata("page 0 is not a hash metadata page"));
        }
        let pages = u64::from(db.u32_at(file, 32)) + 1;
        if pages.saturating_mul(page_size as u64) > file.len() as u64 {
            return Err(BdbError::Truncated {
                len: file.len(),
                pages,
                page_size,
            });
        }
        db.page_size = page_size;
        db.pages = u32::try_from(pages).map_err(|_| BdbError::Metadata("page count"))?;
        Ok(db)
    }

    /// Page `n`, which must be below `pages`.
    fn page(&self, n: u32) -> &'a [u8] {
        let start = n as usize * self.page_size;
        &self.file[start..start + self.page_size]
    }

    /// A 16-bit number at `at` of `b` (within a page header or index).
    fn u16_at(&self, b: &[u8], at: usize) -> u16 {
        let bytes = [b[at], b[at + 1]];
        if self.big {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        }
    }

    /// A 32-bit number at `at` of `b`.
    fn u32_at(&self, b: &[u8], at: usize) -> u32 {
        let bytes = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.big {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }
    }

    /// The `total` bytes of the overflow chain starting at page `first`;
    /// a page in `seen` is not read twice.
    fn overflow(&self, first: u32, total: usize, seen: &mut [bool]) -> Result<Vec<u8>, BdbError> {
        if total > self.file.len() {
            return Err(BdbError::Corrupt {
                page: first,
                what: "an overflow value is larger than the file",
            });
        }
        let mut out = Vec::with_capacity(total.min(1 << 20));
        let mut next = first;
        while out.len() < total {
            let corrupt = |what| BdbError::Corrupt { page: next, what };
            if next == 0 || next >= self.pages {
                return Err(corrupt(
                    "an overflow chain leaves the file before its value ends",
                ));
            }
            if std::mem::replace(&mut seen[next as usize], true) {
                return Err(corrupt("an overflow page is reached twice"));
            }
            let p = self.page(next);
            if p[25] != P_OVERFLOW {
                return Err(corrupt(
                    "an overflow chain reaches a page that is not an overflow page",
                ));
            }
            let len = usize::from(self.u16_at(p, 22));
            let data = p
                .get(PAGE_HEADER..PAGE_HEADER + len)
                .ok_or_else(|| corrupt("an overflow page claims more bytes than it has"))?;
            let take = len.min(total - out.len());
            out.extend_from_slice(&data[..take]);
            next = self.u32_at(p, 16);
        }
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A little-endian hash database of 512-byte pages holding these
    /// values under keys 1, 2, …, after rpm's key 0; values over 100
    /// bytes go to overflow pages.
    pub(crate) fn database(values: &[&[u8]]) -> Vec<u8> {
        const PS: usize = 512;
        let mut pages: Vec<Vec<u8>> = vec![vec![0; PS]];
        let mut hash = vec![0u8; PS];
        hash[25] = P_HASH;
        let hash_no = 1;
        pages.push(Vec::new());
        let mut items: Vec<Vec<u8>> =
            vec![vec![H_KEYDATA, 0, 0, 0, 0], vec![H_KEYDATA, 9, 0, 0, 0]];
        for (i, v) in values.iter().enumerate() {
            let mut key = vec![H_KEYDATA];
            key.extend_from_slice(&(i as u32 + 1).to_le_bytes());
            items.push(key);
            if v.len() <= 100 {
                let mut item = vec![H_KEYDATA];
                item.extend_from_slice(v);
                items.push(item);
                continue;
            }
            let first = pages.len() as u32;
            let chunks: Vec<&[u8]> = v.chunks(PS - PAGE_HEADER).collect();
            for (c, chunk) in chunks.iter().enumerate() {
                let mut p = vec![0u8; PS];
                p[8..12].copy_from_slice(&(pages.len() as u32).to_le_bytes());
                if c + 1 < chunks.len() {
                    p[16..20].copy_from_slice(&(pages.len() as u32 + 1).to_le_bytes());
                }
                p[22..24].copy_from_slice(&(chunk.len() as u16).to_le_bytes());
                p[25] = P_OVERFLOW;
                p[PAGE_HEADER..PAGE_HEADER + chunk.len()].copy_from_slice(chunk);
                pages.push(p);
            }
            let mut item = vec![H_OFFPAGE, 0, 0, 0];
            item.extend_from_slice(&first.to_le_bytes());
            item.extend_from_slice(&(v.len() as u32).to_le_bytes());
            items.push(item);
        }
        let mut end = PS;
        hash[20..22].copy_from_slice(&(items.len() as u16).to_le_bytes());
        for (i, item) in items.iter().enumerate() {
            end -= item.len();
            hash[end..end + item.len()].copy_from_slice(item);
            hash[PAGE_HEADER + 2 * i..PAGE_HEADER + 2 * i + 2]
                .copy_from_slice(&(end as u16).to_le_bytes());
        }
        pages[hash_no] = hash;
        let meta = &mut pages[0];
        meta[12..16].copy_from_slice(&MAGIC.to_le_bytes());
        meta[20..24].copy_from_slice(&(PS as u32).to_le_bytes());
        meta[25] = P_HASHMETA;
        let last = pages.len() as u32 - 1;
        pages[0][32..36].copy_from_slice(&last.to_le_bytes());
        pages.concat()
    }

    #[test]
    fn inline_and_overflow_values_are_read_and_key_zero_skipped() {
        let long: Vec<u8> = (0..2000).map(|i| i as u8).collect();
        let db = database(&[b"short", &long]);
        let got = values(&db, 10).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].0, &got[0].1[..]), (1, &b"short"[..]));
        assert_eq!((got[1].0, &got[1].1[..]), (2, &long[..]));
        assert_eq!(values(&db, 1), Err(BdbError::TooManyValues(1)));
    }

    #[test]
    fn truncated_looping_and_foreign_files_are_refused() {
        let long = vec![7u8; 2000];
        let db = database(&[&long]);
        assert_eq!(values(b"", 10), Err(BdbError::NotBdb));
        assert!(matches!(
            values(&db[..db.len() - 1], 10),
            Err(BdbError::Truncated { .. })
        ));
        // The last overflow page points back at the first.
        let mut looped = db.clone();
        let last = looped.len() - 512;
        looped[last + 16..last + 20].copy_from_slice(&2u32.to_le_bytes());
        looped[last + 22..last + 24].copy_from_slice(&10u16.to_le_bytes());
        assert!(matches!(
            values(&looped, 10),
            Err(BdbError::Corrupt { what, .. }) if what.contains("twice")
        ));
        // An overflow length past the page.
        let mut long_page = db.clone();
        long_page[2 * 512 + 22..2 * 512 + 24].copy_from_slice(&600u16.to_le_bytes());
        assert!(matches!(
            values(&long_page, 10),
            Err(BdbError::Corrupt { page: 2, .. })
        ));
        // An item offset inside the index.
        let mut bad = db.clone();
        bad[512 + 26..512 + 28].copy_from_slice(&3u16.to_le_bytes());
        assert!(matches!(
            values(&bad, 10),
            Err(BdbError::Corrupt { page: 1, .. })
        ));
        let mut encrypted = db;
        encrypted[24] = 1;
        assert_eq!(
            values(&encrypted, 10),
            Err(BdbError::Metadata("the database is encrypted"))
        );
    }
}
