//! The private registry: OCI distribution API, blob and metadata stores,
//! auth and garbage collection. Nothing is here yet; the crate exists so the
//! workspace boundaries are in place.
#![forbid(unsafe_code)]
