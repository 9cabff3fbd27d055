//! OSV (<https://ossf.github.io/osv-schema/>) records, as far as matching
//! needs them.

pub mod range;
pub mod record;
