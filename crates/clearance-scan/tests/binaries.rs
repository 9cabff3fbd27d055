//! Packages compiled into binaries, on binaries built here: a Go program
//! with vendored modules (one replaced) built offline by the Go toolchain,
//! and a Rust program built by `cargo auditable` against a vendored
//! crates.io crate. Each goes through the real layer reader into the
//! inventory; then whiteouts, replacements, links, and cut or tampered
//! copies of the same binaries.
#![allow(clippy::unwrap_used)]

#[path = "support/go_program.rs"]
mod go_program;
mod support;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use clearance_oci::layer::{LayerLimits, read_layer};
use clearance_scan::catalog::binary::BinaryProblem;
use clearance_scan::catalog::{self, Cataloger, PackageType};
use clearance_scan::inventory::{Inventory, InventoryWarning, LayerCapture};
use support::{Entry, inventory, layer, stored_round_trip};

/// Fail (never skip) when a tool is missing, saying how to get it.
fn need(tool: &str, how: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is not installed; run scripts/install-test-deps.sh ({how})"
    );
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The Go program of `support/go_program.rs`, built once per test run:
/// its bytes and the toolchain's version.
fn go_binary() -> &'static (Vec<u8>, String) {
    static BUILT: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let built = go_program::build(dir.path());
        (std::fs::read(&built.binary).unwrap(), built.go_version)
    })
}

fn golang(inv: &Inventory) -> Vec<(&str, &str, &str, usize)> {
    let mut got: Vec<_> = inv
        .packages
        .iter()
        .filter(|f| f.package.kind == PackageType::Golang)
        .map(|f| {
            (
                f.package.path.as_str(),
                f.package.name.as_str(),
                f.package.version.as_str(),
                f.layer,
            )
        })
        .collect();
    got.sort();
    got
}

#[test]
fn a_go_binary_lists_its_modules_and_standard_library_with_its_layer() {
    let (hello, go_version) = go_binary();
    let stdlib = go_program::stdlib_version(go_version);
    let base = layer(&[Entry::File("etc/hostname", b"x\n")]);
    // Chosen by content, not by name or mode: also as a non-executable
    // file with a misleading name.
    let app = layer(&[
        Entry::FileMode("usr/local/bin/hello", 0o755, hello),
        Entry::FileMode("srv/data.txt", 0o644, hello),
    ]);
    let inv = inventory(&[base, app]);
    let mut want = Vec::new();
    for path in ["/srv/data.txt", "/usr/local/bin/hello"] {
        want.push((path, "example.com/greet", "v1.2.3", 1));
        // The replacement, not the module it replaced.
        want.push((path, "example.com/new", "v1.1.0", 1));
        want.push((path, "stdlib", stdlib.as_str(), 1));
    }
    assert_eq!(golang(&inv), want);
    let greet = inv
        .packages
        .iter()
        .find(|f| f.package.name == "example.com/greet")
        .unwrap();
    assert_eq!(greet.package.purl, "pkg:golang/example.com/greet@v1.2.3");
    // The main module has no version: said, per binary, not listed.
    let devel: Vec<&str> = inv
        .warnings
        .iter()
        .filter_map(|w| match w {
            InventoryWarning::Binary {
                layer: 1,
                problem: BinaryProblem::GoMainModuleDevel { path, module },
            } if module == "\"example.com/hello\"" => Some(path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(devel, ["/usr/local/bin/hello", "/srv/data.txt"]);
    assert_eq!(inv.warnings.len(), 2, "{:?}", inv.warnings);
}

#[test]
fn whiteouts_replacements_and_links_take_a_binarys_packages_away() {
    let (hello, _) = go_binary();
    let base = layer(&[
        Entry::FileMode("app/hello", 0o755, hello),
        Entry::FileMode("app/other", 0o755, hello),
        Entry::FileMode("app/script", 0o755, hello),
        Entry::FileMode("app/linked", 0o755, hello),
        Entry::FileMode("app/kept", 0o755, hello),
        // A hard link is the binary under another name.
        Entry::Hardlink("app/alias", "app/kept"),
    ]);
    let top = layer(&[
        Entry::File("app/.wh.hello", b""),
        Entry::FileMode("app/script", 0o755, b"#!/bin/sh\nexec true\n"),
        Entry::Link("app/linked", "/bin/true"),
    ]);
    let inv = inventory(&[base.clone(), top]);
    let mut paths: Vec<&str> = golang(&inv).iter().map(|(p, ..)| *p).collect();
    paths.dedup();
    assert_eq!(paths, ["/app/alias", "/app/kept", "/app/other"]);
    let mut removed: Vec<(&str, usize)> = inv
        .removed
        .iter()
        .filter(|r| r.package.name == "stdlib")
        .map(|r| (r.package.path.as_str(), r.removed_in))
        .collect();
    removed.sort();
    assert_eq!(
        removed,
        [("/app/hello", 1), ("/app/linked", 1), ("/app/script", 1)]
    );
    // What a binary could not say (its `(devel)` main module) is said only
    // of the binaries still in the image (a hard link's, of its file).
    let mut said: Vec<&str> = inv
        .warnings
        .iter()
        .filter_map(|w| match w {
            InventoryWarning::Binary {
                problem: BinaryProblem::GoMainModuleDevel { path, .. },
                ..
            } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    said.sort();
    assert_eq!(said, ["/app/kept", "/app/other"]);
    // An opaque whiteout of the directory takes all of them.
    let emptied = layer(&[Entry::File("app/.wh..wh..opq", b"")]);
    let inv = inventory(&[base, emptied]);
    assert!(golang(&inv).is_empty());
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

/// The offset of the build info magic in a Go binary.
fn magic_at(binary: &[u8]) -> usize {
    let magic = catalog::binary::go::MAGIC;
    (0..binary.len())
        .step_by(16)
        .find(|&i| binary[i..].starts_with(magic) && binary[i + 14] == 8)
        .unwrap()
}

fn problems(inv: &Inventory) -> Vec<&BinaryProblem> {
    inv.warnings
        .iter()
        .filter_map(|w| match w {
            InventoryWarning::Binary { problem, .. } => Some(problem),
            _ => None,
        })
        .collect()
}

#[test]
fn cut_tampered_and_fake_binaries_are_warnings_naming_the_file() {
    let (hello, _) = go_binary();
    let at = magic_at(hello);
    // Cut inside the build info.
    let cut = &hello[..at + 40];
    // The pre-1.18 pointer form.
    let mut old = hello.clone();
    old[at + 15] &= !2;
    // An absurd modinfo length: the version is `go1.x.y`, then the length.
    let mut absurd = hello.clone();
    let version_len = usize::from(absurd[at + 32]);
    absurd[at + 33 + version_len..at + 33 + version_len + 5]
        .copy_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    let inv = inventory(&[layer(&[
        Entry::FileMode("bin/cut", 0o755, cut),
        Entry::FileMode("bin/old", 0o755, &old),
        Entry::FileMode("bin/absurd", 0o755, &absurd),
        // ELF magic, then nothing a linker writes.
        Entry::FileMode("bin/fake", 0o755, b"\x7fELF\x02\x01\x01"),
        Entry::FileMode(
            "bin/garbage",
            0o755,
            &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0xff, 0xff],
        ),
        // Not a binary at all, and `MZ` text is not a PE.
        Entry::FileMode("bin/mz", 0o755, b"MZ is not a PE file\n"),
    ])]);
    assert!(golang(&inv).is_empty(), "{:?}", golang(&inv));
    let got = problems(&inv);
    let path_of = |p: &BinaryProblem| match p {
        BinaryProblem::Malformed { path, .. }
        | BinaryProblem::GoBuildInfoTooOld { path }
        | BinaryProblem::GoBuildInfoInvalid { path, .. } => path.clone(),
        other => panic!("unexpected {other:?}"),
    };
    let mut named: Vec<String> = got.iter().map(|p| path_of(p)).collect();
    named.sort();
    named.dedup();
    assert_eq!(
        named,
        [
            "/bin/absurd",
            "/bin/cut",
            "/bin/fake",
            "/bin/garbage",
            "/bin/old"
        ]
    );
    assert!(got.iter().any(|p| matches!(
        p,
        BinaryProblem::GoBuildInfoTooOld { path } if path == "/bin/old"
    )));
    assert!(got.iter().any(|p| matches!(
        p,
        BinaryProblem::GoBuildInfoInvalid { path, reason } if path == "/bin/absurd" && reason.contains("over the limit")
    )));
    assert!(got.iter().any(|p| matches!(
        p,
        BinaryProblem::GoBuildInfoInvalid { path, reason } if path == "/bin/cut" && reason.contains("cut short")
    )));
    // A file claiming to be ELF whose header is cut.
    assert!(got.iter().any(|p| matches!(
        p,
        BinaryProblem::Malformed { path, format, .. } if path == "/bin/fake" && format == "ELF"
    )));
    // Each message names its file.
    for w in &inv.warnings {
        assert!(w.to_string().contains("/bin/"), "{w}");
    }
}

#[test]
fn binaries_round_trip_through_the_stored_capture() {
    let (hello, _) = go_binary();
    let tar = layer(&[
        Entry::FileMode("app/hello", 0o755, hello),
        Entry::FileMode("app/run.sh", 0o755, b"#!/bin/sh\n"),
    ]);
    let (direct, replayed) = stored_round_trip(&tar);
    assert_eq!(golang(&direct), golang(&replayed));
    assert_eq!(golang(&direct).len(), 3);
    // Notes stored before binaries were captured still read.
    let old: clearance_scan::inventory::StoredNotes = serde_json::from_str(
        r#"{"whiteouts":[],"too_large":[],"links":[],"replaced":[],"kept":0,"over_budget":0,"over_budget_named":[]}"#,
    )
    .unwrap();
    assert!(old.binaries.is_empty());
}

/// A Rust program built once per test run with `cargo auditable`: the
/// crate `audited` (local) needing `tinydep 1.4.2`, served as crates.io
/// from a vendored directory so nothing is fetched.
fn auditable_binary() -> &'static Vec<u8> {
    static BUILT: OnceLock<Vec<u8>> = OnceLock::new();
    BUILT.get_or_init(|| {
        need(
            "cargo-auditable",
            "`cargo install cargo-auditable --locked`",
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            &d.join("Cargo.toml"),
            "[package]\nname = \"audited\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntinydep = \"=1.4.2\"\n",
        );
        write(
            &d.join("src/main.rs"),
            "fn main() { println!(\"{}\", tinydep::VALUE); }\n",
        );
        write(
            &d.join(".cargo/config.toml"),
            "[source.crates-io]\nreplace-with = \"vendored\"\n\n[source.vendored]\ndirectory = \"vendor\"\n",
        );
        write(
            &d.join("vendor/tinydep/Cargo.toml"),
            "[package]\nname = \"tinydep\"\nversion = \"1.4.2\"\nedition = \"2021\"\n",
        );
        write(
            &d.join("vendor/tinydep/src/lib.rs"),
            "pub const VALUE: u32 = 7;\n",
        );
        write(
            &d.join("vendor/tinydep/.cargo-checksum.json"),
            r#"{"files":{},"package":"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"}"#,
        );
        run(Command::new("cargo")
            .args(["auditable", "build", "--release", "--offline", "-j1"])
            .current_dir(d)
            .env("CARGO_TARGET_DIR", d.join("target"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTFLAGS"));
        std::fs::read(d.join("target/release/audited")).unwrap()
    })
}

#[test]
fn a_cargo_auditable_binary_lists_its_crates_io_crates() {
    let audited = auditable_binary();
    let inv = inventory(&[layer(&[Entry::FileMode("usr/bin/audited", 0o755, audited)])]);
    let crates: Vec<(&str, &str, &str, &str)> = inv
        .packages
        .iter()
        .filter(|f| f.package.kind == PackageType::Cargo)
        .map(|f| {
            (
                f.package.name.as_str(),
                f.package.version.as_str(),
                f.package.purl.as_str(),
                f.package.path.as_str(),
            )
        })
        .collect();
    // The local root crate is not on crates.io: not listed.
    assert_eq!(
        crates,
        [(
            "tinydep",
            "1.4.2",
            "pkg:cargo/tinydep@1.4.2",
            "/usr/bin/audited"
        )]
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    // The same binary with its data corrupted: a warning naming it.
    let mut broken = audited.clone();
    let section = dep_section(&broken);
    broken[section.start..section.start + 8].fill(0);
    let inv = inventory(&[layer(&[Entry::FileMode("usr/bin/broken", 0o755, &broken)])]);
    assert!(inv.packages.is_empty());
    assert!(
        matches!(
            problems(&inv)[..],
            [BinaryProblem::AuditableInvalid { path, .. }] if path == "/usr/bin/broken"
        ),
        "{:?}",
        inv.warnings
    );
}

/// Where `.dep-v0`'s bytes are, from `readelf -S`-like parsing with the
/// `object` crate's high-level reader (independent of the scanner's).
fn dep_section(binary: &[u8]) -> std::ops::Range<usize> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(binary).unwrap();
    let section = file.section_by_name(".dep-v0").unwrap();
    let (offset, size) = section.file_range().unwrap();
    offset as usize..(offset + size) as usize
}

/// Go packages match OSV's Go data: `stdlib` by the toolchain's semantic
/// version, modules by their `v`-prefixed versions (real records of the
/// Go vulnerability database, tests/data/go).
#[tokio::test]
async fn go_packages_match_the_go_vulnerability_database() {
    use clearance_scan::advisory::source;
    use clearance_scan::db::AdvisoryDb;
    use clearance_scan::inventory::Found;
    use clearance_scan::matcher::{self, MatchSettings, Report};

    let dir = tempfile::tempdir().unwrap();
    let db = AdvisoryDb::create(&dir.path().join("a.db")).await.unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/go");
    for import in source::read_path(&data).unwrap() {
        assert!(import.problems.is_empty(), "{:?}", import.problems);
        db.import(&import).await.unwrap();
    }
    let go = |name: &str, version: &str| Found {
        package: catalog::Package::language(
            PackageType::Golang,
            name.into(),
            version.into(),
            &format!("/bin/{version}"),
        ),
        layer: 0,
        owned_by: None,
    };
    let inv = Inventory {
        packages: vec![
            go("stdlib", "1.19.8"),
            go("stdlib", "1.19.11"),
            go("stdlib", "1.20.5"),
            go("golang.org/x/text", "v0.3.6"),
            go("golang.org/x/text", "v0.3.7"),
        ],
        ..Inventory::default()
    };
    let set = db.lookup(&matcher::lookup_keys(&inv)).await.unwrap();
    let report = Report::generate(&set, &inv, &MatchSettings::default());
    let mut found: Vec<(&str, &str, &str)> = report
        .findings
        .iter()
        .map(|f| {
            // The finding's id is the CVE; the Go record is among its aliases.
            let go_id = std::iter::once(&f.id)
                .chain(&f.aliases)
                .find(|a| a.starts_with("GO-"))
                .map_or("", String::as_str);
            (f.package.name.as_str(), f.package.version.as_str(), go_id)
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("golang.org/x/text", "v0.3.6", "GO-2021-0113"),
            ("stdlib", "1.19.8", "GO-2023-1878"),
            ("stdlib", "1.20.5", "GO-2023-1878"),
        ]
    );
    assert!(report.unmatched.is_empty(), "{:?}", report.unmatched);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

/// `binary` (ELF64, little-endian) with `gap` zero bytes inserted where
/// `section`'s bytes start, every section header and the section table
/// moved to match: a tail as long as debug info makes it.
fn padded_before(binary: &[u8], section: &str, gap: usize) -> Vec<u8> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(binary).unwrap();
    let at = file
        .section_by_name(section)
        .unwrap()
        .file_range()
        .unwrap()
        .0 as usize;
    let mut out = binary[..at].to_vec();
    out.resize(at + gap, 0);
    out.extend_from_slice(&binary[at..]);
    let u64_at = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes(b[i..i + 2].try_into().unwrap());
    let mut shoff = u64_at(&out, 0x28) as usize;
    if shoff >= at {
        shoff += gap;
        out[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
    }
    let (entsize, count) = (
        usize::from(u16_at(&out, 0x3a)),
        usize::from(u16_at(&out, 0x3c)),
    );
    for i in 0..count {
        let header = shoff + i * entsize;
        let nobits = u32::from_le_bytes(out[header + 4..header + 8].try_into().unwrap()) == 8;
        let offset = u64_at(&out, header + 0x18) as usize;
        if !nobits && offset >= at {
            out[header + 0x18..header + 0x20]
                .copy_from_slice(&((offset + gap) as u64).to_le_bytes());
        }
    }
    out
}

#[test]
fn a_long_elf_tail_keeps_its_ends_and_says_when_the_data_lies_between() {
    use clearance_scan::catalog::binary::auditable::MAX_TAIL_BYTES;
    let audited = auditable_binary();
    let gap = MAX_TAIL_BYTES as usize + (1 << 20);
    // Debug info after the data (where linkers put it): still read.
    let after = padded_before(audited, ".symtab", gap);
    assert_eq!(dep_section(&after), dep_section(audited));
    let inv = inventory(&[layer(&[Entry::FileMode("app/after", 0o755, &after)])]);
    let names: Vec<&str> = inv
        .packages
        .iter()
        .map(|f| f.package.name.as_str())
        .collect();
    assert_eq!(names, ["tinydep"], "{:?}", inv.warnings);
    // The data in the middle of a tail longer than what is kept (8 MiB of
    // it before, 13 after): said, with where it is.
    let before = padded_before(
        &padded_before(audited, ".symtab", 13 << 20),
        ".dep-v0",
        8 << 20,
    );
    let offset = dep_section(&before).start as u64;
    let inv = inventory(&[layer(&[Entry::FileMode("app/before", 0o755, &before)])]);
    assert!(inv.packages.is_empty());
    assert!(
        matches!(
            &problems(&inv)[..],
            [BinaryProblem::AuditableNotReached { path, offset: at }] if path == "/app/before" && *at == offset
        ),
        "{:?}",
        inv.warnings
    );
}

/// Wants every file whole, as another scanner beside the capture might,
/// and hands each entry on to the capture.
struct Greedy(LayerCapture);

impl clearance_oci::layer::LayerVisitor for Greedy {
    fn wants_content(&mut self, entry: &clearance_oci::layer::LayerEntry) -> bool {
        self.0.wants_content(entry);
        true
    }
    fn entry(&mut self, entry: clearance_oci::layer::LayerEntry, content: Option<Vec<u8>>) {
        self.0.entry(entry, content);
    }
}

#[test]
fn a_binary_handed_over_whole_for_another_visitor_is_still_read() {
    let (hello, _) = go_binary();
    let catalogers: Arc<Vec<Box<dyn Cataloger>>> = Arc::new(catalog::all());
    let tar = layer(&[Entry::FileMode("app/hello", 0o755, hello)]);
    let mut greedy = Greedy(LayerCapture::new(catalogers.clone()));
    read_layer(&tar[..], &LayerLimits::default(), None, &mut greedy).unwrap();
    let inv = Inventory::build(&catalogers, vec![greedy.0]);
    assert_eq!(golang(&inv).len(), 3);
}

/// Through `LayerScan`, as `clearance scan` reads layers: a binary small
/// enough for the secret scanner to ask for it whole is still inventoried
/// (the capture reads it from memory).
#[test]
fn a_binary_the_secret_scanner_reads_whole_is_still_inventoried() {
    use clearance_scan::layer_scan::LayerScan;
    let audited = auditable_binary();
    assert!(
        audited.len() as u64 <= clearance_scan::secrets::MAX_SCANNED_FILE_BYTES,
        "the test needs a binary the secret scanner asks for ({} bytes)",
        audited.len()
    );
    let catalogers: Arc<Vec<Box<dyn Cataloger>>> = Arc::new(catalog::all());
    let tar = layer(&[Entry::FileMode("usr/bin/audited", 0o755, audited)]);
    let mut scan = LayerScan::new(catalogers.clone());
    read_layer(&tar[..], &LayerLimits::default(), None, &mut scan).unwrap();
    assert_eq!(
        scan.secrets.to_stored().stats.skipped_binary,
        1,
        "the secret scanner read it"
    );
    let inv = Inventory::build(&catalogers, vec![scan.capture]);
    let crates: Vec<&str> = inv
        .packages
        .iter()
        .filter(|f| f.package.kind == PackageType::Cargo)
        .map(|f| f.package.name.as_str())
        .collect();
    assert_eq!(crates, ["tinydep"]);
}
