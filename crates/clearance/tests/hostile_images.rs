//! `clearance inspect` on images whose layers or archives are hostile
//! (issue 8, point 1; review finding B-1): each is refused with an error
//! naming what was wrong, or read, and the process's peak RSS stays under
//! 64 MiB whatever the layer declares. Peak RSS comes from GNU time
//! (`/usr/bin/time -f %M`). Run in release and with `--no-capture` to print
//! the figures (`scripts/hostile-rss.sh`); `CLEARANCE_UNDER_TEST=PATH` runs
//! another build of the binary.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use clearance_oci::Digest;

const RSS_LIMIT_KIB: u64 = 64 << 10;

/// One tar header block (GNU format).
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

fn pad(tar: &mut Vec<u8>) {
    tar.resize(tar.len().div_ceil(512) * 512, 0);
}

fn end(mut tar: Vec<u8>) -> Vec<u8> {
    tar.extend([0u8; 1024]);
    tar
}

/// An extended header (`L`, `K`, `x`, `g`) declaring `n` bytes, then a file.
fn extended_header_bomb(typeflag: u8, n: usize) -> Vec<u8> {
    let mut tar = header("././@LongLink", typeflag, n as u64);
    tar.extend(std::iter::repeat_n(b'a', n));
    pad(&mut tar);
    tar.extend(header("x", b'0', 0));
    end(tar)
}

/// An old GNU sparse header followed by 8 MiB of "one more block" maps.
fn sparse_map_bomb() -> Vec<u8> {
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

fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut n = body.len() + 1;
    while n.to_string().len() + body.len() != n {
        n += 1;
    }
    format!("{n}{body}")
}

/// A PAX sparse file whose real size is 30 GiB with nothing stored.
fn sparse_real_size_bomb() -> Vec<u8> {
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

/// `n` empty files.
fn many_entries(n: usize) -> Vec<u8> {
    let mut tar = Vec::with_capacity(n * 512 + 1024);
    for i in 0..n {
        tar.extend(header(&format!("d{}/f{i}", i % 1000), b'0', 0));
    }
    end(tar)
}

/// `n` files whose names are long paths of about `len` bytes.
fn long_paths(n: usize, len: usize) -> Vec<u8> {
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

/// One file of `n` zero bytes.
fn zeros(n: usize) -> Vec<u8> {
    let mut tar = header("zeros", b'0', n as u64);
    tar.resize(tar.len() + n, 0);
    end(tar)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// zstd with a 128 MiB window (`zstd --long=27`), no content size.
fn zstd_long(data: &[u8]) -> Vec<u8> {
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    enc.window_log(27).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.include_contentsize(false).unwrap();
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// An OCI layout at `dir` with one image `v1` of one layer.
fn layout(dir: &Path, tar: &[u8], blob: &[u8], media_type: &str) {
    let put = |bytes: &[u8]| {
        let digest = Digest::sha256_of(bytes);
        let path = dir.join("blobs/sha256").join(digest.hex());
        std::fs::write(path, bytes).unwrap();
        serde_json::json!({"digest": digest.to_string(), "size": bytes.len()})
    };
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [Digest::sha256_of(tar).to_string()]},
    });
    let mut config_desc = put(&serde_json::to_vec(&config).unwrap());
    config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
    let mut layer_desc = put(blob);
    layer_desc["mediaType"] = media_type.into();
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc, "layers": [layer_desc],
    });
    let mut manifest_desc = put(&serde_json::to_vec(&manifest).unwrap());
    manifest_desc["mediaType"] = "application/vnd.oci.image.manifest.v1+json".into();
    manifest_desc["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "v1"});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [manifest_desc]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// Run `clearance inspect --format json IMAGE` under GNU time: (success,
/// stdout, stderr without time's line, peak RSS in KiB).
fn inspect_measured(image: &str) -> (bool, String, String, u64) {
    support::require("/usr/bin/time");
    // CLEARANCE_UNDER_TEST names another build (scripts/hostile-rss.sh).
    let binary = std::env::var("CLEARANCE_UNDER_TEST")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_clearance").to_owned());
    let out = Command::new("/usr/bin/time")
        .args(["-f", "peak-rss-kib %M", &binary])
        .args(["inspect", "--format", "json", image])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let (rest, rss) = stderr
        .trim_end()
        .rsplit_once('\n')
        .map_or(("", stderr.trim_end()), |(a, b)| (a, b));
    let rss: u64 = rss
        .strip_prefix("peak-rss-kib ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in {stderr}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), stdout, rest.to_owned(), rss)
}

/// Each case: a name, the uncompressed tar, its blob and media type, and
/// `Err(text)` the error must contain or `Ok(entries)` the layer must give.
struct Case {
    name: &'static str,
    tar: Vec<u8>,
    blob: Vec<u8>,
    media_type: &'static str,
    expect: Result<u64, &'static str>,
}

const GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

fn gz_case(name: &'static str, tar: Vec<u8>, expect: Result<u64, &'static str>) -> Case {
    let blob = gzip(&tar);
    Case {
        name,
        tar,
        blob,
        media_type: GZIP,
        expect,
    }
}

#[test]
fn b1_hostile_layers_are_refused_or_read_in_bounded_memory() {
    let big = 256 << 20;
    let cases = vec![
        gz_case(
            "GNU long name, 256 MiB",
            extended_header_bomb(b'L', big),
            Err("GNU long name of 268435456 bytes"),
        ),
        gz_case(
            "GNU long link, 256 MiB",
            extended_header_bomb(b'K', big),
            Err("GNU long link of 268435456 bytes"),
        ),
        gz_case(
            "PAX header, 256 MiB",
            extended_header_bomb(b'x', big),
            Err("PAX extended header of 268435456 bytes"),
        ),
        gz_case(
            "PAX global header, 256 MiB",
            extended_header_bomb(b'g', big),
            Err("PAX global header of 268435456 bytes"),
        ),
        gz_case(
            "old GNU sparse map, 8 MiB of blocks",
            sparse_map_bomb(),
            Err("old GNU sparse map"),
        ),
        gz_case(
            "sparse file of 30 GiB, nothing stored",
            sparse_real_size_bomb(),
            Ok(1),
        ),
        gz_case(
            "1,000,000 empty files",
            many_entries(1_000_000),
            Ok(1_000_000),
        ),
        gz_case("100 paths of 900 KiB", long_paths(100, 900 << 10), Ok(100)),
        gz_case("one file of 256 MiB of zeros", zeros(256 << 20), Ok(1)),
        {
            let tar = zeros(64 << 20);
            let blob = zstd_long(&tar);
            Case {
                name: "zstd with a 128 MiB window",
                tar,
                blob,
                media_type: "application/vnd.oci.image.layer.v1.tar+zstd",
                expect: Err("zstd window over the limit of 8388608 bytes"),
            }
        },
    ];
    let mut failures = Vec::new();
    eprintln!("| hostile layer | blob | result | peak RSS |\n|---|---|---|---|");
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        layout(dir.path(), &case.tar, &case.blob, case.media_type);
        drop(case.tar);
        let image = format!("oci:{}:v1", dir.path().display());
        let (ok, stdout, stderr, rss) = inspect_measured(&image);
        let outcome = match (&case.expect, ok) {
            (Ok(entries), true) => {
                let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                let got = json["layers"][0]["entries"].as_u64();
                (got == Some(*entries))
                    .then_some("read")
                    .ok_or(format!("entries {got:?}"))
            }
            (Err(text), false) if stderr.contains(text) => Ok("refused"),
            _ => Err(format!("exit ok={ok}: {stderr}")),
        };
        let shown = outcome.clone().unwrap_or("WRONG");
        eprintln!(
            "| {} | {} KiB | {shown} | {:.1} MiB |",
            case.name,
            case.blob.len() / 1024,
            rss as f64 / 1024.0
        );
        if let Err(why) = outcome {
            failures.push(format!("{}: {why}", case.name));
        }
        if rss >= RSS_LIMIT_KIB {
            failures.push(format!("{}: peak RSS {rss} KiB", case.name));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn b1_hostile_archives_are_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.tar");
    std::fs::write(&bomb, extended_header_bomb(b'L', 256 << 20)).unwrap();
    let many = dir.path().join("many.tar");
    std::fs::write(&many, many_entries(150_000)).unwrap();
    for (archive, expect) in [
        (&bomb, "GNU long name of 268435456 bytes"),
        (&many, "more than 100000 members"),
    ] {
        for transport in ["oci-archive", "docker-archive"] {
            let image = format!("{transport}:{}", archive.display());
            let (ok, _, stderr, rss) = inspect_measured(&image);
            assert!(!ok && stderr.contains(expect), "{image}: {stderr}");
            assert!(rss < RSS_LIMIT_KIB, "{image}: peak RSS {rss} KiB");
        }
    }
}
