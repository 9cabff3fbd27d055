//! Nothing from an image, a registry or a server reaches the terminal raw
//! (issue 8, point 5; review finding B-10): control characters and bidi
//! overrides are escaped in every text output.
#![allow(clippy::unwrap_used)]

mod support;

use support::{clearance, stderr};

/// Escape sequences a hostile string might carry: window title, screen
/// clear, cursor up and erase line, an 8-bit CSI, a bidi override.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[1A\u{1b}[2K\u{9b}31m\u{202e}";

fn assert_no_raw_controls(text: &str, what: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(raw.is_empty(), "{what} printed raw {raw:?}:\n{text}");
}

#[test]
fn b10_error_messages_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join(format!("layout{HOSTILE}"));
    let out = clearance(&["inspect", &format!("oci:{}:v1", missing.display())]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_no_raw_controls(&err, "an error naming a path");
    assert!(err.contains("layout\\x1b]0;pwned\\x07"), "{err}");
}
