//! ARCHITECTURE.md names only things that exist (issue 8 point 6; review
//! A.2 found two names a commit had removed). Every code name in the
//! invariant table's "where" column must be defined in the workspace, and
//! every file path it names must exist.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `crates/`, read once.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("crates"), &mut out);
    out
}

/// The backticked pieces of the "where" column of the invariant table.
fn where_names(doc: &str) -> Vec<String> {
    let table = doc
        .split("## Where each invariant is enforced")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let mut names = Vec::new();
    for row in table.lines().filter(|l| l.starts_with("| ")) {
        let Some(cell) = row.trim_end_matches('|').rsplit(" | ").next() else {
            continue;
        };
        names.extend(cell.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    names
}

/// Whether `name` is defined somewhere: an item, a method, an enum variant,
/// a field or parameter (`name: `), a trait implemented (`name for `), or a
/// dependency's method the code calls (`.name(`).
fn defined(name: &str, sources: &[(PathBuf, String)]) -> bool {
    let kinds = [
        "fn ", "struct ", "enum ", "trait ", "type ", "const ", "static ", "mod ",
    ];
    sources.iter().any(|(path, text)| {
        kinds.iter().any(|k| {
            text.match_indices(&format!("{k}{name}")).any(|(i, m)| {
                let next = text[i + m.len()..].chars().next();
                !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        }) || path.file_stem().is_some_and(|s| s == name)
            || text.contains(&format!(" {name}: "))
            || text.contains(&format!("{name} for "))
            || text.contains(&format!(".{name}("))
            // enum variants: `    Name {`, `    Name(`, `    Name,`
            || text.lines().any(|l| {
                let t = l.trim_start();
                t.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with([' ', '(', ',', '{']))
                    && l.starts_with("    ")
            })
    })
}

#[test]
fn every_name_in_the_invariant_table_exists() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let sources = sources();
    let mut missing = Vec::new();
    for name in where_names(&doc) {
        // Paths: a file relative to the repository, crates/clearance/src or
        // crates/*/src.
        if name.ends_with(".rs") || name.contains('/') && !name.contains("::") {
            let found = [
                root().join(&name),
                root().join("crates/clearance/src").join(&name),
            ]
            .iter()
            .any(|p| p.exists())
                || sources.iter().any(|(p, _)| p.ends_with(&name));
            if !found {
                missing.push(name);
            }
            continue;
        }
        // Code: `Type::method`, `module::Item`, `Item`, `Type::{a, b}`,
        // `Type::update_*`; words with spaces or punctuation are prose.
        let code = name.replace(['{', '}'], "");
        if !code
            .chars()
            .all(|c| c.is_alphanumeric() || "_:,* ".contains(c))
        {
            continue;
        }
        let mut segments: Vec<&str> = code.split("::").collect();
        let last = segments.pop().unwrap_or_default();
        let leaves: Vec<&str> = last.split(',').map(str::trim).collect();
        for item in segments.iter().copied().chain(leaves) {
            if item.is_empty() || item.contains(' ') || item.ends_with('*') {
                continue;
            }
            let is_crate = item.starts_with("clearance_") || item == "crate";
            if !is_crate && !defined(item, &sources) {
                missing.push(format!("{name} ({item})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names what does not exist: {missing:#?}"
    );
}
