//! Snapshot and timestamp, the "online" roles: signed by the publisher
//! when it holds their keys, else by the trust service that does.

use crate::publish::{RoleSigners, ServerSigned};
use crate::schema::{Root, TopRole};
use crate::signer::{LocalSigner, Signer};

impl ServerSigned {
    /// Which of snapshot and timestamp the store signs for a publisher:
    /// those whose keys (as `root` names them) the publisher does not hold
    /// (`holds` says, by key id), when the store signs at all
    /// (`store_signs`: a trust service; a directory never does).
    pub fn for_publisher(
        root: &Root,
        store_signs: bool,
        holds: impl Fn(&str) -> bool,
    ) -> ServerSigned {
        if !store_signs {
            return ServerSigned::Neither;
        }
        let held = |role: TopRole| {
            root.roles
                .get(&role)
                .is_some_and(|r| r.keyids.iter().any(|k| holds(k)))
        };
        match (held(TopRole::Snapshot), held(TopRole::Timestamp)) {
            (_, true) => ServerSigned::Neither,
            (true, false) => ServerSigned::Timestamp,
            (false, false) => ServerSigned::SnapshotAndTimestamp,
        }
    }

    /// Whether the store signs `role` (always a top-level role).
    pub fn signs(self, role: TopRole) -> bool {
        matches!(
            (role, self),
            (
                TopRole::Timestamp,
                ServerSigned::Timestamp | ServerSigned::SnapshotAndTimestamp
            ) | (TopRole::Snapshot, ServerSigned::SnapshotAndTimestamp)
        )
    }
}

/// The snapshot and timestamp keys the publisher holds; the store signs
/// the others.
pub struct OnlineKeys {
    /// The snapshot key, unless the store signs snapshot.
    pub snapshot: Option<LocalSigner>,
    /// The timestamp key, unless the store signs timestamp.
    pub timestamp: Option<LocalSigner>,
    /// What the store signs.
    pub server: ServerSigned,
}

impl std::fmt::Debug for OnlineKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnlineKeys")
            .field("snapshot", &self.snapshot.as_ref().map(Signer::key_id))
            .field("timestamp", &self.timestamp.as_ref().map(Signer::key_id))
            .field("server", &self.server)
            .finish()
    }
}

impl OnlineKeys {
    /// The keys of the roles the store does not sign (`server`), each got
    /// from `unseal` (which may ask for a passphrase), snapshot first.
    pub fn load<E>(
        server: ServerSigned,
        mut unseal: impl FnMut(TopRole) -> Result<LocalSigner, E>,
    ) -> Result<OnlineKeys, E> {
        let mut key = |role: TopRole| match server.signs(role) {
            true => Ok(None),
            false => unseal(role).map(Some),
        };
        Ok(OnlineKeys {
            snapshot: key(TopRole::Snapshot)?,
            timestamp: key(TopRole::Timestamp)?,
            server,
        })
    }

    /// Signers for a publish: these keys for snapshot and timestamp (the
    /// store signing the others), `targets` for targets.
    pub fn signers<'a>(&'a self, targets: Vec<&'a dyn Signer>) -> RoleSigners<'a> {
        RoleSigners {
            targets,
            snapshot: self.snapshot.iter().map(|s| s as &dyn Signer).collect(),
            timestamp: self.timestamp.iter().map(|s| s as &dyn Signer).collect(),
            server: self.server,
            ..Default::default()
        }
    }
}
