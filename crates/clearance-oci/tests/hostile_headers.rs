//! Layers and archives whose tar metadata declares far more than it holds
//! (review finding B-1): GNU long names and links, PAX headers, sparse
//! maps and zstd windows are bounded by their own limits, at the
//! production defaults, and refused before the memory they ask for is
//! allocated.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;

use clearance_oci::layer::{Collect, ImagePath, LayerError, LayerLimits, read_layer};
use clearance_oci::source::{ArchiveError, ArchiveIndex};

#[path = "support/hostile.rs"]
mod hostile;

use hostile::{
    extended_header_bomb, gzip, header, many_entries, one_file, pad, sparse_map_bomb,
    zstd_long_window,
};

/// An extended header of `typeflag` holding one PAX record (for `x`, `g`)
/// or name bytes (`L`, `K`) of `n` bytes in all, then one file.
fn bomb(typeflag: u8, n: usize) -> Vec<u8> {
    let mut tar = extended_header_bomb(typeflag, n);
    if typeflag == b'x' || typeflag == b'g' {
        let record = format!("{n} comment=");
        tar[512..512 + record.len()].copy_from_slice(record.as_bytes());
        tar[512 + n - 1] = b'\n';
    }
    tar
}

fn read(blob: &[u8]) -> Result<u64, LayerError> {
    let mut collect = Collect::new(|_: &ImagePath| true);
    let result = read_layer(blob, &LayerLimits::default(), None, &mut collect);
    result.map(|s| s.entries)
}

#[test]
fn b1_long_names_links_and_pax_headers_over_1_mib_are_refused_unread() {
    // 64 MiB of header in a ~65 KB gzip blob: the review measured 238 MB
    // RSS for this before the fix (and 926 MB for 256 MiB).
    for (typeflag, kind) in [
        (b'L', "GNU long name"),
        (b'K', "GNU long link"),
        (b'x', "PAX extended header"),
        (b'g', "PAX global header"),
    ] {
        let blob = gzip(&bomb(typeflag, 64 << 20));
        assert!(blob.len() < 1 << 20, "{kind}: {} bytes", blob.len());
        let result = read(&blob);
        match result {
            Err(LayerError::HeaderTooLarge {
                kind: k,
                size,
                limit,
                offset: 0,
            }) => {
                assert_eq!((k, size, limit), (kind, 64 << 20, 1 << 20));
            }
            other => panic!("{kind}: {other:?}"),
        }
    }
}

#[test]
fn b1_headers_up_to_the_limit_still_read() {
    // A real 600 KiB path (deep directories) is under Go's 1 MiB limit.
    let mut tar = header("././@LongLink", b'L', 600 << 10);
    tar.extend("d/".repeat(300 << 10).into_bytes());
    pad(&mut tar);
    tar.extend(header("x", b'0', 0));
    tar.extend([0u8; 1024]);
    let result = read(&gzip(&tar));
    assert_eq!(result.unwrap(), 1);
}

#[test]
fn b1_an_endless_old_gnu_sparse_map_is_bounded() {
    let tar = sparse_map_bomb();
    let result = read(&gzip(&tar));
    assert!(
        matches!(
            result,
            Err(LayerError::HeaderTooLarge {
                kind: "old GNU sparse map",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn b1_a_zstd_window_over_the_limit_is_refused() {
    // zstd --long=27 (128 MiB window) over 32 MiB of one byte: decoding it
    // would hold a 128 MiB window; the default limit is 8 MiB.
    let tar = one_file(32 << 20, 7);
    let blob = zstd_long_window(&tar);
    let result = read(&blob);
    assert!(
        matches!(result, Err(LayerError::ZstdWindowTooLarge { limit }) if limit == 8 << 20),
        "{result:?}"
    );
    // The same data with zstd's default window reads.
    let plain = zstd::encode_all(&tar[..], 3).unwrap();
    assert_eq!(read(&plain).unwrap(), 1);
}

#[test]
fn b1_the_archive_index_bounds_headers_members_and_names() {
    let bomb_archive = bomb(b'L', 64 << 20);
    assert!(matches!(
        ArchiveIndex::read(Cursor::new(bomb_archive)),
        Err(ArchiveError::Tar(_))
    ));
    // 100,001 members: one too many.
    let many = many_entries(100_001);
    assert!(matches!(
        ArchiveIndex::read(Cursor::new(many)),
        Err(ArchiveError::TooManyMembers { limit: 100_000 })
    ));
}

#[test]
fn warnings_past_the_first_hundred_are_counted_not_lost() {
    // 150 device files: 100 warnings kept, 50 counted.
    let mut tar = Vec::new();
    for i in 0..150 {
        tar.extend(header(&format!("dev/null{i}"), b'3', 0));
    }
    tar.extend([0u8; 1024]);
    let mut collect = Collect::new(|_: &ImagePath| false);
    let stats = read_layer(&tar[..], &LayerLimits::default(), None, &mut collect).unwrap();
    assert_eq!(stats.warnings.len(), 100);
    assert_eq!(stats.warnings_dropped, 50);
}

#[test]
fn a_zstd_stream_opening_with_a_skippable_frame_is_zstd() {
    // What zstd:chunked writes: a skippable frame (magic 0x184D2A50..5F,
    // a 4-byte length, that many bytes), then ordinary frames.
    let tar = one_file(1000, 3);
    let mut blob = vec![0x5e, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
    blob.extend(zstd::encode_all(&tar[..], 3).unwrap());
    let mut collect = Collect::new(|_: &ImagePath| false);
    let stats = read_layer(&blob[..], &LayerLimits::default(), None, &mut collect).unwrap();
    assert_eq!(stats.compression, clearance_oci::layer::Compression::Zstd);
    assert_eq!(stats.entries, 1);
    // Compression names itself in words, not as Rust's `None`.
    let err = read_layer(
        &b"garbage that is no tar"[..],
        &LayerLimits::default(),
        None,
        &mut collect,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("corrupt layer (uncompressed)"),
        "{err}"
    );
}
