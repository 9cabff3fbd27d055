//! A read-only reader of one table of an SQLite database held in memory:
//! enough of the file format (<https://www.sqlite.org/fileformat2.html>) to
//! list the rows of a rowid table, as rpm ≥ 4.16 keeps its packages in
//! `rpmdb.sqlite` (`CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY
//! AUTOINCREMENT, blob BLOB NOT NULL)`).
//!
//! Only the main database file is read: pages still in a `-wal` file beside
//! it (a database not checkpointed when its image was built) are not seen.
//! Every offset the file gives is checked against the page it lies in,
//! each page is visited at most once (b-tree and overflow pages alike), and
//! nothing is allocated by a size the file claims beyond what the file
//! itself holds.

use std::borrow::Cow;

/// What is wrong with a database file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqliteError {
    /// The first 16 bytes are not `SQLite format 3\0` (§1.3.1).
    #[error("not an SQLite 3 database (no \"SQLite format 3\" header)")]
    NotSqlite,
    /// A header field outside what the format allows (§1.3).
    #[error("bad database header: {0}")]
    Header(&'static str),
    /// Text is stored as UTF-16 (§1.3.13); only UTF-8 is read.
    #[error("text encoding {0} is not UTF-8; not read")]
    Encoding(u32),
    /// The file is shorter than its header says, or not whole pages.
    #[error("the file is {len} bytes, not the {expected} its header gives (truncated)")]
    Truncated {
        /// Bytes there are.
        len: usize,
        /// Bytes the header's page count and page size make.
        expected: u64,
    },
    /// The schema has no table of this name.
    #[error("no table {0:?} in the schema")]
    NoTable(String),
    /// A page number outside the file: the file is truncated or corrupt.
    #[error("page {page} is outside the file's {pages} pages (truncated?)")]
    PageOutOfRange {
        /// The page number asked for (1-based).
        page: u64,
        /// Pages the file holds.
        pages: u64,
    },
    /// A page reached twice: the b-tree or an overflow chain loops.
    #[error("page {0} is reached twice (a loop in the b-tree or an overflow chain)")]
    PageRevisited(u32),
    /// A b-tree page of a kind other than a table b-tree page (§1.6).
    #[error("page {page} has type {kind}, not a table b-tree page")]
    PageType {
        /// The page.
        page: u32,
        /// Its first header byte.
        kind: u8,
    },
    /// A cell, a pointer or a record that does not fit where it lies.
    #[error("page {page}: {what}")]
    Corrupt {
        /// The page it lies on.
        page: u32,
        /// What does not fit.
        what: &'static str,
    },
    /// A record whose wanted column is missing or not a BLOB.
    #[error("row {rowid}: column {column} is not a BLOB")]
    NotBlob {
        /// The row's rowid.
        rowid: i64,
        /// The 0-based column.
        column: usize,
    },
    /// More rows than the caller allows.
    #[error("the table has more than {0} rows")]
    TooManyRows(usize),
}

/// One row of a table: its rowid and the BLOB of the asked-for column,
/// borrowed from the file when it lies on one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRow<'a> {
    /// The row's rowid (`hnum` in rpm's `Packages`).
    pub rowid: i64,
    /// The column's bytes.
    pub blob: Cow<'a, [u8]>,
}

/// The BLOB in column `column` (0-based, the rowid alias counting as a
/// column) of every row of the rowid table `table` (names compare
/// ASCII-case-insensitively, as SQLite's do), in rowid order.
///
/// # Errors
///
/// A [`SqliteError`] when the file is not an SQLite 3 database, is
/// truncated or corrupt, has no such table, a row's column is not a BLOB,
/// or the table has more than `max_rows` rows.
pub fn table_blobs<'a>(
    file: &'a [u8],
    table: &str,
    column: usize,
    max_rows: usize,
) -> Result<Vec<BlobRow<'a>>, SqliteError> {
    let mut db = Database::open(file)?;
    let root = db.root_page(table)?;
    let mut rows = Vec::new();
    db.walk_table(root, |db, rowid, payload| {
        if rows.len() >= max_rows {
            return Err(SqliteError::TooManyRows(max_rows));
        }
        let blob =
            match record_column(&payload, column).map_err(|what| corrupt(db.current, what))? {
                Column::Blob(range) => match payload {
                    Cow::Borrowed(p) => Cow::Borrowed(&p[range]),
                    Cow::Owned(mut p) => {
                        p.truncate(range.end);
                        p.drain(..range.start);
                        Cow::Owned(p)
                    }
                },
                _ => return Err(SqliteError::NotBlob { rowid, column }),
            };
        rows.push(BlobRow { rowid, blob });
        Ok(())
    })?;
    Ok(rows)
}

/// §1.3: the database header's fixed string.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// §1.3: the header is the first 100 bytes of page 1.
const HEADER_LEN: usize = 100;
/// Page 1 is the root of the schema table (§2.6).
const SCHEMA_ROOT: u32 = 1;

/// b-tree page types (§1.6, the first byte of the b-tree page header).
const INTERIOR_TABLE: u8 = 0x05;
const LEAF_TABLE: u8 = 0x0d;

struct Database<'a> {
    file: &'a [u8],
    page_size: usize,
    /// Page size less the reserved bytes at the end of each page (§1.3.4).
    usable: usize,
    /// Pages the file holds.
    pages: u32,
    /// Pages already visited, by page number.
    seen: Vec<bool>,
    /// The page being read, for messages.
    current: u32,
}

fn corrupt(page: u32, what: &'static str) -> SqliteError {
    SqliteError::Corrupt { page, what }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> Database<'a> {
    fn open(file: &'a [u8]) -> Result<Database<'a>, SqliteError> {
        if file.len() < HEADER_LEN || &file[..16] != MAGIC {
            return Err(SqliteError::NotSqlite);
        }
        let field32 = |at| be32(file, at).unwrap_or(0);
        // §1.3.2: "The database page size in bytes. Must be a power of two
        // between 512 and 32768 inclusive, or the value 1 representing a
        // page size of 65536."
        let page_size = match be16(file, 16).unwrap_or(0) {
            1 => 65536,
            n if n >= 512 && n.is_power_of_two() => usize::from(n),
            _ => return Err(SqliteError::Header("page size")),
        };
        // §1.3.4: reserved bytes per page; "the usable size is not allowed
        // to be less than 480".
        let usable = page_size - usize::from(file[20]);
        if usable < 480 {
            return Err(SqliteError::Header("reserved space per page"));
        }
        // §1.3.5: "The maximum embedded payload fraction … must be 64.
        // The minimum embedded payload fraction … must be 32. The leaf
        // payload fraction … must be 32."
        if file[21..24] != [64, 32, 32] {
            return Err(SqliteError::Header("payload fractions"));
        }
        // §1.3.13: 1 UTF-8, 2 UTF-16le, 3 UTF-16be.
        let encoding = field32(56);
        if encoding != 1 {
            return Err(SqliteError::Encoding(encoding));
        }
        // §1.3.8: the in-header size is valid only when non-zero and the
        // change counter matches the version-valid-for number; otherwise
        // the size comes from the file's length. A file is whole pages.
        let in_file = u32::try_from(file.len() / page_size).unwrap_or(u32::MAX);
        let in_header = field32(28);
        let valid = in_header != 0 && field32(24) == field32(92);
        if valid && in_header > in_file {
            return Err(SqliteError::Truncated {
                len: file.len(),
                expected: u64::from(in_header) * page_size as u64,
            });
        }
        if !file.len().is_multiple_of(page_size) {
            return Err(SqliteError::Truncated {
                len: file.len(),
                expected: file.len().next_multiple_of(page_size) as u64,
            });
        }
        let pages = if valid { in_header } else { in_file };
        Ok(Database {
            file,
            page_size,
            usable,
            pages,
            seen: vec![false; pages as usize + 1],
            current: 0,
        })
    }

    /// Mark page `n` (1-based) as reached: a page outside the file or
    /// reached twice is an error.
    fn visit(&mut self, n: u32) -> Result<(), SqliteError> {
        match self.seen.get_mut(n as usize) {
            Some(seen) if n != 0 => {
                if std::mem::replace(seen, true) {
                    Err(SqliteError::PageRevisited(n))
                } else {
                    Ok(())
                }
            }
            _ => Err(SqliteError::PageOutOfRange {
                page: u64::from(n),
                pages: u64::from(self.pages),
            }),
        }
    }

    /// The usable bytes of page `n`, which [`Database::visit`] accepted.
    fn page(&self, n: u32) -> &'a [u8] {
        let start = (n as usize - 1) * self.page_size;
        &self.file[start..start + self.usable]
    }

    /// The root page of table `name`, from the schema table (§2.6: columns
    /// type, name, tbl_name, rootpage, sql).
    fn root_page(&mut self, name: &str) -> Result<u32, SqliteError> {
        let mut found = None;
        self.walk_table(SCHEMA_ROOT, |db, _, record| {
            let column = |i| record_column(&record, i).map_err(|what| corrupt(db.current, what));
            let is = |col: Column, want: &str| match col {
                Column::Text(r) => record[r].eq_ignore_ascii_case(want.as_bytes()),
                _ => false,
            };
            if found.is_none() && is(column(0)?, "table") && is(column(1)?, name) {
                found = Some(match column(3)? {
                    Column::Int(n) => u32::try_from(n).unwrap_or(0),
                    _ => 0,
                });
            }
            Ok(())
        })?;
        // The schema pages may hold the table's pages too: start afresh.
        self.seen.fill(false);
        match found {
            None => Err(SqliteError::NoTable(name.to_owned())),
            // A virtual table has root page 0.
            Some(0) => Err(corrupt(SCHEMA_ROOT, "the table has no root page")),
            Some(root) => Ok(root),
        }
    }

    /// Each row of the table b-tree rooted at `root`, in rowid order: its
    /// rowid and its whole payload (overflow pages followed).
    fn walk_table(
        &mut self,
        root: u32,
        mut row: impl FnMut(&Self, i64, Cow<'a, [u8]>) -> Result<(), SqliteError>,
    ) -> Result<(), SqliteError> {
        // Depth-first, children in key order. A page is marked when it is
        // pushed, so the stack never holds more than the file's pages.
        self.visit(root)?;
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            self.current = n;
            let page = self.page(n);
            // §1.6: page 1's b-tree header follows the database header.
            let at = if n == 1 { HEADER_LEN } else { 0 };
            let kind = page[at];
            let cells = usize::from(be16(page, at + 3).unwrap_or(0));
            let header_len = match kind {
                INTERIOR_TABLE => 12,
                LEAF_TABLE => 8,
                _ => return Err(SqliteError::PageType { page: n, kind }),
            };
            let pointers = at + header_len;
            if pointers + 2 * cells > page.len() {
                return Err(corrupt(n, "the cell pointer array runs past the page"));
            }
            let cell_at = |i: usize| -> Result<&'a [u8], SqliteError> {
                let offset = usize::from(be16(page, pointers + 2 * i).unwrap_or(0));
                if offset < pointers + 2 * cells || offset >= page.len() {
                    return Err(corrupt(n, "a cell pointer points outside the cell area"));
                }
                Ok(&page[offset..])
            };
            if kind == INTERIOR_TABLE {
                // §1.6: interior cells are a 4-byte left child page and a
                // varint key; the right-most pointer is at offset 8.
                let mut children = Vec::with_capacity(cells + 1);
                for i in 0..cells {
                    let cell = cell_at(i)?;
                    children.push(be32(cell, 0).ok_or_else(|| corrupt(n, "short interior cell"))?);
                }
                children.push(be32(page, at + 8).unwrap_or(0));
                for child in children.into_iter().rev() {
                    self.visit(child)?;
                    stack.push(child);
                }
                continue;
            }
            for i in 0..cells {
                let cell = cell_at(i)?;
                let (rowid, payload) = self.leaf_cell(n, cell)?;
                row(self, rowid, payload)?;
            }
        }
        Ok(())
    }

    /// A table leaf cell (§1.6): varint payload size, varint rowid, the
    /// payload's first bytes, and when it spills a 4-byte first overflow
    /// page.
    fn leaf_cell(&mut self, n: u32, cell: &'a [u8]) -> Result<(i64, Cow<'a, [u8]>), SqliteError> {
        let short = || corrupt(n, "a leaf cell runs past the page");
        let (size, a) = varint(cell).ok_or_else(short)?;
        let (rowid, b) = varint(&cell[a..]).ok_or_else(short)?;
        let rest = &cell[a + b..];
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > self.file.len() {
            return Err(corrupt(n, "a payload is larger than the file"));
        }
        let local = self.local_payload(size);
        if local == size {
            let payload = rest.get(..size).ok_or_else(short)?;
            return Ok((rowid as i64, Cow::Borrowed(payload)));
        }
        let first = rest.get(..local).ok_or_else(short)?;
        let mut next = be32(rest, local).ok_or_else(short)?;
        let mut payload = Vec::with_capacity(size.min(1 << 20));
        payload.extend_from_slice(first);
        // §1.7: each overflow page is a 4-byte next page number and then
        // usable-size − 4 bytes of payload; the last has next page 0.
        while payload.len() < size {
            if next == 0 {
                return Err(corrupt(n, "an overflow chain ends before its payload does"));
            }
            self.visit(next)?;
            let page = self.page(next);
            let take = (size - payload.len()).min(page.len() - 4);
            payload.extend_from_slice(&page[4..4 + take]);
            next = be32(page, 0).unwrap_or(0);
        }
        self.current = n;
        Ok((rowid as i64, Cow::Owned(payload)))
    }

    /// §1.6: how many of a table leaf cell's `size` payload bytes are on
    /// the b-tree page. "Let X be U-35. If the payload size P is less than
    /// or equal to X then the entire payload is stored on the b-tree leaf
    /// page. Let M be ((U-12)*32/255)-23 and let K be M+((P-M)%(U-4)). If
    /// P is greater than X then the number of bytes stored on the table
    /// b-tree leaf page is K if K is less or equal to X or M otherwise."
    fn local_payload(&self, size: usize) -> usize {
        let u = self.usable;
        let x = u - 35;
        if size <= x {
            return size;
        }
        let m = ((u - 12) * 32 / 255) - 23;
        let k = m + ((size - m) % (u - 4));
        if k <= x { k } else { m }
    }
}

/// §1.5 varint: 1 to 9 bytes, big-endian, 7 bits a byte with the high bit
/// set on all but the last, the ninth byte giving 8 bits. The value and
/// the bytes read; `None` when the input ends first.
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..9 {
        let byte = *b.get(i)?;
        if i == 8 {
            return Some(((v << 8) | u64::from(byte), 9));
        }
        v = (v << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// One column of a record, as far as the reader cares.
enum Column {
    Blob(std::ops::Range<usize>),
    Text(std::ops::Range<usize>),
    Int(i64),
    Other,
}

/// Column `index` of a record (§2.1: a varint header size, the serial
/// types as varints, then the values in order).
fn record_column(record: &[u8], index: usize) -> Result<Column, &'static str> {
    const BAD: &str = "a record's header runs past its payload";
    let (header_len, mut at) = varint(record).ok_or(BAD)?;
    let header_len = usize::try_from(header_len).map_err(|_| BAD)?;
    if header_len > record.len() || at > header_len {
        return Err(BAD);
    }
    let mut body = header_len;
    let mut i = 0;
    while at < header_len {
        let (serial, used) = varint(&record[at..header_len]).ok_or(BAD)?;
        at += used;
        // §2.1 serial types: 0 NULL; 1-6 big-endian integers of 1, 2, 3,
        // 4, 6, 8 bytes; 7 a float; 8 and 9 the integers 0 and 1; N ≥ 12
        // even a BLOB of (N-12)/2 bytes, odd a text of (N-13)/2 bytes.
        let len = match serial {
            0 | 8 | 9 => 0,
            1..=4 => serial as usize,
            5 => 6,
            6 | 7 => 8,
            10 | 11 => return Err("a record uses a reserved serial type"),
            n => usize::try_from((n - 12) / 2).map_err(|_| BAD)?,
        };
        let end = body
            .checked_add(len)
            .filter(|&e| e <= record.len())
            .ok_or("a record's value runs past its payload")?;
        if i == index {
            return Ok(match serial {
                8 => Column::Int(0),
                9 => Column::Int(1),
                1..=6 => {
                    let bytes = &record[body..end];
                    let mut v: i64 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
                    for b in bytes {
                        v = (v << 8) | i64::from(*b);
                    }
                    Column::Int(v)
                }
                n if n >= 12 && n % 2 == 0 => Column::Blob(body..end),
                n if n >= 13 => Column::Text(body..end),
                _ => Column::Other,
            });
        }
        body = end;
        i += 1;
    }
    Ok(Column::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_of_one_to_nine_bytes() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00]), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9]), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81]), None);
        assert_eq!(varint(&[]), None);
    }

    #[test]
    fn records_give_their_columns() {
        // Header: size 4, NULL, BLOB of 2, text of 1; body: blob, text.
        let record = [4, 0, 16, 15, 0xaa, 0xbb, b'x'];
        assert!(matches!(record_column(&record, 0), Ok(Column::Other)));
        assert!(matches!(record_column(&record, 1), Ok(Column::Blob(r)) if r == (4..6)));
        assert!(matches!(record_column(&record, 2), Ok(Column::Text(r)) if r == (6..7)));
        assert!(matches!(record_column(&record, 3), Ok(Column::Other)));
        // A BLOB longer than the record.
        assert!(record_column(&[3, 0, 40, 1], 1).is_err());
        // A header longer than the record.
        assert!(record_column(&[9, 0], 1).is_err());
        // Integers, sign-extended.
        assert!(matches!(
            record_column(&[3, 1, 2, 0xff, 0x01, 0x00], 0),
            Ok(Column::Int(-1))
        ));
        assert!(matches!(
            record_column(&[3, 1, 2, 0xff, 0x01, 0x00], 1),
            Ok(Column::Int(256))
        ));
    }

    #[test]
    fn local_payload_follows_the_spec_formula() {
        let db = Database {
            file: &[],
            page_size: 4096,
            usable: 4096,
            pages: 0,
            seen: Vec::new(),
            current: 0,
        };
        // X = 4061, M = 489.
        assert_eq!(db.local_payload(4061), 4061);
        // K = M + (P - M) % (U - 4) = 4062 > X: M.
        assert_eq!(db.local_payload(4062), 489);
        assert_eq!(db.local_payload(489 + 4092 * 3), 489);
        assert_eq!(db.local_payload(489 + 4092 + 3000), 489 + 3000);
        assert_eq!(db.local_payload(489 + 4092 + 3572), 4061);
        assert_eq!(db.local_payload(489 + 4092 + 3573), 489);
    }

    #[test]
    fn not_sqlite_and_bad_headers_are_refused() {
        assert_eq!(table_blobs(b"", "t", 1, 10), Err(SqliteError::NotSqlite));
        let mut header = vec![0u8; 512];
        header[..16].copy_from_slice(MAGIC);
        header[16..18].copy_from_slice(&1000u16.to_be_bytes());
        assert_eq!(
            table_blobs(&header, "t", 1, 10),
            Err(SqliteError::Header("page size"))
        );
        header[16..18].copy_from_slice(&512u16.to_be_bytes());
        header[21..24].copy_from_slice(&[64, 32, 32]);
        assert_eq!(
            table_blobs(&header, "t", 1, 10),
            Err(SqliteError::Encoding(0))
        );
        header[56..60].copy_from_slice(&1u32.to_be_bytes());
        // Page 1 is all zeros: type 0 is no b-tree page.
        assert_eq!(
            table_blobs(&header, "t", 1, 10),
            Err(SqliteError::PageType { page: 1, kind: 0 })
        );
        header[100] = LEAF_TABLE;
        assert_eq!(
            table_blobs(&header, "t", 1, 10),
            Err(SqliteError::NoTable("t".into()))
        );
    }
}
