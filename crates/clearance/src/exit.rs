//! Exit codes, documented in the README:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | a gate said no: findings over the threshold, a policy denial, an untrusted image |
//! | 2 | usage or input error: bad flags, a malformed reference, an unreadable or tampered image |

use std::process::ExitCode;

use owo_colors::{OwoColorize as _, Stream};

use crate::output::clean;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok,
    Denied,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        match e {
            Exit::Ok => ExitCode::SUCCESS,
            Exit::Denied => ExitCode::from(1),
        }
    }
}

/// Print an error chain and return the input-error code. Messages carry
/// text from images and servers, so each is escaped for the terminal,
/// line breaks included: one message is one line, and text from outside
/// cannot start a line that passes for another `error:` or `caused by:`.
pub fn report(e: &anyhow::Error) -> ExitCode {
    let label = "error:".if_supports_color(Stream::Stderr, |t| t.red().bold().to_string());
    eprintln!("{label} {}", clean(&e.to_string()));
    let mut last = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        // A wrapper that already shows its cause (`…: {source}`) would
        // print the same words twice.
        if !last.ends_with(&text) {
            eprintln!("  caused by: {}", clean(&text));
        }
        last = text;
    }
    ExitCode::from(2)
}
