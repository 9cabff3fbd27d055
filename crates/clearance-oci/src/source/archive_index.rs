//! Archives that are a docker archive and an OCI layout at once: `docker
//! save` since Docker 25, with graph drivers or the containerd image store,
//! and `nerdctl save`. `manifest.json` and `index.json` each name the
//! archive's images, and tools read one or the other: `docker load` with
//! graph drivers, skopeo's and Clearance's `docker-archive:` read
//! `manifest.json`; containerd (`ctr import`), `docker load` with the
//! containerd store and `oci-archive:` read `index.json`. So an archive
//! whose two files name different images for one tag would show one image
//! and run another; it is refused, whichever transport reads it.
//!
//! The rule: for a `manifest.json` entry and the `index.json` entry naming
//! the same image (by `io.containerd.image.name`, else
//! `org.opencontainers.image.ref.name`; or the only entry of each), the
//! `index.json` entry resolved for the platform the docker image's config
//! says must be that image (same config digest, same layer blobs). When it
//! has no image for that platform (or does not hold it), the docker image
//! must at least be one of its images.

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use crate::digest::Digest;
use crate::manifest::{
    self, BlobRef, IndexEntry, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, Manifest, ManifestError,
};
use crate::platform::Platform;
use crate::reference::RegistryRef;
use crate::source::docker_archive::Entry;
use crate::source::files::Files;
use crate::source::layout::{LayoutBlobs, REF_NAME, read_blob, read_index};
use crate::source::{MAX_INDEX_DEPTH, MAX_SEARCH_FETCHES, SourceError, resolve_manifest};

/// containerd's annotation on an `index.json` entry: the image's full name.
pub(crate) const IMAGE_NAME: &str = "io.containerd.image.name";

/// The image one `manifest.json` entry names, as far as the check needs.
pub(crate) struct DockerImage {
    /// Its tags (or "the only image"), for messages.
    pub name: String,
    pub config: Digest,
    /// What its config says.
    pub platform: Platform,
    /// Its layer blobs, when they are known.
    pub layers: Option<Vec<Digest>>,
}

/// The `index.json` entry naming the same image as the `manifest.json`
/// entry with these tags, if the archive has an `index.json`.
/// `single_image` says `manifest.json` holds one entry: then a lone
/// `index.json` entry is its counterpart whatever its name.
pub(crate) fn counterpart(
    files: &Files,
    tags: &[String],
    single_image: bool,
) -> Result<Option<Descriptor>, SourceError> {
    let index = match read_index(files) {
        Err(e) if e.is_not_found() => return Ok(None),
        read => read?,
    };
    if single_image && index.manifests().len() == 1 {
        return Ok(index.manifests().first().cloned());
    }
    let mut found: Vec<&Descriptor> = Vec::new();
    for d in index.manifests().iter().filter(|d| corresponds(d, tags)) {
        if !found
            .iter()
            .any(|f| f.digest() == d.digest() && f.media_type() == d.media_type())
        {
            found.push(d);
        }
    }
    if found.len() > 1 {
        return Err(SourceError::DuplicateTag {
            what: files.describe("index.json"),
            tag: tags.join(", "),
            digests: found
                .iter()
                .map(|d| format!("{} ({})", d.digest(), d.media_type()))
                .collect(),
        });
    }
    Ok(found.first().map(|d| (*d).clone()))
}

/// Whether an `index.json` entry names an image with one of these
/// `RepoTags`: by containerd's full name when it has one, else by its
/// `ref.name`, whole or as a bare tag.
fn corresponds(d: &Descriptor, tags: &[String]) -> bool {
    let refs: Vec<RegistryRef> = tags
        .iter()
        .filter_map(|t| RegistryRef::parse(t).ok())
        .collect();
    let annotations = d.annotations().as_ref();
    if let Some(name) = annotations.and_then(|a| a.get(IMAGE_NAME)) {
        return RegistryRef::parse(name).is_ok_and(|r| refs.contains(&r));
    }
    annotations.and_then(|a| a.get(REF_NAME)).is_some_and(|n| {
        refs.iter()
            .any(|r| r.tag() == Some(n.as_str()) || RegistryRef::parse(n).is_ok_and(|p| p == *r))
    })
}

/// An OCI layout that may also be a docker archive: every `manifest.json`
/// entry naming the image `picked` names must agree with it.
pub(crate) async fn check_layout(
    files: &Files,
    index: &ImageIndex,
    picked: &Descriptor,
    label: &str,
) -> Result<(), SourceError> {
    let what = files.describe("manifest.json");
    let bytes = match files.read_small("manifest.json", MAX_MANIFEST_BYTES) {
        Err(e) if e.is_not_found() => return Ok(()),
        read => read?,
    };
    let entries: Vec<Entry> = manifest::parse_archive_manifest(&bytes, &what)?;
    let single = entries.len() == 1 && index.manifests().len() == 1;
    for entry in entries
        .iter()
        .filter(|e| single || corresponds(picked, e.tags()))
    {
        let docker = docker_image(files, entry)?;
        check_agrees(files, picked, &docker, label).await?;
    }
    Ok(())
}

/// What a `manifest.json` entry's config says: its digest and platform.
fn docker_image(files: &Files, entry: &Entry) -> Result<DockerImage, SourceError> {
    let bytes = files.read_small(&entry.config, MAX_CONFIG_BYTES)?;
    let what = files.describe(&entry.config);
    let config = manifest::parse_config(&bytes, &what)?;
    Ok(DockerImage {
        name: entry.name(),
        config: Digest::sha256_of(&bytes),
        platform: Platform {
            os: config.os().to_string(),
            architecture: config.architecture().to_string(),
            variant: config.variant().clone(),
        },
        layers: None,
    })
}

/// Check that `top` (an `index.json` entry), resolved for the docker
/// image's platform, is the docker image.
pub(crate) async fn check_agrees(
    files: &Files,
    top: &Descriptor,
    docker: &DockerImage,
    label: &str,
) -> Result<(), SourceError> {
    let what = files.describe("index.json");
    let blob = BlobRef::from_descriptor(top, &what)?;
    let disagree = |oci: String| SourceError::ArchiveDisagrees {
        what: what.clone(),
        name: docker.name.clone(),
        docker_config: docker.config.clone(),
        oci,
    };
    let bytes = match read_blob(files, &blob, MAX_MANIFEST_BYTES) {
        Err(e) if e.is_not_found() => {
            return Err(disagree(format!(
                "manifest {}, which the archive does not hold",
                blob.digest
            )));
        }
        read => read?,
    };
    let resolved = resolve_manifest(
        &LayoutBlobs(files),
        &bytes,
        blob.digest.clone(),
        Some(&blob.media_type),
        &docker.platform,
        &format!("{label} (index.json)"),
    )
    .await;
    let (config, layers): (Digest, Vec<Digest>) = match resolved {
        Ok(oci) => (
            oci.config_blob.digest,
            oci.layers.into_iter().map(|l| l.blob.digest).collect(),
        ),
        Err(
            SourceError::Manifest(ManifestError::NoPlatform { .. })
            | SourceError::MissingChild { .. },
        ) => match find_image(files, top, &docker.config) {
            Some(m) => (
                docker.config.clone(),
                m.layers()
                    .iter()
                    .filter_map(|d| d.digest().to_string().parse().ok())
                    .collect(),
            ),
            None => {
                return Err(disagree(format!(
                    "no image with that config, and none it holds for {}",
                    docker.platform
                )));
            }
        },
        Err(e) => return Err(e),
    };
    if config != docker.config {
        return Err(disagree(format!("config {config} for {}", docker.platform)));
    }
    match &docker.layers {
        Some(docker_layers) if *docker_layers != layers => Err(disagree(format!(
            "that config with other layer blobs ({})",
            layers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        _ => Ok(()),
    }
}

/// The image manifest under `top` whose config is `config`: a bounded
/// walk; what cannot be read is passed over.
pub(crate) fn find_image(
    files: &Files,
    top: &Descriptor,
    config: &Digest,
) -> Option<ImageManifest> {
    let mut stack: Vec<(Descriptor, usize)> = vec![(top.clone(), 0)];
    let mut fetches = 0;
    while let Some((d, depth)) = stack.pop() {
        let blob = match manifest::classify_entry(&d, "index.json") {
            Ok(IndexEntry::Image { blob, .. } | IndexEntry::Unlabelled(blob)) => blob,
            Ok(IndexEntry::Index { blob, .. }) if depth <= MAX_INDEX_DEPTH => blob,
            _ => continue,
        };
        fetches += 1;
        if fetches > MAX_SEARCH_FETCHES {
            break;
        }
        let Ok(bytes) = read_blob(files, &blob, MAX_MANIFEST_BYTES) else {
            continue;
        };
        match manifest::parse_manifest(&bytes, Some(&blob.media_type), "archive manifest") {
            Ok((Manifest::Image(m), _))
                if m.config().digest().to_string() == config.to_string() =>
            {
                return Some(*m);
            }
            Ok((Manifest::Index(i), _)) => {
                stack.extend(i.manifests().iter().rev().map(|d| (d.clone(), depth + 1)));
            }
            _ => {}
        }
    }
    None
}
