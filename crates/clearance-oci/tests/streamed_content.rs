//! `LayerVisitor::stream_content`: a visitor reads files it did not ask to
//! hold, as much of each as it likes, and the layer reads on as before; a
//! broken layer still fails however the visitor treats the error.
#![allow(clippy::unwrap_used)]

use std::io::{self, Read, Write};

use clearance_oci::layer::{
    EntryKind, LayerEntry, LayerError, LayerLimits, LayerVisitor, read_layer,
};

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    builder.append_data(&mut h, "dir", &[][..]).unwrap();
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o755);
        h.set_size(data.len() as u64);
        builder.append_data(&mut h, name, *data).unwrap();
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_mode(0o777);
    h.set_size(0);
    builder.append_link(&mut h, "link", "big").unwrap();
    builder.into_inner().unwrap()
}

/// Streams every file it is offered, reading at most `take` bytes of each
/// (all of it when `None`); wants `want` whole. Read errors are swallowed,
/// as a careless parser would.
struct Streamer {
    take: Option<usize>,
    want: &'static str,
    streamed: Vec<(String, Vec<u8>)>,
    errors: usize,
    entries: Vec<(LayerEntry, Option<Vec<u8>>)>,
}

impl Streamer {
    fn new(take: Option<usize>, want: &'static str) -> Streamer {
        Streamer {
            take,
            want,
            streamed: Vec::new(),
            errors: 0,
            entries: Vec::new(),
        }
    }
}

impl LayerVisitor for Streamer {
    fn wants_content(&mut self, entry: &LayerEntry) -> bool {
        entry.path.as_str() == self.want
    }

    fn stream_content(&mut self, entry: &LayerEntry, content: &mut dyn Read) {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let room = self
                .take
                .map_or(buf.len(), |t| (t - got.len()).min(buf.len()));
            if room == 0 {
                break;
            }
            match content.read(&mut buf[..room]) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => {
                    self.errors += 1;
                    break;
                }
            }
        }
        self.streamed.push((entry.path.as_str().to_owned(), got));
    }

    fn entry(&mut self, entry: LayerEntry, content: Option<Vec<u8>>) {
        self.entries.push((entry, content));
    }
}

fn big() -> Vec<u8> {
    (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect()
}

#[test]
fn a_visitor_reads_part_of_each_file_and_the_layer_reads_on() {
    let big = big();
    let layer = tar_of(&[("big", &big), ("small", b"hello"), ("wanted", b"kept")]);
    let mut partial = Streamer::new(Some(3), "wanted");
    let stats = read_layer(&layer[..], &LayerLimits::default(), None, &mut partial).unwrap();
    // Offered: regular files not wanted whole, in archive order; not the
    // directory, the link, or the file handed over whole.
    assert_eq!(
        partial.streamed,
        [
            ("big".to_owned(), big[..3].to_vec()),
            ("small".to_owned(), b"hel".to_vec()),
        ]
    );
    let kinds: Vec<(&str, &EntryKind, Option<&[u8]>)> = partial
        .entries
        .iter()
        .map(|(e, c)| (e.path.as_str(), &e.kind, c.as_deref()))
        .collect();
    assert_eq!(kinds[3], ("wanted", &EntryKind::File, Some(&b"kept"[..])));
    assert_eq!(kinds.len(), 5);
    // The same diff id as a visitor that reads nothing: every byte hashed.
    let mut none = Streamer::new(Some(0), "");
    let plain = read_layer(&layer[..], &LayerLimits::default(), None, &mut none).unwrap();
    assert_eq!(stats.diff_id, plain.diff_id);
    assert_eq!(stats.uncompressed_bytes, layer.len() as u64);
}

#[test]
fn a_streamed_file_yields_exactly_its_size() {
    let big = big();
    let layer = tar_of(&[("big", &big), ("small", b"hello")]);
    let mut all = Streamer::new(None, "");
    read_layer(&layer[..], &LayerLimits::default(), None, &mut all).unwrap();
    assert_eq!(all.streamed[0].1, big);
    assert_eq!(all.streamed[1].1, b"hello");
    assert_eq!(all.errors, 0);
}

/// A blob that fails once, at `at` bytes, then reads on as if nothing
/// happened.
struct FailsOnce {
    data: Vec<u8>,
    pos: usize,
    at: usize,
    failed: bool,
}

impl Read for FailsOnce {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.failed && self.pos >= self.at {
            self.failed = true;
            return Err(io::Error::other("disk read failed"));
        }
        let end = if self.failed {
            self.data.len()
        } else {
            self.at
        };
        let n = buf.len().min(end - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn a_read_error_the_visitor_swallows_still_fails_the_layer() {
    let big = big();
    let layer = tar_of(&[("big", &big), ("small", b"hello")]);
    let blob = FailsOnce {
        data: layer,
        pos: 0,
        // Inside `big`, past the reader's first buffer.
        at: 600 << 10,
        failed: false,
    };
    let mut careless = Streamer::new(None, "");
    let err = read_layer(blob, &LayerLimits::default(), None, &mut careless).unwrap_err();
    assert_eq!(careless.errors, 1);
    assert!(matches!(err, LayerError::Corrupt { .. }), "{err}");
    // The entry whose content broke is not reported as read.
    assert!(
        careless
            .entries
            .iter()
            .all(|(e, _)| e.path.as_str() != "big")
    );
}

#[test]
fn a_truncated_gzip_layer_fails_even_when_the_visitor_stops_early() {
    let big = big();
    let layer = tar_of(&[("big", &big), ("small", b"hello")]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&layer).unwrap();
    let gz = gz.finish().unwrap();
    let cut = &gz[..gz.len() / 2];
    // A visitor that gives up on the file after a few bytes (a parse
    // failure of its own) is no layer error, but the cut layer is.
    let mut quitter = Streamer::new(Some(16), "");
    let err = read_layer(cut, &LayerLimits::default(), None, &mut quitter).unwrap_err();
    assert!(matches!(err, LayerError::Corrupt { .. }), "{err}");
    let mut quitter = Streamer::new(Some(16), "");
    read_layer(&gz[..], &LayerLimits::default(), None, &mut quitter).unwrap();
    assert_eq!(quitter.streamed.len(), 2);
}
