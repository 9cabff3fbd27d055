//! Packages compiled into executables: a Go binary's build info (its
//! modules and the standard library of its toolchain, [`go`]) and a Rust
//! binary's cargo-auditable data (its crates, [`auditable`]).
//!
//! Unlike package databases, binaries are chosen by their first bytes,
//! never by name: ELF, thin Mach-O, or PE (an `MZ` file whose PE headers
//! check out). And they are read as the layer streams by
//! ([`clearance_oci::layer::LayerVisitor::stream_content`]), never held:
//! [`inspect`] keeps the first [`HEAD_BYTES`], what follows a Go build
//! info magic (at most [`go::MAX_BLOB_BYTES`]) and the few ranges where
//! cargo-auditable data can be ([`auditable`]), and reads at most
//! [`MAX_SCANNED_BYTES`] of any one file. Its work is one pass of byte
//! comparisons over what it reads, so that bound on bytes is also its
//! bound on time; a wall clock would make the same image list different
//! packages on a busy machine, so none is used. The inventory inspects at
//! most [`MAX_BINARIES_PER_LAYER`] per layer.
//!
//! A binary is either Go or not: once build info is found, no
//! cargo-auditable data is looked for.

pub mod auditable;
pub mod go;
mod kept;

use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use self::kept::Kept;
use crate::catalog::Package;

/// Bytes of a file read before deciding whether it is a binary, and kept
/// while it is read (its headers).
pub const HEAD_BYTES: u64 = 64 << 10;
/// Most bytes of one binary read. A 40 MB Go binary has its build info
/// about halfway; larger than this is not an executable a container runs.
pub const MAX_SCANNED_BYTES: u64 = 1 << 30;
/// Most binaries inspected in one layer (a full Debian with every
/// package has about 10,000 executables and libraries).
pub const MAX_BINARIES_PER_LAYER: usize = 20_000;
/// Bytes read at a time.
const CHUNK: usize = 64 << 10;

/// An executable format, told by a file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ELF, 32-bit.
    Elf32,
    /// ELF, 64-bit.
    Elf64,
    /// Mach-O, 32-bit (one architecture).
    MachO32,
    /// Mach-O, 64-bit (one architecture).
    MachO64,
    /// PE32 (Windows).
    Pe32,
    /// PE32+ (Windows, 64-bit).
    Pe64,
}

impl Format {
    /// The format's usual name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Elf32 | Format::Elf64 => "ELF",
            Format::MachO32 | Format::MachO64 => "Mach-O",
            Format::Pe32 | Format::Pe64 => "PE",
        }
    }
}

/// Which executable format `head` (a file's first bytes) opens, if any.
/// ELF and Mach-O are told by their magic alone (a file that claims to be
/// one and is not is then reported); `MZ` is also how plain DOS programs
/// and stray text begin, so a PE needs its PE headers too. Fat Mach-O
/// (`CAFEBABE`) is left out: Java class files start the same way.
pub fn sniff(head: &[u8]) -> Option<Format> {
    match head {
        [0x7f, b'E', b'L', b'F', 1, ..] => Some(Format::Elf32),
        // Any other class is reported as a malformed 64-bit one.
        [0x7f, b'E', b'L', b'F', ..] => Some(Format::Elf64),
        [0xfe, 0xed, 0xfa, 0xce, ..] | [0xce, 0xfa, 0xed, 0xfe, ..] => Some(Format::MachO32),
        [0xfe, 0xed, 0xfa, 0xcf, ..] | [0xcf, 0xfa, 0xed, 0xfe, ..] => Some(Format::MachO64),
        [b'M', b'Z', ..] => match object::read::pe::optional_header_magic(head) {
            Ok(object::pe::IMAGE_NT_OPTIONAL_HDR32_MAGIC) => Some(Format::Pe32),
            Ok(object::pe::IMAGE_NT_OPTIONAL_HDR64_MAGIC) => Some(Format::Pe64),
            _ => None,
        },
        _ => None,
    }
}

/// What one binary was built from, or what one Java archive holds
/// ([`super::java`]), and what could not be read of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinaryInventory {
    /// Its packages (Go modules and `stdlib`, or crates), each with the
    /// binary's path.
    pub packages: Vec<Package>,
    /// What could not be listed, each naming the file.
    pub problems: Vec<BinaryProblem>,
}

/// Something a binary does not say, or says in a way that cannot be read.
/// The rest of the image is still cataloged: the inventory turns each into
/// a warning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum BinaryProblem {
    /// The ELF, Mach-O or PE headers are cut short or inconsistent.
    #[error(
        "{path}: a {format} file that is cut short or malformed ({reason}); its packages, if any, are not listed"
    )]
    Malformed {
        /// The file.
        path: String,
        /// `ELF`, `Mach-O` or `PE`.
        format: String,
        /// What is wrong.
        reason: String,
    },
    /// Build info in the form before Go 1.18, which holds addresses.
    #[error(
        "{path}: Go build info in the form of Go releases before 1.18, which Clearance does not read; its modules and Go version are not listed (rebuild with a supported Go release)"
    )]
    GoBuildInfoTooOld {
        /// The file.
        path: String,
    },
    /// Build info that cannot be read (cut short, absurd lengths, lines
    /// Go itself refuses).
    #[error("{path}: Go build info is unreadable ({reason}); its modules are not listed")]
    GoBuildInfoInvalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The main module has no version (`(devel)`: built from a checkout
    /// rather than `go install module@version`).
    #[error(
        "{path}: Go main module {module} was built without a version ((devel)); it is not listed, its dependencies are"
    )]
    GoMainModuleDevel {
        /// The file.
        path: String,
        /// The module path, quoted.
        module: String,
    },
    /// Dependencies replaced by local directories: no module version
    /// describes their code.
    #[error(
        "{path}: {count} Go modules were replaced by local directories (first: {first}); they are not listed"
    )]
    GoLocalReplacements {
        /// The file.
        path: String,
        /// How many.
        count: usize,
        /// The first, as `"module" => "directory"`.
        first: String,
    },
    /// A toolchain version that is not a Go release (`devel …`).
    #[error(
        "{path}: built by Go toolchain {version}, which is not a release; the standard library is not listed"
    )]
    GoToolchainUnknown {
        /// The file.
        path: String,
        /// The version, quoted.
        version: String,
    },
    /// cargo-auditable data that cannot be read.
    #[error("{path}: cargo-auditable data is unreadable ({reason}); its crates are not listed")]
    AuditableInvalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// cargo-auditable data in the middle of a long ELF tail (debug info),
    /// in the part not kept.
    #[error(
        "{path}: has cargo-auditable data at byte {offset}, amid {limit} bytes of unloaded sections (debug info?) kept only in part; its crates are not listed (strip the binary's debug info)",
        limit = auditable::MAX_TAIL_BYTES
    )]
    AuditableNotReached {
        /// The file.
        path: String,
        /// Where the data starts.
        offset: u64,
    },
    /// A Java archive larger than [`super::java::MAX_ARCHIVE_BYTES`]: not
    /// read (an archive is held while it is read).
    #[error(
        "{path}: a Java archive of {size} bytes, over the {limit} bytes Clearance holds to read one; its packages are not listed"
    )]
    JavaArchiveTooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The bound it broke.
        limit: u64,
    },
    /// A Java archive, an entry of one or a `pom.properties` that cannot
    /// be read.
    #[error("{path}: {reason}; its packages are not listed")]
    JavaArchiveUnreadable {
        /// The file, with `!/` and the entry's name for a part of it.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A bound of [`super::java::Limits`] stopped reading part of an
    /// archive.
    #[error("{path}: {reason}; what it holds is not listed")]
    JavaArchiveIncomplete {
        /// The archive or entry not read.
        path: String,
        /// Which bound.
        reason: String,
    },
    /// A binary larger than [`MAX_SCANNED_BYTES`]: only its start was read.
    #[error(
        "{path}: only the first {MAX_SCANNED_BYTES} of its {size} bytes were searched for build info"
    )]
    NotFullyScanned {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
    },
}

/// Read one regular file of `size` bytes from `content` and, if it is a
/// binary, say what it was built from; `Ok(None)` when it is not a binary
/// (only its first bytes were read). `path` is the file's absolute image
/// path, given to its packages and problems.
///
/// # Errors
///
/// Only `content`'s read errors: the layer's, not the file's.
pub fn inspect(
    path: &str,
    content: &mut dyn Read,
    size: u64,
) -> io::Result<Option<BinaryInventory>> {
    // Most files are not binaries: their first bytes say so, and nothing
    // more of them is read or copied.
    let mut head = read_head(content, Vec::new(), size.min(4))?;
    if !matches!(
        head[..],
        [0x7f, b'E', b'L', b'F']
            | [0xfe, 0xed, 0xfa, 0xce | 0xcf]
            | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
            | [b'M', b'Z', ..]
    ) {
        return Ok(None);
    }
    head = read_head(content, head, size.min(HEAD_BYTES))?;
    let Some(format) = sniff(&head) else {
        return Ok(None);
    };
    let mut problems = Vec::new();
    let mut kept = Kept::new(size);
    kept.keep(0..head.len() as u64);
    kept.feed(0, &head);
    let plan = match auditable::plan(format, &head, size, &mut kept) {
        Ok(plan) => plan,
        Err(reason) => {
            problems.push(BinaryProblem::Malformed {
                path: path.to_owned(),
                format: format.name().to_owned(),
                reason,
            });
            auditable::Plan::None
        }
    };
    let mut finder = go::Finder::default();
    finder.feed(0, &head);
    let mut at = head.len() as u64;
    let mut chunk = vec![0u8; CHUNK];
    // Until build info is found (a Go binary has no cargo-auditable data:
    // what follows is skipped), or the file ends.
    while at < size && !finder.is_done() {
        if at >= MAX_SCANNED_BYTES {
            problems.push(BinaryProblem::NotFullyScanned {
                path: path.to_owned(),
                size,
            });
            break;
        }
        let n = match content.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        finder.feed(at, &chunk[..n]);
        kept.feed(at, &chunk[..n]);
        at += n as u64;
    }
    match finder.finish() {
        Some(Ok(info)) => {
            let packages = info.packages(path, &mut problems);
            return Ok(Some(BinaryInventory { packages, problems }));
        }
        // Build info that cannot be read is said; the file is still read
        // for cargo-auditable data (a magic can be a coincidence).
        Some(Err(go::BuildInfoError::PointerForm)) => {
            problems.push(BinaryProblem::GoBuildInfoTooOld {
                path: path.to_owned(),
            });
        }
        Some(Err(e)) => problems.push(BinaryProblem::GoBuildInfoInvalid {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
        None => {}
    }
    let packages = auditable::read(&plan, format, &kept, path, &mut problems);
    Ok(Some(BinaryInventory { packages, problems }))
}

/// `head` (the file's first bytes) read on to `n` bytes (fewer only if the
/// stream ends first).
fn read_head(content: &mut dyn Read, mut head: Vec<u8>, n: u64) -> io::Result<Vec<u8>> {
    let more = n.saturating_sub(head.len() as u64);
    (&mut *content).take(more).read_to_end(&mut head)?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_first_bytes_not_by_a_prefix_alone() {
        assert_eq!(sniff(b"\x7fELF\x01\x01\x01"), Some(Format::Elf32));
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01"), Some(Format::Elf64));
        assert_eq!(sniff(b"\xcf\xfa\xed\xfe"), Some(Format::MachO64));
        assert_eq!(sniff(b"\xfe\xed\xfa\xce"), Some(Format::MachO32));
        // A Java class file opens as a fat Mach-O does.
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\x00\x00\x00\x34"), None);
        // `MZ` without PE headers: DOS programs, text.
        assert_eq!(sniff(b"MZ is a postcode in Macedonia"), None);
        assert_eq!(sniff(b"#!/bin/sh\n"), None);
        assert_eq!(sniff(b""), None);
    }

    /// Yields its bytes one at a time, then fails if `fail` says so.
    struct Trickle<'a> {
        data: &'a [u8],
        fail: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.data.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.data = rest;
                    Ok(1)
                }
                _ if self.fail => Err(io::Error::other("layer cut")),
                _ => Ok(0),
            }
        }
    }

    fn elf_with_build_info() -> Vec<u8> {
        // An ELF header claiming no program or section headers, then zeros,
        // then build info on a 16-byte boundary.
        let mut file = b"\x7fELF\x02\x01\x01".to_vec();
        file.resize(64, 0);
        file[16] = 2; // ET_EXEC
        file[20] = 1; // EV_CURRENT
        file.resize(100_000, 0);
        let mut blob = go::MAGIC.to_vec();
        blob.extend_from_slice(&[8, 2]);
        blob.resize(32, 0);
        blob.push(8);
        blob.extend_from_slice(b"go1.22.1");
        blob.push(0);
        file.extend_from_slice(&blob);
        file.resize(150_000, 0);
        file
    }

    #[test]
    fn a_binary_read_a_byte_at_a_time_gives_the_same_packages() {
        let file = elf_with_build_info();
        let whole = inspect("/x", &mut &file[..], file.len() as u64)
            .unwrap()
            .unwrap();
        let mut trickle = Trickle {
            data: &file,
            fail: false,
        };
        let slow = inspect("/x", &mut trickle, file.len() as u64)
            .unwrap()
            .unwrap();
        assert_eq!(whole, slow);
        assert_eq!(
            crate::catalog::listed(&whole.packages),
            [("stdlib", "1.22.1", "pkg:golang/stdlib@1.22.1")]
        );
        assert!(whole.problems.is_empty(), "{:?}", whole.problems);
    }

    #[test]
    fn not_binaries_are_left_after_their_first_bytes_and_read_errors_are_returned() {
        let text = vec![b'a'; 100_000];
        let mut reader = &text[..];
        assert_eq!(inspect("/t", &mut reader, 100_000).unwrap(), None);
        assert_eq!(reader.len(), 100_000 - 4);
        let file = elf_with_build_info();
        let mut cut = Trickle {
            data: &file[..70_000],
            fail: true,
        };
        assert!(inspect("/x", &mut cut, file.len() as u64).is_err());
    }
}
