//! Go module versions: semantic versions with a `v` prefix
//! (Go Modules Reference, "Versions" and "Pseudo-versions",
//! <https://go.dev/ref/mod#versions>).
//!
//! A pseudo-version (`v0.0.0-20210101000000-abcdef123456`,
//! `v1.2.4-0.20210101000000-abcdef123456`, `v1.2.3-pre.0.20210101000000-…`) is
//! an ordinary semver pre-release whose identifiers already sort by commit
//! time, and `+incompatible` is build metadata, which SemVer 2.0 §11 leaves out
//! of precedence; so after dropping the `v` the order is `semver`'s
//! `cmp_precedence`. OSV's Go records write versions without the `v`; both
//! spellings are accepted.
//!
//! The toolchain's own spelling for the standard library (`go1.21rc2`) is not
//! a module version; [`toolchain_to_semver`] converts it first.

/// Parses a Go module version (`v` optional).
///
/// # Errors
/// The `semver` crate's reason when the rest is not a strict semantic version
/// (Go's `v1.2` shorthand is not a module version and is refused too).
pub(crate) fn parse(text: &str) -> Result<semver::Version, String> {
    let bare = text.strip_prefix('v').unwrap_or(text);
    semver::Version::parse(bare).map_err(|e| e.to_string())
}

/// Converts a Go toolchain version as `go version` and build info print it
/// (`go1.21.3`, `go1.21`, `go1.21rc2`, `go1.20beta1`) to the semantic version
/// OSV's `stdlib` records use (`1.21.3`, `1.21.0`, `1.21.0-rc.2`,
/// `1.20.0-beta.1`), following `golang.org/x/vuln`'s `semverToGoTag` in reverse.
/// Returns `None` for anything else (e.g. `devel` builds).
pub fn toolchain_to_semver(go_version: &str) -> Option<String> {
    let rest = go_version.strip_prefix("go")?;
    let (release, pre) = match rest.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    let parts: Vec<&str> = release.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut out = parts.join(".");
    for _ in parts.len()..3 {
        out.push_str(".0");
    }
    if let Some(pre) = pre {
        let split = pre.find(|c: char| c.is_ascii_digit())?;
        let (label, number) = pre.split_at(split);
        if !matches!(label, "alpha" | "beta" | "rc") || !number.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        out = format!("{out}-{label}.{number}");
    }
    semver::Version::parse(&out).ok().map(|_| out)
}
