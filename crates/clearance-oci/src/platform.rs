//! Target platforms (`os/arch[/variant]`) and choosing one from an index.

use std::fmt;
use std::str::FromStr;

/// A platform such as `linux/amd64` or `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid platform {0:?}: expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8")]
pub struct PlatformError(pub String);

impl Default for Platform {
    fn default() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl Platform {
    /// Whether an index entry's platform satisfies this request.
    ///
    /// A request without a variant accepts any variant; `arm64` treats a
    /// missing variant and `v8` as the same.
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        if self.os != os || self.architecture != architecture {
            return false;
        }
        let norm = |v: Option<&str>| match (architecture, v) {
            ("arm64", None) => Some("v8".to_owned()),
            (_, v) => v.map(str::to_owned),
        };
        match &self.variant {
            None => true,
            Some(want) => norm(Some(want)) == norm(variant),
        }
    }
}

impl Platform {
    /// Whether this request accepts a platform some image declares.
    pub fn accepts(&self, offered: &Platform) -> bool {
        self.matches(
            &offered.os,
            &offered.architecture,
            offered.variant.as_deref(),
        )
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &&str| {
            !p.is_empty()
                && p.len() <= 32
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(ok) {
            return Err(PlatformError(s.chars().take(100).collect()));
        }
        Ok(Platform {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant: parts.get(2).map(|v| (*v).to_owned()),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches_variants() {
        let p: Platform = "linux/arm64".parse().unwrap();
        assert!(p.matches("linux", "arm64", Some("v8")));
        assert!(!p.matches("linux", "amd64", None));
        let v8: Platform = "linux/arm64/v8".parse().unwrap();
        assert!(v8.matches("linux", "arm64", None));
        let v7: Platform = "linux/arm/v7".parse().unwrap();
        assert!(!v7.matches("linux", "arm", Some("v6")));
        assert_eq!(v7.to_string(), "linux/arm/v7");
        for bad in ["linux", "linux/", "a/b/c/d", "linux/am d64"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }
}
