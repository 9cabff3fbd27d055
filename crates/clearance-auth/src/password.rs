//! Password hashes: argon2 PHC strings and bcrypt (`htpasswd -B`), nothing weaker.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use ring::rand::{SecureRandom, SystemRandom};

/// A bcrypt hash (cost 10) of a password nobody uses, verified for unknown
/// users when the file holds no hash to borrow, so both paths cost alike.
const DUMMY_BCRYPT: &str = "$2y$10$BT3fqi83dHimDrBcHpErw.Op8X1X6CvoCFpiGewM6JMyX2nD9nPNW";

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The system random generator failed while drawing a salt.
    #[error("could not draw a random salt for the password hash")]
    Random,
    /// argon2 refused to hash.
    #[error("could not hash the password with argon2id: {0}")]
    Hash(String),
}

/// Hashes `password` with argon2id and default parameters, as a PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$...`) ready for a users file.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| PasswordError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// A stored password hash in a format we verify.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum StoredHash {
    /// `$argon2id$`, `$argon2i$` or `$argon2d$` PHC string.
    Argon2(String),
    /// `$2y$`, `$2b$` or `$2a$` bcrypt hash.
    Bcrypt(String),
}

impl std::fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The scheme only: hashes stay out of logs.
        f.write_str(match self {
            StoredHash::Argon2(_) => "StoredHash::Argon2",
            StoredHash::Bcrypt(_) => "StoredHash::Bcrypt",
        })
    }
}

impl StoredHash {
    /// The hash verified for unknown users when there is nothing better.
    pub(crate) fn dummy() -> StoredHash {
        StoredHash::Bcrypt(DUMMY_BCRYPT.to_owned())
    }

    /// Accepts argon2 and bcrypt hashes; the error says why anything else
    /// was refused, without repeating the hash.
    pub(crate) fn parse(text: &str) -> Result<StoredHash, &'static str> {
        if text.starts_with("$argon2") {
            let hash = PasswordHash::new(text).map_err(|_| "malformed argon2 hash")?;
            if !matches!(hash.algorithm.as_str(), "argon2id" | "argon2i" | "argon2d") {
                return Err("unknown argon2 variant; expected argon2id, argon2i or argon2d");
            }
            if hash.salt.is_none() || hash.hash.is_none() {
                return Err("argon2 hash lacks its salt or output");
            }
            Params::try_from(&hash).map_err(|_| "argon2 hash has invalid parameters")?;
            return Ok(StoredHash::Argon2(text.to_owned()));
        }
        if ["$2y$", "$2b$", "$2a$"].iter().any(|p| text.starts_with(p)) {
            text.parse::<bcrypt::HashParts>()
                .map_err(|_| "malformed bcrypt hash")?;
            return Ok(StoredHash::Bcrypt(text.to_owned()));
        }
        Err(refusal(text))
    }

    /// Whether `password` matches. Malformed hashes never match.
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        match self {
            StoredHash::Argon2(text) => PasswordHash::new(text)
                .is_ok_and(|hash| Argon2::default().verify_password(password, &hash).is_ok()),
            StoredHash::Bcrypt(text) => bcrypt::verify(password, text).unwrap_or(false),
        }
    }
}

/// Why a hash of another format is refused, with what to do instead.
fn refusal(text: &str) -> &'static str {
    if text.starts_with("$apr1$") {
        "apache md5 ($apr1$) hashes are refused; hash with htpasswd -B or argon2id"
    } else if text.starts_with("{SHA}") {
        "sha-1 ({SHA}) hashes are refused; hash with htpasswd -B or argon2id"
    } else if text.starts_with("$2x$") {
        "bcrypt $2x$ hashes are refused; hash with htpasswd -B or argon2id"
    } else if text.starts_with('$') {
        "unsupported hash format; hash with htpasswd -B or argon2id"
    } else {
        "not an argon2 or bcrypt hash (plain-text passwords are refused); \
         hash with htpasswd -B or argon2id"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let text = hash_password("hunter2").unwrap();
        assert!(
            text.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{text}"
        );
        let hash = StoredHash::parse(&text).unwrap();
        assert!(hash.verify(b"hunter2"));
        assert!(!hash.verify(b"hunter3"));
        assert_ne!(hash_password("hunter2").unwrap(), text, "salts differ");
    }

    #[test]
    fn bcrypt_round_trip() {
        let text = bcrypt::hash("hunter2", 4).unwrap();
        let hash = StoredHash::parse(&text).unwrap();
        assert!(hash.verify(b"hunter2"));
        assert!(!hash.verify(b"hunter3"));
    }

    #[test]
    fn verifies_htpasswd_b_output() {
        // htpasswd -nbB alice secret
        let text = "$2y$05$Rv2QFapDwVmj.wL4Nq9ijezEk2cZR8Q2LhJcE2abm4cOLL/HwCdS.";
        let hash = StoredHash::parse(text).unwrap();
        assert!(hash.verify(b"secret"));
        assert!(!hash.verify(b"Secret"));
    }

    #[test]
    fn dummy_hash_is_valid() {
        assert!(StoredHash::parse(DUMMY_BCRYPT).is_ok());
        assert!(!StoredHash::dummy().verify(b""));
    }

    #[test]
    fn refuses_weak_and_malformed_formats() {
        for (text, says) in [
            ("$apr1$hPFFgGtc$xP6NqIVv2CVACXWnBLXUP1", "$apr1$"),
            ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "{SHA}"),
            ("plaintext", "plain-text"),
            ("$6$salt$abc", "unsupported"),
            ("$2y$05$short", "malformed bcrypt"),
            ("$argon2id$garbage", "lacks its salt"),
            ("$argon2id$v=19$m=19456,t=2,p=1$!!$!!", "malformed argon2"),
            (
                "$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
                "parameters",
            ),
            (
                "$argon2x$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
                "variant",
            ),
        ] {
            let reason = StoredHash::parse(text).unwrap_err();
            assert!(reason.contains(says), "{text}: {reason}");
        }
    }
}
