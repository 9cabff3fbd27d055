//! Unix time and its RFC 3339 form: clearance-oci's, under the name the
//! auth modules use.

pub use clearance_oci::time::{now_unix, rfc3339};
