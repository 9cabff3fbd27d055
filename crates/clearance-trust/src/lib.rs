//! Content trust on TUF (issue [2]): metadata schema, canonical JSON, keys,
//! the client updater, the repository editor and the trust service. Nothing
//! is here yet; the crate exists so the workspace boundaries are in place.
#![forbid(unsafe_code)]
