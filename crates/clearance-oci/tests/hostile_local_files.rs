//! Local image files that are not what they claim: a layout whose blobs,
//! `index.json` or `blobs/` lead outside it, blobs that are FIFOs or
//! devices, and paths given to the wrong local transport. Nothing outside
//! a layout is read, and nothing blocks.
#![allow(clippy::unwrap_used)]

#[path = "support/images.rs"]
mod images;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use clearance_oci::source::LocalFileError;
use clearance_oci::{ImageSource, Platform, ResolvedImage, SourceError, SourceSettings};
use images::{Pack, parts};

/// Long enough for any machine; a read that blocks on a FIFO never ends.
const BOUND: Duration = Duration::from_secs(20);

/// A layout `dir/oci` holding one image tagged `v1`; the config's path.
fn layout(dir: &Path) -> (PathBuf, PathBuf) {
    let root = dir.join("oci");
    let mut layout = images::LayoutBuilder::new(&root);
    let p = parts(Pack::Gzip, "linux/amd64", "local");
    let man = layout.image(&p, Pack::Gzip);
    layout.tag(man, "v1");
    layout.finish();
    let config = root
        .join("blobs/sha256")
        .join(clearance_oci::Digest::sha256_of(&p.config).hex());
    (root, config)
}

/// Open and resolve `reference` on another thread, failing the test (not
/// hanging it) if that takes longer than [`BOUND`].
fn resolve_bounded(reference: String) -> Result<ResolvedImage, SourceError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result = rt.block_on(async {
            let source =
                ImageSource::open(&reference.parse().unwrap(), &SourceSettings::default()).await?;
            source.resolve(&Platform::default()).await
        });
        let _ = tx.send(result);
    });
    rx.recv_timeout(BOUND)
        .expect("reading the image blocked (a FIFO or device was opened)")
}

fn oci(root: &Path) -> String {
    format!("oci:{}:v1", root.display())
}

/// Replace `file` by a symlink to `target`.
fn symlink_over(file: &Path, target: &Path) {
    std::fs::remove_file(file).unwrap();
    std::os::unix::fs::symlink(target, file).unwrap();
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn layout_blob_symlinked_outside_the_layout_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let (root, config) = layout(dir.path());
    // Not the config: were it read, the digest mismatch would print the
    // hash of a file outside the layout.
    let outside = dir.path().join("secret");
    std::fs::write(&outside, b"not the config").unwrap();
    symlink_over(&config, &outside);
    match resolve_bounded(oci(&root)) {
        Err(SourceError::LocalFile(LocalFileError::OutsideLayout { path, target, .. })) => {
            assert_eq!(path, config);
            assert_eq!(target, outside.canonicalize().unwrap());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn layout_index_json_symlinked_outside_the_layout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = layout(dir.path());
    let outside = dir.path().join("index.json");
    std::fs::rename(root.join("index.json"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("index.json")).unwrap();
    assert!(matches!(
        resolve_bounded(oci(&root)),
        Err(SourceError::LocalFile(LocalFileError::OutsideLayout { .. }))
    ));
}

#[test]
fn layout_blobs_dir_symlinked_outside_the_layout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = layout(dir.path());
    let outside = dir.path().join("elsewhere");
    std::fs::rename(root.join("blobs"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("blobs")).unwrap();
    assert!(matches!(
        resolve_bounded(oci(&root)),
        Err(SourceError::LocalFile(LocalFileError::OutsideLayout { .. }))
    ));
}

#[test]
fn layout_blob_symlinked_to_a_device_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (root, config) = layout(dir.path());
    symlink_over(&config, Path::new("/dev/zero"));
    assert!(matches!(
        resolve_bounded(oci(&root)),
        Err(SourceError::LocalFile(LocalFileError::OutsideLayout { .. }))
    ));
}

#[test]
fn layout_blob_that_is_a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let (root, config) = layout(dir.path());
    std::fs::remove_file(&config).unwrap();
    mkfifo(&config);
    match resolve_bounded(oci(&root)) {
        Err(SourceError::LocalFile(LocalFileError::NotRegular { path, found })) => {
            assert_eq!(path, config);
            assert!(found.contains("FIFO"), "{found}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn layout_blob_that_is_a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (root, config) = layout(dir.path());
    std::fs::remove_file(&config).unwrap();
    std::fs::create_dir(&config).unwrap();
    assert!(matches!(
        resolve_bounded(oci(&root)),
        Err(SourceError::LocalFile(LocalFileError::NotRegular { .. }))
    ));
}

#[test]
fn layout_symlinks_that_stay_inside_the_layout_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let (root, config) = layout(dir.path());
    // The whole layout reached through a symlink, and a blob that is a
    // relative symlink to a copy elsewhere in the layout.
    let kept = root.join("kept-config");
    std::fs::rename(&config, &kept).unwrap();
    std::os::unix::fs::symlink("../../kept-config", &config).unwrap();
    let alias = dir.path().join("alias");
    std::os::unix::fs::symlink(&root, &alias).unwrap();
    let image = resolve_bounded(oci(&alias)).unwrap();
    assert_eq!(image.layers.len(), 2);
}

#[test]
fn oci_layout_given_a_file_says_to_read_it_as_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.tar");
    std::fs::write(&file, b"").unwrap();
    match resolve_bounded(format!("oci:{}", file.display())) {
        Err(SourceError::LocalFile(LocalFileError::LayoutIsAFile { path })) => {
            assert_eq!(path, file)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn archive_given_a_directory_says_to_read_it_as_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = layout(dir.path());
    for transport in ["docker-archive", "oci-archive"] {
        match resolve_bounded(format!("{transport}:{}", root.display())) {
            Err(SourceError::LocalFile(LocalFileError::ArchiveIsADirectory { path })) => {
                assert_eq!(path, root)
            }
            other => panic!("{transport}: {other:?}"),
        }
    }
}

#[test]
fn archive_given_a_stream_says_to_save_it_to_a_file_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("stream.tar");
    mkfifo(&fifo);
    // No writer: an open that waits for one never returns.
    match resolve_bounded(format!("docker-archive:{}", fifo.display())) {
        Err(SourceError::LocalFile(LocalFileError::ArchiveNotRegular { path, .. })) => {
            assert_eq!(path, fifo)
        }
        other => panic!("{other:?}"),
    }
}
