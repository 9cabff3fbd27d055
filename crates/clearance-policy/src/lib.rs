//! Policy: evidence in, allow or deny with reasons out, the one decision
//! function every enforcement point calls. Nothing is here yet; the crate
//! exists so the workspace boundaries are in place.
#![forbid(unsafe_code)]
