//! Target platforms (`os/arch[/variant]`) and which of an index's platforms
//! a request takes, in containerd's order.
//!
//! Docker and containerd choose with `platforms.Only(p)` (containerd/platforms
//! `compare.go`): the request and every offer are normalised (`Normalize`:
//! `x86_64` is `amd64`, `aarch64` is `arm64`, `armhf` is `arm/v7`, `arm`
//! without a variant is `v7`, `arm64/v8` is plain `arm64`, …), the request
//! becomes an ordered list of platforms it runs (`platformVector`: `arm/v7`
//! also runs `v6` and `v5`; `amd64/v3` also `v2`, plain `amd64` and `386`;
//! `arm64` also `arm/v8` … `arm/v5`), and among the index entries that match
//! one of them the entry matching the earliest wins, whatever the index
//! order. [`Platform::preference`] is that rank.

use std::fmt;
use std::str::FromStr;

/// A platform such as `linux/amd64` or `linux/arm64/v8`, as written.
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
    fn new(os: &str, architecture: &str, variant: &str) -> Platform {
        Platform {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            variant: (!variant.is_empty()).then(|| variant.to_owned()),
        }
    }

    /// containerd's `Normalize`: lower case, `macos` → `darwin`, and the
    /// architecture and variant in their one spelling (`normalizeArch`).
    pub fn normalized(&self) -> Platform {
        let os = match self.os.to_lowercase().as_str() {
            "macos" => "darwin".to_owned(),
            os => os.to_owned(),
        };
        let arch = self.architecture.to_lowercase();
        let variant = self.variant.as_deref().unwrap_or("").to_lowercase();
        let (arch, variant) = match (arch.as_str(), variant.as_str()) {
            ("i386", _) => ("386", ""),
            ("x86_64" | "x86-64" | "amd64", "v1") => ("amd64", ""),
            ("x86_64" | "x86-64" | "amd64", v) => ("amd64", v),
            ("aarch64" | "arm64", "8" | "v8" | "v8.0") => ("arm64", ""),
            ("aarch64" | "arm64", "9" | "9.0" | "v9.0") => ("arm64", "v9"),
            ("aarch64" | "arm64", v) => ("arm64", v),
            ("armhf", _) => ("arm", "v7"),
            ("armel", _) => ("arm", "v6"),
            ("arm", "" | "7") => ("arm", "v7"),
            ("arm", "5") => ("arm", "v5"),
            ("arm", "6") => ("arm", "v6"),
            ("arm", "8") => ("arm", "v8"),
            (a, v) => (a, v),
        };
        Platform::new(&os, arch, variant)
    }

    /// Whether two platforms name the same thing once normalised.
    pub fn same_as(&self, other: &Platform) -> bool {
        self.normalized() == other.normalized()
    }

    /// How well an offered platform suits this request: `Some(0)` for the
    /// platform itself, larger for ones it also runs (containerd's
    /// `Only(self).Less` order), `None` for ones it does not run.
    pub fn preference(&self, offered: &Platform) -> Option<usize> {
        let offered = offered.normalized();
        runs(&self.normalized()).iter().position(|p| *p == offered)
    }

    /// Whether this request takes a platform some image declares.
    pub fn accepts(&self, offered: &Platform) -> bool {
        self.preference(offered).is_some()
    }
}

/// containerd's `platformVector`: what a normalised platform runs, best
/// first, each normalised.
fn runs(p: &Platform) -> Vec<Platform> {
    let os = p.os.as_str();
    let variant = p.variant.as_deref().unwrap_or("");
    let version = |prefix: &str| variant.strip_prefix(prefix)?.parse::<u32>().ok();
    let mut out = vec![p.clone()];
    match p.architecture.as_str() {
        "amd64" => {
            if let Some(v) = version("v").filter(|v| *v > 1) {
                out.extend(
                    (1..v)
                        .rev()
                        .map(|v| Platform::new(os, "amd64", &format!("v{v}"))),
                );
            }
            out.push(Platform::new(os, "386", ""));
        }
        "arm" => {
            if let Some(v) = version("v").filter(|v| *v > 5) {
                out.extend(
                    (5..v)
                        .rev()
                        .map(|v| Platform::new(os, "arm", &format!("v{v}"))),
                );
            }
        }
        "arm64" => {
            out.clear();
            let variant = if variant.is_empty() { "v8" } else { variant };
            let Some(majors) = arm64_versions(variant) else {
                return out;
            };
            for (major, top_minor) in majors {
                for minor in (0..=top_minor).rev() {
                    let v = match minor {
                        0 => format!("v{major}"),
                        m => format!("v{major}.{m}"),
                    };
                    out.push(Platform::new(os, "arm64", &v).normalized());
                }
            }
            // Every arm64 v8.x and v9.x also runs 32-bit arm v8 and below.
            out.extend(runs(&Platform::new(os, "arm", "v8")));
        }
        _ => {}
    }
    out.into_iter().map(|p| p.normalized()).collect()
}

/// containerd's `arm64variantToVersion`: for `v8.x` the majors and top
/// minors to walk down (`v8.x` → 8.x … 8.0; `v9.x` → 9.x … 9.0, then 8.(x+5,
/// at most 9) … 8.0).
fn arm64_versions(variant: &str) -> Option<Vec<(u32, u32)>> {
    let (major, minor) = match variant.strip_prefix('v')?.split_once('.') {
        Some((major, minor)) => (major, minor.parse::<u32>().ok()?),
        None => (variant.strip_prefix('v')?, 0),
    };
    match (major, minor) {
        ("8", m @ 0..=9) => Some(vec![(8, m)]),
        ("9", m @ 0..=7) => Some(vec![(9, m), (8, (m + 5).min(9))]),
        _ => None,
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
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
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

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    fn rank(wanted: &str, offered: &str) -> Option<usize> {
        p(wanted).preference(&p(offered))
    }

    #[test]
    fn parses_and_prints() {
        assert_eq!(p("linux/arm/v7").to_string(), "linux/arm/v7");
        assert_eq!(p("linux/arm64/v8.2").variant.as_deref(), Some("v8.2"));
        for bad in ["linux", "linux/", "a/b/c/d", "linux/am d64"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }

    #[test]
    fn normalises_as_containerd_does() {
        for (written, normal) in [
            ("Linux/AMD64", "linux/amd64"),
            ("linux/x86_64", "linux/amd64"),
            ("linux/x86-64/v1", "linux/amd64"),
            ("linux/aarch64", "linux/arm64"),
            ("linux/arm64/v8", "linux/arm64"),
            ("linux/arm64/9", "linux/arm64/v9"),
            ("linux/armhf", "linux/arm/v7"),
            ("linux/armel", "linux/arm/v6"),
            ("linux/arm", "linux/arm/v7"),
            ("linux/arm/6", "linux/arm/v6"),
            ("linux/i386", "linux/386"),
            ("macos/arm64", "darwin/arm64"),
        ] {
            assert_eq!(p(written).normalized(), p(normal), "{written}");
        }
    }

    /// containerd/platforms `compare_test.go` `TestOnly`, the linux rows.
    #[test]
    fn takes_what_containerd_only_takes() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "linux/amd64",
                &["linux/amd64", "linux/386"],
                &[
                    "linux/amd64/v2",
                    "linux/arm/v7",
                    "linux/arm64",
                    "windows/amd64",
                ],
            ),
            (
                "linux/amd64/v2",
                &[
                    "linux/amd64",
                    "linux/amd64/v1",
                    "linux/amd64/v2",
                    "linux/386",
                ],
                &["linux/amd64/v3", "linux/amd64/v4", "linux/arm/v7"],
            ),
            (
                "linux/386",
                &["linux/386"],
                &["linux/amd64", "linux/arm/v7"],
            ),
            (
                "linux/arm/v7",
                &["linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7"],
                &["linux/arm/v8", "linux/amd64", "linux/arm64"],
            ),
            (
                "linux/arm/v6",
                &["linux/arm/v5", "linux/arm/v6"],
                &["linux/arm/v7", "linux/arm", "linux/arm64"],
            ),
            (
                "linux/arm64",
                &[
                    "linux/arm64",
                    "linux/arm64/v8",
                    "linux/arm/v8",
                    "linux/arm/v7",
                    "linux/arm/v5",
                ],
                &["linux/arm64/v8.1", "linux/arm64/v9", "linux/amd64"],
            ),
            (
                "linux/arm64/v9.2",
                &[
                    "linux/arm64/v9.2",
                    "linux/arm64/v9",
                    "linux/arm64/v8.7",
                    "linux/arm64",
                    "linux/arm/v7",
                ],
                &["linux/arm64/v9.3", "linux/arm64/v8.8"],
            ),
        ];
        for (wanted, yes, no) in cases {
            for offered in *yes {
                assert!(
                    rank(wanted, offered).is_some(),
                    "{wanted} should take {offered}"
                );
            }
            for offered in *no {
                assert!(
                    rank(wanted, offered).is_none(),
                    "{wanted} should not take {offered}"
                );
            }
        }
    }

    #[test]
    fn an_exact_match_ranks_before_a_compatible_one() {
        assert!(rank("linux/amd64", "linux/amd64") < rank("linux/amd64", "linux/386"));
        assert!(rank("linux/arm/v7", "linux/arm/v6") < rank("linux/arm/v7", "linux/arm/v5"));
        assert!(rank("linux/amd64/v3", "linux/amd64/v2") < rank("linux/amd64/v3", "linux/amd64"));
        assert!(rank("linux/arm64", "linux/arm64/v8") < rank("linux/arm64", "linux/arm/v7"));
        assert_eq!(rank("linux/arm64/v8", "linux/arm64"), Some(0));
    }
}
