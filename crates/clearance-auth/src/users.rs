//! Users and their password hashes, read from an htpasswd-style file.
//!
//! One `name:hash` per line; blank lines and lines starting with `#` are
//! ignored. Only argon2 and bcrypt hashes load: anything weaker stops the load
//! with an error naming the file, the line and the user, never the hash.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::name::excerpt;
use crate::password::StoredHash;

/// Largest users file read.
pub const MAX_USERS_FILE: u64 = 4 * 1024 * 1024;

/// Longest user name accepted, in bytes.
pub const MAX_USER_NAME: usize = 256;

/// Longest password verified, in bytes; longer ones simply fail.
pub const MAX_PASSWORD: usize = 4096;

/// The users who may sign in.
#[derive(Clone, Default)]
pub struct Users {
    entries: BTreeMap<String, StoredHash>,
    /// Verified for unknown users so their answer takes as long as a known
    /// user's: the file's first hash (same scheme and cost as the others,
    /// most likely), or a fixed bcrypt hash when the file is empty.
    decoy: Option<StoredHash>,
}

/// Why a users file was refused.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The file could not be opened or read.
    #[error("could not read users file {path}")]
    Read {
        /// The users file.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_USERS_FILE`].
    #[error("users file {path} is larger than {max} bytes")]
    TooLarge {
        /// The users file.
        path: PathBuf,
        /// The limit.
        max: u64,
    },
    /// The file is not UTF-8 text.
    #[error("users file {path} is not utf-8 text")]
    NotText {
        /// The users file.
        path: PathBuf,
    },
    /// A line is not `name:hash`.
    #[error("{path}: line {line}: expected name:hash")]
    Syntax {
        /// The users file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// A user name is empty, too long or holds control characters.
    #[error("{path}: line {line}: invalid user name {user:?}")]
    InvalidName {
        /// The users file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The refused name, shortened when long.
        user: String,
    },
    /// The hash is in a refused or malformed format.
    #[error("{path}: line {line}: user {user:?}: {reason}")]
    Hash {
        /// The users file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Whose hash was refused.
        user: String,
        /// Why, without the hash itself.
        reason: &'static str,
    },
    /// The same user appears twice.
    #[error("{path}: line {line}: user {user:?} already defined on line {first}")]
    Duplicate {
        /// The users file.
        path: PathBuf,
        /// 1-based line number of the repeat.
        line: usize,
        /// 1-based line number of the first definition.
        first: usize,
        /// The repeated user.
        user: String,
    },
}

impl Users {
    /// Reads and checks a users file of at most [`MAX_USERS_FILE`] bytes.
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        let read = |source| UsersError::Read {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(read)?;
        let mut bytes = Vec::new();
        file.take(MAX_USERS_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(read)?;
        if bytes.len() as u64 > MAX_USERS_FILE {
            return Err(UsersError::TooLarge {
                path: path.to_owned(),
                max: MAX_USERS_FILE,
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| UsersError::NotText {
            path: path.to_owned(),
        })?;
        Users::parse_from(&text, path)
    }

    /// Parses users-file text; errors name the source `<text>`.
    pub fn parse(text: &str) -> Result<Users, UsersError> {
        if text.len() as u64 > MAX_USERS_FILE {
            return Err(UsersError::TooLarge {
                path: PathBuf::from("<text>"),
                max: MAX_USERS_FILE,
            });
        }
        Users::parse_from(text, Path::new("<text>"))
    }

    fn parse_from(text: &str, path: &Path) -> Result<Users, UsersError> {
        let mut entries = BTreeMap::new();
        let mut lines_of = BTreeMap::new();
        let mut decoy = None;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (user, hash) = trimmed.split_once(':').ok_or_else(|| UsersError::Syntax {
                path: path.to_owned(),
                line,
            })?;
            if user.is_empty() || user.len() > MAX_USER_NAME || user.chars().any(char::is_control) {
                return Err(UsersError::InvalidName {
                    path: path.to_owned(),
                    line,
                    user: excerpt(user),
                });
            }
            let hash = StoredHash::parse(hash).map_err(|reason| UsersError::Hash {
                path: path.to_owned(),
                line,
                user: user.to_owned(),
                reason,
            })?;
            if let Some(first) = lines_of.insert(user.to_owned(), line) {
                return Err(UsersError::Duplicate {
                    path: path.to_owned(),
                    line,
                    first,
                    user: user.to_owned(),
                });
            }
            decoy.get_or_insert_with(|| hash.clone());
            entries.insert(user.to_owned(), hash);
        }
        Ok(Users { entries, decoy })
    }

    /// Whether `name` exists and `password` is theirs. An unknown name costs
    /// about as much as a known one, so timing does not reveal which names exist.
    pub fn verify(&self, name: &str, password: &str) -> bool {
        let password = password.as_bytes();
        if password.len() > MAX_PASSWORD {
            return false;
        }
        match self.entries.get(name) {
            Some(hash) => hash.verify(password),
            None => {
                // The result is discarded: an unknown user never signs in.
                let _ = match &self.decoy {
                    Some(decoy) => decoy.verify(password),
                    None => StoredHash::dummy().verify(password),
                };
                false
            }
        }
    }

    /// Whether the file defines `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Whether the file defines no user at all (then nobody can sign in).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The user names, sorted.
    fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hashes stay out of logs.
        f.debug_struct("Users")
            .field("names", &self.names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::hash_password;
    use tempfile::TempDir;

    fn sample() -> Users {
        let text = format!(
            "# team\n\nalice:{}\n  bob:{}  \n",
            hash_password("alice-pw").unwrap(),
            bcrypt::hash("bob-pw", 4).unwrap()
        );
        Users::parse(&text).unwrap()
    }

    #[test]
    fn verifies_argon2_and_bcrypt_users() {
        let users = sample();
        assert_eq!(users.names().collect::<Vec<_>>(), ["alice", "bob"]);
        assert!(users.verify("alice", "alice-pw"));
        assert!(users.verify("bob", "bob-pw"));
        assert!(!users.verify("alice", "bob-pw"));
        assert!(!users.verify("bob", "wrong"));
        assert!(!users.verify("bob", &"x".repeat(MAX_PASSWORD + 1)));
    }

    #[test]
    fn unknown_users_are_refused() {
        let users = sample();
        assert!(!users.verify("mallory", "alice-pw"));
        assert!(!users.verify("", ""));
        assert!(!Users::default().verify("alice", "alice-pw"));
    }

    #[test]
    fn refuses_apr1_naming_file_line_and_user_but_not_hash() {
        let text = "# users\nalice:$2y$05$Rv2QFapDwVmj.wL4Nq9ijezEk2cZR8Q2LhJcE2abm4cOLL/HwCdS.\n\
                    bob:$apr1$hPFFgGtc$xP6NqIVv2CVACXWnBLXUP1\n";
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("htpasswd");
        std::fs::write(&path, text).unwrap();
        let err = Users::load(&path).unwrap_err();
        assert!(
            matches!(&err, UsersError::Hash { path: p, line: 3, user, reason }
                if *p == path && user == "bob" && reason.contains("$apr1$")),
            "{err}"
        );
        // The hash itself never reaches the message.
        assert!(!err.to_string().contains("hPFFgGtc"), "{err}");
    }

    #[test]
    fn refuses_plain_text_sha_and_syntax_errors() {
        let err = Users::parse("carol:hunter2").unwrap_err();
        assert!(
            matches!(&err, UsersError::Hash { line: 1, user, reason, .. }
                if user == "carol" && reason.contains("plain-text")),
            "{err}"
        );
        // The password itself never reaches the message.
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = Users::parse("dave:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=").unwrap_err();
        assert!(
            matches!(&err, UsersError::Hash { line: 1, user, reason, .. }
                if user == "dave" && reason.contains("{SHA}")),
            "{err}"
        );
        let err = Users::parse("\n\nno-colon-here").unwrap_err();
        assert!(matches!(err, UsersError::Syntax { line: 3, .. }), "{err}");
        let err = Users::parse(":$2y$05$Rv2QFapDwVmj.wL4Nq9ijezEk2cZR8Q2LhJcE2abm4cOLL/HwCdS.")
            .unwrap_err();
        assert!(matches!(err, UsersError::InvalidName { .. }), "{err}");
    }

    #[test]
    fn refuses_duplicate_users() {
        let hash = "$2y$05$Rv2QFapDwVmj.wL4Nq9ijezEk2cZR8Q2LhJcE2abm4cOLL/HwCdS.";
        let err = Users::parse(&format!("alice:{hash}\nalice:{hash}\n")).unwrap_err();
        assert!(
            matches!(
                err,
                UsersError::Duplicate {
                    line: 2,
                    first: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn bounds_the_file_size() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("htpasswd");
        std::fs::write(&path, vec![b'#'; MAX_USERS_FILE as usize + 1]).unwrap();
        assert!(matches!(
            Users::load(&path),
            Err(UsersError::TooLarge { .. })
        ));
        let absent = dir.path().join("absent");
        let missing = Users::load(&absent).unwrap_err();
        assert!(
            matches!(&missing, UsersError::Read { path, .. } if *path == absent),
            "{missing}"
        );
    }

    #[test]
    fn debug_output_hides_hashes() {
        let debug = format!("{:?}", sample());
        assert!(debug.contains("alice") && !debug.contains('$'), "{debug}");
    }
}
