//! Checks on the image configuration (image-spec config.md): the user it
//! runs as, `ADD` of a URL in its history, the ports it exposes; and the
//! `PATH` the layer checks need.

use std::collections::{HashMap, HashSet};

use clearance_oci::layer::ImagePath;
use oci_spec::image::ImageConfiguration;

use super::history::{Instruction, Timeline};
use super::{Check, DEFAULT_PATH, Evidence, Findings, MAX_PATH_DIRS, Origin, clip};
use crate::advisory::Severity;

/// The directories of the config's `PATH` (the last `PATH=` in `Env`, or
/// [`DEFAULT_PATH`]), as image paths, in order, the first
/// [`MAX_PATH_DIRS`]. Empty and relative entries name no fixed directory
/// and are left out.
pub(super) fn path_dirs(config: &ImageConfiguration) -> Vec<String> {
    let path = env(config)
        .filter_map(|(name, value)| (name == "PATH").then_some(value))
        .last()
        .unwrap_or(DEFAULT_PATH);
    let mut seen: HashSet<&str> = HashSet::new();
    path.split(':')
        .filter(|d| d.starts_with('/') && seen.insert(d))
        .take(MAX_PATH_DIRS)
        .map(|d| ImagePath::normalise(d).0.as_str().to_owned())
        .collect()
}

/// The config's `Env`, as (name, value).
pub(super) fn env(config: &ImageConfiguration) -> impl Iterator<Item = (&str, &str)> {
    config
        .config()
        .iter()
        .flat_map(|c| c.env().iter().flatten())
        .map(|e| e.split_once('=').unwrap_or((e, "")))
}

/// The configuration checks: runs as root, `ADD` of a URL, risky ports.
pub(super) fn check_config(
    config: &ImageConfiguration,
    timeline: &Timeline<'_>,
    found: &mut Findings,
) {
    runs_as_root(config, timeline, found);
    add_from_url(timeline, found);
    exposed_ports(config, timeline, found);
}

/// `CLR-CFG-001`. config.md `User`: "`user`, `uid`, `user:group`,
/// `uid:gid`, `uid:group`, `user:gid`. If `group`/`gid` is not specified,
/// the default group and supplementary groups of the given `user`/`uid` in
/// `/etc/passwd` … are applied"; unset, the runtime's default is root.
fn runs_as_root(config: &ImageConfiguration, timeline: &Timeline<'_>, found: &mut Findings) {
    let user = config
        .config()
        .as_ref()
        .and_then(|c| c.user().as_deref())
        .unwrap_or("")
        .trim();
    let name = user.split_once(':').map_or(user, |(u, _)| u);
    let root = name.is_empty() || name == "root" || name.parse::<u64>() == Ok(0);
    if !root {
        return;
    }
    // The line that set it, when the history shows one.
    let set_by = timeline
        .instructions()
        .filter(|i| i.keyword == "USER")
        .last()
        .filter(|_| !user.is_empty());
    let (origin, history) = match set_by {
        Some(i) => (timeline.line_origin(i.index), Some(clip(i.line))),
        // Nothing set it: the fix goes in the image's own Dockerfile.
        None if user.is_empty() && timeline.base_layers.is_some() => (Origin::Own, None),
        None => (Origin::Unknown, None),
    };
    found.add(Check::RunsAsRoot, origin, || Evidence {
        value: Some(if user.is_empty() {
            "USER not set (runs as root)".to_owned()
        } else {
            clip(&format!("USER {user}"))
        }),
        history,
        ..Evidence::default()
    });
}

/// `CLR-CFG-002`: `ADD` with an `http://` or `https://` source and no
/// `--checksum` (BuildKit verifies the download against it). The classic
/// builder writes `ADD file:<digest> in <dest>` and hides the URL; only
/// BuildKit-style lines name it.
fn add_from_url(timeline: &Timeline<'_>, found: &mut Findings) {
    for i in timeline.instructions() {
        if i.keyword != "ADD" {
            continue;
        }
        let words: Vec<&str> = i
            .args
            .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | '"' | ','))
            .filter(|w| !w.is_empty())
            .collect();
        if words.iter().any(|w| w.starts_with("--checksum=")) {
            continue;
        }
        let Some(url) = words.iter().find(|w| {
            let w = w.to_ascii_lowercase();
            w.starts_with("http://") || w.starts_with("https://")
        }) else {
            continue;
        };
        let origin = timeline.entry_origin(i.index, i.layer);
        found.add(Check::AddFromUrl, origin, || Evidence {
            value: Some(clip(url)),
            layer: i.layer,
            history: Some(clip(i.line)),
            ..Evidence::default()
        });
    }
}

/// A transport protocol of an exposed port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Tcp,
    Udp,
    Any,
}

/// Ports whose service lets someone in or sends credentials in clear:
/// port, protocol, check, service, severity.
#[rustfmt::skip]
const RISKY_PORTS: [(u16, Proto, Check, &str, Severity); 15] = [
    (22, Proto::Tcp, Check::SshPortExposed, "ssh", Severity::Medium),
    (23, Proto::Tcp, Check::TelnetPortExposed, "telnet", Severity::High),
    (21, Proto::Tcp, Check::RiskyPortExposed, "ftp", Severity::Medium),
    (69, Proto::Udp, Check::RiskyPortExposed, "tftp", Severity::Medium),
    (111, Proto::Any, Check::RiskyPortExposed, "rpcbind", Severity::Medium),
    (135, Proto::Tcp, Check::RiskyPortExposed, "msrpc", Severity::Medium),
    (139, Proto::Tcp, Check::RiskyPortExposed, "netbios-ssn", Severity::Medium),
    (445, Proto::Tcp, Check::RiskyPortExposed, "smb", Severity::Medium),
    (512, Proto::Tcp, Check::RiskyPortExposed, "rexec", Severity::Medium),
    (513, Proto::Tcp, Check::RiskyPortExposed, "rlogin", Severity::Medium),
    (514, Proto::Tcp, Check::RiskyPortExposed, "rsh", Severity::Medium),
    // The Docker Engine API without TLS: whoever reaches it is root on
    // the host that runs the daemon.
    (2375, Proto::Tcp, Check::RiskyPortExposed, "docker-api", Severity::High),
    (3389, Proto::Tcp, Check::RiskyPortExposed, "rdp", Severity::Medium),
    (5900, Proto::Tcp, Check::RiskyPortExposed, "vnc", Severity::Medium),
    (6000, Proto::Tcp, Check::RiskyPortExposed, "x11", Severity::Medium),
];

/// `CLR-CFG-003`, `-004`, `-005`. config.md `ExposedPorts`: keys are
/// `port/tcp`, `port/udp` or `port` (tcp); Docker also accepts a range
/// (`8000-8010/tcp`).
fn exposed_ports(config: &ImageConfiguration, timeline: &Timeline<'_>, found: &mut Findings) {
    let ports = config
        .config()
        .iter()
        .flat_map(|c| c.exposed_ports().iter().flatten());
    // The first EXPOSE line naming each risky port: where it came from.
    // One pass over the history, whatever the number of ports.
    let mut exposed_by: HashMap<u16, Instruction<'_>> = HashMap::new();
    for i in timeline.instructions().filter(|i| i.keyword == "EXPOSE") {
        for n in i.args.split(|c: char| !c.is_ascii_digit()) {
            if let Ok(port) = n.parse::<u16>()
                && RISKY_PORTS.iter().any(|r| r.0 == port)
            {
                exposed_by.entry(port).or_insert_with(|| i.clone());
            }
        }
    }
    for spec in ports {
        let (range, proto) = spec.trim().split_once('/').unwrap_or((spec.trim(), "tcp"));
        let (low, high) = range.split_once('-').unwrap_or((range, range));
        let (Ok(low), Ok(high)) = (low.parse::<u16>(), high.parse::<u16>()) else {
            continue;
        };
        for (port, want, check, service, severity) in RISKY_PORTS {
            let proto_matches = match want {
                Proto::Any => true,
                Proto::Tcp => proto.eq_ignore_ascii_case("tcp"),
                Proto::Udp => proto.eq_ignore_ascii_case("udp"),
            };
            if !(low..=high).contains(&port) || !proto_matches {
                continue;
            }
            let line = exposed_by.get(&port);
            let origin = line.map_or(Origin::Unknown, |i| timeline.line_origin(i.index));
            if let Some(finding) = found.add(check, origin, || Evidence {
                value: Some(clip(&format!("{spec} ({service})"))),
                history: line.map(|i| clip(i.line)),
                ..Evidence::default()
            }) {
                finding.severity = severity;
            }
        }
    }
}
