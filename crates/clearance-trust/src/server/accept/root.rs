//! Check 1: root.

use super::{Check, Refused, parse};
use crate::client::TrustedSet;
use crate::schema::{RoleName, Root, TopRole};
use crate::server::error::ServiceError;

/// Root as the publish leaves it: uploaded and checked, or as stored.
pub(super) struct AcceptedRoot {
    /// The document.
    pub(super) bytes: Vec<u8>,
    /// Its content.
    pub(super) root: Root,
}

impl Check<'_> {
    /// TUF 5.3.4: "Version N+1 of the root metadata file MUST have been
    /// signed by: (1) a threshold of keys specified in the trusted root
    /// metadata file (version N), and (2) a threshold of keys specified in
    /// the new root metadata file being validated (version N+1)"; 5.3.5:
    /// its version is exactly N+1. A new repository's root is signed by
    /// itself. A root that names a repository names this one, and a chain
    /// that named it keeps naming it (review B-7).
    pub(super) async fn root(
        &mut self,
        uploaded: Option<Vec<u8>>,
    ) -> Result<AcceptedRoot, ServiceError> {
        let invalid = Refused::invalid(&RoleName::ROOT);
        let stored = self.store.latest(self.gun, &RoleName::ROOT).await?;
        let bytes = match (&uploaded, stored) {
            (Some(new), Some(old)) => {
                TrustedSet::new(&old, self.now)
                    .and_then(|mut set| {
                        set.bind_repository(self.gun)?;
                        set.update_root(new)
                    })
                    .map_err(invalid)?;
                new.clone()
            }
            (Some(new), None) => {
                TrustedSet::new(new, self.now)
                    .and_then(|mut set| set.bind_repository(self.gun))
                    .map_err(invalid)?;
                new.clone()
            }
            (None, Some(old)) => old,
            (None, None) => {
                return Err(Refused::FirstPublish {
                    role: TopRole::Root,
                }
                .into());
            }
        };
        let root = parse::<Root>(&bytes, &RoleName::ROOT)?;
        if uploaded.is_some() {
            self.store_file(&RoleName::ROOT, root.common.version, &bytes);
        }
        Ok(AcceptedRoot { bytes, root })
    }
}
