//! Docker archives: `manifest.json` naming a config and layer files, as
//! `docker save` and other image tools write them (the shapes are listed in
//! `archive_layers.rs`).

use std::collections::HashMap;
use std::io::Read;

use oci_spec::image::Descriptor;

use crate::digest::Digest;
use crate::manifest::{BlobRef, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES};
use crate::media_type::{DOCKER_CONFIG, DOCKER_MANIFEST};
use crate::platform::Platform;
use crate::reference::{ArchiveSelector, RegistryRef};
use crate::source::archive_index::{self, DockerImage};
use crate::source::archive_layers::{ArchiveLayer, LayerSource, digest_in_name, plan_layers};
use crate::source::files::Files;
use crate::source::{ManifestFetch, ResolvedImage, SourceError, resolve_manifest};
use crate::verify::{VerifyingReader, read_verified};

/// One image of `manifest.json` (moby `tarexport.manifestItem`).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Entry {
    pub config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
    #[serde(default)]
    layer_sources: HashMap<String, LayerSource>,
}

impl Entry {
    pub fn tags(&self) -> &[String] {
        self.repo_tags.as_deref().unwrap_or_default()
    }

    /// Its tags, for messages.
    pub fn name(&self) -> String {
        match self.tags() {
            [] => "the untagged image".to_owned(),
            tags => tags.join(", "),
        }
    }
}

/// One image of a docker archive, with the files its blobs live in.
#[derive(Debug)]
pub struct DockerArchive {
    files: Files,
    entry: Entry,
    label: String,
    config_bytes: Vec<u8>,
    layers: Vec<ArchiveLayer>,
    /// The `index.json` entry naming the same image, when the archive is
    /// also an OCI layout: the two must agree (see `archive_index`).
    counterpart: Option<Box<Descriptor>>,
}

impl DockerArchive {
    /// Read `manifest.json`, pick the image `select` names, read and check
    /// its config, and work out what each of its layer files is.
    pub fn open(
        files: Files,
        select: &ArchiveSelector,
        label: String,
    ) -> Result<DockerArchive, SourceError> {
        let what = files.describe("manifest.json");
        let bytes = files.read_small("manifest.json", MAX_MANIFEST_BYTES)?;
        let entries: Vec<Entry> = crate::manifest::parse_archive_manifest(&bytes, &what)?;
        let single_image = entries.len() == 1;
        let entry = select_entry(entries, select, what)?;
        let config_bytes = files.read_small(&entry.config, MAX_CONFIG_BYTES)?;
        let config_digest = Digest::sha256_of(&config_bytes);
        if let Some(named) = digest_in_name(&entry.config)
            && named != config_digest
        {
            return Err(crate::verify::VerifyError::DigestMismatch {
                what: files.describe(&entry.config),
                expected: named,
                actual: config_digest,
            }
            .into());
        }
        let diff_ids = diff_ids_of(&files, &entry, &config_bytes)?;
        let counterpart =
            archive_index::counterpart(&files, entry.tags(), single_image)?.map(Box::new);
        let oci = counterpart
            .as_ref()
            .and_then(|top| archive_index::find_image(&files, top, &config_digest));
        let layers = plan_layers(
            &files,
            &entry.layers,
            &diff_ids,
            &entry.layer_sources,
            oci.as_ref(),
        )?;
        Ok(DockerArchive {
            files,
            entry,
            label,
            config_bytes,
            layers,
            counterpart,
        })
    }

    /// Build the schema 2 manifest the archive implies, then resolve it.
    /// Each layer's descriptor says what its file is (see `archive_layers`).
    /// A docker archive holds one image per entry: `platform` only decides
    /// whether the result warns that the image is for another. When the
    /// archive is also an OCI layout, its `index.json` must name this image
    /// too.
    pub async fn resolve(&self, platform: &Platform) -> Result<ResolvedImage, SourceError> {
        let config_bytes = &self.config_bytes;
        let config_digest = Digest::sha256_of(config_bytes);
        let layers: Vec<_> = self.layers.iter().map(descriptor).collect();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "size": config_bytes.len(), "digest": config_digest.to_string()},
            "layers": layers,
        });
        let bytes = serde_json::to_vec(&manifest).map_err(|e| SourceError::Layout {
            what: self.label.clone(),
            message: e.to_string(),
        })?;
        let fetch = ArchiveFetch { archive: self };
        let digest = Digest::sha256_of(&bytes);
        let image = resolve_manifest(
            &fetch,
            &bytes,
            digest,
            Some(DOCKER_MANIFEST),
            platform,
            &self.label,
        )
        .await?;
        if let Some(top) = &self.counterpart {
            let docker = DockerImage {
                name: self.entry.name(),
                config: image.config_blob.digest.clone(),
                platform: image.platform.clone(),
                layers: Some(image.layers.iter().map(|l| l.blob.digest.clone()).collect()),
            };
            archive_index::check_agrees(&self.files, top, &docker, &self.label).await?;
        }
        Ok(image)
    }

    /// Open a layer file; the reader checks it against the blob digest
    /// worked out for it (its name's, the archive manifest's, or its
    /// `diff_id` when it is a plain tar) as it streams.
    pub fn open_blob(&self, blob: &BlobRef) -> Result<Box<dyn Read + Send>, SourceError> {
        let layer = self
            .layers
            .iter()
            .find(|l| l.blob == *blob)
            .ok_or_else(|| SourceError::NotFound {
                what: format!("layer {} in {}", blob.digest, self.label),
            })?;
        let (reader, _) = self.files.open(&layer.path)?;
        Ok(Box::new(VerifyingReader::new(
            reader,
            self.files.describe(&layer.path),
            blob.digest.clone(),
            Some(blob.size),
        )))
    }
}

/// The entry `select` names: the only one, the Nth, or the one tagged so.
/// A tag on two entries with different configs is refused: `docker load`
/// applies the entries in order and leaves the tag on the last, so picking
/// either would be a guess (the same rule as a tag twice in `index.json`).
fn select_entry(
    mut entries: Vec<Entry>,
    select: &ArchiveSelector,
    what: String,
) -> Result<Entry, SourceError> {
    let mut all_tags: Vec<&str> = Vec::new();
    for tag in entries.iter().flat_map(|e| e.tags()) {
        if !all_tags.contains(&tag.as_str()) {
            all_tags.push(tag);
        }
    }
    let listed = || match all_tags.as_slice() {
        [] => "none".to_owned(),
        tags => tags.join(", "),
    };
    let position = match select {
        ArchiveSelector::Only if entries.len() == 1 => Some(0),
        ArchiveSelector::Only if entries.is_empty() => {
            return Err(SourceError::Layout {
                what,
                message: "manifest.json lists no images".to_owned(),
            });
        }
        ArchiveSelector::Only => {
            return Err(SourceError::Layout {
                what,
                message: format!(
                    "{} images in the archive; name one with :REPO:TAG or :@INDEX (tags: {})",
                    entries.len(),
                    listed()
                ),
            });
        }
        ArchiveSelector::Index(n) => (*n < entries.len()).then_some(*n),
        ArchiveSelector::Tag(wanted) => {
            let tagged = |e: &Entry| {
                e.tags()
                    .iter()
                    .any(|t| RegistryRef::parse(t).is_ok_and(|r| &r == wanted))
            };
            let mut configs: Vec<&str> = Vec::new();
            for e in entries.iter().filter(|e| tagged(e)) {
                if !configs.contains(&e.config.as_str()) {
                    configs.push(&e.config);
                }
            }
            if configs.len() > 1 {
                return Err(SourceError::DuplicateTag {
                    what,
                    tag: wanted.to_string(),
                    digests: configs.iter().map(|c| format!("config {c}")).collect(),
                });
            }
            entries.iter().position(tagged)
        }
    };
    match position {
        Some(position) => Ok(entries.swap_remove(position)),
        None => Err(SourceError::Layout {
            what,
            message: format!(
                "no image matches {}; {} images, tags: {}",
                match select {
                    ArchiveSelector::Index(n) => format!("@{n}"),
                    ArchiveSelector::Tag(t) => t.to_string(),
                    ArchiveSelector::Only => String::new(),
                },
                entries.len(),
                listed()
            ),
        }),
    }
}

/// The config's `diff_ids`, one per layer file.
fn diff_ids_of(
    files: &Files,
    entry: &Entry,
    config_bytes: &[u8],
) -> Result<Vec<Digest>, SourceError> {
    let config = crate::manifest::parse_config(config_bytes, &files.describe(&entry.config))?;
    let diff_ids = config
        .rootfs()
        .diff_ids()
        .iter()
        .map(|d| d.parse::<Digest>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SourceError::Layout {
            what: files.describe(&entry.config),
            message: format!("a diff_id is not a digest: {e}"),
        })?;
    if diff_ids.len() != entry.layers.len() {
        return Err(SourceError::Layout {
            what: files.describe("manifest.json"),
            message: format!(
                "{} layers but the config lists {} diff_ids",
                entry.layers.len(),
                diff_ids.len()
            ),
        });
    }
    Ok(diff_ids)
}

fn descriptor(layer: &ArchiveLayer) -> serde_json::Value {
    let b = &layer.blob;
    let mut d = serde_json::json!({"mediaType": b.media_type, "size": b.size, "digest": b.digest.to_string()});
    if !layer.urls.is_empty() {
        d["urls"] = serde_json::json!(layer.urls);
    }
    d
}

struct ArchiveFetch<'a> {
    archive: &'a DockerArchive,
}

impl ManifestFetch for ArchiveFetch<'_> {
    async fn fetch_blob(&self, blob: &BlobRef, limit: u64) -> Result<Vec<u8>, SourceError> {
        let what = self.archive.files.describe(&self.archive.entry.config);
        read_verified(
            &self.archive.config_bytes[..],
            &what,
            &blob.digest,
            Some(blob.size),
            limit,
        )
        .map_err(|e| SourceError::from_io(e, &what))
    }
}
