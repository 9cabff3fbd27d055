//! cargo-auditable data: the crates a Rust binary was built from, as
//! `cargo auditable build` embeds them: zlib-compressed JSON (the
//! `VersionInfo` of `cargo-auditable.schema.json`) in a section named
//! `.dep-v0`, in the `__DATA` segment on Mach-O (cargo-auditable's
//! PARSING.md).
//!
//! `auditable-info` reads it from a whole binary held in memory (its
//! extractor parses a `&[u8]`). Executables are streamed here and never
//! held, so the section is located first and only it is kept:
//!
//! - ELF: cargo-auditable writes `.dep-v0` without `SHF_ALLOC`
//!   (`object_file.rs`: "Explicitly set no flags to avoid SHF_ALLOC"), so
//!   linkers place it after the loaded segments, among the sections no
//!   program maps (`.comment`, `.symtab`, `.strtab`, `.shstrtab`), and the
//!   section header table sits at the very end. The program headers, at the
//!   start, say where the loaded part ends; the rest (the tail) is kept when
//!   it is at most [`MAX_TAIL_BYTES`], as in a stripped or symbols-only
//!   release build, and parsed once the file has gone by. A longer tail
//!   (debug info) keeps its first [`TAIL_START_BYTES`], where the linkers
//!   put `.dep-v0`, and its last bytes, where the section table is.
//! - PE and Mach-O: the section table is among the headers at the start, so
//!   the section's own byte range is kept (at most [`MAX_SECTION_BYTES`]).
//!
//! The data is inflated to at most [`MAX_JSON_BYTES`] (the limit
//! PARSING.md recommends) and read leniently. Only crates from crates.io
//! are listed: `local`, `git` and other registries' crates are not
//! described by crates.io advisories (as the Cargo.lock cataloger). Crates
//! of `kind: "build"` (build scripts, proc-macros) ran at build time and
//! are not in the binary, so they are not listed either.

use std::io::Read;
use std::ops::Range;

use object::read::elf::{FileHeader, ProgramHeader as _, SectionHeader as _};
use object::read::macho::{MachHeader, Section as _, Segment as _};
use object::read::pe::ImageNtHeaders;
use object::{Endianness, elf, macho, pe};
use serde::Deserialize;

use super::kept::Kept;
use super::{BinaryProblem, Format};
use crate::catalog::lenient::{Entries, Skipped, Text, usable};
use crate::catalog::{CatalogError, MAX_PACKAGES, Package, PackageType, escaped_message};

/// The section cargo-auditable writes.
pub const SECTION: &[u8] = b".dep-v0";
/// Largest ELF tail (bytes after the loaded segments) kept whole.
pub const MAX_TAIL_BYTES: u64 = 16 << 20;
/// Of a longer tail: how much of its start is kept (the rest of
/// [`MAX_TAIL_BYTES`] goes to its end).
pub const TAIL_START_BYTES: u64 = 4 << 20;
/// Largest `.dep-v0` section read.
pub const MAX_SECTION_BYTES: u64 = 8 << 20;
/// Largest JSON inflated from it (cargo-auditable's PARSING.md: "8 MiB
/// should be more than enough").
pub const MAX_JSON_BYTES: u64 = 8 << 20;

/// Where the data will be, decided from a binary's first bytes.
#[derive(Debug)]
pub(super) enum Plan {
    /// An ELF file: the section table is read from the kept tail. `whole`
    /// says whether all of the tail was kept (then anything missing means
    /// a broken file, not a part left out).
    Elf { whole: bool },
    /// The section's byte range, known from the headers.
    Section(Range<u64>),
    /// No `.dep-v0` section.
    None,
}

/// Decide what to keep of a binary of `size` bytes whose first bytes are
/// `head`, and ask `kept` for it.
///
/// # Errors
///
/// Why the headers are not what the format says (cut short, sizes that
/// do not fit), for a warning naming the file.
pub(super) fn plan(
    format: Format,
    head: &[u8],
    size: u64,
    kept: &mut Kept,
) -> Result<Plan, String> {
    let range = match format {
        Format::Elf32 => return elf_plan::<elf::FileHeader32<Endianness>>(head, size, kept),
        Format::Elf64 => return elf_plan::<elf::FileHeader64<Endianness>>(head, size, kept),
        Format::MachO32 => macho_section::<macho::MachHeader32<Endianness>>(head)?,
        Format::MachO64 => macho_section::<macho::MachHeader64<Endianness>>(head)?,
        Format::Pe32 => pe_section::<pe::ImageNtHeaders32>(head)?,
        Format::Pe64 => pe_section::<pe::ImageNtHeaders64>(head)?,
    };
    let Some(range) = range else {
        return Ok(Plan::None);
    };
    if range.end > size {
        return Err(format!(
            "its {} section lies past the end of the file",
            String::from_utf8_lossy(SECTION)
        ));
    }
    if range.end - range.start > MAX_SECTION_BYTES {
        return Err(format!(
            "its {} section is {} bytes, over the limit of {MAX_SECTION_BYTES}",
            String::from_utf8_lossy(SECTION),
            range.end - range.start
        ));
    }
    kept.keep(range.clone());
    Ok(Plan::Section(range))
}

fn elf_plan<Elf: FileHeader<Endian = Endianness>>(
    head: &[u8],
    size: u64,
    kept: &mut Kept,
) -> Result<Plan, String> {
    let header = Elf::parse(head).map_err(|e| format!("its ELF header: {e}"))?;
    let endian = header.endian().map_err(|e| e.to_string())?;
    let shoff: u64 = header.e_shoff(endian).into();
    if shoff == 0 {
        // No section table (`sstrip`): nowhere to name `.dep-v0`.
        return Ok(Plan::None);
    }
    if shoff >= size {
        return Err(format!(
            "its section table starts at byte {shoff}, past the end of the file ({size} bytes)"
        ));
    }
    // The end of the loaded part. Program headers past the first bytes
    // (no linker writes that) leave the whole file as the tail.
    let loaded_end = match header.program_headers(endian, head) {
        Ok(headers) => headers
            .iter()
            .filter(|p| p.p_type(endian) == elf::PT_LOAD)
            .map(|p| {
                let offset: u64 = p.p_offset(endian).into();
                let filesz: u64 = p.p_filesz(endian).into();
                offset.saturating_add(filesz)
            })
            .max()
            .unwrap_or(0)
            .min(size),
        Err(_) => 0,
    };
    // The section table itself, wherever it is (Go's linker writes it
    // among the headers at the start).
    let shnum = u64::from(header.e_shnum(endian));
    let table = shnum * u64::from(header.e_shentsize(endian));
    if table <= MAX_SECTION_BYTES {
        kept.keep(shoff..shoff.saturating_add(table));
    }
    let tail = size - loaded_end;
    let whole = tail <= MAX_TAIL_BYTES;
    if whole {
        kept.keep(loaded_end..size);
    } else {
        kept.keep(loaded_end..loaded_end + TAIL_START_BYTES);
        kept.keep(size - (MAX_TAIL_BYTES - TAIL_START_BYTES)..size);
    }
    Ok(Plan::Elf { whole })
}

fn macho_section<Mach: MachHeader<Endian = Endianness>>(
    head: &[u8],
) -> Result<Option<Range<u64>>, String> {
    let header = Mach::parse(head, 0).map_err(|e| format!("its Mach-O header: {e}"))?;
    let endian = header.endian().map_err(|e| e.to_string())?;
    let mut commands = header
        .load_commands(endian, head, 0)
        .map_err(|e| format!("its load commands: {e}"))?;
    while let Some(command) = commands
        .next()
        .map_err(|e| format!("its load commands: {e}"))?
    {
        let Some((segment, section_data)) =
            Mach::Segment::from_command(command).map_err(|e| format!("its load commands: {e}"))?
        else {
            continue;
        };
        let sections = segment
            .sections(endian, section_data)
            .map_err(|e| format!("its load commands: {e}"))?;
        for section in sections {
            if section.name() == SECTION {
                let offset = u64::from(section.offset(endian));
                let size: u64 = section.size(endian).into();
                return Ok(Some(offset..offset.saturating_add(size)));
            }
        }
    }
    Ok(None)
}

fn pe_section<Pe: ImageNtHeaders>(head: &[u8]) -> Result<Option<Range<u64>>, String> {
    let dos = pe::ImageDosHeader::parse(head).map_err(|e| format!("its DOS header: {e}"))?;
    let mut offset = u64::from(dos.nt_headers_offset());
    let (nt, _) = Pe::parse(head, &mut offset).map_err(|e| format!("its PE headers: {e}"))?;
    let sections = nt
        .sections(head, offset)
        .map_err(|e| format!("its section table: {e}"))?;
    // `.dep-v0` fits the eight bytes of a section name, so no string table
    // is needed to find it.
    Ok(sections
        .section_by_name(object::read::StringTable::<&[u8]>::default(), SECTION)
        .map(|(_, s)| {
            let (offset, size) = s.pe_file_range();
            u64::from(offset)..u64::from(offset) + u64::from(size)
        }))
}

/// The crates the data lists, once the whole binary has gone by. What
/// cannot be read goes to `problems`, naming the file.
pub(super) fn read(
    plan: &Plan,
    format: Format,
    kept: &Kept,
    path: &str,
    problems: &mut Vec<BinaryProblem>,
) -> Vec<Package> {
    let compressed = match plan {
        Plan::None => return Vec::new(),
        Plan::Section(range) => {
            object::ReadRef::read_bytes_at(kept, range.start, range.end - range.start)
                .map_err(|()| "its section was not read".to_owned())
        }
        Plan::Elf { whole } => {
            let found = match format {
                Format::Elf32 => elf_section::<elf::FileHeader32<Endianness>>(kept),
                _ => elf_section::<elf::FileHeader64<Endianness>>(kept),
            };
            match found {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => return Vec::new(),
                Err(ElfMiss::Malformed(reason)) if *whole => {
                    problems.push(BinaryProblem::Malformed {
                        path: path.to_owned(),
                        format: format.name().to_owned(),
                        reason,
                    });
                    return Vec::new();
                }
                // The section table was among what a long tail left out:
                // there is no telling whether the file has the data.
                Err(ElfMiss::Malformed(_)) => return Vec::new(),
                Err(ElfMiss::DataNotKept { offset }) => {
                    problems.push(BinaryProblem::AuditableNotReached {
                        path: path.to_owned(),
                        offset,
                    });
                    return Vec::new();
                }
            }
        }
    };
    let found = compressed.and_then(|bytes| crates(bytes, path));
    match found {
        Ok((packages, skipped)) => {
            if let Some(CatalogError::Invalid { reason, .. }) = skipped.warning(path, "crates") {
                problems.push(BinaryProblem::AuditableInvalid {
                    path: path.to_owned(),
                    reason,
                });
            }
            packages
        }
        Err(reason) => {
            problems.push(BinaryProblem::AuditableInvalid {
                path: path.to_owned(),
                reason,
            });
            Vec::new()
        }
    }
}

enum ElfMiss {
    /// The section table or names cannot be read.
    Malformed(String),
    /// `.dep-v0` is named, but its bytes were in the part of a long tail
    /// that was not kept.
    DataNotKept { offset: u64 },
}

fn elf_section<Elf: FileHeader<Endian = Endianness>>(
    kept: &Kept,
) -> Result<Option<&[u8]>, ElfMiss> {
    let malformed = |e: object::read::Error| ElfMiss::Malformed(format!("its section table: {e}"));
    let header = Elf::parse(kept).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let sections = header.sections(endian, kept).map_err(malformed)?;
    let Some((_, section)) = sections.section_by_name(endian, SECTION) else {
        return Ok(None);
    };
    if section.sh_type(endian) == elf::SHT_NOBITS {
        return Ok(None);
    }
    let size: u64 = section.sh_size(endian).into();
    if size > MAX_SECTION_BYTES {
        return Err(ElfMiss::Malformed(format!(
            "its {} section is {size} bytes, over the limit of {MAX_SECTION_BYTES}",
            String::from_utf8_lossy(SECTION)
        )));
    }
    let offset: u64 = section.sh_offset(endian).into();
    match object::ReadRef::read_bytes_at(kept, offset, size) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(()) if offset.saturating_add(size) > object::ReadRef::len(kept).unwrap_or(0) => {
            Err(ElfMiss::Malformed(format!(
                "its {} section lies past the end of the file",
                String::from_utf8_lossy(SECTION)
            )))
        }
        Err(()) => Err(ElfMiss::DataNotKept { offset }),
    }
}

/// `VersionInfo`, keeping only what is read.
#[derive(Deserialize)]
struct VersionInfo {
    packages: Option<Entries<Crate>>,
}

#[derive(Deserialize)]
struct Crate {
    name: Option<Text>,
    version: Option<Text>,
    source: Option<Text>,
    kind: Option<Text>,
}

/// Inflate and read the data: the crates.io crates compiled in, and those
/// skipped for an unusable name or version.
fn crates(compressed: &[u8], path: &str) -> Result<(Vec<Package>, Skipped), String> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("not zlib data ({})", escaped_message(&e.to_string())))?;
    if json.len() as u64 > MAX_JSON_BYTES {
        return Err(format!(
            "it inflates to more than {MAX_JSON_BYTES} bytes (a zip bomb?)"
        ));
    }
    let info: VersionInfo = serde_json::from_slice(&json)
        .map_err(|e| crate::catalog::json_reason("cargo-auditable JSON", &e))?;
    let entries = info.packages.unwrap_or_default();
    if entries.too_many() {
        return Err(format!("it lists more than {MAX_PACKAGES} crates"));
    }
    let mut out = Vec::new();
    let mut skipped = Skipped::default();
    for (i, c) in entries.0.iter().enumerate() {
        let runtime = !matches!(&c.kind, Some(Text::Str(k)) if k == "build");
        let from_crates_io = matches!(&c.source, Some(Text::Str(s)) if s == "crates.io");
        if !runtime || !from_crates_io {
            continue;
        }
        match (usable(c.name.as_ref()), usable(c.version.as_ref())) {
            (Some(name), Some(version)) => out.push(Package::language(
                PackageType::Cargo,
                name.to_owned(),
                version.to_owned(),
                path,
            )),
            _ => skipped.note(
                || format!("crate {}", i + 1),
                c.name.as_ref(),
                c.version.as_ref(),
            ),
        }
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    #[test]
    fn crates_io_runtime_crates_are_listed() {
        let json = br#"{"format":1,"packages":[
            {"name":"app","version":"0.1.0","source":"local","root":true,"dependencies":[1,2,3,4]},
            {"name":"serde","version":"1.0.193","source":"crates.io"},
            {"name":"serde_derive","version":"1.0.193","source":"crates.io","kind":"build"},
            {"name":"forked","version":"0.2.0","source":"git"},
            {"name":"inhouse","version":"1.0.0","source":"registry"},
            {"name":"","version":"1","source":"crates.io"},
            {"name":"ryu","version":"1.0.15","source":"crates.io","kind":"runtime","future":{"x":1}}
        ]}"#;
        let (got, skipped) = crates(&zlib(json), "/usr/bin/app").unwrap();
        assert_eq!(
            crate::catalog::listed(&got),
            [
                ("serde", "1.0.193", "pkg:cargo/serde@1.0.193"),
                ("ryu", "1.0.15", "pkg:cargo/ryu@1.0.15"),
            ]
        );
        assert!(got.iter().all(|p| p.path == "/usr/bin/app"));
        assert!(skipped.warning("/usr/bin/app", "crates").is_some());
    }

    #[test]
    fn bad_data_is_a_reason_never_a_panic() {
        assert!(crates(b"not zlib", "/x").unwrap_err().contains("zlib"));
        assert!(crates(&zlib(b"{"), "/x").unwrap_err().contains("JSON"));
        // A bomb: inflates past the limit, refused without holding it all.
        let bomb = zlib(&vec![b' '; (MAX_JSON_BYTES + 10) as usize]);
        assert!(crates(&bomb, "/x").unwrap_err().contains("inflates"));
        let (got, _) = crates(&zlib(br#"{"packages":7}"#), "/x").unwrap_or_default();
        assert!(got.is_empty());
    }
}
