//! Hostile tars built byte by byte: extended headers, sparse maps and
//! entry counts that declare far more than they hold (review finding B-1).
//! Shared with `crates/clearance/tests` through `#[path]`.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write as _;

/// One GNU-format header block.
pub fn header(name: &str, typeflag: u8, size: u64) -> Vec<u8> {
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

/// Pad to the next 512-byte block.
pub fn pad(tar: &mut Vec<u8>) {
    tar.resize(tar.len().div_ceil(512) * 512, 0);
}

/// The two zero blocks that end an archive.
pub fn end(mut tar: Vec<u8>) -> Vec<u8> {
    tar.extend([0u8; 1024]);
    tar
}

/// A PAX record `"%d key=value\n"`, its length counting itself.
pub fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut n = body.len() + 1;
    while n.to_string().len() + body.len() != n {
        n += 1;
    }
    format!("{n}{body}")
}

/// An extended header (`L`, `K`, `x`, `g`) declaring `n` bytes, then a file.
pub fn extended_header_bomb(typeflag: u8, n: usize) -> Vec<u8> {
    let mut tar = header("././@LongLink", typeflag, n as u64);
    tar.extend(std::iter::repeat_n(b'a', n));
    pad(&mut tar);
    tar.extend(header("x", b'0', 0));
    end(tar)
}

/// An old GNU sparse header followed by 8 MiB of "one more block follows".
pub fn sparse_map_bomb() -> Vec<u8> {
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
    end(tar)
}

/// A PAX sparse file whose real size is 30 GiB with nothing stored.
pub fn sparse_real_size_bomb() -> Vec<u8> {
    let records = [
        pax_record("GNU.sparse.major", "0"),
        pax_record("GNU.sparse.minor", "1"),
        pax_record("GNU.sparse.name", "huge"),
        pax_record("GNU.sparse.size", &(30u64 << 30).to_string()),
        pax_record("GNU.sparse.numblocks", "0"),
        pax_record("GNU.sparse.map", ""),
    ]
    .concat();
    let mut tar = header("PaxHeader", b'x', records.len() as u64);
    tar.extend(records.as_bytes());
    pad(&mut tar);
    tar.extend(header("GNUSparseFile.0/huge", b'0', 0));
    end(tar)
}

/// `n` empty files in 1000 directories.
pub fn many_entries(n: usize) -> Vec<u8> {
    let mut tar = Vec::with_capacity(n * 512 + 1024);
    for i in 0..n {
        tar.extend(header(&format!("d{}/f{i}", i % 1000), b'0', 0));
    }
    end(tar)
}

/// `n` files whose names are paths of about `len` bytes.
pub fn long_paths(n: usize, len: usize) -> Vec<u8> {
    let mut tar = Vec::new();
    for i in 0..n {
        let name = format!("{}{i}", "deep/".repeat(len / 5));
        tar.extend(header("././@LongLink", b'L', name.len() as u64));
        tar.extend(name.as_bytes());
        pad(&mut tar);
        tar.extend(header("x", b'0', 0));
    }
    end(tar)
}

/// One file of `n` bytes of `byte`.
pub fn one_file(n: usize, byte: u8) -> Vec<u8> {
    let mut tar = header("f", b'0', n as u64);
    tar.resize(tar.len() + n, byte);
    pad(&mut tar);
    end(tar)
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// zstd with a 128 MiB window (`zstd --long=27`) and no content size.
pub fn zstd_long_window(data: &[u8]) -> Vec<u8> {
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    enc.window_log(27).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.include_contentsize(false).unwrap();
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// `n` files each named by a GNU long name, linked by a long link and
/// carrying a PAX header, each piece just under the 1 MiB limit: the most
/// metadata one entry may hold. `seed` makes layers differ.
pub fn maximal_headers(n: usize, seed: u8) -> Vec<u8> {
    let big = (1 << 20) - 64;
    let mut tar = Vec::new();
    for i in 0..n {
        let name = format!("{}{i}-{seed}", "n/".repeat(big / 2 - 8));
        tar.extend(header("././@LongLink", b'L', name.len() as u64));
        tar.extend(name.as_bytes());
        pad(&mut tar);
        let link = "l/".repeat(big / 2);
        tar.extend(header("././@LongLink", b'K', link.len() as u64));
        tar.extend(link.as_bytes());
        pad(&mut tar);
        let record = pax_record("comment", &"c".repeat(big - 20));
        tar.extend(header("PaxHeader", b'x', record.len() as u64));
        tar.extend(record.as_bytes());
        pad(&mut tar);
        tar.extend(header("x", b'2', 0));
    }
    end(tar)
}

/// zstd with an 8 MiB window (`zstd -19`, the most the default limit
/// allows), no content size.
pub fn zstd_8mib_window(data: &[u8]) -> Vec<u8> {
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    enc.window_log(23).unwrap();
    enc.include_contentsize(false).unwrap();
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}
