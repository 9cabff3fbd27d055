//! Checks on the final image's file metadata (setuid and setgid files,
//! world-writable directories and files) and the attack-surface summary.

use std::collections::HashSet;

use serde::Serialize;

use super::history::Timeline;
use super::listing::{S_ISGID, S_ISUID, S_ISVTX, S_IWOTH, Untracked};
use super::replay::{FinalFs, Live, LiveKind};
use super::{Check, DEFAULT_PATH, Evidence, Findings, clip};

/// What an image gives someone who gets a shell in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AttackSurface {
    /// Packages, as the inventory counted them.
    pub packages: usize,
    /// Shells present (`sh`, `bash`, `ash`, `dash`, `zsh`, `busybox`).
    pub shells: Vec<Tool>,
    /// Package managers present (`apt`, `dpkg`, `apk`, `rpm`, `dnf`,
    /// `yum`, `microdnf`, `pip`, `npm`).
    pub package_managers: Vec<Tool>,
    /// Regular files with the setuid bit.
    pub setuid_files: u64,
    /// Regular files with the setgid bit.
    pub setgid_files: u64,
    /// Regular files (hard links included).
    pub files: u64,
    /// Symbolic links.
    pub symlinks: u64,
    /// Directories.
    pub directories: u64,
    /// The files' total size, uncompressed, in bytes.
    pub size_bytes: u64,
    /// Entries past the listings' caps: counted in `files` and
    /// `size_bytes` as if visible (no whiteout could be checked against
    /// them), so those are upper bounds when this is not zero.
    pub untracked: Untracked,
}

/// A program found in the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tool {
    /// What it is (`bash`, `apt`).
    pub name: &'static str,
    /// Where it was found: a directory on `PATH` or a standard one, and the
    /// program's name there (`/bin/sh`, `/usr/bin/apt-get`).
    pub path: String,
    /// The layer whose version of the program is visible.
    pub layer: usize,
}

/// Shells, each with the names it is installed under.
const SHELLS: [(&str, &[&str]); 6] = [
    ("sh", &["sh"]),
    ("bash", &["bash"]),
    ("ash", &["ash"]),
    ("dash", &["dash"]),
    ("zsh", &["zsh"]),
    ("busybox", &["busybox"]),
];

/// Package managers, each with the names it is installed under.
const PACKAGE_MANAGERS: [(&str, &[&str]); 9] = [
    ("apt", &["apt", "apt-get"]),
    ("dpkg", &["dpkg"]),
    ("apk", &["apk"]),
    ("rpm", &["rpm"]),
    ("dnf", &["dnf", "dnf5"]),
    ("yum", &["yum"]),
    ("microdnf", &["microdnf"]),
    ("pip", &["pip", "pip3"]),
    ("npm", &["npm"]),
];

/// The checks on file metadata: `CLR-CFG-010`, `-011`, `-020`, `-021`,
/// `-022`. `path`: the `PATH` directories, as image paths.
pub(super) fn check_files(
    fs: &FinalFs,
    path: &[String],
    timeline: &Timeline<'_>,
    found: &mut Findings,
) {
    let evidence = |p: &str, live: &Live, value: String| Evidence {
        value: Some(clip(&value)),
        path: Some(clip(&format!("/{p}"))),
        layer: Some(live.layer),
        history: timeline.layer_history(live.layer).map(clip),
    };
    // Each PATH directory once, as it really is (`/bin` is `usr/bin` on
    // Debian since 12).
    let mut on_path: HashSet<String> = HashSet::new();
    for dir in path {
        let Some((real, live)) = fs.resolve(dir).filter(|(_, l)| l.kind == LiveKind::Dir) else {
            continue;
        };
        if !on_path.insert(real.clone()) {
            continue;
        }
        // A sticky bit does not help here: it keeps others from removing
        // entries, not from adding a program that shadows one further on.
        if live.mode & S_IWOTH != 0 {
            let via = if *dir == real {
                String::new()
            } else {
                format!(", on PATH as /{dir}")
            };
            found.add(
                Check::WorldWritableDirOnPath,
                timeline.layer_origin(live.layer),
                || evidence(&real, live, format!("mode {:04o}{via}", live.mode)),
            );
        }
        for (child, live) in fs.children(&real) {
            let (target, file) = match &live.kind {
                LiveKind::File => (None, live),
                LiveKind::Symlink(_) => match fs.resolve(child) {
                    Some((t, l)) if l.kind == LiveKind::File => (Some(t), l),
                    _ => continue,
                },
                LiveKind::Dir => continue,
            };
            if file.mode & S_IWOTH == 0 {
                continue;
            }
            let value = match &target {
                Some(t) => format!("mode {:04o} (links to /{t})", file.mode),
                None => format!("mode {:04o}", file.mode),
            };
            found.add(
                Check::WorldWritableFileOnPath,
                timeline.layer_origin(file.layer),
                || evidence(child, file, value),
            );
        }
    }
    for (p, live) in fs.iter() {
        let check = match live.kind {
            LiveKind::File if live.mode & S_ISUID != 0 => Check::SetuidFile,
            LiveKind::File if live.mode & S_ISGID != 0 => Check::SetgidFile,
            LiveKind::Dir
                if live.mode & S_IWOTH != 0 && live.mode & S_ISVTX == 0 && !on_path.contains(p) =>
            {
                Check::WorldWritableDir
            }
            _ => continue,
        };
        let value = match live.kind {
            LiveKind::File => format!("mode {:04o} uid {}", live.mode, live.uid),
            _ => format!("mode {:04o}", live.mode),
        };
        found.add(check, timeline.layer_origin(live.layer), || {
            evidence(p, live, value)
        });
    }
}

/// The attack-surface summary of the final image.
pub(super) fn surface(fs: &FinalFs, path: &[String], packages: usize) -> AttackSurface {
    let mut s = AttackSurface {
        packages,
        untracked: fs.untracked,
        files: fs.untracked.files,
        size_bytes: fs.untracked.bytes,
        ..AttackSurface::default()
    };
    for (_, live) in fs.iter() {
        match live.kind {
            LiveKind::File => {
                s.files += 1;
                s.size_bytes = s.size_bytes.saturating_add(live.size);
                s.setuid_files += u64::from(live.mode & S_ISUID != 0);
                s.setgid_files += u64::from(live.mode & S_ISGID != 0);
            }
            LiveKind::Dir => s.directories += 1,
            LiveKind::Symlink(_) => s.symlinks += 1,
        }
    }
    // PATH first, then the standard directories a `docker exec` reaches
    // by absolute path anyway.
    let mut dirs: Vec<String> = path.to_vec();
    for d in DEFAULT_PATH.split(':') {
        let d = d.trim_start_matches('/').to_owned();
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    s.shells = find_tools(fs, &dirs, &SHELLS);
    s.package_managers = find_tools(fs, &dirs, &PACKAGE_MANAGERS);
    s
}

/// Each tool found in `dirs` under one of its names (the first found), as
/// an executable regular file once links are followed.
fn find_tools(fs: &FinalFs, dirs: &[String], tools: &[(&'static str, &[&str])]) -> Vec<Tool> {
    tools
        .iter()
        .filter_map(|(name, programs)| {
            dirs.iter().find_map(|dir| {
                programs.iter().find_map(|program| {
                    let path = if dir.is_empty() {
                        (*program).to_owned()
                    } else {
                        format!("{dir}/{program}")
                    };
                    let (_, live) = fs.resolve(&path)?;
                    (live.kind == LiveKind::File && live.mode & 0o111 != 0).then(|| Tool {
                        name,
                        path: format!("/{path}"),
                        layer: live.layer,
                    })
                })
            })
        })
        .collect()
}
