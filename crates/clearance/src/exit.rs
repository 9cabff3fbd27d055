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
/// text from images and servers, so each is escaped for the terminal.
pub fn report(e: &anyhow::Error) -> ExitCode {
    let label = "error:".if_supports_color(Stream::Stderr, |t| t.red().bold().to_string());
    eprintln!("{label} {}", clean(&e.to_string()));
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {}", clean(&cause.to_string()));
    }
    ExitCode::from(2)
}
