//! A tar stream read one header at a time, the way container runtimes read
//! layers: as Go's `archive/tar` does (containerd, Docker and CRI-O extract
//! layers with it), so that what Clearance sees is what a runtime would
//! write. Every piece of an entry's metadata that the archive sizes itself
//! — GNU long names and long links, PAX extended headers, sparse maps — is
//! read under `max_header_bytes` (Go's own limit, 1 MiB, is the default), so
//! a small hostile layer cannot make the reader allocate what it declares.
//!
//! Where tar readers disagree, the runtime's reading is the one followed:
//! - header-only types (hard and symbolic links, directories, devices,
//!   FIFOs) carry no data, whatever their size field says;
//! - PAX `path`, `linkpath`, `size`, `uid` and `gid` override the header; a
//!   GNU long name or link wins over PAX, and `GNU.sparse.name` over both;
//! - PAX records are parsed by their length (values may hold newlines);
//! - checksums are accepted summed as signed or unsigned bytes;
//! - a `\0` type flag on a name ending in `/` is a directory;
//! - the archive ends at two zero blocks, or where the stream ends between
//!   entries; a zero block followed by a header is an error;
//! - sparse files (old GNU, PAX 0.0, 0.1 and 1.0) read with their holes as
//!   zeros, their maps checked as BSD tar checks them.

mod content;
mod error;
mod fields;
mod pax;
mod source;
mod sparse;

use std::io;

pub use content::Content;
pub use error::TarError;
pub use fields::BLOCK;
pub use source::{Seekable, Sequential, TarSource};

use fields::{checksum_ok, header_only, non_empty, numeric, padding, push_regions, until_nul};
use pax::{PaxRecords, SparseFormat};
use sparse::{Region, SparseCursor, SparseMap};

/// Go's `maxSpecialFileSize`: the largest long name, long link or PAX
/// header a runtime reads.
pub const DEFAULT_MAX_HEADER_BYTES: u64 = 1 << 20;

/// One entry, its extended headers applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarHeader {
    /// The name as the runtime would use it (not yet normalised).
    pub path: Vec<u8>,
    /// A link's target; empty for other types.
    pub link: Vec<u8>,
    pub entry_type: tar::EntryType,
    /// Bytes reading the entry yields: a sparse file's real size, 0 for
    /// header-only types.
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Offset of the entry's own header block in the stream.
    pub header_offset: u64,
    /// Offset of the entry's stored data (after a PAX 1.0 sparse map).
    pub data_offset: u64,
    /// Whether the entry is a sparse file (holes read as zeros).
    pub sparse: bool,
}

/// Reads entries from a tar stream. Data an entry's reader leaves unread
/// is skipped when the next entry is asked for.
#[derive(Debug)]
pub struct TarStream<S> {
    src: S,
    pos: u64,
    max_header_bytes: u64,
    /// Stored bytes of the current entry not yet consumed, then its padding.
    remaining: u64,
    padding: u64,
    sparse: Option<(SparseMap, SparseCursor)>,
    done: bool,
}

/// Extended headers waiting for the entry they describe.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<PaxRecords>,
}

impl<S: TarSource> TarStream<S> {
    pub fn new(src: S, max_header_bytes: u64) -> Self {
        TarStream {
            src,
            pos: 0,
            max_header_bytes,
            remaining: 0,
            padding: 0,
            sparse: None,
            done: false,
        }
    }

    /// Bytes consumed from the source so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    pub fn into_inner(self) -> S {
        self.src
    }

    /// The next entry, or `None` at the end of the archive.
    pub fn next_entry(&mut self) -> Result<Option<TarHeader>, TarError> {
        if self.done {
            return Ok(None);
        }
        self.skip(self.remaining + self.padding)?;
        (self.remaining, self.padding, self.sparse) = (0, 0, None);
        let mut pending = Pending::default();
        loop {
            let offset = self.pos;
            let Some(block) = self.header_block()? else {
                self.done = true;
                if pending.long_name.is_some()
                    || pending.long_link.is_some()
                    || pending.pax.is_some()
                {
                    return Err(TarError::Dangling);
                }
                return Ok(None);
            };
            let mut header = tar::Header::new_old();
            header.as_mut_bytes().copy_from_slice(&block);
            if !checksum_ok(&header) {
                return Err(TarError::Checksum { offset });
            }
            let stored = numeric(&header.as_old().size, offset, "size")?;
            match header.entry_type().as_byte() {
                b'L' => {
                    let name = self.special(stored, "GNU long name", offset)?;
                    pending.long_name = Some(until_nul(name));
                }
                b'K' => {
                    let link = self.special(stored, "GNU long link", offset)?;
                    pending.long_link = Some(until_nul(link));
                }
                b'x' => {
                    let data = self.special(stored, "PAX extended header", offset)?;
                    pending.pax = Some(pax::parse(&data)?);
                }
                b'g' => {
                    // Returned as an entry, as Go returns it; its records
                    // are not applied to later entries (runtimes ignore them).
                    let data = self.special(stored, "PAX global header", offset)?;
                    pax::parse(&data)?;
                    return Ok(Some(self.bare(&header, offset)));
                }
                _ => return self.entry(&header, offset, pending).map(Some),
            }
        }
    }

    /// The current entry's content (holes of a sparse file as zeros).
    pub fn content(&mut self) -> Content<'_, S> {
        Content { stream: self }
    }

    fn entry(
        &mut self,
        header: &tar::Header,
        offset: u64,
        pending: Pending,
    ) -> Result<TarHeader, TarError> {
        let old = header.as_old();
        let mut pax = pending.pax.unwrap_or_default();
        let mut entry_type = header.entry_type();
        let mut path = non_empty(pending.long_name)
            .or(pax.path.take())
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let link = non_empty(pending.long_link)
            .or(pax.linkpath.take())
            .or_else(|| header.link_name_bytes().map(|l| l.into_owned()))
            .unwrap_or_default();
        if header.as_old().linkflag[0] == 0 && path.ends_with(b"/") {
            entry_type = tar::EntryType::Directory;
        }
        let declared = match pax.size {
            Some(size) => size,
            None => numeric(&old.size, offset, "size")?,
        };
        let stored = if header_only(entry_type) { 0 } else { declared };
        let uid = match pax.uid {
            Some(uid) => uid,
            None => numeric(&old.uid, offset, "uid")?,
        };
        let gid = match pax.gid {
            Some(gid) => gid,
            None => numeric(&old.gid, offset, "gid")?,
        };
        let mode =
            u32::try_from(numeric(&old.mode, offset, "mode")?).map_err(|_| TarError::Field {
                offset,
                field: "mode",
            })?;
        // Old GNU sparse maps continue in blocks between header and data.
        let old_sparse = if entry_type.is_gnu_sparse() {
            Some(self.old_gnu_sparse(header, offset)?)
        } else {
            None
        };
        self.remaining = stored;
        self.padding = padding(stored);
        let map = match old_sparse {
            Some((regions, real_size)) => Some(SparseMap::new(regions, real_size, stored)?),
            None => {
                let map = self.pax_sparse(&pax, entry_type, offset)?;
                // A PAX sparse file's real name, as the runtime takes it.
                if let Some(name) = map.as_ref().and(pax.sparse.name).filter(|n| !n.is_empty()) {
                    path = name;
                }
                map
            }
        };
        let (size, sparse) = match map {
            Some(map) => {
                let size = map.real_size;
                self.sparse = Some((map, SparseCursor::default()));
                (size, true)
            }
            None => (stored, false),
        };
        Ok(TarHeader {
            path,
            link,
            entry_type,
            size,
            mode,
            uid,
            gid,
            header_offset: offset,
            data_offset: self.pos,
            sparse,
        })
    }

    /// The map of a PAX sparse file (GNU formats 0.0, 0.1, 1.0), checked
    /// against its real size and the bytes stored after the map.
    fn pax_sparse(
        &mut self,
        pax: &PaxRecords,
        entry_type: tar::EntryType,
        offset: u64,
    ) -> Result<Option<SparseMap>, TarError> {
        let Some(format) = pax.sparse.format() else {
            return Ok(None);
        };
        if header_only(entry_type) {
            return Err(TarError::Sparse("a sparse map on an entry without data"));
        }
        let real_size = match pax.sparse.real_size.as_deref() {
            Some(s) => s
                .parse::<i64>()
                .ok()
                .and_then(|n| u64::try_from(n).ok())
                .ok_or(TarError::Sparse("GNU.sparse.size is not a number"))?,
            None => self.remaining,
        };
        let regions = match format {
            SparseFormat::InRecords => {
                sparse::from_records(pax.sparse.numblocks.as_deref(), &pax.sparse.map)?
            }
            SparseFormat::InData => self.sparse_map_in_data(offset)?,
        };
        Ok(Some(SparseMap::new(regions, real_size, self.remaining)?))
    }

    /// A metadata entry (PAX global header) described by its header alone.
    fn bare(&self, header: &tar::Header, offset: u64) -> TarHeader {
        TarHeader {
            path: header.path_bytes().into_owned(),
            link: Vec::new(),
            entry_type: header.entry_type(),
            size: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            header_offset: offset,
            data_offset: self.pos,
            sparse: false,
        }
    }

    /// The regions in an old GNU header and its extension blocks.
    fn old_gnu_sparse(
        &mut self,
        header: &tar::Header,
        offset: u64,
    ) -> Result<(Vec<Region>, u64), TarError> {
        let gnu = header.as_gnu().ok_or(TarError::Sparse(
            "an old GNU sparse entry without a GNU header",
        ))?;
        let real_size = numeric(&gnu.realsize, offset, "realsize")?;
        let mut regions = Vec::new();
        push_regions(&mut regions, &gnu.sparse, offset)?;
        let mut extended = gnu.is_extended();
        let mut used = 0u64;
        while extended {
            used += BLOCK;
            if used > self.max_header_bytes {
                return Err(self.too_large("old GNU sparse map", used, offset));
            }
            let mut ext = tar::GnuExtSparseHeader::new();
            let at = self.pos;
            self.fill(ext.as_mut_bytes(), at)?;
            push_regions(&mut regions, ext.sparse(), offset)?;
            extended = ext.is_extended();
        }
        Ok((regions, real_size))
    }

    /// A PAX 1.0 map: whole blocks at the start of the data, counted
    /// against the header limit.
    fn sparse_map_in_data(&mut self, offset: u64) -> Result<Vec<Region>, TarError> {
        let mut text = Vec::new();
        loop {
            if text.len() as u64 + BLOCK > self.max_header_bytes {
                return Err(self.too_large(
                    "PAX 1.0 sparse map",
                    text.len() as u64 + BLOCK,
                    offset,
                ));
            }
            if self.remaining < BLOCK {
                return Err(TarError::Sparse(
                    "the sparse map runs past the entry's data",
                ));
            }
            let mut block = [0u8; BLOCK as usize];
            let at = self.pos;
            self.fill(&mut block, at)?;
            self.remaining -= BLOCK;
            text.extend_from_slice(&block);
            if let Some((regions, _)) = sparse::from_data_text(&text)? {
                return Ok(regions);
            }
        }
    }

    /// Read a long name, long link or PAX header whole, under the limit.
    fn special(&mut self, size: u64, kind: &'static str, offset: u64) -> Result<Vec<u8>, TarError> {
        if size > self.max_header_bytes {
            return Err(self.too_large(kind, size, offset));
        }
        let mut data =
            vec![0u8; usize::try_from(size).map_err(|_| self.too_large(kind, size, offset))?];
        let at = self.pos;
        self.fill(&mut data, at)?;
        self.skip(padding(size))?;
        Ok(data)
    }

    fn too_large(&self, kind: &'static str, size: u64, offset: u64) -> TarError {
        TarError::HeaderTooLarge {
            kind,
            size,
            limit: self.max_header_bytes,
            offset,
        }
    }

    /// A header block, or `None` at the end of the archive (two zero
    /// blocks, or the end of the stream before a header).
    fn header_block(&mut self) -> Result<Option<[u8; BLOCK as usize]>, TarError> {
        let mut block = [0u8; BLOCK as usize];
        if !self.fill_or_end(&mut block)? {
            return Ok(None);
        }
        if block.iter().any(|&b| b != 0) {
            return Ok(Some(block));
        }
        let at = self.pos;
        if !self.fill_or_end(&mut block)? || block.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        Err(TarError::ZeroBlockThenHeader { offset: at })
    }

    /// Fill `buf`; `false` if the stream ended before its first byte.
    fn fill_or_end(&mut self, buf: &mut [u8]) -> Result<bool, TarError> {
        let at = self.pos;
        let mut n = 0;
        while n < buf.len() {
            match self.src.read(&mut buf[n..]) {
                Ok(0) if n == 0 => return Ok(false),
                Ok(0) => return Err(TarError::Truncated { offset: at }),
                Ok(k) => {
                    n += k;
                    self.pos += k as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }

    fn fill(&mut self, buf: &mut [u8], at: u64) -> Result<(), TarError> {
        if buf.is_empty() || self.fill_or_end(buf)? {
            Ok(())
        } else {
            Err(TarError::Truncated { offset: at })
        }
    }

    fn skip(&mut self, n: u64) -> Result<(), TarError> {
        let at = self.pos;
        self.src.skip(n).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof if e.get_ref().is_none() => {
                TarError::Truncated { offset: at }
            }
            _ => TarError::Io(e),
        })?;
        self.pos += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
