//! Registry and repository patterns: an OCI name with `*` for one part and
//! `**` for any number of path segments.
//!
//! A registry pattern is a host with an optional port, `*` standing for
//! one DNS label (`*.example.com`); a repository pattern is
//! `REGISTRY/PATH`, `*` standing for one path segment or part of one
//! (`team/*-api`) and `**`, as a whole last segment, for any number of
//! them (`registry.example.com/team/**`). Repository names are lower case
//! (OCI distribution-spec, "Pulling manifests": `[a-z0-9]+([._-][a-z0-9]+)*`
//! per segment); registries are compared without regard to case.

/// A validated registry or repository pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    kind: PatternKind,
}

/// What a [`Pattern`] is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    /// A registry host (`registry.example.com:5000`).
    Registry,
    /// A repository's full name (`registry.example.com/team/app`).
    Repository,
}

impl Pattern {
    /// The pattern `text` of this kind, or why it is not one.
    ///
    /// # Errors
    ///
    /// A message naming what is wrong (a character a name cannot have, an
    /// empty part, `**` not as a whole last segment).
    pub fn parse(text: &str, kind: PatternKind) -> Result<Pattern, String> {
        if text.is_empty() || text.len() > 255 {
            return Err("is empty or longer than 255 bytes".into());
        }
        let (host, path) = match kind {
            PatternKind::Registry => (text, None),
            PatternKind::Repository => match text.split_once('/') {
                Some((host, path)) => (host, Some(path)),
                None => return Err(
                    "names no repository (write REGISTRY/PATH, e.g. registry.example.com/team/**)"
                        .into(),
                ),
            },
        };
        let (name, port) = host.split_once(':').unwrap_or((host, ""));
        if name.is_empty()
            || !name.split('.').all(|label| {
                !label.is_empty()
                    && (label == "*"
                        || label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            })
        {
            return Err(match kind {
                PatternKind::Registry => {
                    "is not a registry host (letters, digits, '-', '.', and '*' for one label)"
                        .to_owned()
                }
                PatternKind::Repository => format!(
                    "has {host:?}, which is not a registry host (letters, digits, '-', '.', and '*' for one label)"
                ),
            });
        }
        if host.contains(':') && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit())) {
            return Err(format!("has a port in {host:?} that is not a number"));
        }
        if let Some(path) = path {
            let segments: Vec<&str> = path.split('/').collect();
            for (i, segment) in segments.iter().enumerate() {
                let last = i + 1 == segments.len();
                let ok = if *segment == "**" {
                    last
                } else {
                    !segment.is_empty()
                        && segment.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-*".contains(&b)
                        })
                        && !segment.contains("**")
                };
                if !ok {
                    return Err(format!(
                        "has path segment {segment:?}, which is not a repository name part (lower-case letters, digits, '.', '_', '-', '*'; '**' only as the whole last segment)"
                    ));
                }
            }
        }
        Ok(Pattern {
            text: text.to_owned(),
            kind,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `name` (a registry host, or `REGISTRY/PATH`) matches.
    pub fn matches(&self, name: &str) -> bool {
        match self.kind {
            PatternKind::Registry => glob(
                &self.text.to_ascii_lowercase(),
                &name.to_ascii_lowercase(),
                '.',
            ),
            PatternKind::Repository => {
                let (pattern_host, pattern_path) =
                    self.text.split_once('/').unwrap_or((&self.text, ""));
                let Some((host, path)) = name.split_once('/') else {
                    return false;
                };
                if !glob(
                    &pattern_host.to_ascii_lowercase(),
                    &host.to_ascii_lowercase(),
                    '.',
                ) {
                    return false;
                }
                match pattern_path.strip_suffix("**") {
                    // `team/**` matches `team/x` and `team/x/y`, not `team` itself.
                    Some(prefix) if prefix.is_empty() || prefix.ends_with('/') => {
                        let prefix = prefix.trim_end_matches('/');
                        if prefix.is_empty() {
                            return true;
                        }
                        let depth = prefix.split('/').count();
                        let parts: Vec<&str> = path.split('/').collect();
                        parts.len() > depth && glob(prefix, &parts[..depth].join("/"), '/')
                    }
                    _ => glob(pattern_path, path, '/'),
                }
            }
        }
    }
}

/// `*`-glob of `pattern` over `text`, a `*` never crossing `separator`.
fn glob(pattern: &str, text: &str, separator: char) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last star.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star
            && t[st] != separator
        {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(p: &str) -> Pattern {
        Pattern::parse(p, PatternKind::Repository).unwrap()
    }

    #[test]
    fn repository_patterns_match_by_segment() {
        let team = repo("registry.internal:5000/team/**");
        assert!(team.matches("registry.internal:5000/team/app"));
        assert!(team.matches("registry.internal:5000/team/app/worker"));
        assert!(!team.matches("registry.internal:5000/team"));
        assert!(!team.matches("registry.internal:5000/teamx/app"));
        assert!(!team.matches("registry.internal:5001/team/app"));
        let one = repo("registry.internal/team/*-api");
        assert!(one.matches("registry.internal/team/orders-api"));
        assert!(!one.matches("registry.internal/team/x/orders-api"));
        assert!(repo("docker.io/library/debian").matches("docker.io/library/debian"));
        assert!(!repo("docker.io/library/debian").matches("docker.io/library/debian-evil"));
    }

    #[test]
    fn registry_patterns_match_by_label() {
        let p = Pattern::parse("*.example.com", PatternKind::Registry).unwrap();
        assert!(p.matches("registry.example.com"));
        assert!(!p.matches("a.b.example.com"));
        assert!(!p.matches("example.com"));
        assert!(
            Pattern::parse("Registry.Internal:5000", PatternKind::Registry)
                .unwrap()
                .matches("registry.internal:5000")
        );
    }

    #[test]
    fn malformed_patterns_say_why() {
        for (text, kind) in [
            ("", PatternKind::Registry),
            ("registry.internal", PatternKind::Repository),
            ("registry.internal/Team/app", PatternKind::Repository),
            ("registry.internal/**/app", PatternKind::Repository),
            ("registry.internal/team//app", PatternKind::Repository),
            ("host:port", PatternKind::Registry),
            ("bad host", PatternKind::Registry),
        ] {
            assert!(Pattern::parse(text, kind).is_err(), "{text}");
        }
    }
}
