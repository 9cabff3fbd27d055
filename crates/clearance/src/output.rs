//! Terminal presentation: colours (only on terminals, honouring NO_COLOR),
//! tables, sizes, progress bars — and the one place where text from images,
//! registries and servers is made safe to print.
//!
//! Everything a command prints goes through [`Page`] (and [`Table`]), which
//! take [`ToText`]: any `Display` value is escaped with [`clean`] on the way
//! in; only [`Text`] passes as it is, and `Text` is made only by escaping or
//! by this module's styling ([`bold`], [`dim`], [`warn`], [`good`], [`bad`],
//! which escape what they style). Mixing the two needs [`text!`], so styled
//! and untrusted pieces cannot be glued together unescaped by `format!`.

use std::fmt::Display;

use comfy_table::ContentArrangement;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use owo_colors::{OwoColorize as _, Stream};

/// Text from an image, a registry or a server, made safe to print: the
/// library's escaping, shared with the reports that escape the same way
/// (SARIF messages).
pub use clearance_oci::text::clean;
use clearance_oci::text::hidden;

/// Text safe for a terminal: escaped, or styled by this module. It has no
/// `Display` on purpose: it is printed through [`Page`] or joined with
/// [`text!`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    /// The pieces one after another.
    pub fn concat(parts: impl IntoIterator<Item = Text>) -> Text {
        Text(parts.into_iter().map(|t| t.0).collect())
    }

    /// The pieces on lines of their own (one table cell of several lines).
    pub fn lines(parts: impl IntoIterator<Item = Text>) -> Text {
        let parts: Vec<String> = parts.into_iter().map(|t| t.0).collect();
        Text(parts.join("\n"))
    }
}

/// `warning: …` on stderr, the message escaped like everything else.
pub fn warning(message: impl ToText) {
    let label = "warning:".if_supports_color(Stream::Stderr, |t| t.yellow().bold().to_string());
    eprintln!("{label} {}", message.to_text().0);
}

/// What can be printed: `Display` values are escaped, [`Text`] is kept.
pub trait ToText {
    fn to_text(self) -> Text;
}

impl<T: Display> ToText for T {
    fn to_text(self) -> Text {
        Text(clean(&self.to_string()).into_owned())
    }
}

impl ToText for Text {
    fn to_text(self) -> Text {
        self
    }
}

/// Join pieces into one [`Text`], escaping each that is not already `Text`:
/// `text!(warn("warning:"), " layer ", index, ": ", message)`.
macro_rules! text {
    ($($part:expr),* $(,)?) => {
        $crate::output::Text::concat([$($crate::output::ToText::to_text($part)),*])
    };
}
pub(crate) use text;

fn styled(s: impl ToText, style: impl Fn(&str) -> String) -> Text {
    let t = s.to_text();
    Text(
        t.0.if_supports_color(Stream::Stdout, |t| style(t))
            .to_string(),
    )
}

pub fn bold(s: impl ToText) -> Text {
    styled(s, |t| t.bold().to_string())
}

pub fn dim(s: impl ToText) -> Text {
    styled(s, |t| t.dimmed().to_string())
}

pub fn warn(s: impl ToText) -> Text {
    styled(s, |t| t.yellow().to_string())
}

/// A verdict that lets something through (green, bold).
pub fn good(s: impl ToText) -> Text {
    styled(s, |t| t.green().bold().to_string())
}

/// A verdict that stops something (red, bold).
pub fn bad(s: impl ToText) -> Text {
    styled(s, |t| t.red().bold().to_string())
}

/// A table in the house style; every cell is [`Text`].
#[derive(Debug)]
pub struct Table(comfy_table::Table);

/// A table with these column headers. Cells wrap to the terminal's width
/// (comfy-table's `custom_styling` measures them without their colour
/// codes); a terminal that reports no usable width (under 40 columns, as
/// ptys in CI often report 0) gets unwrapped rows instead of one-character
/// columns.
pub fn table(header: &[&str]) -> Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_header(header.iter().map(|h| bold(*h).0));
    let arrangement = match t.width() {
        Some(w) if w >= 40 => ContentArrangement::Dynamic,
        _ => ContentArrangement::Disabled,
    };
    t.set_content_arrangement(arrangement);
    Table(t)
}

impl Table {
    pub fn row(&mut self, cells: impl IntoIterator<Item = Text>) -> &mut Self {
        self.0.add_row(cells.into_iter().map(|c| c.0));
        self
    }
}

impl ToText for Table {
    fn to_text(self) -> Text {
        Text(self.0.to_string())
    }
}

/// Receives serde's JSON bytes and appends them escaped (see [`Page::json`]),
/// keeping the bytes of a character split across two writes.
struct JsonSink<'a> {
    page: &'a mut String,
    pending: Vec<u8>,
}

impl std::io::Write for JsonSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(text) => text.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        };
        let text = std::str::from_utf8(&self.pending[..valid]).unwrap_or_default();
        for c in text.chars() {
            if hidden(c) && c != '\n' {
                // RFC 8259 §7: a character outside the BMP is escaped as
                // its UTF-16 surrogate pair (tag characters are hidden).
                for unit in c.encode_utf16(&mut [0; 2]) {
                    self.page.push_str(&format!("\\u{unit:04x}"));
                }
            } else {
                self.page.push(c);
            }
        }
        self.pending.drain(..valid);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Text for stdout, built whole and written once.
#[derive(Debug, Default)]
pub struct Page(String);

impl Page {
    /// `key  value` with the key bold and padded.
    pub fn field(&mut self, key: &str, value: impl ToText) {
        self.line(text!(bold(format!("{key:<12}")), " ", value));
    }

    pub fn line(&mut self, text: impl ToText) {
        self.0.push_str(&text.to_text().0);
        self.0.push('\n');
    }

    /// A value as pretty JSON. serde escapes C0 controls in strings; DEL,
    /// C1 controls and bidi overrides, which it leaves raw, are written as
    /// `\uXXXX` too (outside strings JSON has only ASCII, so only strings
    /// change, and they decode to the same value).
    /// Written straight into the page (no second copy of a large document).
    pub fn json(&mut self, value: &impl serde::Serialize) -> serde_json::Result<()> {
        let mut sink = JsonSink {
            page: &mut self.0,
            pending: Vec::new(),
        };
        serde_json::to_writer_pretty(&mut sink, value)?;
        if !sink.pending.is_empty() {
            return Err(serde::ser::Error::custom(
                "JSON output ended inside a character",
            ));
        }
        self.0.push('\n');
        Ok(())
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

/// `s` trimmed and cut to `max` characters, the last one `…` when cut
/// (long history lines in tables).
pub fn truncate(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!(
            "{}…",
            s.chars().take(max.saturating_sub(1)).collect::<String>()
        )
    }
}

/// A count with its noun, singular for one: `count(1, "secret", "secrets")`
/// is `1 secret`, `count(0, …)` `0 secrets`.
pub fn count<N: Display + PartialEq + From<u8>>(n: N, one: &str, many: &str) -> String {
    if n == N::from(1) {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `it` for one, `them` for any other count.
pub fn them<N: PartialEq + From<u8>>(n: N) -> &'static str {
    if n == N::from(1) { "it" } else { "them" }
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

/// Longest path [`path_tail`] shows.
pub const PATH_CHARS: usize = 60;

/// A path cut to its last [`PATH_CHARS`] characters, with `…` before:
/// the file's name and nearest directories say most.
pub fn path_tail(path: &str) -> String {
    let chars = path.chars().count();
    if chars <= PATH_CHARS {
        return path.to_owned();
    }
    let tail: String = path.chars().skip(chars - (PATH_CHARS - 1)).collect();
    format!("…{tail}")
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

/// A spinner on stderr for work of unknown length; the message is
/// escaped. Finish it with `finish_and_clear`.
pub fn spinner(message: impl ToText) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(message.to_text().0);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Orange (xterm colour 208, "FlushOrange"): between a warning's yellow and an error's red.
pub fn orange(s: impl ToText) -> Text {
    styled(s, |t| {
        t.color(owo_colors::XtermColors::FlushOrange).to_string()
    })
}

/// Red, not bold: severe, but not a verdict.
pub fn red(s: impl ToText) -> Text {
    styled(s, |t| t.red().to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_escape_what_they_are_given_and_keep_their_own_styling() {
        use super::{Page, Text, ToText as _, table, warn};
        let hostile = "\u{1b}[2Jlabel";
        let mut page = Page::default();
        page.field("Label", hostile);
        page.line(text!(warn("w:"), " ", hostile));
        let mut t = table(&["a"]);
        t.row([hostile.to_text()]);
        page.line(t);
        assert!(!page.0.contains("\u{1b}[2J"), "{:?}", page.0);
        assert_eq!(page.0.matches("\\u{1b}[2Jlabel").count(), 3, "{:?}", page.0);
        // Text is kept as it is: escaping it twice would show "\\u{1b}".
        let once = "\u{1b}".to_text();
        assert_eq!(
            Text::concat([once.clone(), once.to_text()]).0,
            "\\u{1b}\\u{1b}"
        );
    }

    #[test]
    fn json_keeps_values_and_escapes_what_serde_leaves_raw() {
        let value = serde_json::json!({"a": "\u{1b}[2J\u{9b}31m\u{202e}x\n"});
        let mut page = super::Page::default();
        page.json(&value).unwrap();
        assert!(
            !page.0.chars().any(|c| c.is_control() && c != '\n'),
            "{:?}",
            page.0
        );
        assert!(page.0.contains("\\u009b31m\\u202ex"), "{:?}", page.0);
        let back: serde_json::Value = serde_json::from_str(&page.0).unwrap();
        assert_eq!(back, value);
    }

    /// A hidden character outside the BMP (a tag character in a file name)
    /// is written as a surrogate pair: `\ue0041` would read back as
    /// U+E004 and a `1`.
    #[test]
    fn json_escapes_characters_outside_the_bmp_as_surrogate_pairs() {
        let value = serde_json::json!({"a": "x\u{e0041}y\u{1d173}"});
        let mut page = super::Page::default();
        page.json(&value).unwrap();
        assert!(page.0.contains("x\\udb40\\udc41y"), "{:?}", page.0);
        let back: serde_json::Value = serde_json::from_str(&page.0).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn counts_of_one_are_singular() {
        assert_eq!(super::count(1, "secret", "secrets"), "1 secret");
        assert_eq!(super::count(0, "secret", "secrets"), "0 secrets");
        assert_eq!(
            super::count(2, "vulnerability", "vulnerabilities"),
            "2 vulnerabilities"
        );
        assert_eq!((super::them(1), super::them(3)), ("it", "them"));
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(super::size(512), "512 B");
        assert_eq!(super::size(1536), "1.5 KiB");
        assert_eq!(super::size(5 << 30), "5.0 GiB");
    }
}
