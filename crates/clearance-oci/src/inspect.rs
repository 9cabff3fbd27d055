//! What `clearance inspect` reports about an image: a stable, documented
//! shape (`docs/inspect-json.md`, schema `clearance.inspect/v1`).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use futures_util::StreamExt as _;
use serde::Serialize;

use crate::digest::Digest;
use crate::layer::{
    Compression, LayerEntry, LayerLimits, LayerStats, LayerVisitor, LayerWarning, read_layer,
};
use crate::media_type;
use crate::platform::Platform;
use crate::source::{ImageSource, LayerRef, ResolvedImage, SourceError};

pub const SCHEMA: &str = "clearance.inspect/v1";

/// Called with the number of compressed bytes read, as layers stream.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub schema: &'static str,
    pub reference: String,
    pub index_digest: Option<Digest>,
    pub manifest: ManifestInfo,
    pub platform: Platform,
    pub config: ConfigInfo,
    pub layers: Vec<LayerInfo>,
    pub totals: Totals,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestInfo {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigInfo {
    pub digest: Digest,
    pub created: Option<String>,
    pub author: Option<String>,
    /// `None` when the image sets no user: it runs as root.
    pub user: Option<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub working_dir: Option<String>,
    pub env: Vec<EnvVar>,
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    /// The value, or `"****"` when it looks like a secret.
    pub value: String,
    pub masked: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerInfo {
    pub index: usize,
    pub digest: Digest,
    pub media_type: String,
    pub compressed_size: u64,
    /// Whether the layer was streamed: `false` with `--skip-layers`, and for
    /// foreign layers with `--skip-foreign-layers`.
    pub read: bool,
    /// A foreign (non-distributable) layer: the manifest says its blob is
    /// kept at `urls`, which Clearance never fetches.
    pub foreign: bool,
    pub urls: Vec<String>,
    /// Filled when the layer was read (`None` with `--skip-layers`).
    pub compression: Option<Compression>,
    pub uncompressed_size: Option<u64>,
    pub diff_id: Option<Digest>,
    pub entries: Option<u64>,
    pub created_by: Option<String>,
    pub warnings: Vec<String>,
    /// Warnings past the first 100 of the layer, counted but not listed.
    pub warnings_not_shown: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub compressed_size: u64,
    pub uncompressed_size: Option<u64>,
}

/// Which layers to stream (for uncompressed sizes and `diff_id` checks);
/// the others are only described.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerDepth {
    /// Every layer; a foreign layer whose blob is absent is an error.
    Read,
    /// Every layer but foreign (non-distributable) ones.
    ReadSkippingForeign,
    /// None.
    Skip,
}

impl LayerDepth {
    /// Whether this layer is to be streamed.
    pub fn reads(self, layer: &LayerRef) -> bool {
        match self {
            LayerDepth::Read => true,
            LayerDepth::ReadSkippingForeign => !layer.is_foreign(),
            LayerDepth::Skip => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("layer {digest}: {source}")]
    Layer {
        digest: Digest,
        source: crate::layer::LayerError,
    },
    #[error(
        "the image's layers expand to more than {limit} bytes in all; raise the limit if this image is genuine"
    )]
    ImageTooLarge { limit: u64 },
    #[error("reading layer {digest}: worker failed: {message}")]
    Worker { digest: Digest, message: String },
    #[error(
        "layer {index} ({digest}) is a foreign (non-distributable) layer of type {media_type} \
         {}, and its blob is not here; Clearance never fetches a layer from a URL a \
         manifest names: skip foreign layers with --skip-foreign-layers (their content is \
         then not read)",
        kept_at(urls)
    )]
    ForeignLayerAbsent {
        index: usize,
        digest: Digest,
        media_type: String,
        urls: Vec<String>,
        source: SourceError,
    },
}

/// Where a foreign layer is kept, in words: up to three URLs, then a count.
pub fn kept_at(urls: &[String]) -> String {
    match urls {
        [] => "whose manifest gives no URL for it".to_owned(),
        [one] => format!("kept at {one}"),
        _ if urls.len() <= 3 => format!("kept at {}", urls.join(", ")),
        _ => format!(
            "kept at {} and {} more URLs",
            urls[..3].join(", "),
            urls.len() - 3
        ),
    }
}

/// Describe a resolved image, streaming the layers `depth` asks for (up to
/// `parallel` at once).
pub async fn inspect(
    source: &ImageSource,
    image: &ResolvedImage,
    depth: LayerDepth,
    limits: &LayerLimits,
    parallel: usize,
    progress: Option<Progress>,
) -> Result<Inspection, InspectError> {
    let mut layers = describe_layers(image);
    let read = read_layers(source, image, depth, limits, parallel, progress, |_| Count).await?;
    for (index, result) in read.into_iter().enumerate() {
        let Some((stats, Count)) = result else {
            continue;
        };
        let info = &mut layers[index];
        tracing::debug!(
            layer = %info.digest,
            compression = ?stats.compression,
            uncompressed = stats.uncompressed_bytes,
            entries = stats.entries,
            "layer read"
        );
        info.read = true;
        info.compression = Some(stats.compression);
        info.uncompressed_size = Some(stats.uncompressed_bytes);
        info.diff_id = Some(stats.diff_id);
        info.entries = Some(stats.entries);
        info.warnings = stats.warnings.iter().map(describe_warning).collect();
        if let Some(declared) = media_type::layer_compression(&info.media_type)
            && declared != stats.compression
        {
            info.warnings.push(format!(
                "the media type says {declared}, the data is {}: runtimes detect the \
                 compression and unpack it, tools that go by the media type may not",
                stats.compression
            ));
        }
        info.warnings_not_shown = stats.warnings_dropped;
    }
    let totals = Totals {
        compressed_size: layers.iter().map(|l| l.compressed_size).sum(),
        uncompressed_size: layers.iter().map(|l| l.uncompressed_size).sum(),
    };
    Ok(Inspection {
        schema: SCHEMA,
        reference: image.reference.clone(),
        index_digest: image.index_digest.clone(),
        manifest: ManifestInfo {
            digest: image.manifest_digest.clone(),
            media_type: image.manifest_media_type.clone(),
            size: image.manifest_bytes.len() as u64,
        },
        platform: image.platform.clone(),
        config: config_info(image),
        layers,
        totals,
    })
}

/// Stream one layer on a blocking thread, checking its blob digest and `diff_id`.
/// Stream the layers `depth` asks for, `parallel` at once, each through a
/// visitor `visitor(index)` makes. Each blob is read once however often
/// the manifest lists it (a small manifest repeating one bomb must not cost
/// its size many times over): a repeat gets a copy of the first reading.
/// Returns, by layer index, what reading measured and the visitor, or
/// `None` for a layer `depth` skips.
///
/// # Errors
///
/// As [`read_one`]; also [`InspectError::Layer`] when a repeated blob is
/// listed under another diff_id (the config contradicts itself) and
/// [`InspectError::ImageTooLarge`] past `max_image_uncompressed_bytes`.
pub async fn read_layers<V, F>(
    source: &ImageSource,
    image: &ResolvedImage,
    depth: LayerDepth,
    limits: &LayerLimits,
    parallel: usize,
    progress: Option<Progress>,
    visitor: F,
) -> Result<Vec<Option<(LayerStats, V)>>, InspectError>
where
    V: LayerVisitor + Clone + Send + 'static,
    F: Fn(usize) -> V,
{
    let mut first_read: std::collections::HashMap<&Digest, usize> = Default::default();
    let mut repeats = Vec::new();
    let mut wanted = Vec::new();
    for (i, l) in image
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| depth.reads(l))
    {
        match first_read.get(&l.blob.digest) {
            Some(&first) => repeats.push((i, first)),
            None => {
                first_read.insert(&l.blob.digest, i);
                wanted.push((i, l.clone()));
            }
        }
    }
    let results: Vec<_> = futures_util::stream::iter(wanted)
        .map(|(index, layer)| {
            read_one(
                source,
                index,
                layer,
                limits.clone(),
                progress.clone(),
                visitor(index),
            )
        })
        .buffered(parallel.max(1))
        .collect()
        .await;
    let mut out: Vec<Option<(LayerStats, V)>> = vec![None; image.layers.len()];
    let mut read_total = 0u64;
    for result in results {
        let (index, stats, visitor) = result?;
        read_total = read_total.saturating_add(stats.uncompressed_bytes);
        if read_total > limits.max_image_uncompressed_bytes {
            return Err(InspectError::ImageTooLarge {
                limit: limits.max_image_uncompressed_bytes,
            });
        }
        out[index] = Some((stats, visitor));
    }
    for (i, first) in repeats {
        let Some((stats, visitor)) = out[first].clone() else {
            continue;
        };
        // The same blob under another diff_id: the config contradicts itself.
        if let Some(expected) = &image.layers[i].diff_id
            && *expected != stats.diff_id
        {
            return Err(InspectError::Layer {
                digest: image.layers[i].blob.digest.clone(),
                source: crate::layer::LayerError::DiffIdMismatch {
                    expected: expected.clone(),
                    actual: stats.diff_id,
                },
            });
        }
        out[i] = Some((stats, visitor));
    }
    Ok(out)
}

/// Stream one layer of an image through `visitor` on a blocking thread:
/// the blob's digest is checked as it streams, and its diff_id once
/// uncompressed. Returns the layer's index, what reading it measured, and
/// the visitor with what it gathered. Used by `inspect` (a visitor that
/// looks at nothing) and by the scanner (one that keeps the files its
/// catalogers ask for).
///
/// # Errors
///
/// [`InspectError::ForeignLayerAbsent`] for a foreign layer whose blob the
/// source does not hold, [`InspectError::Layer`] for a layer that is
/// corrupt, hostile or tampered with, [`InspectError::Source`] when the
/// blob cannot be opened.
pub async fn read_one<V: LayerVisitor + Send + 'static>(
    source: &ImageSource,
    index: usize,
    layer: LayerRef,
    limits: LayerLimits,
    progress: Option<Progress>,
    mut visitor: V,
) -> Result<(usize, LayerStats, V), InspectError> {
    let digest = layer.blob.digest.clone();
    let blob = match source.open_blob(&layer.blob).await {
        Ok(blob) => blob,
        Err(e) if layer.is_foreign() && e.is_not_found() => {
            return Err(InspectError::ForeignLayerAbsent {
                index,
                digest,
                media_type: layer.blob.media_type,
                urls: layer.urls,
                source: e,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let blob: Box<dyn Read + Send> = match progress {
        Some(p) => Box::new(Reporting {
            inner: blob,
            progress: p,
        }),
        None => blob,
    };
    let worker_digest = digest.clone();
    let (stats, visitor) = tokio::task::spawn_blocking(move || {
        let stats = read_layer(blob, &limits, layer.diff_id.as_ref(), &mut visitor);
        (stats, visitor)
    })
    .await
    .map_err(|e| InspectError::Worker {
        digest: worker_digest,
        message: e.to_string(),
    })?;
    let stats = stats.map_err(|source| InspectError::Layer { digest, source })?;
    Ok((index, stats, visitor))
}

/// The `created_by` line of each layer's history entry, by layer index:
/// history entries marked `empty_layer` made no layer, the rest pair up
/// with the layers in order (image-spec config.md `history`). `None` where
/// the history says nothing or is shorter than the layer list.
pub fn layer_history(image: &ResolvedImage) -> Vec<Option<String>> {
    let mut created_by = image
        .config
        .history()
        .iter()
        .flatten()
        .filter(|h| !h.empty_layer().unwrap_or(false))
        .map(|h| h.created_by().as_deref().map(mask_history_line));
    image
        .layers
        .iter()
        .map(|_| created_by.next().flatten())
        .collect()
}

/// A history line (`created_by`) with what looks like a secret masked:
/// each `NAME=VALUE` word (a build argument kept by `RUN |1 NAME=…`, an
/// `ENV NAME=…`) whose name or value [`looks_secret`] has its value
/// replaced by `****`, and so has any word that starts like a token
/// (`ghp_…`, `AKIA…`). Words are split on single spaces, so the rest of
/// the line is kept as written.
pub fn mask_history_line(line: &str) -> String {
    line.split(' ')
        .map(|word| {
            let quotes = |c| c == '"' || c == '\'';
            match word.split_once('=') {
                Some((name, value)) => {
                    let inner = value.trim_matches(quotes);
                    if !inner.is_empty() && looks_secret(name.trim_start_matches(quotes), inner) {
                        format!("{name}={}", value.replacen(inner, "****", 1))
                    } else {
                        word.to_owned()
                    }
                }
                None => {
                    let inner = word.trim_matches(quotes);
                    if !inner.is_empty() && looks_secret("", inner) {
                        word.replacen(inner, "****", 1)
                    } else {
                        word.to_owned()
                    }
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn describe_layers(image: &ResolvedImage) -> Vec<LayerInfo> {
    let mut created_by = layer_history(image).into_iter();
    image
        .layers
        .iter()
        .enumerate()
        .map(|(index, l)| LayerInfo {
            index,
            digest: l.blob.digest.clone(),
            media_type: l.blob.media_type.clone(),
            compressed_size: l.blob.size,
            read: false,
            foreign: l.is_foreign(),
            urls: l.urls.clone(),
            compression: None,
            uncompressed_size: None,
            diff_id: l.diff_id.clone(),
            entries: None,
            created_by: created_by.next().flatten(),
            warnings: Vec::new(),
            warnings_not_shown: 0,
        })
        .collect()
}

fn config_info(image: &ResolvedImage) -> ConfigInfo {
    let c = image.config.config().clone().unwrap_or_default();
    let env = c
        .env()
        .iter()
        .flatten()
        .map(|e| {
            let (name, value) = e.split_once('=').unwrap_or((e, ""));
            let masked = looks_secret(name, value);
            EnvVar {
                name: name.to_owned(),
                value: if masked {
                    "****".into()
                } else {
                    value.to_owned()
                },
                masked,
            }
        })
        .collect();
    ConfigInfo {
        digest: image.config_blob.digest.clone(),
        created: image.config.created().clone(),
        author: image.config.author().clone(),
        user: c.user().clone().filter(|u| !u.is_empty()),
        entrypoint: c.entrypoint().clone().unwrap_or_default(),
        cmd: c.cmd().clone().unwrap_or_default(),
        working_dir: c.working_dir().clone().filter(|w| !w.is_empty()),
        env,
        exposed_ports: c.exposed_ports().clone().unwrap_or_default(),
        labels: c.labels().clone().unwrap_or_default().into_iter().collect(),
    }
}

/// Whether an environment variable probably holds a secret, by its name or
/// by the shape of its value.
pub fn looks_secret(name: &str, value: &str) -> bool {
    const NAME_HINTS: &[&str] = &[
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "PRIVATE",
        "CREDENTIAL",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "AUTH",
        "CERT_KEY",
        "SESSION",
    ];
    const VALUE_PREFIXES: &[&str] = &[
        "AKIA",
        "ASIA",
        "ghp_",
        "gho_",
        "ghs_",
        "ghu_",
        "github_pat_",
        "glpat-",
        "xoxb-",
        "xoxp-",
        "sk_live_",
        "sk-",
        "-----BEGIN",
    ];
    if value.is_empty() {
        return false;
    }
    let upper = name.to_ascii_uppercase();
    if NAME_HINTS.iter().any(|h| upper.contains(h)) || upper.ends_with("_KEY") || upper == "KEY" {
        return true;
    }
    if VALUE_PREFIXES.iter().any(|p| value.starts_with(p)) {
        return true;
    }
    // URLs with a password: scheme://user:pass@host
    if let Some((_, rest)) = value.split_once("://")
        && rest
            .split('/')
            .next()
            .is_some_and(|auth| auth.contains(':') && auth.contains('@'))
    {
        return true;
    }
    false
}

fn describe_warning(w: &LayerWarning) -> String {
    // Paths come from the layer: each is quoted and escaped ({:?}), so a
    // warning is one line of plain text in the table and in JSON alike.
    let quoted = |p: &crate::layer::ImagePath| format!("{:?}", p.to_string());
    match w {
        LayerWarning::PathEscaped { raw, clamped } => {
            format!(
                "path {raw:?} climbs above the root; read as {}",
                quoted(clamped)
            )
        }
        LayerWarning::LinkEscapes { path, target } => format!(
            "link {} -> {target:?} points above the root; resolved inside the image",
            quoted(path)
        ),
        LayerWarning::SpecialFileIgnored { path } => {
            format!("device or FIFO {} ignored", quoted(path))
        }
        LayerWarning::NotCaptured { path, size } => {
            format!("{} ({size} bytes) too large to examine", quoted(path))
        }
    }
}

/// A visitor that looks at nothing: the reader still counts and verifies.
#[derive(Debug, Clone, Copy)]
struct Count;

impl LayerVisitor for Count {
    fn entry(&mut self, _entry: LayerEntry, _content: Option<Vec<u8>>) {}
}

struct Reporting {
    inner: Box<dyn Read + Send>,
    progress: Progress,
}

impl Read for Reporting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::mask_history_line;

    /// Build arguments and ENV values kept in history are masked wherever
    /// a layer's `created_by` is printed (scan, sbom and inspect JSON,
    /// CycloneDX); the rest of the line stays as written.
    #[test]
    fn secrets_in_history_lines_are_masked() {
        let token = ["ghp", "_", &"a1B2".repeat(9)].concat();
        let line = format!("RUN |2 NPM_TOKEN={token} VERSION=1.2 /bin/sh -c make");
        assert_eq!(
            mask_history_line(&line),
            "RUN |2 NPM_TOKEN=**** VERSION=1.2 /bin/sh -c make"
        );
        let classic = format!("/bin/sh -c #(nop)  ENV SECRET_KEY=\"{token}\"");
        assert_eq!(
            mask_history_line(&classic),
            "/bin/sh -c #(nop)  ENV SECRET_KEY=\"****\""
        );
        let bare = format!("RUN curl -H {token} https://example.com");
        assert_eq!(
            mask_history_line(&bare),
            "RUN curl -H **** https://example.com"
        );
        let plain = "RUN apt-get install -y curl  && rm -rf /var/lib/apt/lists/*";
        assert_eq!(mask_history_line(plain), plain);
    }

    use super::looks_secret;

    /// Warnings are one line of escaped text: a layer's paths are quoted
    /// with Rust's escapes, in the table and in JSON (break-it run, 7).
    #[test]
    fn layer_warnings_quote_and_escape_the_layers_paths() {
        use crate::layer::{ImagePath, LayerWarning};
        let hostile = "../../etc/evil\u{1b}[31m\r\n";
        let (clamped, _) = ImagePath::normalise(hostile);
        let shown = super::describe_warning(&LayerWarning::PathEscaped {
            raw: hostile.to_owned(),
            clamped,
        });
        assert_eq!(
            shown,
            r#"path "../../etc/evil\u{1b}[31m\r\n" climbs above the root; read as "/etc/evil\u{1b}[31m\r\n""#
        );
        let (path, _) = ImagePath::normalise("dev/\u{7}null");
        let shown = super::describe_warning(&LayerWarning::SpecialFileIgnored { path });
        assert_eq!(shown, r#"device or FIFO "/dev/\u{7}null" ignored"#);
    }

    #[test]
    fn masks_secret_names_and_values_but_not_ordinary_ones() {
        for (n, v) in [
            ("API_TOKEN", "x"),
            ("DB_PASSWORD", "hunter2"),
            ("AWS_SECRET_ACCESS_KEY", "abc"),
            ("SIGNING_KEY", "abc"),
            ("HELPER", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            ("DATABASE_URL", "postgres://app:pw@db:5432/app"),
        ] {
            assert!(looks_secret(n, v), "{n}={v}");
        }
        for (n, v) in [
            ("PATH", "/usr/bin:/bin"),
            ("LANG", "C.UTF-8"),
            ("HOME", "/root"),
            ("API_TOKEN", ""),
            ("KEYBOARD", "us"),
            ("URL", "https://example.com/x"),
        ] {
            assert!(!looks_secret(n, v), "{n}={v}");
        }
    }
}

#[cfg(test)]
mod kept_at_tests {
    #[test]
    fn urls_are_listed_up_to_three_then_counted() {
        let urls: Vec<String> = (0..1002).map(|i| format!("https://u/{i}")).collect();
        assert_eq!(super::kept_at(&[]), "whose manifest gives no URL for it");
        assert_eq!(super::kept_at(&urls[..1]), "kept at https://u/0");
        assert_eq!(
            super::kept_at(&urls),
            "kept at https://u/0, https://u/1, https://u/2 and 999 more URLs"
        );
    }
}
