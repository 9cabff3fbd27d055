//! Scanning (issue 3 onwards): catalogers that turn the files the layer
//! reader hands them into packages, an advisory database, a matcher, secrets
//! and configuration checks, and report renderers. Nothing is here yet; the
//! crate exists so the workspace boundaries are in place.
#![forbid(unsafe_code)]

pub mod osv;
pub mod version;
