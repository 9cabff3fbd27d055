//! Check 2: targets and the roles it delegates to.

use std::collections::BTreeMap;

use super::walk::{Walk, walk_delegations};
use super::{AcceptedRoot, Check, Refused, parse};
use crate::metadata::Signed;
use crate::schema::{RoleName, Targets, TopRole};
use crate::server::error::ServiceError;

/// Targets as the publish leaves it, and the delegated roles it brought.
pub(super) struct AcceptedTargets {
    /// Top-level targets' document, uploaded or as stored.
    pub(super) bytes: Vec<u8>,
    /// Its content.
    pub(super) targets: Targets,
    /// Whether it was uploaded (a new version).
    pub(super) uploaded: bool,
    /// The delegated roles uploaded, and those to verify again.
    pub(super) walk: Walk,
}

impl Check<'_> {
    /// TUF 5.6.3 and 5.6.4 from the repository's side: an uploaded targets
    /// is signed by a threshold of root's targets keys and is newer than
    /// any version clients may hold; then the delegation walk (5.6.7):
    /// every uploaded delegated role is delegated by the role that will
    /// verify it and is newer; a stored role whose delegator now grants
    /// other keys is verified again; a hash-bin grant that changes brings
    /// every bin (B-11). What no role delegates is refused.
    pub(super) async fn targets(
        &mut self,
        root: &AcceptedRoot,
        uploaded: Option<Vec<u8>>,
        uploads: &mut BTreeMap<RoleName, Vec<u8>>,
    ) -> Result<AcceptedTargets, ServiceError> {
        let invalid =
            |e: crate::metadata::MetadataError| Refused::invalid(&RoleName::TARGETS)(e.into());
        let stored = self.store.latest(self.gun, &RoleName::TARGETS).await?;
        let bytes = match (&uploaded, &stored) {
            (Some(b), _) | (None, Some(b)) => b.clone(),
            (None, None) => {
                return Err(Refused::FirstPublish {
                    role: TopRole::Targets,
                }
                .into());
            }
        };
        let targets = Signed::<Targets>::parse_tuf1(&bytes, &RoleName::TARGETS).map_err(invalid)?;
        if uploaded.is_some() {
            self.floors
                .check_newer(&RoleName::TARGETS, targets.version())?;
            // Signed by root's targets keys? Said now, before anything else is missing.
            let keys = root
                .root
                .roles
                .get(&TopRole::Targets)
                .ok_or(Refused::RootLacksKeys {
                    role: TopRole::Targets,
                })?;
            targets
                .verify(
                    &root.root.keys,
                    &keys.keyids,
                    keys.threshold,
                    &RoleName::TARGETS,
                )
                .map_err(invalid)?;
            self.store_file(&RoleName::TARGETS, targets.version(), &bytes);
        }
        let targets = targets.signed;
        let old_targets = match &stored {
            Some(b) => Some(parse::<Targets>(b, &RoleName::TARGETS)?),
            None => None,
        };
        let walk = walk_delegations(
            self.store,
            self.gun,
            &targets,
            old_targets.as_ref(),
            uploaded.is_some(),
            uploads,
        )
        .await?;
        if let Some(extra) = uploads.keys().next() {
            return Err(Refused::NotDelegated {
                role: extra.clone(),
            }
            .into());
        }
        for (role, bytes, version) in &walk.uploaded {
            self.floors.check_newer(role, *version)?;
            self.store_file(role, *version, bytes);
        }
        Ok(AcceptedTargets {
            bytes,
            targets,
            uploaded: uploaded.is_some(),
            walk,
        })
    }
}
