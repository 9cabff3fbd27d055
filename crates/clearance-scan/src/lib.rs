//! Scanning: what an image holds, layer by layer, and (to come) what is
//! known to be wrong with it.
//!
//! - [`os`]: which distribution an image is (`/etc/os-release` and friends);
//! - [`catalog`]: catalogers that turn package databases into
//!   [`Package`]s (dpkg, apk, rpm, Python, npm, Cargo.lock, gemspecs,
//!   Composer, .NET deps.json);
//! - [`inventory`]: the files catalogers ask for, captured from each layer
//!   as it streams ([`inventory::LayerCapture`], a layer visitor), then
//!   replayed in layer order with whiteouts honoured, so each package
//!   names the layer that brought it in and a package a later layer
//!   removed is not in the image;
//! - [`version`]: each ecosystem's own version order (dpkg, rpm, apk,
//!   PEP 440, semver, Go, Maven, RubyGems, NuGet, Composer);
//! - [`osv`]: OSV records, and their ranges evaluated against a version;
//! - [`advisory`]: every feed (OSV, Debian tracker, Alpine secdb, KEV,
//!   EPSS) read into one shape; [`db`]: the SQLite advisory database
//!   built from them; [`db_artifact`]: that database as an OCI artifact;
//! - [`matcher`]: packages × advisories → [`matcher::Report`], a pure
//!   function; [`vex`]: OpenVEX and CycloneDX VEX statements that
//!   suppress findings;
//! - [`report`]: CycloneDX 1.6, SPDX 2.3 and SARIF 2.1.0 documents.
//!
//! Everything here is a pure function over bytes the layer reader hands
//! over: nothing is extracted, every parser is bounded by the capture
//! limit and refuses or warns, never panics.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod advisory;
pub mod catalog;
pub mod config;
pub mod db;
pub mod db_artifact;
pub mod inventory;
pub mod layer_scan;
pub mod layer_store;
pub mod matcher;
pub mod os;
pub mod osv;
pub mod report;
pub mod sbom_input;
pub mod secrets;
pub mod version;
pub mod vex;

pub use catalog::{Package, PackageType};
pub use inventory::{Inventory, LayerCapture};
pub use os::Distro;
