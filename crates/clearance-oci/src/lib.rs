//! The OCI image model Clearance's other crates stand on: validated digests
//! and references, manifests and configs read under size limits, image
//! sources (OCI layout, `oci-archive`, `docker-archive`, registries) whose
//! blobs are verified while they stream, and a layer reader that walks each
//! layer once without writing anything to the host.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use clearance_oci::{ImageRef, ImageSource, Platform, SourceSettings};
//! use clearance_oci::layer::{read_layer, Collect, LayerLimits};
//!
//! let reference: ImageRef = "oci:./layout:v1".parse()?;
//! let source = ImageSource::open(&reference, &SourceSettings::default()).await?;
//! let image = source.resolve(&Platform::default()).await?;
//! for layer in &image.layers {
//!     let blob = source.open_blob(&layer.blob).await?;
//!     let diff_id = layer.diff_id.clone();
//!     let (stats, files) = tokio::task::spawn_blocking(move || {
//!         let mut want = Collect::new(|p| p.as_str() == "etc/os-release");
//!         let stats = read_layer(blob, &LayerLimits::default(), diff_id.as_ref(), &mut want);
//!         (stats, want.files)
//!     })
//!     .await?;
//!     println!("{} {:?} {}", layer.blob.digest, stats?.compression, files.len());
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod artifact;
pub mod digest;
pub mod inspect;
pub mod layer;
pub mod manifest;
pub mod media_type;
pub mod platform;
pub mod reference;
pub mod registry;
pub mod source;
pub mod text;
pub mod time;
pub mod verify;

pub use digest::Digest;
pub use platform::Platform;
pub use reference::{ImageRef, RegistryRef};
pub use source::{ImageSource, LayerRef, ResolvedImage, SourceError, SourceSettings};

/// Re-exported so callers share one version of the OCI types.
pub use oci_spec;
