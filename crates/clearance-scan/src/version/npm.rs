//! npm versions, as node-semver reads them in its loose mode
//! (`node-semver` `internal/re.js`, `LOOSE`), ordered by SemVer 2.0 §11
//! (`compareMain`, then `comparePre`; build metadata ignored).
//!
//! Accepted: optional leading `v`/`=`/whitespace, `MAJOR.MINOR.PATCH` (each at
//! most `Number.MAX_SAFE_INTEGER`), an optional pre-release (loose: the `-`
//! may be missing, numeric identifiers may have leading zeros and then count
//! as numbers), optional `+build`. The text is normalised to strict SemVer
//! and ordered with `semver`'s `cmp_precedence`.
//!
//! Not the `nodejs-semver` crate: it silently drops what it does not
//! understand (`1.0.0.1` → `1.0.0`, `1.2.3 garbage` → `1.2.3`, `1.2.3-a..b` →
//! `1.2.3-a`), so a wrapper would need this grammar anyway, and once the text
//! is validated `semver` orders it.

use super::numeric::is_digits;

/// JavaScript's `Number.MAX_SAFE_INTEGER`, node-semver's limit for
/// major/minor/patch.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Parses a node-semver loose version into a strict semantic version.
///
/// # Errors
/// A lower-case reason naming the part that breaks the grammar.
pub(crate) fn parse(text: &str) -> Result<semver::Version, String> {
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let text = text.trim_start_matches(|c: char| c == 'v' || c == '=' || c.is_ascii_whitespace());
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    let mut core_end = 0;
    let mut dots = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '0'..='9' => core_end = i + 1,
            '.' if dots < 2 => {
                dots += 1;
                core_end = i + 1;
            }
            _ => break,
        }
    }
    let (core, pre) = rest.split_at(core_end);
    let numbers: Vec<&str> = core.split('.').collect();
    if numbers.len() != 3 || !numbers.iter().all(|n| is_digits(n)) {
        return Err("must start with MAJOR.MINOR.PATCH".into());
    }
    let mut out = String::new();
    for (i, n) in numbers.iter().enumerate() {
        let value = n
            .parse::<u64>()
            .ok()
            .filter(|v| *v <= MAX_SAFE_INTEGER)
            .ok_or_else(|| format!("{n:?} is larger than Number.MAX_SAFE_INTEGER"))?;
        if i > 0 {
            out.push('.');
        }
        out.push_str(&value.to_string());
    }
    let pre = pre.strip_prefix('-').unwrap_or(pre);
    if !pre.is_empty() || rest.ends_with('-') {
        out.push('-');
        for (i, ident) in pre.split('.').enumerate() {
            if ident.is_empty()
                || !ident
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(format!("pre-release identifier {ident:?} is not valid"));
            }
            if i > 0 {
                out.push('.');
            }
            if is_digits(ident) {
                // Loose numeric identifier: compared as a number.
                let trimmed = ident.trim_start_matches('0');
                out.push_str(if trimmed.is_empty() { "0" } else { trimmed });
            } else {
                out.push_str(ident);
            }
        }
    }
    if let Some(build) = build {
        out.push('+');
        out.push_str(build);
    }
    semver::Version::parse(&out).map_err(|e| e.to_string())
}
