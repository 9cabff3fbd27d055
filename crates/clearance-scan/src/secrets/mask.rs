//! A secret reduced to a few leading characters, the only form a finding
//! keeps.

use std::fmt;

/// The characters of a secret shown before `****`: at most
/// [`Masked::SHOWN`], and never more than a quarter of the secret, so a
/// short password is not given away by its prefix.
///
/// Built only from the secret (nothing else can make one), so a finding
/// cannot carry a secret in full: its `Debug`, `Display` and JSON forms
/// are all this text. Shown characters outside printable ASCII become `?`
/// (the text is safe to print on a terminal).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Masked(String);

/// The text is not a masked secret: more than [`Masked::SHOWN`] characters
/// before `****`, characters other than printable ASCII, or no `****`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a masked secret (at most 4 printable characters, then ****)")]
pub struct NotMasked(String);

impl Masked {
    /// The most characters of a secret ever shown.
    pub const SHOWN: usize = 4;
    const STARS: &'static str = "****";

    /// Mask `secret`. A private key is shown from its base64 body, not
    /// from its `-----BEGIN` line.
    pub fn new(secret: &[u8]) -> Masked {
        let secret = key_body(secret);
        let shown = Self::SHOWN.min(secret.len() / 4);
        let mut out: String = secret[..shown]
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() {
                    char::from(b)
                } else {
                    '?'
                }
            })
            .collect();
        out.push_str(Self::STARS);
        Masked(out)
    }

    /// The masked text (`AKIA****`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Masked {
    type Err = NotMasked;

    /// Accept only text [`Masked::new`] could have made (for reading a
    /// stored finding back).
    fn from_str(s: &str) -> Result<Masked, NotMasked> {
        let shown = s.strip_suffix(Self::STARS);
        match shown {
            Some(p) if p.len() <= Self::SHOWN && p.bytes().all(|b| b.is_ascii_graphic()) => {
                Ok(Masked(s.to_owned()))
            }
            _ => Err(NotMasked(s.chars().take(16).collect())),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Masked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Masked, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A PEM block's body: past the `-----BEGIN …-----` line and the white
/// space (or JSON `\n` escapes) after it. Anything else is returned whole.
fn key_body(secret: &[u8]) -> &[u8] {
    if !secret.starts_with(b"-----BEGIN") {
        return secret;
    }
    let after_begin = &secret[10..];
    let Some(close) = after_begin.windows(5).position(|w| w == b"-----") else {
        return secret;
    };
    let mut body = &after_begin[close + 5..];
    loop {
        body = match body {
            [b'\\', b'n' | b'r', rest @ ..] => rest,
            [b, rest @ ..] if b.is_ascii_whitespace() => rest,
            _ => return body,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_at_most_four_characters_and_a_quarter_of_short_secrets() {
        assert_eq!(Masked::new(b"0123456789abcdefghij").as_str(), "0123****");
        assert_eq!(Masked::new(b"hunter22").as_str(), "hu****");
        assert_eq!(Masked::new(b"abc").as_str(), "****");
        assert_eq!(Masked::new(b"").as_str(), "****");
        assert_eq!(Masked::new(b"\x1b[31mxxxxxxxxxxxx").as_str(), "?[31****");
    }

    #[test]
    fn private_keys_are_shown_from_their_body() {
        let pem =
            b"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
        assert_eq!(Masked::new(pem).as_str(), "MIIE****");
        let json = br"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n";
        assert_eq!(Masked::new(json).as_str(), "MIIE****");
    }

    #[test]
    fn only_masked_text_parses_back() {
        assert!("AKIA****".parse::<Masked>().is_ok());
        assert!("****".parse::<Masked>().is_ok());
        assert!("AKIAQ****".parse::<Masked>().is_err());
        assert!("AKIAQ3XJ".parse::<Masked>().is_err());
        assert!("a b****".parse::<Masked>().is_err());
    }
}
