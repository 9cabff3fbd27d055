//! Go build info: the toolchain version and the modules a Go binary was
//! built from, as the linker writes them (Go's `debug/buildinfo` and
//! `runtime/debug.ParseBuildInfo`, which Syft and Trivy read through).
//!
//! The blob starts with the 14-byte magic `\xff Go buildinf:`, 16-byte
//! aligned, then one byte of pointer size (4 or 8) and one of flags: bit 0
//! big-endian, bit 1 ("flagsVersionInl", Go ≥ 1.18) the two strings follow
//! the 32-byte header inline, each a uvarint length then its bytes. Without
//! bit 1 (Go 1.13–1.17) the header holds addresses of the strings instead,
//! which only the binary's segment table resolves: that older form is
//! reported, never guessed at.
//!
//! The second string, modinfo, is framed by two 16-byte sentinels
//! (`cmd/go/internal/modload.infoStart`/`infoEnd`) and holds one line per
//! fact, tab-separated: `path` (the main package), `mod` (the main module:
//! path, version, sum), `dep` (each dependency), `=>` (a replacement of the
//! module on the line before: path, version, sum) and `build` (settings,
//! not read here).
//!
//! [`Finder`] looks for the blob in a stream, holding only what follows a
//! candidate magic; [`parse`] reads one blob from its first byte;
//! [`BuildInfo::packages`] turns it into packages.

use serde::{Deserialize, Serialize};

use super::BinaryProblem;
use crate::catalog::lenient::MAX_FIELD;
use crate::catalog::{MAX_PACKAGES, Package, PackageType, quoted};
use crate::version::go::toolchain_to_semver;

/// What opens a build info blob.
pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// The blob's alignment in the file (Go's `buildInfoAlign`).
pub const ALIGN: u64 = 16;
/// The fixed header before the inline strings.
const HEADER: usize = 32;
/// Longest toolchain version read (`go1.21.3 X:boringcrypto` is 23 bytes;
/// a development toolchain's `devel go1.22-abcdef Tue Jan 1 …` about 60).
pub const MAX_VERSION_BYTES: u64 = 1024;
/// Longest modinfo read, in bytes. Kubernetes' kubelet, with about 200
/// modules, has about 20 KiB.
pub const MAX_MODINFO_BYTES: u64 = 1 << 20;
/// Most bytes a blob can span from its magic: what [`Finder`] holds at most.
pub const MAX_BLOB_BYTES: u64 = HEADER as u64 + 10 + MAX_VERSION_BYTES + 10 + MAX_MODINFO_BYTES;

/// The two strings of a build info blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// The toolchain that built the binary (`go1.21.3`, `go1.22.0 X:nocoverageredesign`).
    pub go_version: String,
    /// The module information without its sentinels; empty for a binary
    /// built outside module mode.
    pub modinfo: String,
}

/// Why bytes after a magic are not (usable) build info.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum BuildInfoError {
    /// Fewer bytes than the blob says it spans (a cut file, or, while
    /// streaming, more to come).
    #[error("cut short: {needed} bytes needed, {got} present")]
    Incomplete {
        /// Bytes the blob needs from its magic.
        needed: u64,
        /// Bytes there were.
        got: u64,
    },
    /// The header is not one any Go linker writes: not build info at all
    /// (the magic also sits in the read-only data of programs that read
    /// build info, such as the `go` command itself).
    #[error("not a build info header")]
    NotBuildInfo,
    /// The pre-1.18 form, with addresses instead of strings.
    #[error("the pre-1.18 form, which holds addresses of its strings")]
    PointerForm,
    /// A length over the bounds above, or a uvarint that overflows.
    #[error("a {what} length of {length} bytes, over the limit of {limit}")]
    TooLong {
        /// `toolchain version` or `module information`.
        what: String,
        /// The length it claims (`u64::MAX` for an overflowing uvarint).
        length: u64,
        /// The bound.
        limit: u64,
    },
    /// Strings that are not text, or an empty version.
    #[error("{0}")]
    Invalid(String),
}

/// Read one blob from its magic (`bytes[0]`). `bytes` may run past the
/// blob; [`BuildInfoError::Incomplete`] says how much more is needed.
///
/// # Errors
///
/// Any [`BuildInfoError`]; every length is checked against the bounds and
/// the bytes present before use.
pub fn parse(bytes: &[u8]) -> Result<BuildInfo, BuildInfoError> {
    let got = bytes.len() as u64;
    if bytes.len() < HEADER {
        return Err(BuildInfoError::Incomplete {
            needed: HEADER as u64,
            got,
        });
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        return Err(BuildInfoError::NotBuildInfo);
    }
    let (pointer_size, flags) = (bytes[14], bytes[15]);
    if !matches!(pointer_size, 4 | 8) || flags > 3 {
        return Err(BuildInfoError::NotBuildInfo);
    }
    if flags & 2 == 0 {
        return Err(BuildInfoError::PointerForm);
    }
    let (version, at) = inline_string(bytes, HEADER, "toolchain version", MAX_VERSION_BYTES)?;
    let (modinfo, _) = inline_string(bytes, at, "module information", MAX_MODINFO_BYTES)?;
    // Go's readRawBuildInfo: no version, no Go binary.
    if version.is_empty() {
        return Err(BuildInfoError::Invalid("an empty toolchain version".into()));
    }
    let go_version = String::from_utf8(version.to_vec())
        .map_err(|_| BuildInfoError::Invalid("a toolchain version that is not UTF-8".into()))?;
    // Go: `len(mod) >= 33 && mod[len(mod)-17] == '\n'` → strip the 16-byte
    // sentinels; otherwise there is no module information.
    let framed = modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n';
    let modinfo = if framed {
        String::from_utf8(modinfo[16..modinfo.len() - 16].to_vec())
            .map_err(|_| BuildInfoError::Invalid("module information that is not UTF-8".into()))?
    } else {
        String::new()
    };
    Ok(BuildInfo {
        go_version,
        modinfo,
    })
}

/// A uvarint-prefixed string at `at`: the bytes and where the next begins.
fn inline_string<'a>(
    bytes: &'a [u8],
    at: usize,
    what: &str,
    limit: u64,
) -> Result<(&'a [u8], usize), BuildInfoError> {
    let got = bytes.len() as u64;
    let (length, n) = uvarint(bytes.get(at..).unwrap_or_default()).map_err(|short| {
        if short {
            BuildInfoError::Incomplete {
                needed: at as u64 + 10,
                got,
            }
        } else {
            BuildInfoError::TooLong {
                what: what.to_owned(),
                length: u64::MAX,
                limit,
            }
        }
    })?;
    if length > limit {
        return Err(BuildInfoError::TooLong {
            what: what.to_owned(),
            length,
            limit,
        });
    }
    // Both bounded above, so this neither overflows nor truncates.
    let start = at + n;
    let end = start + length as usize;
    match bytes.get(start..end) {
        Some(s) => Ok((s, end)),
        None => Err(BuildInfoError::Incomplete {
            needed: end as u64,
            got,
        }),
    }
}

/// Go's `binary.Uvarint`: the value and its length in bytes, or whether it
/// ran out of bytes (`Err(true)`) or overflowed 64 bits (`Err(false)`).
fn uvarint(bytes: &[u8]) -> Result<(u64, usize), bool> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return Err(false);
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok((value, i + 1));
        }
    }
    if bytes.len() >= 10 {
        Err(false)
    } else {
        Err(true)
    }
}

/// One module line (`mod`, `dep`, `=>`): path, version, sum.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Module {
    path: String,
    version: String,
    replace: Option<Box<Module>>,
}

impl BuildInfo {
    /// The packages the binary at `path` was built from: the main module
    /// (unless it has no version), each dependency (its replacement when
    /// one is given), and the standard library as `stdlib` at the
    /// toolchain's version (`1.21.3`: what OSV's Go records name it). What
    /// cannot be listed goes to `problems`, naming the file.
    pub fn packages(&self, path: &str, problems: &mut Vec<BinaryProblem>) -> Vec<Package> {
        let mut out = Vec::new();
        // The toolchain's own spelling, then any experiment list (`X:…`)
        // after a space.
        let toolchain = self.go_version.split(' ').next().unwrap_or_default();
        match toolchain_to_semver(toolchain) {
            Some(version) => out.push(Package::language(
                PackageType::Golang,
                "stdlib".to_owned(),
                version,
                path,
            )),
            None => problems.push(BinaryProblem::GoToolchainUnknown {
                path: path.to_owned(),
                version: quoted(&self.go_version),
            }),
        }
        let (main, deps) = match modules(&self.modinfo) {
            Ok(found) => found,
            Err(reason) => {
                problems.push(BinaryProblem::GoBuildInfoInvalid {
                    path: path.to_owned(),
                    reason,
                });
                return out;
            }
        };
        let mut local = Vec::new();
        if let Some(main) = main {
            let listed = main.replace.as_deref().unwrap_or(&main);
            if listed.version == "(devel)" || listed.version.is_empty() {
                problems.push(BinaryProblem::GoMainModuleDevel {
                    path: path.to_owned(),
                    module: quoted(&main.path),
                });
            } else {
                listable(listed, &main, path, &mut out, &mut local, problems);
            }
        }
        for dep in &deps {
            let listed = dep.replace.as_deref().unwrap_or(dep);
            listable(listed, dep, path, &mut out, &mut local, problems);
        }
        if let Some(first) = local.first() {
            problems.push(BinaryProblem::GoLocalReplacements {
                path: path.to_owned(),
                count: local.len(),
                first: first.clone(),
            });
        }
        out
    }
}

/// List `module` (what `required` resolved to) unless a local directory
/// replaced it (no version: no module version describes its code) or a
/// field is unusable.
fn listable(
    module: &Module,
    required: &Module,
    path: &str,
    out: &mut Vec<Package>,
    local: &mut Vec<String>,
    problems: &mut Vec<BinaryProblem>,
) {
    if module.version.is_empty() {
        local.push(format!(
            "{} => {}",
            quoted(&required.path),
            quoted(&module.path)
        ));
        return;
    }
    let fits = |s: &str| !s.is_empty() && s.len() <= MAX_FIELD && !s.contains(char::is_control);
    if !fits(&module.path) || !fits(&module.version) {
        problems.push(BinaryProblem::GoBuildInfoInvalid {
            path: path.to_owned(),
            reason: format!(
                "module {} at {} is not a usable name and version; skipped",
                quoted(&module.path),
                quoted(&module.version)
            ),
        });
        return;
    }
    out.push(Package::language(
        PackageType::Golang,
        module.path.clone(),
        module.version.clone(),
        path,
    ));
}

type Modules = (Option<Module>, Vec<Module>);

/// The `mod`, `dep` and `=>` lines of modinfo, as
/// `runtime/debug.ParseBuildInfo` reads them: a line it refuses fails the
/// whole, as it does there.
fn modules(modinfo: &str) -> Result<Modules, String> {
    let mut main: Option<Module> = None;
    let mut deps: Vec<Module> = Vec::new();
    // Which module a `=>` line replaces: the main one, the last dep, or
    // none (a replacement was just read, or nothing yet).
    #[derive(PartialEq)]
    enum Last {
        None,
        Main,
        Dep,
    }
    let mut last = Last::None;
    // Lines end with `\n`; a last line without one is not read (Go's
    // `strings.Cut` loop stops there).
    let mut lines: Vec<&str> = modinfo.split('\n').collect();
    lines.pop();
    for (i, line) in lines.into_iter().enumerate() {
        let at = |what: String| format!("line {}: {what}", i + 1);
        if let Some(rest) = line.strip_prefix("mod\t") {
            main = Some(module_line(rest).map_err(at)?);
            last = Last::Main;
        } else if let Some(rest) = line.strip_prefix("dep\t") {
            if deps.len() >= MAX_PACKAGES {
                return Err(format!("more than {MAX_PACKAGES} dependencies"));
            }
            deps.push(module_line(rest).map_err(at)?);
            last = Last::Dep;
        } else if let Some(rest) = line.strip_prefix("=>\t") {
            let fields: Vec<&str> = rest.split('\t').collect();
            let [path, version, _sum] = fields[..] else {
                return Err(at(format!(
                    "expected 3 columns for a replacement, got {}",
                    fields.len()
                )));
            };
            let replacement = Box::new(Module {
                path: path.to_owned(),
                version: version.to_owned(),
                replace: None,
            });
            match last {
                Last::Main => main.as_mut().map(|m| m.replace = Some(replacement)),
                Last::Dep => deps.last_mut().map(|m| m.replace = Some(replacement)),
                Last::None => {
                    return Err(at("a replacement with no module on the line before".into()));
                }
            };
            last = Last::None;
        }
    }
    Ok((main, deps))
}

/// `PATH\tVERSION[\tSUM]`.
fn module_line(rest: &str) -> Result<Module, String> {
    let fields: Vec<&str> = rest.split('\t').collect();
    match fields[..] {
        [path, version] | [path, version, _] => Ok(Module {
            path: path.to_owned(),
            version: version.to_owned(),
            replace: None,
        }),
        _ => Err(format!("expected 2 or 3 columns, got {}", fields.len())),
    }
}

/// Looks for build info in a binary as it streams by, in chunks: tests each
/// 16-byte aligned offset for the magic, and holds bytes only from a
/// candidate on (at most [`MAX_BLOB_BYTES`] plus a chunk), so the binary
/// itself is never held.
#[derive(Debug, Default)]
pub struct Finder {
    /// Bytes from `start` on: unsearched ones, or a candidate's.
    held: Vec<u8>,
    /// File offset of `held[0]`.
    start: u64,
    /// Next aligned offset to test.
    next: u64,
    /// A magic found at this offset, waiting for the rest of its blob.
    candidate: Option<u64>,
    /// The build info found (then nothing more is held).
    found: Option<BuildInfo>,
    /// Why the first rejected candidate was not used.
    rejected: Option<BuildInfoError>,
}

impl Finder {
    /// Whether build info was found (nothing more is needed).
    pub fn is_done(&self) -> bool {
        self.found.is_some()
    }

    /// The next bytes of the file, from offset `at` (the end of what was fed
    /// before).
    pub fn feed(&mut self, at: u64, bytes: &[u8]) {
        if self.found.is_some() {
            return;
        }
        if self.held.is_empty() {
            self.start = at;
        }
        self.held.extend_from_slice(bytes);
        self.advance(false);
    }

    /// What was found once the file has ended: the build info, or why a
    /// candidate that looked like one was not (`None` for neither).
    pub fn finish(mut self) -> Option<Result<BuildInfo, BuildInfoError>> {
        self.advance(true);
        match (self.found, self.rejected) {
            (Some(info), _) => Some(Ok(info)),
            (None, Some(e)) => Some(Err(e)),
            (None, None) => None,
        }
    }

    fn advance(&mut self, at_end: bool) {
        let end = self.start + self.held.len() as u64;
        loop {
            if let Some(at) = self.candidate {
                let from = usize::try_from(at - self.start).unwrap_or(usize::MAX);
                match parse(self.held.get(from..).unwrap_or_default()) {
                    Ok(info) => {
                        self.found = Some(info);
                        self.held = Vec::new();
                        return;
                    }
                    Err(BuildInfoError::Incomplete { .. }) if !at_end => return,
                    Err(BuildInfoError::NotBuildInfo) => {}
                    Err(e) => {
                        self.rejected.get_or_insert(e);
                    }
                }
                // Not this one: search on after it.
                self.candidate = None;
                self.next = at + ALIGN;
            }
            while self.next + MAGIC.len() as u64 <= end {
                let i = usize::try_from(self.next - self.start).unwrap_or(usize::MAX);
                // The first byte alone rules out almost every offset.
                if self.held.get(i) == Some(&MAGIC[0])
                    && self.held.get(i..i + MAGIC.len()) == Some(&MAGIC[..])
                {
                    self.candidate = Some(self.next);
                    break;
                }
                self.next += ALIGN;
            }
            if self.candidate.is_none() {
                // Keep only what the next test needs.
                let keep_from = self.next.min(end);
                let drop = usize::try_from(keep_from - self.start).unwrap_or(0);
                self.held.drain(..drop.min(self.held.len()));
                self.start = keep_from;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob as Go ≥ 1.18's linker writes it.
    pub(crate) fn blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[8, 2]);
        b.resize(HEADER, 0);
        let framed = if modinfo.is_empty() {
            Vec::new()
        } else {
            // cmd/go/internal/modload's infoStart and infoEnd.
            let mut f =
                b"\x30\x77\xaf\x0c\x92\x74\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6".to_vec();
            f.extend_from_slice(modinfo.as_bytes());
            f.extend_from_slice(
                b"\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2",
            );
            f
        };
        for s in [version.as_bytes(), &framed[..]] {
            let mut n = s.len() as u64;
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    b.push(byte);
                    break;
                }
                b.push(byte | 0x80);
            }
            b.extend_from_slice(s);
        }
        b
    }

    const MODINFO: &str = "path\texample.com/hello\nmod\texample.com/hello\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.7\th1:abc=\ndep\texample.com/old\tv1.0.0\n=>\texample.com/new\tv1.1.0\th1:def=\ndep\texample.com/local\tv0.1.0\n=>\t../local\t\t\nbuild\t-compiler=gc\n";

    #[test]
    fn modules_dependencies_replacements_and_the_standard_library() {
        let info = parse(&blob("go1.21.3 X:boringcrypto", MODINFO)).unwrap();
        assert_eq!(info.go_version, "go1.21.3 X:boringcrypto");
        let mut problems = Vec::new();
        let got = info.packages("/app/hello", &mut problems);
        assert_eq!(
            crate::catalog::listed(&got),
            [
                ("stdlib", "1.21.3", "pkg:golang/stdlib@1.21.3"),
                (
                    "golang.org/x/text",
                    "v0.3.7",
                    "pkg:golang/golang.org/x/text@v0.3.7"
                ),
                (
                    "example.com/new",
                    "v1.1.0",
                    "pkg:golang/example.com/new@v1.1.0"
                ),
            ]
        );
        assert!(got.iter().all(|p| p.path == "/app/hello"));
        assert_eq!(
            problems,
            [
                BinaryProblem::GoMainModuleDevel {
                    path: "/app/hello".into(),
                    module: "\"example.com/hello\"".into()
                },
                BinaryProblem::GoLocalReplacements {
                    path: "/app/hello".into(),
                    count: 1,
                    first: "\"example.com/local\" => \"../local\"".into()
                }
            ]
        );
    }

    #[test]
    fn a_versioned_main_module_and_a_release_candidate_toolchain() {
        let modinfo = "mod\tgithub.com/Azure/app\tv1.4.0\th1:x=\n";
        let info = parse(&blob("go1.21rc2", modinfo)).unwrap();
        let mut problems = Vec::new();
        let got = info.packages("/app", &mut problems);
        assert_eq!(
            crate::catalog::listed(&got),
            [
                ("stdlib", "1.21.0-rc.2", "pkg:golang/stdlib@1.21.0-rc.2"),
                // The module path keeps its case (Go paths are case-sensitive).
                (
                    "github.com/Azure/app",
                    "v1.4.0",
                    "pkg:golang/github.com/Azure/app@v1.4.0"
                ),
            ]
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn a_development_toolchain_names_no_standard_library_version() {
        let info = parse(&blob("devel go1.22-abcdef Tue Jan 1", "")).unwrap();
        let mut problems = Vec::new();
        assert!(info.packages("/x", &mut problems).is_empty());
        assert!(matches!(
            problems[..],
            [BinaryProblem::GoToolchainUnknown { .. }]
        ));
    }

    #[test]
    fn bad_blobs_are_errors_never_panics() {
        let good = blob("go1.21.3", MODINFO);
        // Every cut of a good blob is incomplete.
        for cut in 0..good.len() {
            assert!(
                matches!(parse(&good[..cut]), Err(BuildInfoError::Incomplete { .. })),
                "{cut}"
            );
        }
        // The older pointer form.
        let mut old = good.clone();
        old[15] = 0;
        assert_eq!(parse(&old), Err(BuildInfoError::PointerForm));
        // A header no linker writes.
        let mut odd = good.clone();
        odd[14] = b'x';
        assert_eq!(parse(&odd), Err(BuildInfoError::NotBuildInfo));
        // Absurd lengths: over the bound, and an overflowing uvarint.
        let mut long = good[..HEADER].to_vec();
        long.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(matches!(
            parse(&long),
            Err(BuildInfoError::TooLong {
                length: 0xffff_ffff,
                ..
            })
        ));
        let mut overflow = good[..HEADER].to_vec();
        overflow.extend_from_slice(&[0xff; 11]);
        assert!(matches!(
            parse(&overflow),
            Err(BuildInfoError::TooLong {
                length: u64::MAX,
                ..
            })
        ));
        // An empty version.
        assert!(matches!(
            parse(&blob("", MODINFO)),
            Err(BuildInfoError::Invalid(_))
        ));
    }

    #[test]
    fn a_modinfo_line_go_refuses_fails_the_modules_not_the_toolchain() {
        let info = parse(&blob("go1.20", "dep\tonly-a-path\n")).unwrap();
        let mut problems = Vec::new();
        let got = info.packages("/x", &mut problems);
        assert_eq!(crate::catalog::listed(&got)[0].1, "1.20.0");
        assert_eq!(got.len(), 1);
        assert!(matches!(
            &problems[..],
            [BinaryProblem::GoBuildInfoInvalid { reason, .. }] if reason.contains("line 1")
        ));
        let info = parse(&blob("go1.20", "=>\ta\tv1\t\n")).unwrap();
        let mut problems = Vec::new();
        info.packages("/x", &mut problems);
        assert!(matches!(
            &problems[..],
            [BinaryProblem::GoBuildInfoInvalid { .. }]
        ));
    }

    /// Feeds `file` to a finder in chunks of `chunk` bytes.
    fn find(file: &[u8], chunk: usize) -> Option<Result<BuildInfo, BuildInfoError>> {
        let mut finder = Finder::default();
        for (i, part) in file.chunks(chunk).enumerate() {
            finder.feed((i * chunk) as u64, part);
        }
        finder.finish()
    }

    #[test]
    fn the_finder_sees_a_blob_across_chunks_past_a_false_magic() {
        let mut file = vec![0x90u8; 4096];
        // The magic as a string constant (read-only data of a program that
        // reads build info): aligned, but no linker's header follows.
        file[1024..1038].copy_from_slice(MAGIC);
        file[1038..1042].copy_from_slice(b"text");
        // The magic unaligned, with a valid header: not where Go looks.
        let stray = blob("go1.1.1", "");
        file[2001..2001 + stray.len()].copy_from_slice(&stray);
        let real = blob("go1.21.3", MODINFO);
        file.extend_from_slice(&real);
        file.extend_from_slice(&[0u8; 100]);
        for chunk in [1, 7, 16, 100, 4096, 1 << 20] {
            let got = find(&file, chunk).unwrap().unwrap();
            assert_eq!(got.go_version, "go1.21.3", "chunk {chunk}");
        }
    }

    #[test]
    fn the_finder_reports_an_old_or_cut_blob_and_nothing_for_none() {
        assert_eq!(find(&[0u8; 1000], 64), None);
        let mut old = vec![0u8; 64];
        let mut header = blob("go1.17", "");
        header[15] = 0;
        old.extend_from_slice(&header);
        assert_eq!(find(&old, 64), Some(Err(BuildInfoError::PointerForm)));
        let good = blob("go1.21.3", MODINFO);
        let mut cut = vec![0u8; 32];
        cut.extend_from_slice(&good[..good.len() - 5]);
        assert!(matches!(
            find(&cut, 10),
            Some(Err(BuildInfoError::Incomplete { .. }))
        ));
    }

    #[test]
    fn the_finder_holds_little_while_searching() {
        let mut finder = Finder::default();
        let chunk = vec![0x55u8; 64 << 10];
        for i in 0..64u64 {
            finder.feed(i * (64 << 10), &chunk);
            assert!(finder.held.len() < 64, "{}", finder.held.len());
        }
        // A candidate whose blob claims the most it may: held up to it, no more.
        let mut big = blob("go1.21.3", "");
        big.truncate(HEADER + 1 + 8);
        big.extend_from_slice(&[0xff, 0xff, 0x3f]); // 1 MiB - 1 of modinfo
        finder.feed(64 * (64 << 10), &big);
        assert!(!finder.is_done());
    }
}
