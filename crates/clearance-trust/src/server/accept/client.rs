//! Check 4: everything as a client will see it.

use super::{AcceptedRoot, AcceptedTargets, Check, Refused};
use crate::client::TrustedSet;
use crate::schema::RoleName;

impl Check<'_> {
    /// The whole result through the client's own rules (TUF 5.3–5.6, the
    /// same [`TrustedSet`] a consumer runs), starting from the root the
    /// publish leaves, as a consumer that held the previous snapshot: so
    /// what the service stores is exactly what clients will accept.
    pub(super) fn as_a_client_sees_it(
        &self,
        root: &AcceptedRoot,
        targets: &AcceptedTargets,
        snapshot: &[u8],
        timestamp: &[u8],
    ) -> Result<(), Refused> {
        let mut set =
            TrustedSet::new(&root.bytes, self.now).map_err(Refused::invalid(&RoleName::ROOT))?;
        set.bind_repository(self.gun)
            .map_err(Refused::invalid(&RoleName::ROOT))?;
        // The previous snapshot, as a client that trusted it holds it: the
        // new one may neither drop nor lower a role it lists (5.5.5).
        if let Some(old) = &self.old_snapshot {
            set.remember_snapshot(old);
        }
        set.update_timestamp(timestamp)
            .map_err(Refused::invalid(&RoleName::TIMESTAMP))?;
        set.update_snapshot(snapshot, false)
            .map_err(Refused::invalid(&RoleName::SNAPSHOT))?;
        set.update_targets(&targets.bytes, &RoleName::TARGETS, &RoleName::ROOT)
            .map_err(Refused::invalid(&RoleName::TARGETS))?;
        for (role, delegator, bytes) in &targets.walk.to_verify {
            set.update_targets(bytes, role, delegator)
                .map_err(Refused::invalid(role))?;
        }
        Ok(())
    }
}
