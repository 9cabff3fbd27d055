//! Hand-made hostile layers: escapes, bombs, truncation, limits, whiteouts.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};

use clearance_oci::Digest;
use clearance_oci::layer::{
    Change, Collect, Compression, EntryKind, ImagePath, LayerEntry, LayerError, LayerLimits,
    LayerStats, LayerWarning, MergedFs, PathEvent, ResolveError, read_layer,
};
use clearance_oci::verify::{VerifyError, VerifyingReader};

/// One raw tar entry; names are written byte for byte, bypassing the
/// checks a well-behaved tar writer would make.
struct Raw<'a> {
    name: &'a str,
    kind: tar::EntryType,
    data: &'a [u8],
    link: &'a str,
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
    Raw {
        name,
        kind: tar::EntryType::Regular,
        data,
        link: "",
    }
}

fn dir(name: &str) -> Raw<'_> {
    Raw {
        name,
        kind: tar::EntryType::Directory,
        data: b"",
        link: "",
    }
}

fn link<'a>(name: &'a str, kind: tar::EntryType, target: &'a str) -> Raw<'a> {
    Raw {
        name,
        kind,
        data: b"",
        link: target,
    }
}

fn tar_of(entries: &[Raw<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_ustar();
        let old = h.as_old_mut();
        old.name[..e.name.len()].copy_from_slice(e.name.as_bytes());
        old.linkname[..e.link.len()].copy_from_slice(e.link.as_bytes());
        h.set_entry_type(e.kind);
        h.set_size(e.data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        builder.append(&h, e.data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn read(
    blob: impl Read,
    limits: &LayerLimits,
) -> Result<(LayerStats, Vec<LayerEntry>), LayerError> {
    let mut collect = Collect::new(|_: &ImagePath| false);
    let stats = read_layer(blob, limits, None, &mut collect)?;
    Ok((stats, collect.entries))
}

fn p(s: &str) -> ImagePath {
    ImagePath::normalise(s).0
}

#[test]
fn dotdot_and_absolute_paths_stay_inside_the_root() {
    let layer = tar_of(&[
        file("../../etc/passwd", b"x"),
        file("/etc/shadow", b"y"),
        file("./a/./b", b"z"),
        file("a/../../../../root/.ssh/authorized_keys", b"k"),
    ]);
    let (stats, entries) = read(&layer[..], &LayerLimits::default()).unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "etc/passwd",
            "etc/shadow",
            "a/b",
            "root/.ssh/authorized_keys"
        ]
    );
    let escaped: Vec<&str> = stats
        .warnings
        .iter()
        .filter_map(|w| match w {
            LayerWarning::PathEscaped { raw, .. } => Some(raw.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        escaped,
        [
            "../../etc/passwd",
            "a/../../../../root/.ssh/authorized_keys"
        ]
    );
}

#[test]
fn links_never_resolve_outside_the_image() {
    let layer = tar_of(&[
        dir("etc"),
        file("etc/passwd", b"image passwd"),
        link(
            "relative",
            tar::EntryType::Symlink,
            "../../../../../etc/passwd",
        ),
        link("absolute", tar::EntryType::Symlink, "/etc/passwd"),
        link("hard", tar::EntryType::Link, "../../etc/passwd"),
        link("loop-a", tar::EntryType::Symlink, "loop-b"),
        link("loop-b", tar::EntryType::Symlink, "loop-a"),
        link("dangling", tar::EntryType::Symlink, "/nowhere"),
    ]);
    let (stats, entries) = read(&layer[..], &LayerLimits::default()).unwrap();
    let mut fs = MergedFs::new();
    fs.apply_layer(entries);
    for name in ["relative", "absolute", "hard"] {
        let resolved = fs.resolve(&p(name)).unwrap();
        assert_eq!(resolved.entry.path, p("etc/passwd"), "{name}");
    }
    assert!(matches!(
        fs.resolve(&p("loop-a")),
        Err(ResolveError::Loop { .. })
    ));
    assert!(matches!(
        fs.resolve(&p("dangling")),
        Err(ResolveError::NotFound { .. })
    ));
    let escapes = stats
        .warnings
        .iter()
        .filter(|w| matches!(w, LayerWarning::LinkEscapes { .. }))
        .count();
    assert_eq!(escapes, 2, "{:?}", stats.warnings);
}

#[test]
fn a_gzip_bomb_stops_at_the_limit_without_reading_it_all() {
    // 64 MiB of zeros in one entry compresses to about 64 KiB.
    let zeros = vec![0u8; 64 << 20];
    let bomb = gzip(&tar_of(&[file("bomb", &zeros)]));
    assert!(bomb.len() < 1 << 20);
    let limits = LayerLimits {
        max_uncompressed_bytes: 8 << 20,
        ..LayerLimits::default()
    };
    let mut consumed = 0usize;
    let mut counting = CountingSlice {
        data: &bomb,
        consumed: &mut consumed,
    };
    let err = read(&mut counting, &limits).unwrap_err();
    assert!(
        matches!(err, LayerError::TooLarge { limit } if limit == 8 << 20),
        "{err}"
    );
    assert!(
        consumed < bomb.len(),
        "read {consumed} of {} bytes",
        bomb.len()
    );
}

struct CountingSlice<'a> {
    data: &'a [u8],
    consumed: &'a mut usize,
}

impl Read for CountingSlice<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.read(buf)?;
        *self.consumed += n;
        Ok(n)
    }
}

#[test]
fn truncated_streams_are_corrupt_not_short() {
    let tar = tar_of(&[file("a", &[7u8; 4096]), file("b", &[8u8; 4096])]);
    let gz = gzip(&tar);
    for (name, blob) in [("gzip", &gz[..gz.len() / 2]), ("tar", &tar[..2048])] {
        let err = read(blob, &LayerLimits::default()).unwrap_err();
        assert!(matches!(err, LayerError::Corrupt { .. }), "{name}: {err}");
    }
}

/// A whole gzip member followed by junk fails as Go's reader (and so every
/// runtime) fails on it, and the message names both possibilities.
#[test]
fn trailing_bytes_after_a_gzip_member_are_corrupt_and_said_so() {
    let tar = tar_of(&[file("a", &[7u8; 4096])]);
    let mut blob = gzip(&tar);
    blob.extend_from_slice(b"junk");
    match read(&blob[..], &LayerLimits::default()).unwrap_err() {
        LayerError::Corrupt {
            compression,
            message,
        } => {
            assert_eq!(compression, Compression::Gzip);
            assert!(message.contains("not another gzip member"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn entry_count_and_single_file_limits_are_enforced() {
    let many: Vec<String> = (0..50).map(|i| format!("f{i}")).collect();
    let entries: Vec<Raw<'_>> = many.iter().map(|n| file(n, b"")).collect();
    let limits = LayerLimits {
        max_entries: 10,
        ..LayerLimits::default()
    };
    assert!(matches!(
        read(&tar_of(&entries)[..], &limits),
        Err(LayerError::TooManyEntries { limit: 10 })
    ));
    let limits = LayerLimits {
        max_file_bytes: 100,
        ..LayerLimits::default()
    };
    let err = read(&tar_of(&[file("big/file", &[1u8; 101])])[..], &limits).unwrap_err();
    assert!(
        matches!(&err, LayerError::FileTooLarge { path, size: 101, .. } if path.as_str() == "big/file"),
        "{err}"
    );
}

#[test]
fn device_files_are_ignored_with_a_warning() {
    let layer = tar_of(&[
        Raw {
            name: "dev/sda",
            kind: tar::EntryType::Block,
            data: b"",
            link: "",
        },
        Raw {
            name: "dev/fifo",
            kind: tar::EntryType::Fifo,
            data: b"",
            link: "",
        },
        file("ok", b"1"),
    ]);
    let (stats, entries) = read(&layer[..], &LayerLimits::default()).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        stats.warnings,
        [
            LayerWarning::SpecialFileIgnored { path: p("dev/sda") },
            LayerWarning::SpecialFileIgnored {
                path: p("dev/fifo")
            }
        ]
    );
}

#[test]
fn plain_gzip_and_zstd_layers_read_the_same() {
    let tar = tar_of(&[dir("etc"), file("etc/os-release", b"ID=test\n")]);
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    let expected_diff_id = Digest::sha256_of(&tar);
    for (blob, compression) in [
        (tar.clone(), Compression::None),
        (gzip(&tar), Compression::Gzip),
        (zst, Compression::Zstd),
    ] {
        let mut collect = Collect::new(|p: &ImagePath| p.as_str() == "etc/os-release");
        let stats = read_layer(
            &blob[..],
            &LayerLimits::default(),
            Some(&expected_diff_id),
            &mut collect,
        )
        .unwrap();
        assert_eq!(stats.compression, compression);
        assert_eq!(stats.diff_id, expected_diff_id);
        assert_eq!(stats.uncompressed_bytes, tar.len() as u64);
        assert_eq!(stats.compressed_bytes, blob.len() as u64);
        assert_eq!(
            collect.files,
            [(p("etc/os-release"), b"ID=test\n".to_vec())]
        );
    }
}

#[test]
fn a_wrong_diff_id_or_blob_digest_is_refused() {
    let tar = tar_of(&[file("a", b"1")]);
    let wrong = Digest::sha256_of(b"something else");
    let err = read_layer(
        &tar[..],
        &LayerLimits::default(),
        Some(&wrong),
        &mut Collect::new(|_: &ImagePath| false),
    )
    .unwrap_err();
    assert!(
        matches!(&err, LayerError::DiffIdMismatch { expected, .. } if *expected == wrong),
        "{err}"
    );

    // The blob's own digest is checked at its end, even though the tar was fine.
    let blob = gzip(&tar);
    let verifying =
        VerifyingReader::new(&blob[..], "layer", wrong.clone(), Some(blob.len() as u64));
    let err = read(verifying, &LayerLimits::default()).unwrap_err();
    assert!(
        matches!(&err, LayerError::Verify(VerifyError::DigestMismatch { expected, .. }) if *expected == wrong),
        "{err}"
    );
}

#[test]
fn whiteouts_delete_lower_layers_and_history_says_which_layer_did_what() {
    let base = tar_of(&[
        dir("a"),
        file("a/x", b"1"),
        file("a/y", b"1"),
        file("b", b"1"),
        dir("c"),
        file("c/keep", b"1"),
    ]);
    let upper = tar_of(&[
        file("a/.wh..wh..opq", b""),
        file("a/z", b"2"),
        file(".wh.b", b""),
        file("c/keep", b"2"),
    ]);
    let mut fs = MergedFs::new();
    for layer in [&base, &upper] {
        let (_, entries) = read(&layer[..], &LayerLimits::default()).unwrap();
        fs.apply_layer(entries);
    }
    let live: Vec<&str> = fs.entries().map(|e| e.entry.path.as_str()).collect();
    assert_eq!(live, ["a", "a/z", "c", "c/keep"]);
    let ev = |layer, change| PathEvent { layer, change };
    assert_eq!(
        fs.history(&p("a/x")),
        [ev(0, Change::Added), ev(1, Change::Deleted)]
    );
    assert_eq!(
        fs.history(&p("b")),
        [ev(0, Change::Added), ev(1, Change::Deleted)]
    );
    assert_eq!(
        fs.history(&p("c/keep")),
        [ev(0, Change::Added), ev(1, Change::Replaced)]
    );
    assert_eq!(fs.history(&p("a/z")), [ev(1, Change::Added)]);
    assert_eq!(fs.get(&p("c/keep")).unwrap().layer, 1);
    let deleted: Vec<&str> = fs.deleted().map(|(p, _)| p.as_str()).collect();
    assert_eq!(deleted, ["a/x", "a/y", "b"]);
}

#[test]
fn a_file_over_a_directory_hides_what_was_below_it() {
    let base = tar_of(&[dir("d"), file("d/inner", b"1")]);
    let upper = tar_of(&[file("d", b"now a file")]);
    let mut fs = MergedFs::new();
    for layer in [&base, &upper] {
        fs.apply_layer(read(&layer[..], &LayerLimits::default()).unwrap().1);
    }
    assert!(fs.get(&p("d/inner")).is_none());
    assert_eq!(fs.get(&p("d")).unwrap().entry.kind, EntryKind::File);
}

#[test]
fn big_files_are_not_captured_but_reported() {
    let layer = tar_of(&[file("var/lib/dpkg/status", &[b'x'; 2048])]);
    let limits = LayerLimits {
        max_captured_file_bytes: 1024,
        ..LayerLimits::default()
    };
    let mut collect = Collect::new(|_: &ImagePath| true);
    let stats = read_layer(&layer[..], &limits, None, &mut collect).unwrap();
    assert!(collect.files.is_empty());
    assert_eq!(
        stats.warnings,
        [LayerWarning::NotCaptured {
            path: p("var/lib/dpkg/status"),
            size: 2048
        }]
    );
}

#[test]
fn garbage_is_a_clear_error() {
    let err = read(
        b"this is not a tar archive, not even close, but it is long enough to have a header block"
            .as_slice(),
        &LayerLimits::default(),
    );
    // Fewer than 512 bytes: tar sees a short header block.
    assert!(matches!(err, Err(LayerError::Corrupt { .. })), "{err:?}");
    let err = read(&[0x1f, 0x8b, 0, 1, 2, 3, 4, 5][..], &LayerLimits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            LayerError::Corrupt {
                compression: Compression::Gzip,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_tampered_gzip_blob_reports_the_digest_not_the_corruption() {
    let blob = gzip(&tar_of(&[file("a", &[3u8; 10_000])]));
    let promised = Digest::sha256_of(&blob);
    let mut tampered = blob.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff; // breaks the gzip trailer as well
    let verifying = VerifyingReader::new(
        &tampered[..],
        "layer",
        promised.clone(),
        Some(blob.len() as u64),
    );
    let err = read(verifying, &LayerLimits::default()).unwrap_err();
    assert!(
        matches!(&err, LayerError::Verify(VerifyError::DigestMismatch { expected, .. }) if *expected == promised),
        "{err}"
    );
    // Without a digest to check, the corruption itself is reported.
    let err = read(&tampered[..], &LayerLimits::default()).unwrap_err();
    assert!(matches!(err, LayerError::Corrupt { .. }), "{err}");
}
