//! Layers and archives whose tar metadata declares far more than it holds
//! (review finding B-1): GNU long names and links, PAX headers, sparse
//! maps and zstd windows are bounded by their own limits, at the
//! production defaults, and refused before the memory they ask for is
//! allocated.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Write};

use clearance_oci::layer::{Collect, ImagePath, LayerError, LayerLimits, read_layer};
use clearance_oci::source::{ArchiveError, ArchiveIndex};

fn header(name: &str, typeflag: u8, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_old_mut().linkflag = [typeflag];
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    h.as_bytes().to_vec()
}

fn padded(mut data: Vec<u8>) -> Vec<u8> {
    data.resize(data.len().div_ceil(512) * 512, 0);
    data
}

/// An extended header of `typeflag` holding `n` bytes, then one file.
fn bomb(typeflag: u8, n: usize) -> Vec<u8> {
    let mut tar = header("././@LongLink", typeflag, n as u64);
    let body = if typeflag == b'x' || typeflag == b'g' {
        // One PAX record as long as asked: "N comment=aaa…\n".
        let value_len = n - 20;
        let mut r = format!("{n:>10} comment=").into_bytes();
        r.extend(std::iter::repeat_n(b'a', value_len - 1));
        r.push(b'\n');
        r
    } else {
        vec![b'a'; n]
    };
    tar.extend(padded(body));
    tar.extend(header("x", b'0', 0));
    tar.extend([0u8; 1024]);
    tar
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
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
    let long: Vec<u8> = "d/".repeat(300 << 10).into_bytes();
    tar.extend(padded(long));
    tar.extend(header("x", b'0', 0));
    tar.extend([0u8; 1024]);
    let result = read(&gzip(&tar));
    assert_eq!(result.unwrap(), 1);
}

#[test]
fn b1_an_endless_old_gnu_sparse_map_is_bounded() {
    // A sparse header whose extension blocks all say "one more follows".
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..1].copy_from_slice(b"s");
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_size(0);
    h.as_gnu_mut().unwrap().set_is_extended(true);
    h.set_cksum();
    let mut tar = h.as_bytes().to_vec();
    let mut ext = tar::GnuExtSparseHeader::new();
    ext.set_is_extended(true);
    for _ in 0..(8 << 20) / 512 {
        tar.extend_from_slice(ext.as_bytes());
    }
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
    let tar = {
        let mut t = header("f", b'0', 32 << 20);
        t.extend(vec![7u8; 32 << 20]);
        t.extend([0u8; 1024]);
        t
    };
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    enc.window_log(27).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.include_contentsize(false).unwrap();
    enc.write_all(&tar).unwrap();
    let blob = enc.finish().unwrap();
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
    let mut many = Vec::new();
    for i in 0..100_001 {
        many.extend(header(&format!("m{i}"), b'0', 0));
    }
    many.extend([0u8; 1024]);
    assert!(matches!(
        ArchiveIndex::read(Cursor::new(many)),
        Err(ArchiveError::TooManyMembers { limit: 100_000 })
    ));
}
