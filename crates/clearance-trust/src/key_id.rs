//! Key ids as people type them: the full 64 hex digits, or a unique prefix
//! of at least [`MIN_PREFIX`] of them (what `trust inspect` shows is 12),
//! resolved against the ids a command knows (newcomer finding 11).

/// The shortest prefix accepted: 8 hex digits, 32 bits.
pub const MIN_PREFIX: usize = 8;

/// Why a key id (or prefix) names no one key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyIdError {
    /// Not hexadecimal.
    #[error("{given:?} is not a key id: key ids are hexadecimal")]
    NotHex {
        /// What was given.
        given: String,
    },
    /// Fewer than [`MIN_PREFIX`] digits.
    #[error("{given:?} is too short: give at least {MIN_PREFIX} hex digits of the key id")]
    TooShort {
        /// What was given.
        given: String,
    },
    /// No key known there has that id or prefix.
    #[error("no key {given} {place}")]
    Unknown {
        /// What was given.
        given: String,
        /// Where the ids come from ("in the keystore").
        place: String,
    },
    /// More than one key starts so.
    #[error("{given} is the start of {} keys {place} ({}); give more of its digits", matches.len(), matches.join(", "))]
    Ambiguous {
        /// What was given.
        given: String,
        /// Where the ids come from.
        place: String,
        /// Every id that starts so.
        matches: Vec<String>,
    },
}

/// The one id in `known` that `given` is, or starts: `place` says where
/// the ids come from, for messages ("in the keystore", "in this
/// repository"). Case does not matter; ids are returned as `known` has them.
pub fn resolve<'a>(
    given: &str,
    known: impl IntoIterator<Item = &'a str>,
    place: &str,
) -> Result<String, KeyIdError> {
    if given.is_empty() || !given.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyIdError::NotHex {
            given: given.to_owned(),
        });
    }
    let wanted = given.to_ascii_lowercase();
    let mut matches: Vec<String> = Vec::new();
    for id in known {
        let lower = id.to_ascii_lowercase();
        if lower == wanted {
            return Ok(id.to_owned());
        }
        if lower.starts_with(&wanted) && !matches.iter().any(|m| m == id) {
            matches.push(id.to_owned());
        }
    }
    if given.len() < MIN_PREFIX {
        return Err(KeyIdError::TooShort {
            given: given.to_owned(),
        });
    }
    match matches.len() {
        0 => Err(KeyIdError::Unknown {
            given: given.to_owned(),
            place: place.to_owned(),
        }),
        1 => Ok(matches.remove(0)),
        _ => {
            matches.sort();
            Err(KeyIdError::Ambiguous {
                given: given.to_owned(),
                place: place.to_owned(),
                matches,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n11_a_unique_prefix_of_eight_or_more_hex_digits_names_a_key() {
        let a = "d0f18d8dfc4e".to_owned() + &"1".repeat(52);
        let b = "d0f18d8dfc4f".to_owned() + &"2".repeat(52);
        let c = "42f0e0ab3296".to_owned() + &"3".repeat(52);
        let known = [a.as_str(), b.as_str(), c.as_str()];
        assert_eq!(resolve(&a, known, "here").unwrap(), a);
        assert_eq!(resolve("d0f18d8dfc4e", known, "here").unwrap(), a);
        assert_eq!(resolve("42F0E0AB", known, "here").unwrap(), c);
        assert!(matches!(
            resolve("d0f18d8dfc", known, "here"),
            Err(KeyIdError::Ambiguous { matches, .. }) if matches == [a.clone(), b.clone()]
        ));
        assert!(matches!(
            resolve("d0f18d8", known, "here"),
            Err(KeyIdError::TooShort { .. })
        ));
        assert!(matches!(
            resolve("ffffffff", known, "in the keystore"),
            Err(KeyIdError::Unknown { place, .. }) if place == "in the keystore"
        ));
        assert!(matches!(
            resolve("../../etc", known, "here"),
            Err(KeyIdError::NotHex { .. })
        ));
    }
}
