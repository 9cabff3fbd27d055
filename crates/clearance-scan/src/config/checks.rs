//! The catalogue of checks: each one's stable id, name, usual severity,
//! what it means and its one-line fix (documented in `docs/config-checks.md`).

use serde::{Serialize, Serializer};

use crate::advisory::Severity;

/// A configuration check. Its [`id`](Check::id) never changes meaning:
/// policies and suppressions name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// `CLR-CFG-001`: the image runs as root (`USER` unset, `root`, `0`).
    RunsAsRoot,
    /// `CLR-CFG-002`: the history shows `ADD` of a URL without `--checksum`.
    AddFromUrl,
    /// `CLR-CFG-003`: port 22/tcp (SSH) is exposed.
    SshPortExposed,
    /// `CLR-CFG-004`: port 23/tcp (telnet) is exposed.
    TelnetPortExposed,
    /// `CLR-CFG-005`: another remote-access or clear-text service port is
    /// exposed (FTP, TFTP, rpcbind, SMB, r-services, the Docker API, RDP,
    /// VNC, X11).
    RiskyPortExposed,
    /// `CLR-CFG-010`: a regular file with the setuid bit.
    SetuidFile,
    /// `CLR-CFG-011`: a regular file with the setgid bit (and not setuid).
    SetgidFile,
    /// `CLR-CFG-020`: a world-writable directory on `PATH`.
    WorldWritableDirOnPath,
    /// `CLR-CFG-021`: a world-writable file in a directory on `PATH`.
    WorldWritableFileOnPath,
    /// `CLR-CFG-022`: a world-writable directory without the sticky bit,
    /// not on `PATH`.
    WorldWritableDir,
}

impl Check {
    /// Every check, in id order.
    pub const ALL: [Check; 10] = [
        Check::RunsAsRoot,
        Check::AddFromUrl,
        Check::SshPortExposed,
        Check::TelnetPortExposed,
        Check::RiskyPortExposed,
        Check::SetuidFile,
        Check::SetgidFile,
        Check::WorldWritableDirOnPath,
        Check::WorldWritableFileOnPath,
        Check::WorldWritableDir,
    ];

    /// The stable id (`CLR-CFG-001`).
    pub fn id(self) -> &'static str {
        match self {
            Check::RunsAsRoot => "CLR-CFG-001",
            Check::AddFromUrl => "CLR-CFG-002",
            Check::SshPortExposed => "CLR-CFG-003",
            Check::TelnetPortExposed => "CLR-CFG-004",
            Check::RiskyPortExposed => "CLR-CFG-005",
            Check::SetuidFile => "CLR-CFG-010",
            Check::SetgidFile => "CLR-CFG-011",
            Check::WorldWritableDirOnPath => "CLR-CFG-020",
            Check::WorldWritableFileOnPath => "CLR-CFG-021",
            Check::WorldWritableDir => "CLR-CFG-022",
        }
    }

    /// A short name, stable like the id (`runs-as-root`).
    pub fn name(self) -> &'static str {
        match self {
            Check::RunsAsRoot => "runs-as-root",
            Check::AddFromUrl => "add-from-url",
            Check::SshPortExposed => "ssh-port-exposed",
            Check::TelnetPortExposed => "telnet-port-exposed",
            Check::RiskyPortExposed => "risky-port-exposed",
            Check::SetuidFile => "setuid-file",
            Check::SetgidFile => "setgid-file",
            Check::WorldWritableDirOnPath => "world-writable-dir-on-path",
            Check::WorldWritableFileOnPath => "world-writable-file-on-path",
            Check::WorldWritableDir => "world-writable-dir",
        }
    }

    /// The severity a finding of this check has, unless the finding says
    /// otherwise (the Docker API port is rated higher than other ports).
    pub fn severity(self) -> Severity {
        match self {
            Check::TelnetPortExposed
            | Check::WorldWritableDirOnPath
            | Check::WorldWritableFileOnPath => Severity::High,
            Check::RunsAsRoot
            | Check::AddFromUrl
            | Check::SshPortExposed
            | Check::RiskyPortExposed => Severity::Medium,
            Check::SetuidFile | Check::WorldWritableDir => Severity::Low,
            Check::SetgidFile => Severity::Negligible,
        }
    }

    /// What a finding means, in one line.
    pub fn title(self) -> &'static str {
        match self {
            Check::RunsAsRoot => "the container runs as root",
            Check::AddFromUrl => "a file was downloaded with ADD and not checked against a digest",
            Check::SshPortExposed => "the image exposes SSH",
            Check::TelnetPortExposed => "the image exposes telnet, which sends passwords in clear",
            Check::RiskyPortExposed => "the image exposes a remote-access or clear-text service",
            Check::SetuidFile => "a file runs with its owner's privileges (setuid)",
            Check::SetgidFile => "a file runs with its group's privileges (setgid)",
            Check::WorldWritableDirOnPath => {
                "any user can put programs in a directory on PATH, ahead of the real ones"
            }
            Check::WorldWritableFileOnPath => "any user can replace a program on PATH",
            Check::WorldWritableDir => "any user can delete or replace others' files here",
        }
    }

    /// The fix, in one line.
    pub fn fix(self) -> &'static str {
        match self {
            Check::RunsAsRoot => {
                "add `USER 10001` (any non-root uid) to the Dockerfile, after the steps that need root"
            }
            Check::AddFromUrl => {
                "pin the download: `ADD --checksum=sha256:… URL`, or `RUN curl` and check its sha256"
            }
            Check::SshPortExposed => {
                "remove the SSH server and `EXPOSE 22`; reach containers with `docker exec` or `kubectl exec`"
            }
            Check::TelnetPortExposed => "remove the telnet server and `EXPOSE 23`",
            Check::RiskyPortExposed => {
                "remove the service and its `EXPOSE`, or put it behind TLS and authentication"
            }
            Check::SetuidFile => {
                "`RUN chmod u-s FILE` (or remove the file) unless the image needs it"
            }
            Check::SetgidFile => {
                "`RUN chmod g-s FILE` (or remove the file) unless the image needs it"
            }
            Check::WorldWritableDirOnPath => "`RUN chmod o-w DIR`",
            Check::WorldWritableFileOnPath => "`RUN chmod o-w FILE`",
            Check::WorldWritableDir => {
                "`RUN chmod o-w DIR`, or `chmod +t DIR` for a shared scratch directory like /tmp"
            }
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.id(), self.name())
    }
}

/// Serialised as its id (`"CLR-CFG-001"`).
impl Serialize for Check {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}
