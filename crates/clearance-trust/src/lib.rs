//! Content trust on The Update Framework (TUF 1.0): metadata with unknown
//! fields preserved, OLPC canonical JSON, ed25519 / ECDSA / RSA-PSS keys,
//! threshold verification, and the client updater of the specification's
//! detailed workflow (root rotation, rollback and freeze protection,
//! consistent snapshots, delegation search, verified target download); the
//! publisher's editor ([`publish::RepositoryEditor`]) and where its
//! repository lives ([`repository`]: a trust service or a directory); and,
//! with the `server` feature, the trust service itself. Security identities
//! are checked types: [`Gun`] (a repository), [`RoleName`] and [`TopRole`],
//! [`schema::TargetName`], [`schema::Version`], [`client::ServerAddress`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use clearance_trust::client::{DirStore, HttpTransport, Updater, UpdaterSettings};
//!
//! let store = DirStore::new("/var/lib/clearance/tuf/app")?; // holds a trusted root.json
//! let transport = HttpTransport::new(std::time::Duration::from_secs(30), None)?;
//! let mut updater = Updater::new(store, transport, "https://trust.example.com/app/", UpdaterSettings::default())?;
//! updater.refresh().await?;
//! if let Some(target) = updater.target_info("v1.4").await? {
//!     println!("v1.4 is {} bytes, sha256 {:?}", target.length, target.hashes.get("sha256"));
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cjson;
pub mod client;
pub mod editor;
pub mod files;
pub mod gun;
pub mod image;
pub mod key_id;
pub mod keys;
pub mod keystore;
pub mod metadata;
pub mod notary;
pub mod pkcs11;
pub mod publish;
pub mod repository;
pub mod schema;
#[cfg(feature = "server")]
pub mod server;
pub mod signer;
pub mod test_hooks;
pub mod time;

pub use gun::{Gun, GunError};
pub use schema::{RoleName, TopRole};
