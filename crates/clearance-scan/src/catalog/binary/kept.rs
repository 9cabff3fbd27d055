//! The parts of a streamed file that were kept: a few byte ranges chosen
//! before the bytes went by, readable afterwards by `object`'s parsers as
//! if they were the file (a read outside them is an error, as a read past
//! the end of a short file is).

use std::ops::Range;

use object::ReadRef;

/// Kept byte ranges of a file of `len` bytes, in file order, disjoint and
/// never touching (touching ones are one range).
#[derive(Debug, Default)]
pub(super) struct Kept {
    len: u64,
    /// Bytes fed so far: a range can only be asked for from here on.
    fed: u64,
    parts: Vec<Part>,
}

#[derive(Debug)]
struct Part {
    start: u64,
    /// Where the range asked for ends; `data` fills up to it.
    end: u64,
    data: Vec<u8>,
}

impl Kept {
    /// Nothing kept yet of a file of `len` bytes.
    pub(super) fn new(len: u64) -> Kept {
        Kept {
            len,
            ..Kept::default()
        }
    }

    /// Keep `range` (clipped to the file and to what is still to come).
    pub(super) fn keep(&mut self, range: Range<u64>) {
        let start = range.start.max(self.fed);
        let end = range.end.min(self.len);
        if start >= end {
            return;
        }
        if let Some(part) = self
            .parts
            .iter_mut()
            .find(|p| p.start <= start && start <= p.end)
        {
            part.end = part.end.max(end);
        } else {
            self.parts.push(Part {
                start,
                end,
                data: Vec::new(),
            });
            self.parts.sort_by_key(|p| p.start);
        }
        // Merge parts the new range made touch. A part swallowed this way
        // starts after `fed` (the new range does), so it holds nothing yet.
        let mut merged: Vec<Part> = Vec::with_capacity(self.parts.len());
        for part in self.parts.drain(..) {
            match merged.last_mut() {
                Some(last) if part.start <= last.end => last.end = last.end.max(part.end),
                _ => merged.push(part),
            }
        }
        self.parts = merged;
    }

    /// The file's bytes from `at` on (each call continuing the last).
    pub(super) fn feed(&mut self, at: u64, bytes: &[u8]) {
        let end = at + bytes.len() as u64;
        for part in &mut self.parts {
            let filled = part.start + part.data.len() as u64;
            // Only the next bytes of a part are taken, so a part is always
            // one run of the file.
            if filled >= part.end || filled < at || filled >= end {
                continue;
            }
            let take_end = part.end.min(end);
            let (from, to) = ((filled - at) as usize, (take_end - at) as usize);
            part.data.extend_from_slice(&bytes[from..to]);
        }
        self.fed = self.fed.max(end);
    }

    /// Bytes held.
    #[cfg(test)]
    pub(super) fn held(&self) -> u64 {
        self.parts.iter().map(|p| p.data.len() as u64).sum()
    }
}

impl<'a> ReadRef<'a> for &'a Kept {
    fn len(self) -> Result<u64, ()> {
        Ok(self.len)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'a [u8], ()> {
        let end = offset.checked_add(size).ok_or(())?;
        let part = self
            .parts
            .iter()
            .find(|p| p.start <= offset && end <= p.start + p.data.len() as u64)
            .ok_or(())?;
        let from = usize::try_from(offset - part.start).map_err(|_| ())?;
        let to = usize::try_from(end - part.start).map_err(|_| ())?;
        part.data.get(from..to).ok_or(())
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'a [u8], ()> {
        let part = self
            .parts
            .iter()
            .find(|p| p.start <= range.start && range.start < p.start + p.data.len() as u64)
            .ok_or(())?;
        let from = usize::try_from(range.start - part.start).map_err(|_| ())?;
        let limit = range.end.min(part.start + part.data.len() as u64);
        let to = usize::try_from(limit - part.start).map_err(|_| ())?;
        let bytes = part.data.get(from..to).ok_or(())?;
        let n = bytes.iter().position(|&b| b == delimiter).ok_or(())?;
        Ok(&bytes[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Vec<u8> {
        (0..1000u32).map(|i| (i % 256) as u8).collect()
    }

    #[test]
    fn kept_ranges_read_back_as_the_file_and_nothing_else() {
        let f = file();
        let mut kept = Kept::new(1000);
        kept.keep(0..100);
        kept.feed(0, &f[..60]);
        // Asked for while the first part streams: joins it when touching.
        kept.keep(100..150);
        kept.keep(900..2000);
        for (i, chunk) in f[60..].chunks(7).enumerate() {
            kept.feed(60 + 7 * i as u64, chunk);
        }
        assert_eq!(kept.held(), 150 + 100);
        assert_eq!((&kept).read_bytes_at(90, 60).unwrap(), &f[90..150]);
        assert_eq!((&kept).read_bytes_at(950, 50).unwrap(), &f[950..]);
        assert!((&kept).read_bytes_at(140, 20).is_err());
        assert!((&kept).read_bytes_at(990, 20).is_err());
        assert!((&kept).read_bytes_at(u64::MAX, 2).is_err());
        assert_eq!(
            (&kept).read_bytes_at_until(910..990, 208).unwrap(),
            &f[910..1000 - 24]
        );
        assert!((&kept).read_bytes_at_until(200..300, 0).is_err());
        // Past bytes cannot be asked for any more.
        kept.keep(300..400);
        assert_eq!(kept.held(), 250);
    }
}
