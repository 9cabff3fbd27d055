//! Paths inside an image, normalised so that none can name a place outside it.

use std::fmt;

/// A normalised path inside an image root: relative, `/`-separated, with no
/// empty, `.` or `..` components. The root itself is the empty path.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ImagePath(String);

/// How a raw archive path was changed to keep it inside the image root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalised {
    /// Only cosmetic changes (`./`, a leading `/`, doubled slashes, `.`).
    Clean,
    /// A `..` would have climbed above the root and was clamped there.
    Escaped,
}

impl ImagePath {
    pub const ROOT: ImagePath = ImagePath(String::new());

    /// Normalise an archive path lexically, clamping `..` at the root as a
    /// chroot would. Built in one string with no list of components (a
    /// 1 MiB path of one-letter directories has half a million of them):
    /// memory is the path's own length, and each byte is pushed and popped
    /// at most once.
    pub fn normalise(raw: &str) -> (ImagePath, Normalised) {
        let mut out = String::with_capacity(raw.len());
        let mut how = Normalised::Clean;
        for part in raw.split('/') {
            match part {
                "" | "." => {}
                ".." => match out.rfind('/') {
                    Some(cut) => out.truncate(cut),
                    None if out.is_empty() => how = Normalised::Escaped,
                    None => out.clear(),
                },
                p => {
                    if !out.is_empty() {
                        out.push('/');
                    }
                    out.push_str(p);
                }
            }
        }
        (ImagePath(out), how)
    }

    /// Resolve a symlink target as seen from the directory holding `self`.
    pub fn link_target(&self, target: &str) -> (ImagePath, Normalised) {
        if target.starts_with('/') {
            return ImagePath::normalise(target);
        }
        let parent = self.parent().map(|p| p.0).unwrap_or_default();
        ImagePath::normalise(&format!("{parent}/{target}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    pub fn parent(&self) -> Option<ImagePath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rsplit_once('/') {
            Some((p, _)) => ImagePath(p.to_owned()),
            None => ImagePath::ROOT,
        })
    }

    pub fn join(&self, name: &str) -> ImagePath {
        if self.is_root() {
            ImagePath::normalise(name).0
        } else {
            ImagePath::normalise(&format!("{}/{name}", self.0)).0
        }
    }

    /// The smallest path that sorts among `self`'s descendants: every
    /// descendant is `>=` it, and they run on until one is not below `self`.
    pub(crate) fn descendants_start(&self) -> ImagePath {
        if self.is_root() {
            ImagePath(String::new())
        } else {
            ImagePath(format!("{}/", self.0))
        }
    }

    /// Whether `self` is `ancestor` or lies below it.
    pub fn starts_with(&self, ancestor: &ImagePath) -> bool {
        ancestor.is_root()
            || self.0 == ancestor.0
            || (self.0.starts_with(&ancestor.0)
                && self.0.as_bytes().get(ancestor.0.len()) == Some(&b'/'))
    }
}

impl fmt::Display for ImagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.0)
    }
}

impl fmt::Debug for ImagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", format!("/{}", self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_cosmetic_forms() {
        for raw in [
            "etc/passwd",
            "./etc/passwd",
            "/etc/passwd",
            "etc//./passwd",
            "etc/x/../passwd",
        ] {
            let (p, how) = ImagePath::normalise(raw);
            assert_eq!(
                (p.as_str(), how),
                ("etc/passwd", Normalised::Clean),
                "{raw}"
            );
        }
    }

    #[test]
    fn clamps_escapes_at_the_root() {
        for raw in [
            "../etc/passwd",
            "../../../../etc/passwd",
            "a/../../etc/passwd",
            "/../etc/passwd",
        ] {
            let (p, how) = ImagePath::normalise(raw);
            assert_eq!(
                (p.as_str(), how),
                ("etc/passwd", Normalised::Escaped),
                "{raw}"
            );
        }
    }

    #[test]
    fn link_targets_resolve_relative_to_the_link() {
        let link = ImagePath::normalise("usr/bin/hi").0;
        assert_eq!(link.link_target("hello").0.as_str(), "usr/bin/hello");
        assert_eq!(link.link_target("../lib/x").0.as_str(), "usr/lib/x");
        assert_eq!(link.link_target("/etc/x").0.as_str(), "etc/x");
        assert_eq!(
            link.link_target("../../../../etc/shadow"),
            (ImagePath::normalise("etc/shadow").0, Normalised::Escaped)
        );
    }

    #[test]
    fn ancestry_respects_component_boundaries() {
        let p = ImagePath::normalise("opt/app/x").0;
        assert!(p.starts_with(&ImagePath::normalise("opt/app").0));
        assert!(p.starts_with(&ImagePath::ROOT));
        assert!(!p.starts_with(&ImagePath::normalise("opt/ap").0));
        assert_eq!(p.parent().unwrap().as_str(), "opt/app");
        assert_eq!(p.file_name(), "x");
    }
}
