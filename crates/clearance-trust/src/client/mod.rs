//! The TUF client (specification §5, "detailed client workflow"): update
//! root through its rotation chain, then timestamp, snapshot and targets,
//! search delegations for a target, and download it with its length and
//! hashes checked. Only verified metadata reaches the store, written
//! atomically, bytes exactly as received.

//!
//! The pieces: the rules, pure ([`TrustedSet`], trusted.rs); the workflow
//! that fetches and stores ([`Updater`], updater.rs) and searches targets
//! (search.rs); its errors (error.rs); the trust server's address, the
//! metadata directory and the transports.

mod address;
mod error;
mod search;
mod store;
mod transport;
mod trusted;
mod updater;

pub use address::{AddressError, ServerAddress};
pub use error::{OutOfOrder, UpdateError};
pub use search::FoundTarget;
pub use store::{DirStore, StagedStore, quote, unquote, write_atomic, write_private};
pub use transport::{FetchError, HttpTransport, PublishOutcome, TlsProblem, Transport};
pub use trusted::{TrustedSet, check_hashes, check_length_and_hashes};
pub use updater::{Updater, root_descends};

use crate::time::SharedClock;

/// Bounds on what a repository can make the client do.
#[derive(Debug, Clone)]
pub struct UpdaterSettings {
    /// Most root versions walked in one update (TUF 5.3.3: a cap on the
    /// root chain; 256).
    pub max_root_rotations: u64,
    /// Most delegated roles visited searching one target (5.6.7; 32).
    pub max_delegations: usize,
    /// Most bytes of one root (512,000).
    pub root_max_bytes: u64,
    /// Most bytes of timestamp (16,384).
    pub timestamp_max_bytes: u64,
    /// Most bytes of snapshot, when timestamp lists no length (2,000,000).
    pub snapshot_max_bytes: u64,
    /// Most bytes of a targets role, when snapshot lists no length
    /// (5,000,000).
    pub targets_max_bytes: u64,
    /// Whether expired metadata is refused (always, for consumers).
    pub expiration: Expiration,
    /// Where the reference time of each update (TUF 5.1) comes from: the
    /// system's clock (in test builds, `CLEARANCE_TEST_NOW` when set; see
    /// [`crate::test_hooks`]).
    pub clock: SharedClock,
}

/// Whether the client refuses expired metadata (TUF 5.3.10, 5.4.4, 5.5.6,
/// 5.6.6: a freeze attack). A publisher that loads its repository to
/// re-sign what expired must read it anyway, as tough's editor does
/// (`ExpirationEnforcement::Unsafe`); every other check still holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Expiration {
    /// Expired metadata is refused: what every consumer does.
    #[default]
    Enforced,
    /// For publishers only: expired metadata is loaded, so that it can be
    /// signed again.
    NotEnforcedToRepublish,
}

impl Default for UpdaterSettings {
    fn default() -> Self {
        UpdaterSettings {
            max_root_rotations: 256,
            max_delegations: 32,
            root_max_bytes: 512_000,
            timestamp_max_bytes: 16_384,
            snapshot_max_bytes: 2_000_000,
            targets_max_bytes: 5_000_000,
            expiration: Expiration::Enforced,
            clock: crate::test_hooks::clock_or_system(),
        }
    }
}
