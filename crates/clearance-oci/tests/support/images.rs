//! Image fixtures written by hand in a temporary directory: OCI layouts
//! (indexes of any shape) and archives in the shapes real tools write.
//! Shared with `crates/clearance/tests` through `#[path]`.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clearance_oci::Digest;
use serde_json::{Value, json};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
pub const FOREIGN_URL: &str = "https://mcr.example.invalid/v2/windows/servercore/blobs/";

/// How a layer file is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pack {
    Tar,
    Gzip,
    Zstd,
}

/// An uncompressed layer tar holding these files (mode 0644, fixed times).
pub fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_577_836_800);
        h.set_cksum();
        builder.append_data(&mut h, name, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

pub fn pack(tar: &[u8], how: Pack) -> Vec<u8> {
    match how {
        Pack::Tar => tar.to_vec(),
        Pack::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(tar).unwrap();
            gz.finish().unwrap()
        }
        Pack::Zstd => zstd::encode_all(tar, 1).unwrap(),
    }
}

/// An image config for `platform` (`os/arch[/variant]`) over these layers.
pub fn config(diff_ids: &[Digest], platform: &str) -> Vec<u8> {
    let parts: Vec<&str> = platform.split('/').collect();
    let mut c = json!({
        "created": "2020-01-01T00:00:00Z",
        "os": parts[0],
        "architecture": parts[1],
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
        "history": [{"created_by": "COPY app /app"}],
    });
    if let Some(v) = parts.get(2) {
        c["variant"] = json!(v);
    }
    serde_json::to_vec(&c).unwrap()
}

/// A small image's parts: its uncompressed layers and their packed blobs.
pub struct Parts {
    pub tars: Vec<Vec<u8>>,
    pub blobs: Vec<Vec<u8>>,
    pub diff_ids: Vec<Digest>,
    pub config: Vec<u8>,
}

/// Two layers packed `how`, for `platform`; `seed` makes images differ.
pub fn parts(how: Pack, platform: &str, seed: &str) -> Parts {
    let tars = vec![
        layer_tar(&[
            ("etc/os-release", b"ID=fixture\n"),
            ("etc/seed", seed.as_bytes()),
        ]),
        layer_tar(&[("app/hello", b"hello\n"), ("app/world", b"world\n")]),
    ];
    let diff_ids: Vec<Digest> = tars.iter().map(|t| Digest::sha256_of(t)).collect();
    Parts {
        blobs: tars.iter().map(|t| pack(t, how)).collect(),
        config: config(&diff_ids, platform),
        tars,
        diff_ids,
    }
}

pub fn layer_media_type(how: Pack) -> &'static str {
    match how {
        Pack::Tar => OCI_LAYER,
        Pack::Gzip => OCI_LAYER_GZIP,
        Pack::Zstd => OCI_LAYER_ZSTD,
    }
}

pub fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": Digest::sha256_of(bytes).to_string(), "size": bytes.len()})
}

/// An OCI image layout being written in a directory.
pub struct LayoutBuilder {
    pub root: PathBuf,
    index: Vec<Value>,
}

impl LayoutBuilder {
    pub fn new(root: &Path) -> LayoutBuilder {
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        LayoutBuilder {
            root: root.to_owned(),
            index: Vec::new(),
        }
    }

    /// Write a blob; its descriptor.
    pub fn put(&self, media_type: &str, bytes: &[u8]) -> Value {
        let d = Digest::sha256_of(bytes);
        std::fs::write(self.root.join("blobs/sha256").join(d.hex()), bytes).unwrap();
        descriptor(media_type, bytes)
    }

    pub fn put_json(&self, media_type: &str, v: &Value) -> Value {
        self.put(media_type, &serde_json::to_vec(v).unwrap())
    }

    /// Write an image manifest over layer descriptors already written.
    pub fn manifest(&self, layers: Vec<Value>, config: &[u8], config_type: &str) -> Value {
        let config = self.put(config_type, config);
        let m = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers});
        self.put_json(OCI_MANIFEST, &m)
    }

    /// Write an image from its parts; the manifest's descriptor.
    pub fn image(&self, p: &Parts, how: Pack) -> Value {
        let layers = p
            .blobs
            .iter()
            .map(|b| self.put(layer_media_type(how), b))
            .collect();
        self.manifest(layers, &p.config, OCI_CONFIG)
    }

    /// Write an index over these entries; its descriptor.
    pub fn index(&self, entries: Vec<Value>) -> Value {
        self.put_json(
            OCI_INDEX,
            &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}),
        )
    }

    /// Name a descriptor in `index.json`.
    pub fn tag(&mut self, mut desc: Value, name: &str) {
        desc["annotations"]["org.opencontainers.image.ref.name"] = json!(name);
        self.index.push(desc);
    }

    pub fn finish(&self) {
        let idx = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.index});
        std::fs::write(
            self.root.join("index.json"),
            serde_json::to_vec(&idx).unwrap(),
        )
        .unwrap();
    }
}

/// `desc` with a platform.
pub fn on(mut desc: Value, platform: &str) -> Value {
    let parts: Vec<&str> = platform.split('/').collect();
    desc["platform"] = json!({"os": parts[0], "architecture": parts[1]});
    if let Some(v) = parts.get(2) {
        desc["platform"]["variant"] = json!(v);
    }
    desc
}

/// BuildKit's attestation manifest for `subject`, blob not written.
pub fn attestation(subject: &Value) -> Value {
    json!({
        "mediaType": OCI_MANIFEST,
        "digest": format!("sha256:{}", "ab".repeat(32)),
        "size": 566,
        "platform": {"os": "unknown", "architecture": "unknown"},
        "annotations": {
            "vnd.docker.reference.digest": subject["digest"],
            "vnd.docker.reference.type": "attestation-manifest",
        },
    })
}

/// Write an uncompressed tar of in-memory files, in order.
pub fn write_tar(out: &Path, files: &[(String, Vec<u8>)]) {
    let mut builder = tar::Builder::new(std::fs::File::create(out).unwrap());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        builder.append_data(&mut h, name, &data[..]).unwrap();
    }
    builder.finish().unwrap();
}

/// Pack a directory tree into an uncompressed tar (relative, sorted paths).
pub fn tar_dir(dir: &Path, out: &Path) {
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    files.sort();
    write_tar(out, &files);
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((rel, std::fs::read(&path).unwrap()));
        }
    }
}

/// `docker save` with the containerd image store (moby/moby#49141): an OCI
/// layout whose `index.json` names an index (the platform's manifest and an
/// attestation whose blobs are left out) plus a `manifest.json` whose
/// `Layers` name the compressed blobs. Written to `out`; the image's parts.
pub fn containerd_docker_save(dir: &Path, out: &Path, how: Pack) -> (Parts, Value) {
    let tree = dir.join("c8d-tree");
    let mut layout = LayoutBuilder::new(&tree);
    let p = parts(how, "linux/amd64", "c8d");
    let man = layout.image(&p, how);
    let idx = layout.index(vec![on(man.clone(), "linux/amd64"), attestation(&man)]);
    let mut tagged = idx;
    tagged["annotations"] = json!({"io.containerd.image.name": "docker.io/library/hello:latest"});
    layout.tag(tagged, "latest");
    layout.finish();
    let blob_name = |b: &[u8]| format!("blobs/sha256/{}", Digest::sha256_of(b).hex());
    let entry = json!([{
        "Config": blob_name(&p.config),
        "RepoTags": ["hello:latest"],
        "Layers": p.blobs.iter().map(|b| blob_name(b)).collect::<Vec<_>>(),
    }]);
    std::fs::write(
        tree.join("manifest.json"),
        serde_json::to_vec(&entry).unwrap(),
    )
    .unwrap();
    tar_dir(&tree, out);
    (p, man)
}
