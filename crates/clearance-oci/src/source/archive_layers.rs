//! The layer files of a docker archive, described as blobs: what each file
//! is and which digest it must have.
//!
//! Tools write different shapes under the same `manifest.json`:
//!
//! | writer | layer files | compressed |
//! |---|---|---|
//! | `docker save` before 25 | `<v1 id>/layer.tar` | no |
//! | `docker save` 25+, graph drivers | `blobs/sha256/<hex>` (also an OCI layout) | no |
//! | `docker save` with the containerd store, `nerdctl save` | `blobs/sha256/<hex>` (also an OCI layout) | gzip or zstd, as pulled |
//! | skopeo, podman, buildah (`docker-archive:`) | `<hex>.tar` | no |
//! | crane, ko, kaniko (go-containerregistry) | `<hex>.tar.gz`, config `sha256:<hex>` | gzip |
//! | Jib `buildTar` | `<hex>.tar.gz`, config `config.json` | gzip |
//!
//! So a layer file's digest is not always its `diff_id`. Each file's blob
//! digest comes from, in order: the archive's own OCI manifest for this
//! image (when the archive is also a layout: the `index.json` entry that
//! names the same image, see `archive_index`), the digest its name carries,
//! the `diff_id` when the file is an uncompressed tar, else the file is
//! hashed here. Reading a layer then checks both: the file against that
//! digest as it streams, the uncompressed tar against the `diff_id`.

use std::collections::HashMap;
use std::io::Read;

use oci_spec::image::{Descriptor, ImageManifest};

use crate::digest::{Digest, Hasher};
use crate::manifest::BlobRef;
use crate::media_type::{
    DOCKER_FOREIGN_LAYER_GZIP, DOCKER_LAYER, DOCKER_LAYER_GZIP, OCI_LAYER_ZSTD,
    OCI_NONDISTRIBUTABLE_LAYER,
};
use crate::source::SourceError;
use crate::source::files::Files;

/// A descriptor from `manifest.json`'s `LayerSources` (moby,
/// go-containerregistry): keyed by `diff_id`, it records a foreign layer's
/// registry descriptor, `urls` included.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LayerSource {
    media_type: String,
    size: u64,
    digest: String,
    #[serde(default)]
    urls: Vec<String>,
}

/// One layer file and the blob it must be.
#[derive(Debug, Clone)]
pub(crate) struct ArchiveLayer {
    pub path: String,
    pub blob: BlobRef,
    pub urls: Vec<String>,
}

/// How a layer file is compressed, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Packing {
    Tar,
    Gzip,
    Zstd,
}

/// Describe each layer file of one archive image. `oci` is the archive's
/// own OCI manifest for this image, when the archive is also a layout
/// (see `archive_index`).
pub(crate) fn plan_layers(
    files: &Files,
    paths: &[String],
    diff_ids: &[Digest],
    sources: &HashMap<String, LayerSource>,
    oci: Option<&ImageManifest>,
) -> Result<Vec<ArchiveLayer>, SourceError> {
    let oci = oci.filter(|m| m.layers().len() == paths.len());
    paths
        .iter()
        .zip(diff_ids)
        .enumerate()
        .map(|(i, (path, diff_id))| {
            let described = oci.as_ref().map(|m| &m.layers()[i]);
            let source = sources.get(&diff_id.to_string());
            plan_one(files, path, diff_id, described, source)
        })
        .collect()
}

fn plan_one(
    files: &Files,
    path: &str,
    diff_id: &Digest,
    described: Option<&Descriptor>,
    source: Option<&LayerSource>,
) -> Result<ArchiveLayer, SourceError> {
    let named = digest_in_name(path);
    if let Some(d) = described {
        // The archive's OCI manifest says what the blob is; the file need
        // not even be here (a foreign layer left out).
        let blob = BlobRef::from_descriptor(d, &files.describe(path))?;
        check_named(files, path, named.as_ref(), &blob.digest)?;
        let urls = d.urls().clone().unwrap_or_default();
        return Ok(ArchiveLayer {
            path: path.to_owned(),
            blob,
            urls,
        });
    }
    let (reader, size) = match (files.open(path), source) {
        (Err(e), Some(source)) if e.is_not_found() => return from_source(files, path, source),
        (opened, _) => opened?,
    };
    let packing = sniff(reader, &files.describe(path))?;
    let digest = match named {
        Some(named) => named,
        None if packing == Packing::Tar => diff_id.clone(),
        None => hash_file(files, path)?,
    };
    let (media_type, urls) = match source {
        Some(s) if s.digest == digest.to_string() => (s.media_type.clone(), s.urls.clone()),
        Some(s) => (foreign_type(packing).to_owned(), s.urls.clone()),
        None => (layer_type(packing).to_owned(), Vec::new()),
    };
    Ok(ArchiveLayer {
        path: path.to_owned(),
        blob: BlobRef {
            media_type,
            digest,
            size,
        },
        urls,
    })
}

/// A foreign layer whose file the archive left out: describe it as its
/// `LayerSources` entry does; reading it will say it is not here.
fn from_source(
    files: &Files,
    path: &str,
    source: &LayerSource,
) -> Result<ArchiveLayer, SourceError> {
    let digest = source
        .digest
        .parse::<Digest>()
        .map_err(|e| SourceError::Layout {
            what: files.describe("manifest.json"),
            message: format!("LayerSources entry for {path}: {e}"),
        })?;
    Ok(ArchiveLayer {
        path: path.to_owned(),
        blob: BlobRef {
            media_type: source.media_type.clone(),
            digest,
            size: source.size,
        },
        urls: source.urls.clone(),
    })
}

fn check_named(
    files: &Files,
    path: &str,
    named: Option<&Digest>,
    described: &Digest,
) -> Result<(), SourceError> {
    match named {
        Some(named) if named != described => Err(SourceError::Layout {
            what: files.describe("manifest.json"),
            message: format!(
                "layer file {path} is named for {named}, but the archive's manifest says {described}"
            ),
        }),
        _ => Ok(()),
    }
}

fn sniff(mut reader: impl Read, what: &str) -> Result<Packing, SourceError> {
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match reader.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(SourceError::from_io(e, what)),
        }
    }
    Ok(match head[..n] {
        [0x1f, 0x8b, ..] => Packing::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Packing::Zstd,
        _ => Packing::Tar,
    })
}

/// A compressed file with no digest to check it against: its own sha256.
fn hash_file(files: &Files, path: &str) -> Result<Digest, SourceError> {
    let (mut reader, _) = files.open(path)?;
    let mut hasher = Hasher::new(crate::digest::Algorithm::Sha256);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(hasher.finish()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) => return Err(SourceError::from_io(e, &files.describe(path))),
        }
    }
}

/// The media type a layer file is, by its compression. Docker has no zstd
/// layer type; OCI's is used.
fn layer_type(packing: Packing) -> &'static str {
    match packing {
        Packing::Tar => DOCKER_LAYER,
        Packing::Gzip => DOCKER_LAYER_GZIP,
        Packing::Zstd => OCI_LAYER_ZSTD,
    }
}

fn foreign_type(packing: Packing) -> &'static str {
    match packing {
        Packing::Tar => OCI_NONDISTRIBUTABLE_LAYER,
        Packing::Gzip => DOCKER_FOREIGN_LAYER_GZIP,
        Packing::Zstd => "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
}

/// The digest a file's name promises: `blobs/<alg>/<hex>` (OCI layouts,
/// Docker 25+), `sha256:<hex>` (go-containerregistry's config), and at the
/// top level `<hex>.json` (configs), `<hex>.tar` (skopeo) or `<hex>.tar.gz`
/// (go-containerregistry, Jib). Other names (`<v1 id>/layer.tar`,
/// `config.json`) promise nothing.
pub(crate) fn digest_in_name(path: &str) -> Option<Digest> {
    if let Some(rest) = path.strip_prefix("blobs/") {
        let (alg, hex) = rest.split_once('/')?;
        return format!("{alg}:{hex}").parse().ok();
    }
    if path.contains('/') {
        return None;
    }
    if path.starts_with("sha256:") {
        return path.parse().ok();
    }
    let hex = [".json", ".tar.gz", ".tar"]
        .iter()
        .find_map(|ext| path.strip_suffix(ext))?;
    format!("sha256:{hex}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn names_that_promise_a_digest_and_names_that_do_not() {
        let d: Digest = format!("sha256:{HEX}").parse().unwrap();
        for name in [
            format!("blobs/sha256/{HEX}"),
            format!("sha256:{HEX}"),
            format!("{HEX}.json"),
            format!("{HEX}.tar"),
            format!("{HEX}.tar.gz"),
        ] {
            assert_eq!(digest_in_name(&name), Some(d.clone()), "{name}");
        }
        for name in [
            format!("{HEX}/layer.tar"),
            "config.json".to_owned(),
            format!("x/{HEX}.tar"),
            "blobs/sha256/nothex".to_owned(),
        ] {
            assert_eq!(digest_in_name(&name), None, "{name}");
        }
    }

    #[test]
    fn compression_is_sniffed_from_the_first_bytes() {
        let sniffed = |b: &[u8]| sniff(b, "t").unwrap();
        assert_eq!(sniffed(&[0x1f, 0x8b, 8, 0]), Packing::Gzip);
        assert_eq!(sniffed(&[0x28, 0xb5, 0x2f, 0xfd, 1]), Packing::Zstd);
        assert_eq!(sniffed(b"etc/"), Packing::Tar);
        assert_eq!(sniffed(b""), Packing::Tar);
    }
}
