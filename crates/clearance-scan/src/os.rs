//! Which distribution an image is, from the files distributions keep for
//! that: `os-release` (freedesktop.org `os-release(5)`), then
//! `/etc/alpine-release`, `/etc/debian_version`, `/etc/redhat-release` and
//! `/etc/system-release` for images without it (CentOS and RHEL 6, some
//! minimal images).

use serde::Serialize;

/// `os-release(5)`: `/etc/os-release` first, `/usr/lib/os-release` when the
/// former is absent (on Debian it is a symlink to the latter).
pub const OS_RELEASE: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];
/// Alpine's release file, one line: `3.19.1`.
pub const ALPINE_RELEASE: &str = "etc/alpine-release";
/// Debian's release file, one line: `12.5` or `trixie/sid`.
pub const DEBIAN_VERSION: &str = "etc/debian_version";

/// The RHEL family's release file, one line: `Red Hat Enterprise Linux
/// release 8.9 (Ootpa)`, `CentOS release 6.10 (Final)`.
pub const REDHAT_RELEASE: &str = "etc/redhat-release";
/// The same line on Amazon Linux and the RHEL family (often a link to
/// `redhat-release`): `Amazon Linux release 2 (Karoo)`.
pub const SYSTEM_RELEASE: &str = "etc/system-release";

/// The files [`detect`] reads, as image paths without the leading `/`.
pub const FILES: [&str; 6] = [
    OS_RELEASE[0],
    OS_RELEASE[1],
    ALPINE_RELEASE,
    DEBIAN_VERSION,
    REDHAT_RELEASE,
    SYSTEM_RELEASE,
];

/// The distribution an image is built on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Distro {
    /// `ID` (`debian`, `ubuntu`, `alpine`, `wolfi`, `rhel`, `rocky`, …),
    /// lower-case as os-release(5) requires.
    pub id: String,
    /// `VERSION_ID` (`12`, `22.04`, `3.19.1`), when the distribution has one
    /// (rolling ones such as Wolfi do not).
    pub version_id: Option<String>,
    /// `VERSION_CODENAME` (`bookworm`, `jammy`).
    pub codename: Option<String>,
    /// `ID_LIKE`, split on spaces (`rhel centos fedora`).
    pub id_like: Vec<String>,
    /// `PRETTY_NAME`, for people (`Distroless` for Google's distroless).
    pub pretty_name: Option<String>,
    /// Which file said so, as an absolute image path.
    pub source: String,
}

impl Distro {
    /// The distribution part of a purl's `distro` qualifier, as Syft and
    /// Trivy write it: `debian-12`, `alpine-3.19.1`, `wolfi`.
    pub fn purl_qualifier(&self) -> String {
        match &self.version_id {
            Some(v) => format!("{}-{v}", self.id),
            None => self.id.clone(),
        }
    }
}

/// The distribution the given files describe, `None` when none does.
/// `read` returns a file's content by image path (one of [`FILES`]), or
/// `None` when the image does not hold it as a regular file.
pub fn detect<'a>(read: impl Fn(&str) -> Option<&'a [u8]>) -> Option<Distro> {
    for path in OS_RELEASE {
        if let Some(distro) = read(path).and_then(|b| parse_os_release(b, path)) {
            return Some(distro);
        }
    }
    let first_line = |path: &str| {
        read(path).and_then(|b| {
            let text = String::from_utf8_lossy(b);
            let line = text.lines().next()?.trim().to_owned();
            (!line.is_empty() && line.len() <= 64).then_some(line)
        })
    };
    if let Some(version) = first_line(ALPINE_RELEASE) {
        return Some(Distro {
            id: "alpine".to_owned(),
            version_id: Some(version),
            codename: None,
            id_like: Vec::new(),
            pretty_name: None,
            source: format!("/{ALPINE_RELEASE}"),
        });
    }
    if let Some(version) = first_line(DEBIAN_VERSION) {
        return Some(Distro {
            id: "debian".to_owned(),
            // `12.5` → 12, as os-release says; `trixie/sid` has no number.
            version_id: version
                .split('.')
                .next()
                .filter(|major| !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned),
            codename: None,
            id_like: Vec::new(),
            pretty_name: None,
            source: format!("/{DEBIAN_VERSION}"),
        });
    }
    [REDHAT_RELEASE, SYSTEM_RELEASE]
        .into_iter()
        .find_map(|path| first_line(path).and_then(|line| parse_redhat_release(&line, path)))
}

/// A `redhat-release` line, `NAME release VERSION (CODENAME)`: the
/// os-release `ID` its distribution uses (`Red Hat Enterprise Linux` →
/// `rhel`, `CentOS Stream` → `centos`, `Amazon Linux` → `amzn`, else the
/// name's first word in lower case) and the version's first two numbers
/// (`7.9.2009` → `7.9`). `None` without the word `release`.
fn parse_redhat_release(line: &str, path: &str) -> Option<Distro> {
    const KNOWN: [(&str, &str); 8] = [
        ("red hat enterprise linux", "rhel"),
        ("centos", "centos"),
        ("rocky linux", "rocky"),
        ("almalinux", "almalinux"),
        ("fedora", "fedora"),
        ("amazon linux", "amzn"),
        ("oracle linux", "ol"),
        ("scientific linux", "scientific"),
    ];
    let (name, rest) = line.split_once(" release ")?;
    let lower = name.trim().to_ascii_lowercase();
    let id = KNOWN
        .iter()
        .find(|(prefix, _)| lower.starts_with(prefix))
        .map(|(_, id)| (*id).to_owned())
        .or_else(|| {
            lower
                .split_whitespace()
                .next()
                .filter(|w| w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
                .map(str::to_owned)
        })?;
    let number: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let version_id = number
        .split('.')
        .filter(|part| !part.is_empty())
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    Some(Distro {
        id,
        version_id: (!version_id.is_empty()).then_some(version_id),
        codename: None,
        id_like: Vec::new(),
        pretty_name: Some(line.to_owned()),
        source: format!("/{path}"),
    })
}

/// Parse `os-release(5)`: `KEY=value` lines, values optionally in single or
/// double quotes with backslash escapes, `#` comments. `None` without an
/// `ID`. Values longer than 256 bytes are cut (the file is a few hundred
/// bytes in every distribution).
pub fn parse_os_release(bytes: &[u8], path: &str) -> Option<Distro> {
    let text = String::from_utf8_lossy(bytes);
    let mut distro = Distro {
        id: String::new(),
        version_id: None,
        codename: None,
        id_like: Vec::new(),
        pretty_name: None,
        source: format!("/{path}"),
    };
    for line in text.lines().take(256) {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw);
        if value.is_empty() {
            continue;
        }
        match key {
            "ID" => distro.id = value.to_ascii_lowercase(),
            "VERSION_ID" => distro.version_id = Some(value),
            "VERSION_CODENAME" => distro.codename = Some(value),
            "ID_LIKE" => {
                distro.id_like = value.split_whitespace().map(str::to_owned).collect();
            }
            "PRETTY_NAME" => distro.pretty_name = Some(value),
            _ => {}
        }
    }
    (!distro.id.is_empty()).then_some(distro)
}

/// A shell-style value: quotes removed, `\"`, `\\`, `\$`, `` \` `` unescaped.
fn unquote(raw: &str) -> String {
    let raw = raw.trim();
    let inner = match raw.as_bytes() {
        [b'"', .., b'"'] | [b'\'', .., b'\''] if raw.len() >= 2 => &raw[1..raw.len() - 1],
        _ => raw,
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(next) = chars.next()
        {
            out.push(next);
        } else {
            out.push(c);
        }
        if out.len() >= 256 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files<'a>(list: &'a [(&'a str, &'a [u8])]) -> impl Fn(&str) -> Option<&'a [u8]> {
        move |path| list.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
    }

    #[test]
    fn os_release_of_real_distributions() {
        let debian = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";
        let d = detect(files(&[("usr/lib/os-release", debian)])).unwrap();
        assert_eq!(
            (
                d.id.as_str(),
                d.version_id.as_deref(),
                d.codename.as_deref()
            ),
            ("debian", Some("12"), Some("bookworm"))
        );
        assert_eq!(d.source, "/usr/lib/os-release");
        assert_eq!(d.purl_qualifier(), "debian-12");

        let rocky = b"NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n";
        let d = detect(files(&[("etc/os-release", rocky)])).unwrap();
        assert_eq!(d.id_like, ["rhel", "centos", "fedora"]);

        let wolfi = b"ID=wolfi\nNAME=\"Wolfi\"\nPRETTY_NAME=\"Wolfi\"\nVERSION_ID=\"20230201\"\n";
        assert_eq!(
            detect(files(&[("etc/os-release", wolfi)]))
                .unwrap()
                .purl_qualifier(),
            "wolfi-20230201"
        );
    }

    #[test]
    fn etc_os_release_wins_and_release_files_are_fallbacks() {
        let d = detect(files(&[
            ("etc/os-release", b"ID=alpine\nVERSION_ID=3.19.1\n"),
            ("usr/lib/os-release", b"ID=debian\n"),
        ]))
        .unwrap();
        assert_eq!(d.id, "alpine");
        let d = detect(files(&[("etc/alpine-release", b"3.18.4\n")])).unwrap();
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("alpine", Some("3.18.4"))
        );
        let d = detect(files(&[("etc/debian_version", b"11.9\n")])).unwrap();
        assert_eq!(d.version_id.as_deref(), Some("11"));
        let d = detect(files(&[("etc/debian_version", b"trixie/sid\n")])).unwrap();
        assert_eq!(d.version_id, None);
        assert_eq!(detect(files(&[])), None);
        // os-release wins over redhat-release.
        let d = detect(files(&[
            ("etc/os-release", b"ID=rhel\nVERSION_ID=8.9\n"),
            ("etc/redhat-release", b"CentOS release 6.10 (Final)\n"),
        ]))
        .unwrap();
        assert_eq!(d.id, "rhel");
        // An os-release without ID says nothing.
        assert_eq!(detect(files(&[("etc/os-release", b"NAME=x\n")])), None);
    }

    #[test]
    fn redhat_and_system_release_lines_of_real_distributions() {
        let cases: [(&str, &[u8], &str, Option<&str>); 8] = [
            (
                "etc/redhat-release",
                b"Red Hat Enterprise Linux release 8.9 (Ootpa)\n",
                "rhel",
                Some("8.9"),
            ),
            (
                "etc/redhat-release",
                b"CentOS release 6.10 (Final)\n",
                "centos",
                Some("6.10"),
            ),
            (
                "etc/redhat-release",
                b"CentOS Linux release 7.9.2009 (Core)\n",
                "centos",
                Some("7.9"),
            ),
            (
                "etc/redhat-release",
                b"CentOS Stream release 9\n",
                "centos",
                Some("9"),
            ),
            (
                "etc/redhat-release",
                b"Rocky Linux release 9.3 (Blue Onyx)\n",
                "rocky",
                Some("9.3"),
            ),
            (
                "etc/redhat-release",
                b"AlmaLinux release 9.3 (Shamrock Pearl Lion)\n",
                "almalinux",
                Some("9.3"),
            ),
            (
                "etc/system-release",
                b"Amazon Linux release 2 (Karoo)\n",
                "amzn",
                Some("2"),
            ),
            (
                "etc/system-release",
                b"Mageia release 9 (Official) for x86_64\n",
                "mageia",
                Some("9"),
            ),
        ];
        for (path, line, id, version) in cases {
            let d = detect(files(&[(path, line)])).unwrap();
            assert_eq!(
                (d.id.as_str(), d.version_id.as_deref()),
                (id, version),
                "{path}: {line:?}"
            );
            assert_eq!(d.source, format!("/{path}"));
        }
        // redhat-release first; a line without "release" says nothing.
        let d = detect(files(&[
            ("etc/redhat-release", b"Fedora release 39 (Thirty Nine)\n"),
            (
                "etc/system-release",
                b"Amazon Linux release 2023 (Amazon Linux)\n",
            ),
        ]))
        .unwrap();
        assert_eq!(d.purl_qualifier(), "fedora-39");
        assert_eq!(detect(files(&[("etc/redhat-release", b"hello\n")])), None);
    }

    #[test]
    fn values_are_unquoted_bounded_and_lossy() {
        let d = parse_os_release(
            b"ID='my\\\"os'\nPRETTY_NAME=\"a\\\\b \xff\"\n# ID=commented\n",
            "etc/os-release",
        )
        .unwrap();
        assert_eq!(d.id, "my\"os");
        assert_eq!(d.pretty_name.as_deref(), Some("a\\b \u{fffd}"));
        let long = format!("ID={}\n", "x".repeat(10_000));
        assert_eq!(
            parse_os_release(long.as_bytes(), "etc/os-release")
                .unwrap()
                .id
                .len(),
            256
        );
    }
}
