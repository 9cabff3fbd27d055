//! Writing files atomically: every metadata file, key file and master key
//! goes through [`write_file`], so each gets the same guarantees.
//!
//! - The bytes go to a temporary file beside the target, created exclusively
//!   (`O_CREAT | O_EXCL`, so never through a symlink someone planted) under a
//!   random name (`tempfile::NamedTempFile`), with its mode set when it is
//!   created, never widened by an existing file.
//! - It is synced, then renamed over the target (or linked into place only if
//!   the target does not exist), and the directory is synced: a crash leaves
//!   the old file or the new one, never a partial one, and a failed write
//!   leaves no file at all.

use std::io::Write as _;
use std::path::Path;

/// Who may read the file once written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Mode 0600: private keys, master keys.
    OwnerOnly,
    /// Mode 0644 (less the umask): metadata others read.
    Readable,
}

/// What to do when the target already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Replace it atomically (a new version of a file).
    Replace,
    /// Leave it and fail with `ErrorKind::AlreadyExists` (a key that must
    /// never be overwritten, even by a concurrent writer).
    Keep,
}

/// Create `dir` and each missing parent with mode 0700, set explicitly
/// after creation so no umask widens it (review 9 #4: a trust home made
/// under umask 002 was group-writable); `dir` itself, if it existed with
/// group or other bits, is narrowed to 0700 when this user may (a
/// directory of someone else's is left as it is). Parents that existed are
/// never changed.
///
/// Errors: the I/O error of creating a directory or setting its mode.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut at = dir;
    while std::fs::symlink_metadata(at).is_err() {
        missing.push(at);
        match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => at = parent,
            _ => break,
        }
    }
    for created in missing.iter().rev() {
        match std::fs::create_dir(created) {
            Ok(()) => set_owner_only(created)?,
            // Made meanwhile by someone else (a concurrent command).
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    if missing.is_empty() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let wide = std::fs::metadata(dir)?.permissions().mode() & 0o077 != 0;
            if wide {
                // Best effort: another user's directory keeps its mode.
                let _ = set_owner_only(dir);
            }
        }
    }
    Ok(())
}

/// Mode 0700 on a directory.
fn set_owner_only(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Write `bytes` to `path` atomically, as the module describes.
///
/// Errors: the I/O error of creating, writing, syncing or renaming;
/// `AlreadyExists` when `existing` is [`Existing::Keep`] and `path` exists.
pub fn write_file(
    path: &Path,
    bytes: &[u8],
    access: Access,
    existing: Existing,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(match access {
            Access::OwnerOnly => 0o600,
            Access::Readable => 0o644,
        }));
    }
    #[cfg(not(unix))]
    let _ = access;
    // Removed on every early return (the temporary file's Drop).
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    match existing {
        Existing::Replace => tmp.persist(path).map(drop).map_err(|e| e.error)?,
        Existing::Keep => tmp.persist_noclobber(path).map(drop).map_err(|e| e.error)?,
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn b13_temporary_files_are_exclusive_random_and_never_follow_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let target = dir.path().join("root.json");
        // What another user of a shared directory could plant: the names the
        // temporary file used to get (`.<name>.tmp-<pid>`), as symlinks.
        let planted = dir
            .path()
            .join(format!(".root.json.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_file(&target, b"new", Access::Readable, Existing::Replace).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&target).unwrap(), b"new");

        // A planted world-writable temporary file cannot widen a private file.
        let key = dir.path().join("key");
        let planted = dir.path().join(format!(".key.tmp-{}", std::process::id()));
        std::fs::write(&planted, b"").unwrap();
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
        write_file(&key, b"secret", Access::OwnerOnly, Existing::Replace).unwrap();
        assert_eq!(mode(&key), 0o600);
        assert_eq!(std::fs::read(&planted).unwrap(), b"", "left alone");

        // Nothing but what was planted and written remains.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 5, "{names:?}");
    }

    #[test]
    fn b13_a_key_that_exists_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("master.key");
        write_file(&key, b"first", Access::OwnerOnly, Existing::Keep).unwrap();
        let err = write_file(&key, b"second", Access::OwnerOnly, Existing::Keep).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&key).unwrap(), b"first");
        assert_eq!(mode(&key), 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
