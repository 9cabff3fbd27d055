//! Each test builds its tar byte by byte, so it can say what a runtime
//! (Go's `archive/tar`) would make of it.

use std::io::{Cursor, Read};

use super::*;

/// A GNU-format header block (`ustar  ` magic, no prefix field).
fn gnu(name: &[u8], typeflag: u8, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.as_old_mut().linkflag = [typeflag];
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h.as_bytes().to_vec()
}

fn with_link(mut block: Vec<u8>, link: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    h.as_mut_bytes().copy_from_slice(&block);
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    h.set_cksum();
    block.copy_from_slice(h.as_bytes());
    block
}

fn data(bytes: &[u8]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v.resize(bytes.len().div_ceil(512) * 512, 0);
    v
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_len = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut n = body_len + 1;
    while n.to_string().len() + body_len != n {
        n += 1;
    }
    let mut r = format!("{n} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

fn pax(records: &[(&str, &[u8])]) -> Vec<u8> {
    let body: Vec<u8> = records.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
    let mut out = gnu(b"PaxHeader", b'x', body.len() as u64);
    out.extend(data(&body));
    out
}

fn end() -> Vec<u8> {
    vec![0; 1024]
}

fn stream(bytes: Vec<u8>) -> TarStream<Sequential<Cursor<Vec<u8>>>> {
    TarStream::new(Sequential(Cursor::new(bytes)), 1 << 16)
}

/// Every entry with its content.
fn entries(bytes: Vec<u8>) -> Result<Vec<(TarHeader, Vec<u8>)>, TarError> {
    let mut s = stream(bytes);
    let mut out = Vec::new();
    while let Some(h) = s.next_entry()? {
        let mut content = Vec::new();
        s.content().read_to_end(&mut content)?;
        out.push((h, content));
    }
    Ok(out)
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn long_names_and_links_are_used_and_cut_at_nul() {
    let name = vec![b'n'; 300];
    let mut long = name.clone();
    long.extend_from_slice(b"\0junk");
    let tar = cat(&[
        gnu(b"././@LongLink", b'L', long.len() as u64),
        data(&long),
        gnu(b"././@LongLink", b'K', 4),
        data(b"dest"),
        with_link(gnu(b"short", b'2', 0), b"ignored"),
        end(),
    ]);
    let got = entries(tar).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.path, name);
    assert_eq!(got[0].0.link, b"dest");
}

#[test]
fn b1_a_long_name_over_the_limit_is_refused_before_it_is_read() {
    // The header declares 1 GiB; only the header exists. Nothing is
    // allocated for it: the limit is checked on the declared size.
    let tar = cat(&[gnu(b"././@LongLink", b'L', 1 << 30), end()]);
    for kind in [b'L', b'K', b'x', b'g'] {
        let mut tar = tar.clone();
        tar[156] = kind;
        let mut h = tar::Header::new_old();
        h.as_mut_bytes().copy_from_slice(&tar[..512]);
        h.set_cksum();
        tar[..512].copy_from_slice(h.as_bytes());
        match stream(tar).next_entry() {
            Err(TarError::HeaderTooLarge { size, limit, .. }) => {
                assert_eq!((size, limit), (1 << 30, 1 << 16));
            }
            other => panic!("{}: {other:?}", kind as char),
        }
    }
}

#[test]
fn pax_records_override_the_header_and_size_moves_the_next_header() {
    // The header says 0 bytes, PAX says 5: the runtime reads 5, so the
    // next header is after them (a reader that ignored PAX size would
    // find a different archive).
    let tar = cat(&[
        pax(&[
            ("path", b"dir/with\nnewline"),
            ("size", b"5"),
            ("uid", b"1000"),
        ]),
        gnu(b"short", b'0', 0),
        data(b"hello"),
        gnu(b"next", b'0', 0),
        end(),
    ]);
    let got = entries(tar).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0.path, b"dir/with\nnewline");
    assert_eq!((got[0].0.size, got[0].0.uid), (5, 1000));
    assert_eq!(got[0].1, b"hello");
    assert_eq!(got[1].0.path, b"next");
}

#[test]
fn a_gnu_long_name_wins_over_pax_path() {
    let tar = cat(&[
        pax(&[("path", b"from-pax")]),
        gnu(b"././@LongLink", b'L', 9),
        data(b"from-gnu\0"),
        gnu(b"header", b'0', 0),
        end(),
    ]);
    assert_eq!(entries(tar).unwrap()[0].0.path, b"from-gnu");
}

#[test]
fn header_only_types_carry_no_data_whatever_their_size_says() {
    // A symlink claiming 512 bytes of data, followed by a real header: a
    // runtime reads that header as the next entry, so Clearance must too
    // (a reader that skipped 512 bytes would never see `hidden`).
    for typeflag in [b'1', b'2', b'3', b'4', b'5', b'6'] {
        let tar = cat(&[
            with_link(gnu(b"entry", typeflag, 512), b"target"),
            gnu(b"hidden", b'0', 3),
            data(b"abc"),
            end(),
        ]);
        let got = entries(tar).unwrap();
        let names: Vec<&[u8]> = got.iter().map(|(h, _)| &h.path[..]).collect();
        assert_eq!(
            names,
            [&b"entry"[..], b"hidden"],
            "type {}",
            typeflag as char
        );
        assert_eq!(got[0].0.size, 0);
        assert_eq!(got[1].1, b"abc");
    }
}

#[test]
fn a_nul_type_flag_on_a_name_ending_in_a_slash_is_a_directory() {
    let tar = cat(&[gnu(b"old-dir/", 0, 0), gnu(b"old-file", 0, 0), end()]);
    let got = entries(tar).unwrap();
    assert_eq!(got[0].0.entry_type, tar::EntryType::Directory);
    assert_eq!(got[1].0.entry_type, tar::EntryType::Regular);
}

#[test]
fn the_archive_ends_at_two_zero_blocks_or_the_end_of_the_stream() {
    let one = cat(&[gnu(b"a", b'0', 0)]);
    assert_eq!(entries(one.clone()).unwrap().len(), 1);
    assert_eq!(entries(cat(&[one.clone(), vec![0; 512]])).unwrap().len(), 1);
    // One zero block, then a header: Go refuses it, and so does Clearance.
    let hidden = cat(&[one.clone(), vec![0; 512], gnu(b"b", b'0', 0), end()]);
    assert!(matches!(
        entries(hidden),
        Err(TarError::ZeroBlockThenHeader { offset: 1024 })
    ));
    // Truncated inside a header, or inside data.
    assert!(matches!(
        entries(cat(&[one.clone(), vec![1; 100]])),
        Err(TarError::Truncated { .. })
    ));
    let short = cat(&[gnu(b"a", b'0', 100), vec![b'x'; 10]]);
    assert!(entries(short).is_err());
}

#[test]
fn checksums_are_accepted_signed_or_unsigned_and_bad_ones_refused() {
    let mut block = gnu("é".as_bytes(), b'0', 0);
    let mut h = tar::Header::new_old();
    h.as_mut_bytes().copy_from_slice(&block);
    let signed: i64 = h
        .as_bytes()
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let b = if (148..156).contains(&i) { b' ' } else { b };
            i64::from(i8::from_ne_bytes([b]))
        })
        .sum();
    h.as_old_mut().cksum = *format!("{signed:06o}\0 ").as_bytes().first_chunk().unwrap();
    block.copy_from_slice(h.as_bytes());
    assert_eq!(entries(cat(&[block.clone(), end()])).unwrap().len(), 1);
    block[0] ^= 1;
    assert!(matches!(
        entries(cat(&[block, end()])),
        Err(TarError::Checksum { offset: 0 })
    ));
}

#[test]
fn extended_headers_must_describe_an_entry() {
    let tar = cat(&[pax(&[("path", b"x")]), end()]);
    assert!(matches!(entries(tar), Err(TarError::Dangling)));
}

#[test]
fn old_gnu_sparse_files_read_with_holes_as_zeros() {
    // Real size 1500: data "abc" at 0, "xyz" at 1000; one region in the
    // header and one in an extension block.
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..6].copy_from_slice(b"sparse");
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_size(6);
    h.set_mode(0o644);
    let g = h.as_gnu_mut().unwrap();
    g.sparse[0].set_offset(0);
    g.sparse[0].set_length(3);
    g.set_real_size(1500);
    g.set_is_extended(true);
    h.set_cksum();
    let mut ext = tar::GnuExtSparseHeader::new();
    ext.sparse_mut()[0].set_offset(1000);
    ext.sparse_mut()[0].set_length(3);
    let tar = cat(&[
        h.as_bytes().to_vec(),
        ext.as_bytes().to_vec(),
        data(b"abcxyz"),
        gnu(b"after", b'0', 0),
        end(),
    ]);
    let got = entries(tar).unwrap();
    assert_eq!(got.len(), 2);
    let (h, content) = &got[0];
    assert!(h.sparse);
    assert_eq!(h.size, 1500);
    assert_eq!(content.len(), 1500);
    assert_eq!(&content[..3], b"abc");
    assert!(content[3..1000].iter().all(|&b| b == 0));
    assert_eq!(&content[1000..1003], b"xyz");
    assert_eq!(got[1].0.path, b"after");
}

#[test]
fn pax_1_0_sparse_files_take_their_real_name_and_size() {
    // What GNU tar --sparse --format=pax writes: a placeholder name, the
    // real one in GNU.sparse.name, the map opening the data.
    let mut body = data(b"1\n4\n2\n");
    body.extend(b"hi");
    let tar = cat(&[
        pax(&[
            ("GNU.sparse.major", b"1"),
            ("GNU.sparse.minor", b"0"),
            ("GNU.sparse.name", b"etc/shadow"),
            ("GNU.sparse.realsize", b"10"),
        ]),
        gnu(b"GNUSparseFile.0/shadow", b'0', body.len() as u64),
        data(&body),
        end(),
    ]);
    let got = entries(tar).unwrap();
    assert_eq!(got[0].0.path, b"etc/shadow");
    assert_eq!(got[0].0.size, 10);
    assert_eq!(got[0].1, b"\0\0\0\0hi\0\0\0\0");
}

#[test]
fn pax_0_1_sparse_maps_are_checked() {
    let entry = |map: &[u8]| {
        cat(&[
            pax(&[
                ("GNU.sparse.major", b"0"),
                ("GNU.sparse.minor", b"1"),
                ("GNU.sparse.name", b"f"),
                ("GNU.sparse.size", b"8"),
                ("GNU.sparse.numblocks", b"1"),
                ("GNU.sparse.map", map),
            ]),
            gnu(b"placeholder", b'0', 2),
            data(b"ok"),
            end(),
        ])
    };
    assert_eq!(entries(entry(b"6,2")).unwrap()[0].1, b"\0\0\0\0\0\0ok");
    // Past the real size; lengths not matching the stored bytes.
    assert!(matches!(entries(entry(b"7,2")), Err(TarError::Sparse(_))));
    assert!(matches!(entries(entry(b"0,3")), Err(TarError::Sparse(_))));
}

#[test]
fn a_sparse_map_in_data_is_bounded_by_the_header_limit() {
    // A 1.0 map that never completes: every block is digits with no end.
    let blocks = 200; // 100 KiB of map, over the 64 KiB limit of `stream`
    let body = vec![b'1'; 512 * blocks];
    let tar = cat(&[
        pax(&[("GNU.sparse.major", b"1"), ("GNU.sparse.minor", b"0")]),
        gnu(b"f", b'0', body.len() as u64),
        body,
        end(),
    ]);
    assert!(matches!(
        entries(tar),
        Err(TarError::HeaderTooLarge {
            kind: "PAX 1.0 sparse map",
            ..
        })
    ));
}

#[test]
fn seekable_sources_skip_without_reading_and_know_their_length() {
    let tar = cat(&[
        gnu(b"a", b'0', 4000),
        data(&[7; 4000]),
        gnu(b"b", b'0', 0),
        end(),
    ]);
    let mut s = TarStream::new(Seekable::new(Cursor::new(tar.clone())).unwrap(), 1 << 16);
    let a = s.next_entry().unwrap().unwrap();
    assert_eq!((a.data_offset, a.size), (512, 4000));
    assert_eq!(s.next_entry().unwrap().unwrap().path, b"b");
    // Cut inside a's data: the skip past the end is an error, not an end.
    let mut cut = TarStream::new(
        Seekable::new(Cursor::new(tar[..2048].to_vec())).unwrap(),
        1 << 16,
    );
    cut.next_entry().unwrap();
    assert!(matches!(cut.next_entry(), Err(TarError::Truncated { .. })));
}

#[test]
fn numbers_are_read_as_go_reads_them() {
    assert_eq!(numeric(b"0000644\0", 0, "mode").unwrap(), 0o644);
    assert_eq!(numeric(b" 17 \0", 0, "uid").unwrap(), 0o17);
    // Blank fields are 0 (some writers leave uid/gid empty).
    assert_eq!(numeric(b"\0\0\0\0\0\0\0\0", 0, "uid").unwrap(), 0);
    assert_eq!(numeric(b"        ", 0, "uid").unwrap(), 0);
    // GNU base-256 for sizes octal cannot hold.
    let mut big = [0u8; 12];
    big[0] = 0x80;
    big[4..].copy_from_slice(&(9u64 << 30).to_be_bytes());
    assert_eq!(numeric(&big, 0, "size").unwrap(), 9 << 30);
    // Negative base-256, overflow and junk are refused.
    assert!(numeric(&[0xff; 12], 0, "size").is_err());
    let mut huge = [0xffu8; 12];
    huge[0] = 0x80;
    assert!(numeric(&huge, 0, "size").is_err());
    assert!(matches!(
        numeric(b"12 34\0", 7, "size"),
        Err(TarError::Field {
            offset: 7,
            field: "size"
        })
    ));
}
