//! Shared test support: layer tars built with the `tar` crate, and the
//! inventory those layers give through the real layer reader.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use clearance_oci::layer::{LayerLimits, read_layer};
use clearance_scan::catalog::{self, Cataloger};
use clearance_scan::inventory::{Inventory, LayerCapture};

/// One entry of a test layer. Whiteouts are files named `.wh.NAME` and
/// `.wh..wh..opq`, as the image spec writes them.
pub enum Entry<'a> {
    /// A regular file, mode 0644.
    File(&'a str, &'a [u8]),
    /// A regular file with this mode (setuid bits and the like).
    FileMode(&'a str, u32, &'a [u8]),
    /// A directory, mode 0644 (as the tests have always written them).
    Dir(&'a str),
    /// A directory with this mode.
    DirMode(&'a str, u32),
    /// A symbolic link to the target, as written.
    Link(&'a str, &'a str),
    /// A hard link to an earlier entry of the layer.
    Hardlink(&'a str, &'a str),
}

/// An uncompressed layer tar of these entries, in this order.
pub fn layer(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_ustar();
        match e {
            Entry::File(path, data) | Entry::FileMode(path, _, data) => {
                let mode = if let Entry::FileMode(_, mode, _) = e {
                    *mode
                } else {
                    0o644
                };
                h.set_mode(mode);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, path, *data).unwrap();
            }
            Entry::Dir(path) | Entry::DirMode(path, _) => {
                let mode = if let Entry::DirMode(_, mode) = e {
                    *mode
                } else {
                    0o644
                };
                h.set_mode(mode);
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, path, &[][..]).unwrap();
            }
            Entry::Link(path, target) => {
                h.set_mode(0o777);
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, path, target).unwrap();
            }
            Entry::Hardlink(path, target) => {
                // The header's own mode says nothing: the link is its target.
                h.set_mode(0o644);
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                b.append_link(&mut h, path, target).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// The inventory of these layers, each read through the real layer reader
/// into a capture of every cataloger.
pub fn inventory(layers: &[Vec<u8>]) -> Inventory {
    let catalogers: Arc<Vec<Box<dyn Cataloger>>> = Arc::new(catalog::all());
    let captures = layers
        .iter()
        .map(|tar| {
            let mut capture = LayerCapture::new(catalogers.clone());
            read_layer(&tar[..], &LayerLimits::default(), None, &mut capture).unwrap();
            capture
        })
        .collect();
    Inventory::build(&catalogers, captures)
}

/// One layer's inventory read directly, and again from its capture stored
/// (`to_stored`, the notes through JSON) and restored (`from_stored`), as
/// the layer store keeps it.
pub fn stored_round_trip(tar: &[u8]) -> (Inventory, Inventory) {
    let catalogers: Arc<Vec<Box<dyn Cataloger>>> = Arc::new(catalog::all());
    let mut capture = LayerCapture::new(catalogers.clone());
    read_layer(tar, &LayerLimits::default(), None, &mut capture).unwrap();
    let direct = Inventory::build(&catalogers, vec![capture.clone()]);
    let (files, notes) = capture.to_stored();
    let json = serde_json::to_string(&notes).unwrap();
    let restored = LayerCapture::from_stored(
        catalogers.clone(),
        files,
        serde_json::from_str(&json).unwrap(),
    );
    (direct, Inventory::build(&catalogers, vec![restored]))
}
