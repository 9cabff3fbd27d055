//! Text from an image, a registry or a server, made safe to show to a
//! person: the one escaping every output of Clearance uses (the terminal's
//! tables and messages, the JSON the binary prints, SARIF messages).

/// Text from an image, a registry or a server, made safe to print on a
/// terminal. Escaped: C0 and C1 control characters and DEL (they start
/// escape sequences, move the cursor, change the window title, or break a
/// line in a table), shown as `\n`, `\r`, `\t` or `\u{1b}` (as Rust's `{:?}`
/// writes them, so text a message already quoted looks the same); and, the
/// same way, the invisible format characters that change what a reader
/// sees without showing themselves (Unicode category Cf: bidi overrides,
/// isolates and marks, zero-width spaces and joiners, the BOM, soft hyphen,
/// tag characters, interlinear annotations) and the line and paragraph
/// separators. Everything else, including non-ASCII text, is kept. JSON
/// output of the binary escapes the same set ([`hidden`]).
pub fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Rust's own escape (`{:?}`), so text a message already
            // quoted looks the same as text escaped here.
            c if hidden(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Control characters, and the characters of Unicode's Cf (format) and
/// Zl/Zp (separator) categories: printed, they are invisible or move text.
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{890}'..='\u{891}'
            | '\u{8e2}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}' | '\u{110cd}' | '\u{13430}'..='\u{1343f}' | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}' | '\u{e0001}' | '\u{e0020}'..='\u{e007f}')
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped() {
        assert_eq!(clean("plain ünïcode"), "plain ünïcode");
        assert_eq!(
            clean("\u{1b}]0;pwned\u{7}\u{1b}[2Jclean"),
            "\\u{1b}]0;pwned\\u{7}\\u{1b}[2Jclean"
        );
        assert_eq!(clean("a\nb\r\tc\u{7f}"), "a\\nb\\r\\tc\\u{7f}");
        assert_eq!(clean("\u{9b}31m"), "\\u{9b}31m"); // C1 CSI
        assert_eq!(clean("abc\u{202e}txt.exe"), "abc\\u{202e}txt.exe");
        // Invisible format characters and separators: marks, zero widths,
        // the BOM, soft hyphen, tags, line separators.
        for c in [
            '\u{200e}',
            '\u{61c}',
            '\u{2028}',
            '\u{200b}',
            '\u{feff}',
            '\u{ad}',
            '\u{e0041}',
            '\u{fff9}',
        ] {
            let shown = clean(&format!("a{c}b")).into_owned();
            assert_eq!(shown, format!("a\\u{{{:x}}}b", u32::from(c)));
        }
    }
}
