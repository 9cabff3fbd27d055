//! Rust crates: `Cargo.lock`, the exact versions a Rust build resolved
//! (cargo's `src/cargo/core/resolver/encode.rs`, lock file versions 1–4).
//!
//! Each `[[package]]` table has `name`, `version` and, for a package from
//! a registry, `source`: `registry+URL` (crates.io is
//! `registry+https://github.com/rust-lang/crates.io-index` whichever
//! protocol fetched it) or, for another registry on the sparse protocol,
//! `sparse+URL`. Only those are listed. Path packages (no `source`: the
//! workspace's own crates) and git packages (`git+URL#COMMIT`) are skipped:
//! they are not on crates.io, so crates.io advisories do not describe
//! them, and their names may belong to a different crate there. Version 1
//! writes checksums in a `[metadata]` table and version 2 onwards inline;
//! neither is read. An older `[root]` table is the workspace's own package
//! and is skipped too.
//!
//! A `Cargo.lock` says what a build compiled in, which is what a Rust
//! binary carries: unlike an interpreter's lock file it is the inventory of
//! the program shipped beside it.
//!
//! The file is read as cargo writes it: split at its table header lines,
//! each table parsed by the `toml` crate on its own (see
//! [`MAX_TABLE_BYTES`] for why). A table that is not valid TOML is a
//! warning and the others are still read. A lock laid out as no tool
//! writes one (`package = [{…}]` inline) lists nothing.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::lenient::{Skipped, Text, usable};
use super::{CatalogError, Cataloger, MAX_PACKAGES, Package, PackageType, escaped_message};
use crate::os::Distro;

/// The Cargo.lock cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Cargo;

/// The fields of a `[[package]]` table read; the rest are skipped.
#[derive(Deserialize)]
struct Entry {
    name: Option<Text>,
    version: Option<Text>,
    source: Option<Text>,
}

/// Largest table handed to the TOML parser, in bytes. The `toml` crate
/// builds a document of tokens and spanned values first, at up to 80
/// times the input (measured: a 32 MiB `a = [0,0,…]` took 2.5 GB), so
/// the lock is split at its table headers and each table parsed alone.
/// A real `[[package]]` table is under 10 KiB (one with 300
/// dependencies); a larger one is skipped with a warning, as is a larger
/// other table (version 1's `[metadata]`), unvalidated since nothing in it
/// is read.
pub const MAX_TABLE_BYTES: usize = 256 << 10;

impl Cataloger for Cargo {
    fn name(&self) -> &'static str {
        "cargo"
    }

    fn wants(&self, path: &str) -> bool {
        path == "Cargo.lock" || path.ends_with("/Cargo.lock")
    }

    fn read(
        &self,
        path: &str,
        bytes: &[u8],
        _distro: Option<&Distro>,
        warnings: &mut Vec<CatalogError>,
    ) -> Result<Vec<Package>, CatalogError> {
        let invalid = |reason: String| CatalogError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|e| invalid(format!("not UTF-8 ({e}), so not TOML")))?;
        let mut out = Vec::new();
        let mut skipped = Skipped::default();
        let mut broken = Broken::default();
        let mut packages = 0usize;
        for table in tables(text) {
            let is_package = match table.header {
                Header::Package => true,
                Header::Other => false,
                Header::Malformed => {
                    broken.note(table.line, || {
                        "a table header that is not [NAME] or [[NAME]]".to_owned()
                    });
                    false
                }
            };
            if is_package {
                packages += 1;
                if packages > MAX_PACKAGES {
                    return Err(CatalogError::TooManyPackages {
                        path: path.to_owned(),
                    });
                }
            }
            if table.body.len() > MAX_TABLE_BYTES {
                if is_package {
                    broken.note(table.line, || {
                        format!("a [[package]] table over {MAX_TABLE_BYTES} bytes")
                    });
                }
                continue;
            }
            if is_package {
                out.extend(package(&table, path, &mut broken, &mut skipped));
            } else if let Err(e) = toml::from_str::<IgnoredAny>(table.body) {
                broken.toml(table.body_line, table.body, &e);
            }
        }
        if let Some((count, line, what)) = broken.first {
            warnings.push(invalid(format!(
                "{count} {} not valid TOML, the first at line {line} ({what})",
                if count == 1 {
                    "part that is"
                } else {
                    "parts that are"
                }
            )));
        }
        warnings.extend(skipped.warning(path, "[[package]] tables"));
        Ok(out)
    }
}

/// The package a `[[package]]` table lists: `None` when it is not valid
/// TOML (noted in `broken`), lacks a name or version (noted in
/// `skipped`), or is not from a registry.
fn package(
    table: &Table<'_>,
    path: &str,
    broken: &mut Broken,
    skipped: &mut Skipped,
) -> Option<Package> {
    let entry: Entry = match toml::from_str(table.body) {
        Ok(entry) => entry,
        Err(e) => {
            broken.toml(table.body_line, table.body, &e);
            return None;
        }
    };
    let (name, version) = (entry.name.as_ref(), entry.version.as_ref());
    let (Some(name), Some(version)) = (usable(name), usable(version)) else {
        skipped.note(|| format!("the one at line {}", table.line), name, version);
        return None;
    };
    let from_registry = entry
        .source
        .as_ref()
        .and_then(Text::non_empty)
        .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"));
    from_registry.then(|| {
        Package::language(
            PackageType::Cargo,
            name.to_owned(),
            version.to_owned(),
            path,
        )
    })
}

/// What kind of table a header line opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    /// `[[package]]`.
    Package,
    /// Any other `[NAME]` or `[[NAME]]`, or the top of the file before
    /// the first header.
    Other,
    /// A line starting with `[` that is not a header.
    Malformed,
}

/// One table of the lock file: its header and the 1-based line of that
/// header (the top of the file, before any header, is line 1), and the
/// text after it up to the next header with the line that text starts on.
struct Table<'a> {
    header: Header,
    line: usize,
    body_line: usize,
    body: &'a str,
}

/// The file split at its header lines: each line whose first non-blank
/// character is `[`. Cargo writes nothing else starting with `[` (its
/// arrays hold strings, one per line); a hand-made lock with a nested
/// array or a multi-line string holding such a line is split wrongly, and
/// the parts that are then not TOML are warnings.
fn tables(text: &str) -> impl Iterator<Item = Table<'_>> {
    let opens = |l: &str| l.trim_start().starts_with('[');
    let mut lines = text.split_inclusive('\n').enumerate().peekable();
    let mut offset = 0usize;
    let mut top = true;
    std::iter::from_fn(move || {
        let (header, line) = match lines.next_if(|(_, l)| opens(l)) {
            Some((i, l)) => {
                offset += l.len();
                (header_kind(l), i + 1)
            }
            None if top => (Header::Other, 1),
            None => return None,
        };
        top = false;
        let body_line = lines.peek().map_or(line + 1, |(i, _)| i + 1);
        let start = offset;
        while let Some((_, l)) = lines.next_if(|(_, l)| !opens(l)) {
            offset += l.len();
        }
        Some(Table {
            header,
            line,
            body_line,
            body: text.get(start..offset).unwrap_or(""),
        })
    })
}

/// The kind of table a header line opens: `[[package]]` (also quoted,
/// spaced, or followed by a comment), another, or not a header.
fn header_kind(line: &str) -> Header {
    let t = line.trim();
    let (array, inner_and_rest) = match t.strip_prefix("[[") {
        Some(rest) => (true, rest.split_once("]]")),
        None => (false, t.strip_prefix('[').and_then(|r| r.split_once(']'))),
    };
    let Some((inner, rest)) = inner_and_rest else {
        return Header::Malformed;
    };
    let rest = rest.trim_start();
    if inner.trim().is_empty() || !(rest.is_empty() || rest.starts_with('#')) {
        return Header::Malformed;
    }
    if array && matches!(inner.trim(), "package" | "\"package\"" | "'package'") {
        Header::Package
    } else {
        Header::Other
    }
}

/// Parts of the file that are not valid TOML: how many, and the first.
#[derive(Default)]
struct Broken {
    first: Option<(usize, usize, String)>,
}

impl Broken {
    fn note(&mut self, line: usize, what: impl FnOnce() -> String) {
        match &mut self.first {
            Some((count, _, _)) => *count += 1,
            None => self.first = Some((1, line, what())),
        }
    }

    /// A TOML error in the part starting at `line`, at its own line.
    fn toml(&mut self, line: usize, body: &str, e: &toml::de::Error) {
        let within = e.span().map_or(0, |s| {
            body.bytes().take(s.start).filter(|b| *b == b'\n').count()
        });
        self.note(line + within, || escaped_message(e.message()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::listed;

    /// A version 3 lock file as cargo writes it: the workspace's own crate
    /// (no source), a crates.io crate, a git crate, a crate from another
    /// registry on the sparse protocol, and two versions of one crate.
    const LOCK_V3: &str = r#"# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "regex",
 "serde 1.0.193",
 "serde 0.9.15",
 "tokio-util",
 "private-thing",
]

[[package]]
name = "regex"
version = "1.10.2"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "380b951a9c5e80ddfd6136919eef32310721aa4aacd4889a8d39124b026ab343"

[[package]]
name = "serde"
version = "0.9.15"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "34b623917345a631dc9608d5194cc206b3fe6c3554cd1c75b937e55e285254af"

[[package]]
name = "serde"
version = "1.0.193"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "25dd9975e68d0cb5aa1120c288333fc98731bd1dd12f561e468ea4728c042b89"

[[package]]
name = "tokio-util"
version = "0.7.10"
source = "git+https://github.com/tokio-rs/tokio?rev=a1b2c3#a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"

[[package]]
name = "private-thing"
version = "2.0.0"
source = "sparse+https://crates.example.com/index/"
checksum = "0000000000000000000000000000000000000000000000000000000000000000"
"#;

    /// Version 1: no `version` key, dependencies with their source, the
    /// checksums in `[metadata]`, and the `[root]` table of older cargo.
    const LOCK_V1: &str = r#"[root]
name = "old-app"
version = "0.1.0"
dependencies = [
 "libc 0.2.40 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "libc"
version = "0.2.40"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum libc 0.2.40 (registry+https://github.com/rust-lang/crates.io-index)" = "6fd41f331ac7c5b8ac259b8bf82c75c0fb2e469bbf37d2becbba9a6a2221965b"
"#;

    fn read(text: &str, warnings: &mut Vec<CatalogError>) -> Result<Vec<Package>, CatalogError> {
        Cargo.read("/app/Cargo.lock", text.as_bytes(), None, warnings)
    }

    #[test]
    fn registry_packages_are_listed_and_path_and_git_ones_skipped() {
        let mut w = Vec::new();
        let got = read(LOCK_V3, &mut w).unwrap();
        assert_eq!(
            listed(&got),
            [
                ("regex", "1.10.2", "pkg:cargo/regex@1.10.2"),
                ("serde", "0.9.15", "pkg:cargo/serde@0.9.15"),
                ("serde", "1.0.193", "pkg:cargo/serde@1.0.193"),
                ("private-thing", "2.0.0", "pkg:cargo/private-thing@2.0.0"),
            ]
        );
        assert!(got.iter().all(|p| p.path == "/app/Cargo.lock"));
        assert!(w.is_empty(), "{w:?}");
        // Version 4 differs from 3 only in how it escapes URLs.
        let v4 = LOCK_V3.replace("version = 3", "version = 4");
        assert_eq!(read(&v4, &mut w).unwrap(), got);

        let got = read(LOCK_V1, &mut w).unwrap();
        assert_eq!(listed(&got), [("libc", "0.2.40", "pkg:cargo/libc@0.2.40")]);
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn cargo_lock_anywhere_is_wanted() {
        assert!(Cargo.wants("app/Cargo.lock"));
        assert!(Cargo.wants("Cargo.lock"));
        assert!(Cargo.wants("usr/src/app/Cargo.lock"));
        assert!(!Cargo.wants("app/Cargo.toml"));
        assert!(!Cargo.wants("app/NotCargo.lock"));
        assert!(!Cargo.wants("app/Cargo.lock.orig"));
    }

    #[test]
    fn a_lock_file_without_packages_lists_none() {
        let mut w = Vec::new();
        assert!(read("version = 3\n", &mut w).unwrap().is_empty());
        assert!(read("", &mut w).unwrap().is_empty());
        assert!(w.is_empty());
    }

    /// The one warning a lock file's broken parts give.
    fn broken(text: &str) -> (Vec<Package>, String) {
        let mut w = Vec::new();
        let got = read(text, &mut w).unwrap();
        let [CatalogError::Invalid { path, reason }] = w.as_slice() else {
            panic!("{w:?}");
        };
        assert_eq!(path, "/app/Cargo.lock");
        assert!(
            !reason.contains('\x1b') && !reason.contains('\n'),
            "{reason}"
        );
        (got, reason.clone())
    }

    #[test]
    fn broken_tables_are_one_warning_and_the_others_are_read() {
        let good = "[[package]]\nname = \"ok\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        for (bad, line, what) in [
            ("[[package]\nname = \"x\"\n", 1, "a table header"),
            (
                "[[package]]\nname = \"a\"\nname = \"b\"\n",
                3,
                "duplicate key",
            ),
            ("version = 3\n\n\n[[package]]\nname = \"\x1b[31m\n", 5, ""),
            ("a = [\n1,\n2,\n", 3, "unclosed array"),
            ("[metadata]\nnot toml\n", 2, ""),
        ] {
            let (got, reason) = broken(&format!("{bad}{good}"));
            assert_eq!(
                listed(&got),
                [("ok", "1.0.0", "pkg:cargo/ok@1.0.0")],
                "{bad}"
            );
            assert!(
                reason.starts_with(&format!(
                    "1 part that is not valid TOML, the first at line {line} ({what}"
                )),
                "{bad}: {reason}"
            );
        }
        // Each part counts once; the first is named.
        let (got, reason) = broken("[x\n[[package]]\n= 1\n[y\n");
        assert!(got.is_empty());
        assert!(reason.starts_with("3 parts that are not"), "{reason}");

        let e = Cargo
            .read("/app/Cargo.lock", b"\xff\xfe", None, &mut Vec::new())
            .unwrap_err();
        assert!(matches!(e, CatalogError::Invalid { .. }));
    }

    #[test]
    fn header_lines_in_the_forms_toml_allows() {
        assert_eq!(header_kind("[[package]]\n"), Header::Package);
        assert_eq!(header_kind("  [[ package ]]  # c\n"), Header::Package);
        assert_eq!(header_kind("[[\"package\"]]"), Header::Package);
        assert_eq!(header_kind("[[patch.unused]]"), Header::Other);
        assert_eq!(header_kind("[package]"), Header::Other);
        assert_eq!(header_kind("[metadata]"), Header::Other);
        assert_eq!(header_kind("[[package]] x"), Header::Malformed);
        assert_eq!(header_kind("[[]]"), Header::Malformed);
        assert_eq!(header_kind("[[package]"), Header::Malformed);
        assert_eq!(header_kind("["), Header::Malformed);
    }

    #[test]
    fn a_table_over_the_limit_is_skipped_with_a_warning() {
        let big = format!(
            "[[package]]\nname = \"big\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\ndependencies = [\n{}]\n",
            " \"dep\",\n".repeat(MAX_TABLE_BYTES / 8)
        );
        let (got, reason) = broken(&big);
        assert!(got.is_empty());
        assert!(
            reason.contains("line 1 (a [[package]] table over"),
            "{reason}"
        );
        // A large table nothing is read from is not parsed, nor warned of.
        let metadata = format!(
            "[metadata]\n{}[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\n",
            "\"checksum x\" = \"y\"\n".repeat(MAX_TABLE_BYTES / 16)
        );
        let mut w = Vec::new();
        assert_eq!(read(&metadata, &mut w).unwrap().len(), 1);
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn entries_without_a_string_name_or_version_are_one_warning() {
        let text = r#"
[[package]]
name = "ok"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = 5
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "no-version"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        let mut w = Vec::new();
        let got = read(text, &mut w).unwrap();
        assert_eq!(listed(&got), [("ok", "1.0.0", "pkg:cargo/ok@1.0.0")]);
        let [CatalogError::Invalid { reason, .. }] = w.as_slice() else {
            panic!("{w:?}");
        };
        assert_eq!(
            reason,
            "2 [[package]] tables without a name and version (strings of 1 to 256 bytes), \
             first the one at line 7 (name a number, version \"1.0.0\")"
        );
    }

    #[test]
    fn more_than_max_packages_is_refused() {
        let many = "[[package]]\n".repeat(super::super::MAX_PACKAGES + 1);
        let e = read(&many, &mut Vec::new()).unwrap_err();
        assert!(matches!(e, CatalogError::TooManyPackages { .. }));
    }

    #[test]
    fn deep_nesting_is_a_warning_not_a_stack_overflow() {
        for deep in [
            format!("a = {}", "[".repeat(100_000)),
            format!("a = {}", "{b = ".repeat(50_000)),
        ] {
            let (got, reason) = broken(&deep);
            assert!(got.is_empty());
            assert!(reason.contains("line 1 ("), "{reason}");
        }
    }
}
