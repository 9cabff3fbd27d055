//! Terminal presentation: colours (only on terminals, honouring NO_COLOR),
//! tables, sizes, progress bars.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use owo_colors::{OwoColorize as _, Stream};

/// A table in the house style.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(|h| bold(h)));
    t
}

pub fn bold(s: &str) -> String {
    s.if_supports_color(Stream::Stdout, |t| t.bold().to_string())
        .to_string()
}

pub fn dim(s: &str) -> String {
    s.if_supports_color(Stream::Stdout, |t| t.dimmed().to_string())
        .to_string()
}

pub fn warn(s: &str) -> String {
    s.if_supports_color(Stream::Stdout, |t| t.yellow().to_string())
        .to_string()
}

/// Text for stdout, built whole and written once.
#[derive(Debug, Default)]
pub struct Page(String);

impl Page {
    /// `key  value` with the key bold and padded.
    pub fn field(&mut self, key: &str, value: impl std::fmt::Display) {
        self.line(format!("{} {value}", bold(&format!("{key:<12}"))));
    }

    pub fn line(&mut self, text: impl std::fmt::Display) {
        self.0.push_str(&text.to_string());
        self.0.push('\n');
    }

    /// Write to stdout; a reader that went away (`| head`) is not an error.
    pub fn emit(self) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        match out.write_all(self.0.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

/// Text from an image, a registry or a server, made safe to print on a
/// terminal: C0 and C1 control characters and DEL (which start escape
/// sequences, move the cursor, change the window title, or break a line
/// in a table) are shown as `\n`, `\r`, `\t` or `\xNN`, and the Unicode
/// bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069,
/// which reorder what a reader sees) as `\u{NNNN}`. Everything else,
/// including non-ASCII text, is kept. JSON output needs none of this:
/// serde escapes control characters itself.
pub fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    let needs_escape =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:04x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Human sizes in binary units: 1.5 MiB.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A byte progress bar on stderr, hidden when stderr is not a terminal.
pub fn byte_progress(total: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} {bar:30.cyan/blue} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_and_bidi_overrides_are_escaped() {
        use super::clean;
        assert_eq!(clean("plain ünïcode"), "plain ünïcode");
        assert_eq!(
            clean("\u{1b}]0;pwned\u{7}\u{1b}[2Jclean"),
            "\\x1b]0;pwned\\x07\\x1b[2Jclean"
        );
        assert_eq!(clean("a\nb\r\tc\u{7f}"), "a\\nb\\r\\tc\\x7f");
        assert_eq!(clean("\u{9b}31m"), "\\x9b31m"); // C1 CSI
        assert_eq!(clean("abc\u{202e}txt.exe"), "abc\\u{202e}txt.exe");
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(super::size(512), "512 B");
        assert_eq!(super::size(1536), "1.5 KiB");
        assert_eq!(super::size(5 << 30), "5.0 GiB");
    }
}
