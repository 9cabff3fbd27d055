//! PAX extended header records (POSIX.1-2001 `pax` format, "pax Extended
//! Header"), parsed by length as Go's `archive/tar` parses them, not by
//! splitting on newlines (a value may hold one).

use super::TarError;

/// The records of one `x` header that Clearance uses; the rest are ignored,
/// as container runtimes ignore them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct PaxRecords {
    pub path: Option<Vec<u8>>,
    pub linkpath: Option<Vec<u8>>,
    pub size: Option<u64>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub sparse: PaxSparse,
}

/// GNU's sparse-file records in a PAX header (formats 0.0, 0.1 and 1.0).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct PaxSparse {
    pub major: Option<String>,
    pub minor: Option<String>,
    /// `GNU.sparse.name`: the file's real name (the header's is a placeholder).
    pub name: Option<Vec<u8>>,
    /// `GNU.sparse.size` or, failing that, `GNU.sparse.realsize`.
    pub real_size: Option<String>,
    pub numblocks: Option<String>,
    /// `GNU.sparse.map` (0.1), or the 0.0 `offset`/`numbytes` records joined.
    pub map: Vec<String>,
}

/// Which GNU sparse format a PAX header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SparseFormat {
    /// 0.0 or 0.1: the map is in the PAX records.
    InRecords,
    /// 1.0: the map opens the entry's data, in whole 512-byte blocks.
    InData,
}

impl PaxSparse {
    /// The format, decided as GNU tar and Go decide it; `None` when the
    /// entry is not a PAX sparse file (or an unknown version, left as is).
    pub fn format(&self) -> Option<SparseFormat> {
        match (self.major.as_deref(), self.minor.as_deref()) {
            (Some("0"), Some("0" | "1")) => Some(SparseFormat::InRecords),
            (Some("1"), Some("0")) => Some(SparseFormat::InData),
            (None, None) if !self.map.is_empty() => Some(SparseFormat::InRecords),
            _ => None,
        }
    }
}

/// Parse the data of an `x` header: records `"%d %s=%s\n"` whose length
/// counts the whole record.
pub(super) fn parse(mut data: &[u8]) -> Result<PaxRecords, TarError> {
    let mut out = PaxRecords::default();
    while !data.is_empty() {
        let (key, value, rest) = record(data)?;
        data = rest;
        if value.is_empty() {
            continue; // an empty value keeps the header's own field
        }
        let text = || String::from_utf8_lossy(value).into_owned();
        match key {
            b"path" => out.path = Some(value.to_vec()),
            b"linkpath" => out.linkpath = Some(value.to_vec()),
            b"size" => out.size = Some(number(key, value)?),
            b"uid" => out.uid = Some(number(key, value)?),
            b"gid" => out.gid = Some(number(key, value)?),
            b"GNU.sparse.major" => out.sparse.major = Some(text()),
            b"GNU.sparse.minor" => out.sparse.minor = Some(text()),
            b"GNU.sparse.name" => out.sparse.name = Some(value.to_vec()),
            b"GNU.sparse.size" => out.sparse.real_size = Some(text()),
            b"GNU.sparse.realsize" => {
                out.sparse.real_size.get_or_insert_with(text);
            }
            b"GNU.sparse.numblocks" => out.sparse.numblocks = Some(text()),
            b"GNU.sparse.map" => out.sparse.map = vec![text()],
            // 0.0: offset and numbytes alternate, one pair per region.
            b"GNU.sparse.offset" | b"GNU.sparse.numbytes" => {
                let expect_offset = out.sparse.map.len() % 2 == 0;
                if (key == b"GNU.sparse.offset") != expect_offset || value.contains(&b',') {
                    return Err(TarError::Pax("GNU.sparse.offset/numbytes out of order"));
                }
                out.sparse.map.push(text());
            }
            _ => {}
        }
    }
    Ok(out)
}

/// A record's key and value, and the data after it.
type Record<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// One record: `(key, value, rest)`.
fn record(data: &[u8]) -> Result<Record<'_>, TarError> {
    let space = data
        .iter()
        .position(|&b| b == b' ')
        .ok_or(TarError::Pax("a record without a length"))?;
    let len: usize = std::str::from_utf8(&data[..space])
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or(TarError::Pax("a record length that is not a number"))?;
    if len <= space + 2 || len > data.len() {
        return Err(TarError::Pax("a record length out of range"));
    }
    let (record, rest) = data.split_at(len);
    let body = &record[space + 1..];
    let Some((b'\n', body)) = body.split_last() else {
        return Err(TarError::Pax("a record not ending in a newline"));
    };
    let eq = body
        .iter()
        .position(|&b| b == b'=')
        .ok_or(TarError::Pax("a record without '='"))?;
    let (key, value) = (&body[..eq], &body[eq + 1..]);
    let nul_allowed = !matches!(key, b"path" | b"linkpath" | b"uname" | b"gname");
    if key.is_empty() || key.contains(&0) || (!nul_allowed && value.contains(&0)) {
        return Err(TarError::Pax("a record with an empty key or a NUL byte"));
    }
    Ok((key, value, rest))
}

fn number(key: &[u8], value: &[u8]) -> Result<u64, TarError> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| TarError::PaxNumber {
            key: String::from_utf8_lossy(key).into_owned(),
            value: String::from_utf8_lossy(value).chars().take(40).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, value: &str) -> Vec<u8> {
        let body = format!(" {key}={value}\n");
        let mut n = body.len() + 1;
        while n.to_string().len() + body.len() != n {
            n += 1;
        }
        format!("{n}{body}").into_bytes()
    }

    #[test]
    fn records_are_parsed_by_length_so_values_may_hold_newlines() {
        let mut data = rec("path", "a\nb");
        data.extend(rec("size", "42"));
        data.extend(rec("mtime", "1.5"));
        let p = parse(&data).unwrap();
        assert_eq!(p.path.as_deref(), Some(&b"a\nb"[..]));
        assert_eq!(p.size, Some(42));
    }

    #[test]
    fn bad_records_are_refused() {
        for bad in [
            &b"4 =\n"[..],     // an empty key
            b"99 path=x\n",    // longer than the data
            b"11 path=abc ",   // no newline
            b"x path=abc\n",   // not a number
            b"10 pathabc\n",   // no '='
            b"11 path=a\0c\n", // NUL in a path
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(matches!(
            parse(&rec("size", "-1")),
            Err(TarError::PaxNumber { .. })
        ));
    }

    #[test]
    fn gnu_sparse_0_0_pairs_must_alternate() {
        let mut ok = rec("GNU.sparse.offset", "0");
        ok.extend(rec("GNU.sparse.numbytes", "5"));
        let p = parse(&ok).unwrap();
        assert_eq!(p.sparse.map, ["0", "5"]);
        assert_eq!(p.sparse.format(), Some(SparseFormat::InRecords));
        let bad = rec("GNU.sparse.numbytes", "5");
        assert!(parse(&bad).is_err());
    }
}
