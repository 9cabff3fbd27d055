//! Values that are not secrets however they match: placeholders, and the
//! entropy floor that tells a random key from a word.

/// Substrings (any case) that make a value a placeholder, not a secret.
pub(super) const PLACEHOLDERS: &[&str] = &[
    "example",
    "xxxx",
    "****",
    "....",
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "placeholder",
    "your_",
    "your-",
    "<your",
    "yourtoken",
    "yourkey",
    "yourpassword",
    "dummy",
    "redacted",
    "${",
    "$(",
    "{{",
    // RFC 6749's example access and refresh tokens, quoted by OAuth
    // libraries' documentation.
    "2yotnfzfejr1zcsicmwpaa",
    "tgzv3jokf0xg5qx2tlkwia",
    // gitleaks' global stopwords
    "014df517-39d1-4453-b7b3-9930c563627c",
    "abcdefghijklmnopqrstuvwxyz",
];

/// The placeholder shapes that are not substrings of [`PLACEHOLDERS`]:
/// `$VAR`, `%VAR%`, `<token>`, `@VAR@`, `{0}`, a constant (`true`,
/// `null`), or one byte repeated (gitleaks' global allowlist).
pub(super) fn is_placeholder_shape(secret: &[u8]) -> bool {
    let ident =
        |s: &[u8]| !s.is_empty() && s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let wrapped = |open: u8, close: u8| {
        secret.len() >= 2 && secret[0] == open && secret[secret.len() - 1] == close
    };
    match secret {
        [] => true,
        [b'$', rest @ ..] if ident(rest) => true,
        [first, rest @ ..] if rest.iter().all(|b| b == first) => true,
        _ if wrapped(b'<', b'>') => true,
        _ if wrapped(b'%', b'%') && ident(&secret[1..secret.len() - 1]) => true,
        _ if wrapped(b'@', b'@') && ident(&secret[1..secret.len() - 1]) => true,
        _ if wrapped(b'{', b'}') && secret[1..secret.len() - 1].iter().all(u8::is_ascii_digit) => {
            true
        }
        _ => {
            let lower = secret.to_ascii_lowercase();
            matches!(
                lower.as_slice(),
                b"true" | b"false" | b"null" | b"none" | b"nil" | b"undefined"
            )
        }
    }
}

/// Shannon entropy in bits per byte (gitleaks counts runes; the secrets
/// its rules accept are ASCII, where the two agree).
pub(super) fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_matches_gitleaks() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"ab") - 1.0).abs() < 1e-9);
        assert!((shannon_entropy(b"abcdefgh") - 3.0).abs() < 1e-9);
    }
}
