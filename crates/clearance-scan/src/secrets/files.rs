//! Credential files read by their format, not by pattern: `.npmrc`,
//! `.pypirc`, Docker's `config.json`, `.git-credentials`, `.netrc` and
//! `.env`; and the `NAME=value` assignments whose name says they hold a
//! secret (also used for the image configuration).

use std::ops::Range;

use super::detect::{Hit, is_placeholder};
use super::rules::{
    DOCKER_CONFIG_AUTH, DOTENV_SECRET, GIT_CREDENTIALS, NETRC_PASSWORD, NPMRC_AUTH,
    NPMRC_AUTH_TOKEN, PYPIRC_PASSWORD, RuleInfo,
};

/// A credential file format, told by the file's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    /// `.npmrc`, or `npmrc` (npm's global and built-in config files).
    Npmrc,
    /// `.pypirc`.
    Pypirc,
    /// `.docker/config.json`, or the legacy `.dockercfg`.
    DockerConfig,
    /// `.git-credentials`, or `git/credentials` (under `$XDG_CONFIG_HOME`).
    GitCredentials,
    /// `.netrc` or `_netrc`.
    Netrc,
    /// `.env`, `.env.NAME` or `NAME.env`.
    DotEnv,
}

fn kind_of(path: &str) -> Option<FileKind> {
    let path = path.trim_start_matches('/');
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let parent = dir.rsplit('/').next().unwrap_or("");
    Some(match name {
        ".npmrc" | "npmrc" => FileKind::Npmrc,
        ".pypirc" => FileKind::Pypirc,
        "config.json" if parent == ".docker" => FileKind::DockerConfig,
        ".dockercfg" => FileKind::DockerConfig,
        ".git-credentials" => FileKind::GitCredentials,
        "credentials" if parent == "git" => FileKind::GitCredentials,
        ".netrc" | "_netrc" => FileKind::Netrc,
        n if n == ".env" || n.starts_with(".env.") || (n.ends_with(".env") && n.len() > 4) => {
            FileKind::DotEnv
        }
        _ => return None,
    })
}

/// The secrets a credential file holds, by its format; nothing for other
/// files.
pub(super) fn file_hits(path: &str, bytes: &[u8]) -> Vec<Hit> {
    let Some(kind) = kind_of(path) else {
        return Vec::new();
    };
    let mut hits = Vec::new();
    match kind {
        FileKind::Npmrc => npmrc(bytes, &mut hits),
        FileKind::Pypirc => pypirc(bytes, &mut hits),
        FileKind::DockerConfig => docker_config(bytes, &mut hits),
        FileKind::GitCredentials => git_credentials(bytes, &mut hits),
        FileKind::Netrc => netrc(bytes, &mut hits),
        FileKind::DotEnv => {
            for line in lines(bytes) {
                if let Some(a) = assignment(bytes, line)
                    && secret_name(a.name)
                    && secret_value(&bytes[a.value.clone()])
                {
                    push(&mut hits, DOTENV_SECRET, bytes, a.value);
                }
            }
        }
    }
    hits
}

/// Keep a hit unless its value is empty or a placeholder.
fn push(hits: &mut Vec<Hit>, rule: RuleInfo, bytes: &[u8], span: Range<usize>) {
    let value = &bytes[span.clone()];
    if !value.is_empty() && !is_placeholder(value) {
        hits.push(Hit { rule, span });
    }
}

/// Each line's byte range, without its line ending.
fn lines(bytes: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut start = 0;
    bytes.split_inclusive(|b| *b == b'\n').map(move |line| {
        let range = start..start + line.len();
        start = range.end;
        let mut end = range.end;
        while end > range.start && matches!(bytes[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        range.start..end
    })
}

/// `range` without white space at either end.
fn trim(bytes: &[u8], mut range: Range<usize>) -> Range<usize> {
    while range.start < range.end && bytes[range.start].is_ascii_whitespace() {
        range.start += 1;
    }
    while range.end > range.start && bytes[range.end - 1].is_ascii_whitespace() {
        range.end -= 1;
    }
    range
}

/// `range` without one pair of matching quotes around it.
fn unquote(bytes: &[u8], range: Range<usize>) -> Range<usize> {
    let v = &bytes[range.clone()];
    match v {
        [q @ (b'"' | b'\''), .., last] if last == q && v.len() >= 2 => {
            range.start + 1..range.end - 1
        }
        _ => range,
    }
}

fn position(bytes: &[u8], range: &Range<usize>, byte: u8) -> Option<usize> {
    bytes[range.clone()]
        .iter()
        .position(|b| *b == byte)
        .map(|i| range.start + i)
}

/// An assignment `key = value` on one line (INI, npmrc, `.env`).
struct Assignment<'a> {
    name: &'a str,
    value: Range<usize>,
}

/// `[export ]NAME=value` or `name = value`, skipping comments (`#`, `;`);
/// the value unquoted, or for an unquoted value without a trailing
/// ` # comment`.
fn assignment(bytes: &[u8], line: Range<usize>) -> Option<Assignment<'_>> {
    let line = trim(bytes, line);
    if matches!(bytes.get(line.start), None | Some(b'#' | b';')) {
        return None;
    }
    let eq = position(bytes, &line, b'=')?;
    let mut name = std::str::from_utf8(&bytes[line.start..eq]).ok()?.trim();
    name = name.strip_prefix("export ").unwrap_or(name).trim();
    let raw = trim(bytes, eq + 1..line.end);
    let value = match bytes.get(raw.start) {
        Some(b'"' | b'\'') => unquote(bytes, raw),
        _ => {
            let comment = bytes[raw.clone()]
                .windows(2)
                .position(|w| w == b" #")
                .map_or(raw.end, |i| raw.start + i);
            trim(bytes, raw.start..comment)
        }
    };
    Some(Assignment { name, value })
}

fn npmrc(bytes: &[u8], hits: &mut Vec<Hit>) {
    for line in lines(bytes) {
        let Some(a) = assignment(bytes, line) else {
            continue;
        };
        // `//registry.example/:_authToken=…` or a bare `_authToken=…`.
        let key = a.name.rsplit(':').next().unwrap_or(a.name);
        match key {
            "_authToken" => push(hits, NPMRC_AUTH_TOKEN, bytes, a.value),
            "_auth" | "_password" => push(hits, NPMRC_AUTH, bytes, a.value),
            _ => {}
        }
    }
}

fn pypirc(bytes: &[u8], hits: &mut Vec<Hit>) {
    for line in lines(bytes) {
        let line = trim(bytes, line);
        // configparser takes `key = value` and `key: value`.
        let Some(sep) = bytes[line.clone()]
            .iter()
            .position(|b| matches!(b, b'=' | b':'))
            .map(|i| line.start + i)
        else {
            continue;
        };
        let key = String::from_utf8_lossy(&bytes[line.start..sep]);
        if key.trim().eq_ignore_ascii_case("password") {
            push(hits, PYPIRC_PASSWORD, bytes, trim(bytes, sep + 1..line.end));
        }
    }
}

/// `auths.<registry>.auth` (base64 `user:password`), `identitytoken`,
/// `registrytoken` and `password` (in the legacy `.dockercfg` the
/// registries are at the top level): every string value of a field of
/// those names, found in one pass over the JSON text, in document order
/// and with its place (not parsed into a map, whose order is not the
/// document's). Text that is not JSON yields what it holds of that shape.
fn docker_config(bytes: &[u8], hits: &mut Vec<Hit>) {
    const FIELDS: [&[u8]; 4] = [b"auth", b"identitytoken", b"registrytoken", b"password"];
    // The last string seen, and whether it was then followed by `:`.
    let mut last: Option<Range<usize>> = None;
    let mut key: Option<Range<usize>> = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(bytes.len());
                if let Some(k) = key.take()
                    && FIELDS.contains(&&bytes[k])
                {
                    push(hits, DOCKER_CONFIG_AUTH, bytes, start..end);
                }
                last = Some(start..end);
                i = end + 1;
            }
            b':' => {
                key = last.take();
                i += 1;
            }
            b if b.is_ascii_whitespace() => i += 1,
            _ => {
                last = None;
                key = None;
                i += 1;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Lines `scheme://user:password@host[/path]`.
fn git_credentials(bytes: &[u8], hits: &mut Vec<Hit>) {
    for line in lines(bytes) {
        let line = trim(bytes, line);
        let Some(scheme_end) = find(&bytes[line.clone()], b"://").map(|i| line.start + i + 3)
        else {
            continue;
        };
        let authority_end = position(bytes, &(scheme_end..line.end), b'/').unwrap_or(line.end);
        let authority = scheme_end..authority_end;
        let Some(at) = bytes[authority.clone()]
            .iter()
            .rposition(|b| *b == b'@')
            .map(|i| authority.start + i)
        else {
            continue;
        };
        if let Some(colon) = position(bytes, &(scheme_end..at), b':') {
            push(hits, GIT_CREDENTIALS, bytes, colon + 1..at);
        }
    }
}

/// The token after each `password` token (`machine h login u password p`,
/// on one line or several).
fn netrc(bytes: &[u8], hits: &mut Vec<Hit>) {
    let mut tokens = tokens(bytes);
    while let Some(t) = tokens.next() {
        if &bytes[t] == b"password"
            && let Some(value) = tokens.next()
        {
            push(hits, NETRC_PASSWORD, bytes, value);
        }
    }
}

/// Runs of non-white-space bytes.
fn tokens(bytes: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        (at > start).then_some(start..at)
    })
}

/// Words that, ending a word of a variable's name, say it holds a secret
/// (`DB_PASSWORD`, `NPMTOKEN`, `CLIENT_SECRET`).
const SECRET_WORD_ENDINGS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "PASSPHRASE",
    "CREDENTIAL",
    "CREDENTIALS",
];
/// Whole words that do (`DB_PASS`).
const SECRET_WORDS: &[&str] = &["PASS", "SECRETS"];
/// Pairs of words that do (`API_KEY`, `AWS_SECRET_ACCESS_KEY`).
const SECRET_WORD_PAIRS: &[(&str, &str)] = &[
    ("API", "KEY"),
    ("ACCESS", "KEY"),
    ("SECRET", "KEY"),
    ("PRIVATE", "KEY"),
    ("AUTH", "KEY"),
    ("ENCRYPTION", "KEY"),
    ("SIGNING", "KEY"),
    ("MASTER", "KEY"),
];
/// A last word that says the value is about a secret, not the secret
/// (`TOKEN_FILE`, `PASSWORD_LENGTH`, `SECRET_NAME`).
const NOT_THE_SECRET: &[&str] = &[
    "FILE", "PATH", "DIR", "ID", "NAME", "HEADER", "LENGTH", "TTL", "TYPE", "HOST", "PORT", "USER",
    "USERNAME", "ENDPOINT", "URL", "URI", "EXPIRY", "EXPIRES", "TIMEOUT", "ENABLED", "VERSION",
    "SIZE", "LOCATION", "REF", "POLICY", "MODE", "FORMAT", "MIN", "MAX",
];

/// Whether a variable's name says it holds a secret (`DB_PASSWORD`,
/// `NPM_TOKEN`, `API_KEY`), and not a setting about one (`TOKEN_FILE`,
/// `PASSWORD_MIN_LENGTH`). Words are split at `_`, `-`, `.` and case
/// changes are not (names are upper-cased first). `GPG_KEY` is not one: a
/// bare `KEY` is too often a public key or a fingerprint.
pub fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    let Some(last) = words.last() else {
        return false;
    };
    if NOT_THE_SECRET.contains(last) {
        return false;
    }
    words
        .iter()
        .any(|w| SECRET_WORDS.contains(w) || SECRET_WORD_ENDINGS.iter().any(|e| w.ends_with(e)))
        || words
            .windows(2)
            .any(|p| SECRET_WORD_PAIRS.contains(&(p[0], p[1])))
}

/// Whether an assignment's value is worth reporting under a secret's name:
/// not a placeholder, at least 6 bytes, not a number, a boolean or an
/// absolute path.
pub(super) fn secret_value(value: &[u8]) -> bool {
    value.len() >= 6
        && !value.iter().all(u8::is_ascii_digit)
        && !value.starts_with(b"/")
        && !matches!(
            value.to_ascii_lowercase().as_slice(),
            b"enabled" | b"disabled"
        )
        && !is_placeholder(value)
}

/// Whether `NAME=value` (an environment variable) holds a secret: by its
/// name ([`secret_name`] with a value worth reporting), or by its value
/// (a rule's pattern, e.g. a Slack webhook URL or a JSON Web Token).
pub fn env_var_is_secret(name: &str, value: &str) -> bool {
    (secret_name(name) && secret_value(value.as_bytes()))
        || !super::scan_text("config:Env", value.as_bytes()).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_hold_secrets() {
        for n in [
            "DB_PASSWORD",
            "NPM_TOKEN",
            "npm_token",
            "NODE_AUTH_TOKEN",
            "GITHUB_TOKEN",
            "API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "CLIENT_SECRET",
            "RABBITMQ_DEFAULT_PASS",
            "HF_TOKEN",
            "STRIPE_APIKEY",
        ] {
            assert!(secret_name(n), "{n}");
        }
        for n in [
            "GPG_KEY",
            "PATH",
            "PWD",
            "TOKEN_FILE",
            "PASSWORD_MIN_LENGTH",
            "TOKENIZERS_PARALLELISM",
            "AWS_ACCESS_KEY_ID",
            "SECRET_NAME",
            "BYPASS",
            "PYTHON_SHA256",
        ] {
            assert!(!secret_name(n), "{n}");
        }
    }

    #[test]
    fn file_kinds_by_name() {
        assert_eq!(kind_of("/root/.npmrc"), Some(FileKind::Npmrc));
        assert_eq!(kind_of("usr/local/etc/npmrc"), Some(FileKind::Npmrc));
        assert_eq!(
            kind_of("/root/.docker/config.json"),
            Some(FileKind::DockerConfig)
        );
        assert_eq!(kind_of("/app/config.json"), None);
        assert_eq!(
            kind_of("/root/.config/git/credentials"),
            Some(FileKind::GitCredentials)
        );
        assert_eq!(kind_of("/app/.env.production"), Some(FileKind::DotEnv));
        assert_eq!(kind_of("/app/prod.env"), Some(FileKind::DotEnv));
        assert_eq!(kind_of("/usr/bin/env"), None);
        assert_eq!(kind_of("/root/.netrc"), Some(FileKind::Netrc));
    }
}
