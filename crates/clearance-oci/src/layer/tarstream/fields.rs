//! Reading a header's fields as Go's `archive/tar` reads them: numbers,
//! checksums, names, sparse slots.

use super::TarError;
use super::sparse::Region;

/// The tar block size: headers are one block, data is padded to blocks.
pub const BLOCK: u64 = 512;

/// Types whose data a runtime never reads, whatever their size field says.
pub(super) fn header_only(t: tar::EntryType) -> bool {
    use tar::EntryType as T;
    matches!(
        t,
        T::Link | T::Symlink | T::Char | T::Block | T::Directory | T::Fifo
    )
}

pub(super) fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

pub(super) fn until_nul(mut bytes: Vec<u8>) -> Vec<u8> {
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        bytes.truncate(nul);
    }
    bytes
}

pub(super) fn non_empty(v: Option<Vec<u8>>) -> Option<Vec<u8>> {
    v.filter(|v| !v.is_empty())
}

/// A number field as Go's `parseNumeric` reads it: base-256 when the
/// first byte's high bit is set (GNU, for values octal cannot hold), else
/// octal with spaces and NULs trimmed (all blank is 0). Negative values
/// are refused.
pub(super) fn numeric(field: &[u8], offset: u64, name: &'static str) -> Result<u64, TarError> {
    let bad = TarError::Field {
        offset,
        field: name,
    };
    if let Some((&first, rest)) = field.split_first()
        && first & 0x80 != 0
    {
        if first & 0x40 != 0 {
            return Err(bad); // negative
        }
        let mut x = u64::from(first & 0x7f);
        for &b in rest {
            if x >> 55 != 0 {
                return Err(bad);
            }
            x = x << 8 | u64::from(b);
        }
        return Ok(x);
    }
    let pad = |b: &u8| *b == b' ' || *b == 0;
    let start = field.iter().position(|b| !pad(b)).unwrap_or(field.len());
    let end = field.iter().rposition(|b| !pad(b)).map_or(start, |e| e + 1);
    let digits = &field[start..end];
    let digits = &digits[..digits.iter().position(|&b| b == 0).unwrap_or(digits.len())];
    if digits.is_empty() {
        return Ok(0);
    }
    let digits = std::str::from_utf8(digits).map_err(|_| TarError::Field {
        offset,
        field: name,
    })?;
    u64::from_str_radix(digits, 8)
        .ok()
        .filter(|&n| n <= i64::MAX as u64)
        .ok_or(bad)
}

/// The stored checksum matches the header's bytes summed unsigned or
/// signed (old Sun tar wrote signed sums), the checksum field as spaces.
pub(super) fn checksum_ok(header: &tar::Header) -> bool {
    let Ok(stored) = numeric(&header.as_old().cksum, 0, "checksum") else {
        return false;
    };
    let (mut unsigned, mut signed) = (0u32, 0i64);
    for (i, &b) in header.as_bytes().iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u32::from(b);
        signed += i64::from(i8::from_ne_bytes([b]));
    }
    stored == u64::from(unsigned) || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// Regions of an old GNU sparse header block: an entry whose offset
/// field starts with NUL ends the list (as GNU and BSD tar decide).
pub(super) fn push_regions(
    out: &mut Vec<Region>,
    slots: &[tar::GnuSparseHeader],
    offset: u64,
) -> Result<(), TarError> {
    for slot in slots {
        if slot.offset[0] == 0 {
            break;
        }
        out.push(Region {
            offset: numeric(&slot.offset, offset, "sparse offset")?,
            length: numeric(&slot.numbytes, offset, "sparse length")?,
        });
    }
    Ok(())
}
