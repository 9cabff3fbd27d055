//! The archive index (`oci-archive:` and `docker-archive:` files) and the
//! tar stream under it, at the production limits: every member's data
//! range lies inside the archive, and reading each member yields exactly
//! its size.
#![no_main]

use std::io::{Cursor, Read};

use clearance_oci::layer::tarstream::{DEFAULT_MAX_HEADER_BYTES, Sequential, TarStream};
use clearance_oci::source::{ArchiveIndex, TarItem};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = ArchiveIndex::read(Cursor::new(data)) {
        for item in index.items() {
            if let TarItem::File { offset, size } = item {
                assert!(offset.checked_add(*size).is_some_and(|end| end <= data.len() as u64));
            }
        }
    }
    let mut stream = TarStream::new(Sequential(data), DEFAULT_MAX_HEADER_BYTES);
    while let Ok(Some(header)) = stream.next_entry() {
        let mut read = 0u64;
        let mut buf = [0u8; 4096];
        let mut content = stream.content();
        loop {
            match content.read(&mut buf) {
                Ok(0) => {
                    assert_eq!(read, header.size);
                    break;
                }
                Ok(n) => read += n as u64,
                Err(_) => break,
            }
            if read > 64 << 20 {
                break; // a sparse file's holes: enough
            }
        }
    }
});
