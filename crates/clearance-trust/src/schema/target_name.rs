//! Target names that are safe to turn into file names and URL paths.
//!
//! TUF 1.0 §4.5 ("TARGETPATH"): a target's path is relative to the
//! repository's targets URL and is not resolved by the specification. A
//! client that saves a target under its name, or a publisher that signs one,
//! must not let a name reach outside where it belongs: `..`, `.` and empty
//! path components, and control characters, are refused here (tough's
//! `TargetName` resolves such names instead; refusing is simpler and no
//! image tag can be one). Review finding B-18.

use std::fmt;

/// Longest target name accepted (a Docker tag is at most 128 characters;
/// TUF paths in the wild are well under this).
pub const MAX_TARGET_NAME: usize = 4096;

/// A target name checked by [`TargetName::new`]. `Display` and `as_str`
/// give the name exactly as written in metadata.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetName(String);

/// Why a target name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetNameError {
    /// The name is empty.
    #[error("a target name may not be empty")]
    Empty,
    /// Longer than [`MAX_TARGET_NAME`] bytes.
    #[error("target name {name:?} is longer than {MAX_TARGET_NAME} bytes")]
    TooLong {
        /// Its first 64 characters.
        name: String,
    },
    /// A `.`, `..` or empty path component.
    #[error("target name {name:?} has a `.`, `..` or empty path component")]
    DotSegment {
        /// The name.
        name: String,
    },
    /// A control character (C0, DEL, C1).
    #[error("target name {name:?} holds a control character")]
    Control {
        /// The name.
        name: String,
    },
}

impl TargetName {
    /// Check `name`: not empty, at most [`MAX_TARGET_NAME`] bytes, no path
    /// component (split on `/`) that is `.`, `..` or empty, no control
    /// character (C0, DEL, C1).
    pub fn new(name: &str) -> Result<TargetName, TargetNameError> {
        let owned = || name.to_owned();
        if name.is_empty() {
            return Err(TargetNameError::Empty);
        }
        if name.len() > MAX_TARGET_NAME {
            return Err(TargetNameError::TooLong {
                name: name.chars().take(64).collect(),
            });
        }
        if name.chars().any(char::is_control) {
            return Err(TargetNameError::Control { name: owned() });
        }
        if name
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(TargetNameError::DotSegment { name: owned() });
        }
        Ok(TargetName(owned()))
    }

    /// The name as written in metadata.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for TargetName {
    type Err = TargetNameError;

    fn from_str(s: &str) -> Result<TargetName, TargetNameError> {
        TargetName::new(s)
    }
}

impl AsRef<str> for TargetName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TargetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b18_target_names_that_are_not_safe_as_paths_are_refused() {
        for ok in [
            "v1",
            "v1.0.2",
            "app/v1",
            "release/app-v2.tar",
            "a.b",
            "...",
            ".hidden",
        ] {
            assert_eq!(TargetName::new(ok).unwrap().as_str(), ok);
        }
        assert_eq!(TargetName::new(""), Err(TargetNameError::Empty));
        for bad in [
            "..", ".", "../x", "a/../b", "a/./b", "a/..", "/abs", "a//b", "a/",
        ] {
            assert!(
                matches!(
                    TargetName::new(bad),
                    Err(TargetNameError::DotSegment { .. })
                ),
                "{bad}"
            );
        }
        for bad in ["a\0b", "v1\n", "x\u{1b}[2J", "\u{9b}"] {
            assert!(
                matches!(TargetName::new(bad), Err(TargetNameError::Control { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            TargetName::new(&"a".repeat(MAX_TARGET_NAME + 1)),
            Err(TargetNameError::TooLong { .. })
        ));
    }
}
