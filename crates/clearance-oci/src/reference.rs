//! Image references in the transport syntax users know from skopeo.
//!
//! ```text
//! oci:DIR[:TAG]                 an OCI image layout directory
//! oci-archive:FILE[:TAG]        a tar of an OCI image layout
//! docker-archive:FILE[:REF|@N]  what `docker save` writes
//! docker://HOST/REPO[:TAG][@sha256:…]
//! REPO[:TAG][@sha256:…]         docker:// with Docker Hub's naming rules
//! ```

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::digest::Digest;

/// The accepted forms, shown with every reference error.
pub const ACCEPTED_FORMS: &str = "accepted forms: oci:DIR[:TAG], oci-archive:FILE[:TAG], \
docker-archive:FILE[:REPO:TAG|:@INDEX], docker://HOST/REPO[:TAG][@DIGEST], REPO[:TAG][@DIGEST]";

/// Docker Hub's canonical registry name, and the host that serves its API.
pub const DOCKER_HUB: &str = "docker.io";
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
const MAX_NAME_LEN: usize = 255;
const MAX_INPUT_LEN: usize = 4096;

/// Why a reference was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid image reference {input:?}: {reason}; {ACCEPTED_FORMS}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    /// `oci:DIR[:TAG]`
    OciLayout { path: PathBuf, tag: Option<String> },
    /// `oci-archive:FILE[:TAG]`
    OciArchive { path: PathBuf, tag: Option<String> },
    /// `docker-archive:FILE[:REF|@N]`
    DockerArchive {
        path: PathBuf,
        select: ArchiveSelector,
    },
    /// `docker://…` or a bare name.
    Registry(RegistryRef),
}

/// Which image of a `docker save` archive is meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveSelector {
    /// The archive must hold exactly one image.
    Only,
    /// The image tagged with this name (normalised like a registry reference).
    Tag(RegistryRef),
    /// The image at this position of `manifest.json`, from 0.
    Index(usize),
}

/// A reference to an image in a registry, normalised (`docker.io/library/…`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl RegistryRef {
    /// The registry as users name it (`docker.io`, `localhost:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host and port to send API requests to.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `REGISTRY/REPOSITORY`, without tag or digest
    /// (`docker.io/library/debian`): what Notary calls the GUN and a purl
    /// its `repository_url`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to ask the registry for: the digest when there is one, else the tag.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_owned(),
        }
    }

    /// The same repository at another digest.
    pub fn with_digest(&self, digest: Digest) -> RegistryRef {
        RegistryRef {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// Parse a docker reference: `[HOST[:PORT]/]NAME[:TAG][@DIGEST]`.
    pub fn parse(input: &str) -> Result<RegistryRef, ReferenceError> {
        parse_docker(input).map_err(|reason| ReferenceError {
            input: truncate(input),
            reason,
        })
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for ImageRef {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| ReferenceError {
            input: truncate(input),
            reason,
        };
        if input.is_empty() {
            return Err(fail("empty reference".into()));
        }
        if input.len() > MAX_INPUT_LEN {
            return Err(fail(format!("longer than {MAX_INPUT_LEN} bytes")));
        }
        if let Some(rest) = input.strip_prefix("docker://") {
            return parse_docker(rest).map(ImageRef::Registry).map_err(fail);
        }
        if let Some(rest) = input.strip_prefix("oci:") {
            let (path, tag) = split_path(rest).map_err(fail)?;
            return Ok(ImageRef::OciLayout { path, tag });
        }
        if let Some(rest) = input.strip_prefix("oci-archive:") {
            let (path, tag) = split_path(rest).map_err(fail)?;
            return Ok(ImageRef::OciArchive { path, tag });
        }
        if let Some(rest) = input.strip_prefix("docker-archive:") {
            let (path, selector) = split_path(rest).map_err(fail)?;
            let select = match selector {
                None => ArchiveSelector::Only,
                Some(s) => match s.strip_prefix('@') {
                    Some(n) => ArchiveSelector::Index(
                        n.parse()
                            .map_err(|_| fail(format!("archive index {n:?} is not a number")))?,
                    ),
                    None => ArchiveSelector::Tag(parse_docker(&s).map_err(fail)?),
                },
            };
            return Ok(ImageRef::DockerArchive { path, select });
        }
        if let Some((transport, _)) = input.split_once(':')
            && UNSUPPORTED_TRANSPORTS.contains(&transport)
        {
            return Err(fail(format!("transport {transport:?} is not supported")));
        }
        parse_docker(input).map(ImageRef::Registry).map_err(fail)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_tag =
            |f: &mut fmt::Formatter<'_>, kind: &str, path: &PathBuf, tag: &Option<String>| {
                write!(f, "{kind}:{}", path.display())?;
                match tag {
                    Some(tag) => write!(f, ":{tag}"),
                    None => Ok(()),
                }
            };
        match self {
            ImageRef::OciLayout { path, tag } => with_tag(f, "oci", path, tag),
            ImageRef::OciArchive { path, tag } => with_tag(f, "oci-archive", path, tag),
            ImageRef::DockerArchive { path, select } => {
                write!(f, "docker-archive:{}", path.display())?;
                match select {
                    ArchiveSelector::Only => Ok(()),
                    ArchiveSelector::Tag(r) => write!(f, ":{r}"),
                    ArchiveSelector::Index(n) => write!(f, ":@{n}"),
                }
            }
            ImageRef::Registry(r) => write!(f, "docker://{r}"),
        }
    }
}

const UNSUPPORTED_TRANSPORTS: &[&str] = &[
    "containers-storage",
    "dir",
    "docker-daemon",
    "ostree",
    "sif",
    "tarball",
];

fn truncate(input: &str) -> String {
    input.chars().take(300).collect()
}

/// `PATH[:REF]`: skopeo splits at the first colon, so paths cannot hold one.
fn split_path(rest: &str) -> Result<(PathBuf, Option<String>), String> {
    let (path, tag) = match rest.split_once(':') {
        Some((p, "")) => (p, None),
        Some((p, t)) => (p, Some(t.to_owned())),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err("missing path".into());
    }
    Ok((PathBuf::from(path), tag))
}

fn parse_docker(input: &str) -> Result<RegistryRef, String> {
    if input.is_empty() {
        return Err("empty name".into());
    }
    let (rest, digest) = match input.split_once('@') {
        Some((rest, d)) => (rest, Some(d.parse::<Digest>().map_err(|e| e.to_string())?)),
        None => (input, None),
    };
    // A tag follows the last colon, unless that colon belongs to a host:port.
    let (name, tag) = match rest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag)),
        _ => (rest, None),
    };
    if let Some(tag) = tag {
        check_tag(tag)?;
    }
    let (registry, path) = split_domain(name);
    let registry = match registry {
        Some(r) => {
            check_domain(r)?;
            if r == "index.docker.io" {
                DOCKER_HUB.to_owned()
            } else {
                r.to_owned()
            }
        }
        None => DOCKER_HUB.to_owned(),
    };
    let repository = if registry == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_owned()
    };
    check_path(&repository)?;
    if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
        return Err(format!("name longer than {MAX_NAME_LEN} characters"));
    }
    let tag = match (tag, &digest) {
        (Some(t), _) => Some(t.to_owned()),
        (None, Some(_)) => None,
        (None, None) => Some("latest".to_owned()),
    };
    Ok(RegistryRef {
        registry,
        repository,
        tag,
        digest,
    })
}

/// Docker's rule: the first component is a registry when it holds `.` or `:`,
/// is `localhost`, or has upper-case letters.
fn split_domain(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn check_tag(tag: &str) -> Result<(), String> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid tag {tag:?}: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'"
        ))
    }
}

/// A registry host: DNS labels (either case) or a bracketed IPv6 address,
/// with an optional port in 1-65535.
pub fn check_domain(domain: &str) -> Result<(), String> {
    let (host, port) = if let Some(v6) = domain.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("invalid registry {domain:?}: unclosed '['"))?;
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(format!("invalid registry {domain:?}: bad IPv6 address"));
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| {
                format!("invalid registry {domain:?}: only :PORT may follow ']'")
            })?),
        };
        (None, port)
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(host) = host {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if host.is_empty() || !host.split('.').all(label_ok) {
            return Err(format!("invalid registry host {domain:?}"));
        }
    }
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(format!("invalid registry port in {domain:?}"));
    }
    Ok(())
}

/// Path components: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, separated by `/`.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty repository name".into());
    }
    for component in path.split('/') {
        if !component_ok(component) {
            return Err(format!(
                "invalid repository component {component:?}: use lower-case letters, digits and \
                 single '.', '_', '__' or '-' runs between them"
            ));
        }
    }
    Ok(())
}

/// Longest repository name, in bytes, as Distribution enforces.
pub const MAX_REPOSITORY_NAME: usize = 255;

/// The rule of the repository name grammar a refused name broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameRule {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// The name is longer than [`MAX_REPOSITORY_NAME`] bytes.
    #[error("the name is longer than 255 characters")]
    TooLong,
    /// A `/`-separated component is empty.
    #[error("a path component is empty")]
    EmptyComponent,
    /// A component is outside `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    #[error("use lower-case letters, digits and single '.', '_', '__' or '-' runs between them")]
    Component,
}

/// A repository name as the trust service scopes tokens by and Notary
/// names GUNs: the OCI distribution name grammar ("Pulling manifests":
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`),
/// the first of several components allowed to be a registry host with a
/// port, at most [`MAX_REPOSITORY_NAME`] bytes.
///
/// # Errors
///
/// The [`NameRule`] the name breaks first.
pub fn check_repository_name(name: &str) -> Result<(), NameRule> {
    if name.is_empty() {
        return Err(NameRule::Empty);
    }
    if name.len() > MAX_REPOSITORY_NAME {
        return Err(NameRule::TooLong);
    }
    let component = |c: &str| match c {
        "" => Err(NameRule::EmptyComponent),
        c if component_ok(c) => Ok(()),
        _ => Err(NameRule::Component),
    };
    let mut components = name.split('/').peekable();
    if let Some(first) = components.next() {
        let host_allowed = components.peek().is_some();
        if !(host_allowed && check_domain(first).is_ok()) {
            component(first)?;
        }
    }
    components.try_for_each(component)
}

/// Whether `c` is one repository path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
pub fn component_ok(c: &str) -> bool {
    let bytes = c.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    let mut need_alnum = true;
    while i < bytes.len() {
        let b = bytes[i];
        if alnum(b) {
            need_alnum = false;
            i += 1;
            continue;
        }
        if need_alnum {
            return false;
        }
        let sep_len = match b {
            b'.' => 1,
            b'_' if bytes.get(i + 1) == Some(&b'_') => 2,
            b'_' => 1,
            b'-' => bytes[i..].iter().take_while(|&&x| x == b'-').count(),
            _ => return false,
        };
        i += sep_len;
        need_alnum = true;
    }
    !need_alnum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(input: &str) -> RegistryRef {
        match input.parse::<ImageRef>().unwrap() {
            ImageRef::Registry(r) => r,
            other => panic!("{input} parsed as {other:?}"),
        }
    }

    #[test]
    fn bare_names_follow_docker_hub_rules() {
        assert_eq!(
            registry("alpine").to_string(),
            "docker.io/library/alpine:latest"
        );
        assert_eq!(
            registry("alpine:3.20").to_string(),
            "docker.io/library/alpine:3.20"
        );
        assert_eq!(
            registry("grafana/loki").to_string(),
            "docker.io/grafana/loki:latest"
        );
        assert_eq!(
            registry("index.docker.io/library/debian:12").to_string(),
            "docker.io/library/debian:12"
        );
        assert_eq!(registry("alpine").api_host(), DOCKER_HUB_API_HOST);
    }

    #[test]
    fn registries_ports_and_digests() {
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let r = registry(&format!("docker://localhost:5000/team/app:v1@{d}"));
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(r.repository(), "team/app");
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.manifest_reference(), d);
        let r = registry(&format!("127.0.0.1:5000/app@{d}"));
        assert_eq!((r.registry(), r.tag()), ("127.0.0.1:5000", None));
        let r = registry("[::1]:5000/app:1");
        assert_eq!((r.registry(), r.repository()), ("[::1]:5000", "app"));
        assert_eq!(registry("localhost/app").registry(), "localhost");
        for bad in ["[::1]\"x", "[::1]x:5000", "[::1]:0", "[::1]:99999"] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
        assert!(check_domain("[::1]").is_ok());
    }

    #[test]
    fn transports_and_their_tags() {
        assert_eq!(
            "oci:/tmp/layout:v1".parse::<ImageRef>().unwrap(),
            ImageRef::OciLayout {
                path: "/tmp/layout".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            "oci-archive:img.tar".parse::<ImageRef>().unwrap(),
            ImageRef::OciArchive {
                path: "img.tar".into(),
                tag: None
            }
        );
        let ImageRef::DockerArchive { select, .. } = "docker-archive:a.tar:example/app:v1"
            .parse::<ImageRef>()
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            select,
            ArchiveSelector::Tag(RegistryRef::parse("example/app:v1").unwrap())
        );
        let ImageRef::DockerArchive { select, .. } =
            "docker-archive:a.tar:@1".parse::<ImageRef>().unwrap()
        else {
            panic!()
        };
        assert_eq!(select, ArchiveSelector::Index(1));
    }

    #[test]
    fn malformed_references_show_the_accepted_forms() {
        for (input, needle) in [
            ("", "empty"),
            ("Alpine", "invalid repository component"),
            ("alpine:", "invalid tag"),
            ("alpine:-x", "invalid tag"),
            ("alpine@sha256:123", "malformed digest"),
            ("a//b", "invalid repository component"),
            ("oci:", "missing path"),
            ("docker-archive:x.tar:@one", "not a number"),
            ("containers-storage:foo", "not supported"),
            ("localhost:99999/app", "invalid registry port"),
            ("exa_mple.com/app", "invalid registry host"),
            ("a__-b", "invalid repository component"),
        ] {
            let err = input.parse::<ImageRef>().unwrap_err().to_string();
            assert!(err.contains(needle), "{input:?}: {err}");
            assert!(err.contains("accepted forms"), "{input:?}: {err}");
        }
        let long = format!("{}:t", "a".repeat(300));
        assert!(
            long.parse::<ImageRef>()
                .unwrap_err()
                .to_string()
                .contains("longer than")
        );
    }

    #[test]
    fn separators_inside_components() {
        for ok in ["a.b", "a_b", "a__b", "a---b", "a1"] {
            assert!(component_ok(ok), "{ok}");
        }
        for bad in ["_a", "a_", "a..b", "a___b", "a.-b", "A"] {
            assert!(!component_ok(bad), "{bad}");
        }
    }
}
