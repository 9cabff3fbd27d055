//! An rpm header as the rpm database stores it (rpm `lib/header.c`,
//! `headerImport`; the layout is the "Header Structure" of the rpm file
//! format, without the 8-byte magic that precedes it in a package file):
//!
//! ```text
//! il: u32 BE   number of index entries
//! dl: u32 BE   bytes of the data store
//! il × { tag: u32 BE, type: u32 BE, offset: i32 BE, count: u32 BE }
//! dl bytes of data: strings NUL-terminated, integers big-endian
//! ```
//!
//! Nothing is copied or allocated by a count the header gives before the
//! bytes that count describes are known to be there.

/// rpm tag numbers (rpm `include/rpm/rpmtag.h`).
pub mod tag {
    /// `RPMTAG_NAME`, a string.
    pub const NAME: u32 = 1000;
    /// `RPMTAG_VERSION`, a string.
    pub const VERSION: u32 = 1001;
    /// `RPMTAG_RELEASE`, a string.
    pub const RELEASE: u32 = 1002;
    /// `RPMTAG_EPOCH`, one INT32; absent when the package has none.
    pub const EPOCH: u32 = 1003;
    /// `RPMTAG_ARCH`, a string (`x86_64`, `noarch`).
    pub const ARCH: u32 = 1022;
    /// `RPMTAG_OLDFILENAMES`, absolute paths (packages from before rpm 4).
    pub const OLDFILENAMES: u32 = 1027;
    /// `RPMTAG_SOURCERPM`, a string (`openssl-3.0.7-24.el9.src.rpm`).
    pub const SOURCERPM: u32 = 1044;
    /// `RPMTAG_DIRINDEXES`, INT32 per file: its index in `DIRNAMES`.
    pub const DIRINDEXES: u32 = 1116;
    /// `RPMTAG_BASENAMES`, a string array: each file's name.
    pub const BASENAMES: u32 = 1117;
    /// `RPMTAG_DIRNAMES`, a string array: directories, ending in `/`.
    pub const DIRNAMES: u32 = 1118;
}

/// rpm data types (`rpmTagType`).
const INT32: u32 = 4;
const STRING: u32 = 6;
const STRING_ARRAY: u32 = 8;

/// Bytes of one index entry.
const ENTRY_LEN: usize = 16;
/// rpm refuses headers with this many index entries or more
/// (`hdrchkTags`: `il & 0xffff0000`).
const MAX_ENTRIES: usize = 0x1_0000;

/// What is wrong with a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Shorter than its index and data store say.
    #[error(
        "header of {len} bytes is shorter than its {entries} index entries and {data} data bytes"
    )]
    Truncated {
        /// Bytes there are.
        len: usize,
        /// Index entries it claims.
        entries: u64,
        /// Data bytes it claims.
        data: u64,
    },
    /// More index entries than rpm accepts.
    #[error("header claims {0} index entries; rpm accepts fewer than 65536")]
    TooManyEntries(u64),
    /// A tag whose type, offset or count does not fit.
    #[error("tag {tag}: {what}")]
    BadTag {
        /// The tag number.
        tag: u32,
        /// What is wrong.
        what: &'static str,
    },
}

/// A parsed header: its index and data store, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    index: &'a [u8],
    data: &'a [u8],
}

impl<'a> Header<'a> {
    /// Check the header's sizes and split it into index and data.
    ///
    /// # Errors
    ///
    /// [`HeaderError::Truncated`] when the bytes are fewer than the sizes
    /// given, [`HeaderError::TooManyEntries`] past rpm's limit.
    pub fn parse(blob: &'a [u8]) -> Result<Header<'a>, HeaderError> {
        let word = |at: usize| {
            blob.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
        };
        let (Some(il), Some(dl)) = (word(0), word(4)) else {
            return Err(HeaderError::Truncated {
                len: blob.len(),
                entries: 0,
                data: 0,
            });
        };
        let (entries, data) = (il as usize, dl as usize);
        if entries >= MAX_ENTRIES {
            return Err(HeaderError::TooManyEntries(u64::from(il)));
        }
        let index_end = 8 + entries * ENTRY_LEN;
        let Some(data_end) = index_end.checked_add(data).filter(|&e| e <= blob.len()) else {
            return Err(HeaderError::Truncated {
                len: blob.len(),
                entries: u64::from(il),
                data: u64::from(dl),
            });
        };
        Ok(Header {
            index: &blob[8..index_end],
            data: &blob[index_end..data_end],
        })
    }

    /// The first index entry for `tag`: type, data offset, count.
    fn entry(&self, tag: u32) -> Option<(u32, usize, usize)> {
        self.index.chunks_exact(ENTRY_LEN).find_map(|e| {
            let field = |i: usize| u32::from_be_bytes([e[i], e[i + 1], e[i + 2], e[i + 3]]);
            (field(0) == tag).then(|| (field(4), field(8) as usize, field(12) as usize))
        })
    }

    /// The data of `tag` when it has type `kind`, from its offset on.
    fn data_of(&self, tag: u32, kind: u32) -> Result<Option<(&'a [u8], usize)>, HeaderError> {
        let Some((ty, offset, count)) = self.entry(tag) else {
            return Ok(None);
        };
        if ty != kind {
            return Err(HeaderError::BadTag {
                tag,
                what: "unexpected data type",
            });
        }
        // An offset is a signed 32-bit number; a negative one is past any
        // store rpm accepts, as is one past the end.
        match self.data.get(offset..) {
            Some(rest) if offset < self.data.len() => Ok(Some((rest, count))),
            _ => Err(HeaderError::BadTag {
                tag,
                what: "data offset past the data store",
            }),
        }
    }

    /// A STRING tag's value (lossy UTF-8), `None` when absent.
    ///
    /// # Errors
    ///
    /// [`HeaderError::BadTag`] when the tag is not a single NUL-terminated
    /// string inside the data store.
    pub fn string(&self, tag: u32) -> Result<Option<String>, HeaderError> {
        let Some((rest, _)) = self.data_of(tag, STRING)? else {
            return Ok(None);
        };
        let end = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or(HeaderError::BadTag {
                tag,
                what: "string without its terminating NUL",
            })?;
        Ok(Some(String::from_utf8_lossy(&rest[..end]).into_owned()))
    }

    /// An INT32 tag's values, `None` when absent.
    ///
    /// # Errors
    ///
    /// [`HeaderError::BadTag`] when the values run past the data store.
    pub fn int32s(&self, tag: u32) -> Result<Option<Vec<u32>>, HeaderError> {
        let Some((rest, count)) = self.data_of(tag, INT32)? else {
            return Ok(None);
        };
        let bytes =
            count
                .checked_mul(4)
                .and_then(|n| rest.get(..n))
                .ok_or(HeaderError::BadTag {
                    tag,
                    what: "integers run past the data store",
                })?;
        Ok(Some(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ))
    }

    /// A STRING_ARRAY tag's values (raw bytes, without their NULs), `None`
    /// when absent.
    ///
    /// # Errors
    ///
    /// [`HeaderError::BadTag`] when fewer NUL-terminated strings than its
    /// count lie in the data store.
    pub fn strings(&self, tag: u32) -> Result<Option<Vec<&'a [u8]>>, HeaderError> {
        let Some((rest, count)) = self.data_of(tag, STRING_ARRAY)? else {
            return Ok(None);
        };
        let missing = HeaderError::BadTag {
            tag,
            what: "fewer strings than its count",
        };
        // Each string takes at least its NUL: a count over the bytes left
        // cannot be met, and is refused before anything is allocated.
        if count > rest.len() {
            return Err(missing);
        }
        let mut out = Vec::with_capacity(count);
        let mut pieces = rest.split(|b| *b == 0);
        let mut used = 0;
        for _ in 0..count {
            let s = pieces.next().ok_or_else(|| missing.clone())?;
            used += s.len() + 1;
            if used > rest.len() {
                return Err(missing);
            }
            out.push(s);
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A header blob with these (tag, type, data, count) entries, data laid
    /// out in order.
    pub(crate) fn blob(entries: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, ty, bytes, count) in entries {
            if *ty == INT32 {
                while data.len() % 4 != 0 {
                    data.push(0);
                }
            }
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&ty.to_be_bytes());
            index.extend_from_slice(&(data.len() as u32).to_be_bytes());
            index.extend_from_slice(&count.to_be_bytes());
            data.extend_from_slice(bytes);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&index);
        out.extend_from_slice(&data);
        out
    }

    #[test]
    fn tags_are_read_by_type() {
        let b = blob(&[
            (tag::NAME, STRING, b"bash\0", 1),
            (tag::EPOCH, INT32, &1u32.to_be_bytes(), 1),
            (tag::BASENAMES, STRING_ARRAY, b"a\0bc\0", 2),
        ]);
        let h = Header::parse(&b).unwrap();
        assert_eq!(h.string(tag::NAME).unwrap().as_deref(), Some("bash"));
        assert_eq!(h.int32s(tag::EPOCH).unwrap(), Some(vec![1]));
        assert_eq!(
            h.strings(tag::BASENAMES).unwrap(),
            Some(vec![&b"a"[..], &b"bc"[..]])
        );
        assert_eq!(h.string(tag::VERSION).unwrap(), None);
    }

    #[test]
    fn sizes_types_offsets_and_counts_are_checked() {
        assert!(matches!(
            Header::parse(&[0, 0, 0]),
            Err(HeaderError::Truncated { .. })
        ));
        let mut b = blob(&[(tag::NAME, STRING, b"bash\0", 1)]);
        b.pop();
        assert!(matches!(
            Header::parse(&b),
            Err(HeaderError::Truncated {
                len: 28,
                entries: 1,
                data: 5
            })
        ));
        assert_eq!(
            Header::parse(&[0, 1, 0, 0, 0, 0, 0, 0]).unwrap_err(),
            HeaderError::TooManyEntries(65536)
        );
        let bad = |entries: &[(u32, u32, &[u8], u32)], f: fn(&Header<'_>) -> bool| {
            let b = blob(entries);
            let h = Header::parse(&b).unwrap();
            assert!(f(&h));
        };
        // A string without NUL, of the wrong type, counts past the store.
        bad(&[(tag::NAME, STRING, b"bash", 1)], |h| {
            h.string(tag::NAME).is_err()
        });
        bad(&[(tag::NAME, INT32, b"bash", 1)], |h| {
            h.string(tag::NAME).is_err()
        });
        bad(&[(tag::EPOCH, INT32, &[0; 4], 2)], |h| {
            h.int32s(tag::EPOCH).is_err()
        });
        bad(&[(tag::EPOCH, INT32, &[0; 4], u32::MAX)], |h| {
            h.int32s(tag::EPOCH).is_err()
        });
        bad(&[(tag::BASENAMES, STRING_ARRAY, b"a\0b", 2)], |h| {
            h.strings(tag::BASENAMES).is_err()
        });
        bad(&[(tag::BASENAMES, STRING_ARRAY, b"a\0", u32::MAX)], |h| {
            h.strings(tag::BASENAMES).is_err()
        });
        // An offset past the data store.
        let mut b = blob(&[(tag::NAME, STRING, b"x\0", 1)]);
        b[16..20].copy_from_slice(&2u32.to_be_bytes());
        assert!(Header::parse(&b).unwrap().string(tag::NAME).is_err());
        b[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Header::parse(&b).unwrap().string(tag::NAME).is_err());
    }
}
