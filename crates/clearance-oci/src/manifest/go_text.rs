//! Strings in a JSON document as Go's `encoding/json` decodes them.
//!
//! Go never refuses a document for the text inside its strings: each byte
//! that is not part of valid UTF-8 becomes U+FFFD, and so does a `\uXXXX`
//! escape of a surrogate that is not half of a pair (`unquote` in
//! `encoding/json/decode.go`). serde_json refuses both, so a config that
//! Docker, containerd and every registry accept (a label written by a tool
//! that cut a string in the middle of a character) could not be inspected
//! at all. [`as_go_reads`] rewrites those spots the way Go reads them before
//! serde parses; the digest is always computed over the bytes as received.

use std::borrow::Cow;

/// U+FFFD in UTF-8.
const REPLACEMENT: &str = "\u{fffd}";

/// The document with every invalid UTF-8 byte replaced by U+FFFD and every
/// lone surrogate escape (`\ud800` without a low half after it, or a low
/// half alone) replaced by `\ufffd`, as Go's decoder reads them. Borrowed,
/// without a copy, when there is nothing to replace (every real image).
/// One pass over the bytes; the result is at most three times as long (a
/// byte becomes the three bytes of U+FFFD).
pub fn as_go_reads(bytes: &[u8]) -> Cow<'_, [u8]> {
    let text: Cow<'_, str> = match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len());
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                // Go's utf8.DecodeRune gives up one byte at a time.
                for _ in chunk.invalid() {
                    out.push_str(REPLACEMENT);
                }
            }
            Cow::Owned(out)
        }
    };
    match lone_surrogates_replaced(&text) {
        Some(fixed) => Cow::Owned(fixed.into_bytes()),
        None => match text {
            Cow::Borrowed(_) => Cow::Borrowed(bytes),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        },
    }
}

/// The text with each lone surrogate escape inside a string replaced by
/// `\ufffd`, or `None` when it has none. Escapes outside strings, and
/// `\\ud800` (an escaped backslash, then text), are left alone.
fn lone_surrogates_replaced(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                let Some(unit) = escaped_unit(bytes, i) else {
                    i += 2;
                    continue;
                };
                let lone = match unit {
                    0xd800..=0xdbff => !matches!(escaped_unit(bytes, i + 6), Some(0xdc00..=0xdfff)),
                    0xdc00..=0xdfff => true,
                    _ => false,
                };
                let pair = (0xd800..=0xdbff).contains(&unit) && !lone;
                if lone {
                    let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    out.push_str(&text[copied..i]);
                    out.push_str("\\ufffd");
                    copied = i + 6;
                }
                i += if pair { 12 } else { 6 };
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.map(|mut out| {
        out.push_str(&text[copied..]);
        out
    })
}

/// The UTF-16 unit of a `\uXXXX` escape starting at `at`, or `None` when
/// the bytes there are another escape (or not one at all).
fn escaped_unit(bytes: &[u8], at: usize) -> Option<u32> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u32::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::as_go_reads;

    fn read(input: &[u8]) -> String {
        let fixed = as_go_reads(input);
        let value: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
        value["a"].as_str().unwrap().to_owned()
    }

    #[test]
    fn lone_surrogates_become_the_replacement_character_as_go_reads_them() {
        assert_eq!(read(br#"{"a":"x\ud800y"}"#), "x\u{fffd}y");
        assert_eq!(read(br#"{"a":"x\udc00"}"#), "x\u{fffd}");
        assert_eq!(read(br#"{"a":"\ud800\ud800\udc00"}"#), "\u{fffd}\u{10000}");
        // A high half before a non-surrogate escape: Go keeps that escape.
        assert_eq!(read(br#"{"a":"\uD800\u0041"}"#), "\u{fffd}A");
        assert_eq!(read(br#"{"a":"\ud83d\ude00"}"#), "\u{1f600}");
    }

    #[test]
    fn invalid_utf8_bytes_each_become_one_replacement_character() {
        assert_eq!(read(b"{\"a\":\"x\xe2\x82y\"}"), "x\u{fffd}\u{fffd}y");
        assert_eq!(read(b"{\"a\":\"\xed\xa0\x80\"}"), "\u{fffd}".repeat(3));
        assert_eq!(read(b"{\"a\":\"\xff\"}"), "\u{fffd}");
    }

    #[test]
    fn documents_go_and_serde_read_alike_are_not_copied() {
        let clean = br#"{"a":"\\ud800 is text, \u00e9 \ud83d\ude00"}"#;
        assert!(matches!(as_go_reads(clean), std::borrow::Cow::Borrowed(_)));
        // An escaped backslash then `ud800` is text, not an escape.
        assert_eq!(read(clean), "\\ud800 is text, \u{e9} \u{1f600}");
        // An escaped quote does not end the string.
        assert_eq!(read(br#"{"a":"\"\ud800"}"#), "\"\u{fffd}");
    }
}
