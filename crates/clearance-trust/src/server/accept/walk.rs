//! The delegation walk of a publish (check 2 of [`super::accept`]): which
//! delegated roles were uploaded, who delegates each, and which stored roles
//! must be verified again because their delegator's grant changed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{Refused, parse};
use crate::gun::Gun;
use crate::keys::Key;
use crate::schema::{Delegations, RoleName, Targets, Version};
use crate::server::error::ServiceError;
use crate::server::store::Store;

/// Most delegated roles one publish may walk through.
pub(super) const MAX_ROLES_VISITED: usize = 70_000;

/// What the delegation walk found.
#[derive(Debug, Default)]
pub(super) struct Walk {
    /// Uploaded delegated roles: name, bytes, version.
    pub(super) uploaded: Vec<(RoleName, Vec<u8>, Version)>,
    /// Roles the final check must verify, delegators first: (role, delegator, bytes).
    pub(super) to_verify: Vec<(RoleName, RoleName, Vec<u8>)>,
}

/// Walk delegations from targets, breadth first, taking each uploaded role
/// from `uploads` (so what remains there was delegated by nobody). Stored
/// roles are read only on the way to an uploaded one, or when their
/// delegator now gives them different keys.
pub(super) async fn walk_delegations(
    store: &Store,
    gun: &Gun,
    targets: &Targets,
    old_targets: Option<&Targets>,
    targets_uploaded: bool,
    uploads: &mut BTreeMap<RoleName, Vec<u8>>,
) -> Result<Walk, ServiceError> {
    let mut walk = Walk::default();
    let mut queue: VecDeque<(RoleName, Targets, Option<Targets>, bool)> = VecDeque::new();
    queue.push_back((
        RoleName::TARGETS,
        targets.clone(),
        old_targets.cloned(),
        targets_uploaded,
    ));
    let mut visited = BTreeSet::from([RoleName::TARGETS]);
    while let Some((name, role, old_role, changed)) = queue.pop_front() {
        let Some(delegations) = &role.delegations else {
            continue;
        };
        let old_delegations = old_role.as_ref().and_then(|r| r.delegations.as_ref());
        if changed {
            require_every_regranted_bin(&name, delegations, old_delegations, uploads)?;
        }
        for child in children(delegations, uploads) {
            if !visited.insert(child.clone()) {
                continue;
            }
            if visited.len() > MAX_ROLES_VISITED {
                return Err(Refused::TooManyRoles {
                    limit: MAX_ROLES_VISITED,
                }
                .into());
            }
            let regrant = changed
                && grant(delegations, &child) != old_delegations.and_then(|d| grant(d, &child));
            let (bytes, uploaded) = match uploads.remove(&child) {
                Some(b) => (b, true),
                None if regrant || !uploads.is_empty() => match store.latest(gun, &child).await? {
                    Some(b) => (b, false),
                    None => continue,
                },
                None => continue,
            };
            let parsed = parse::<Targets>(&bytes, &child)?;
            // The stored copy only matters to compare what the role grants
            // its own children: none for a bin, so no read per uploaded bin.
            let old_child = match (uploaded, &parsed.delegations) {
                (_, None) => None,
                (true, Some(_)) => match store.latest(gun, &child).await? {
                    Some(b) => Some(parse::<Targets>(&b, &child)?),
                    None => None,
                },
                (false, Some(_)) => Some(parsed.clone()),
            };
            if uploaded {
                walk.uploaded
                    .push((child.clone(), bytes.clone(), parsed.common.version));
            }
            walk.to_verify.push((child.clone(), name.clone(), bytes));
            queue.push_back((child, parsed, old_child, uploaded));
        }
    }
    Ok(walk)
}

/// The roles a delegator names that the walk may need: every named role,
/// and those hash bins that were uploaded (a delegator of 2^16 bins is not
/// walked bin by bin).
fn children(delegations: &Delegations, uploads: &BTreeMap<RoleName, Vec<u8>>) -> Vec<RoleName> {
    if let Some(s) = &delegations.succinct_roles {
        return uploads.keys().filter(|n| s.is_bin(n)).cloned().collect();
    }
    delegations
        .roles
        .iter()
        .flatten()
        .map(|r| r.name.clone())
        .collect()
}

/// TAP 15 bins are walked only where uploaded, so stored bins are never
/// checked against a new grant: when a delegator changes what its succinct
/// delegation grants (keys and their values, threshold, bit length, name
/// prefix), every bin must come with it (B-11), or the stored ones would no
/// longer verify and every tag in them would be lost to clients.
fn require_every_regranted_bin(
    delegator: &RoleName,
    delegations: &Delegations,
    old: Option<&Delegations>,
    uploads: &BTreeMap<RoleName, Vec<u8>>,
) -> Result<(), Refused> {
    let Some(succinct) = &delegations.succinct_roles else {
        return Ok(());
    };
    if old.and_then(succinct_grant) == succinct_grant(delegations) {
        return Ok(());
    }
    // 1..=32 bits (validated); more bins than a publish may hold cannot all come.
    let count = 1u64 << succinct.bit_length;
    if count > MAX_ROLES_VISITED as u64 {
        return Err(Refused::TooManyRoles {
            limit: MAX_ROLES_VISITED,
        });
    }
    match (0..count)
        .map(|bin| succinct.bin_name(bin))
        .find(|bin| !uploads.contains_key(bin))
    {
        Some(bin) => Err(Refused::MissingBin {
            delegator: delegator.clone(),
            bin,
        }),
        None => Ok(()),
    }
}

/// What a succinct delegation grants its bins: keys with their public
/// values, threshold, bit length and name prefix.
type SuccinctGrant<'a> = (Vec<(&'a String, Option<&'a Key>)>, u64, u32, &'a str);

fn succinct_grant(d: &Delegations) -> Option<SuccinctGrant<'_>> {
    let s = d.succinct_roles.as_ref()?;
    let keys = s.keyids.iter().map(|id| (id, d.keys.get(id))).collect();
    Some((keys, s.threshold, s.bit_length, s.name_prefix.as_str()))
}

/// The keys (with their public values) and threshold a delegator gives a role.
fn grant(
    delegations: &Delegations,
    role: &RoleName,
) -> Option<(BTreeMap<String, Option<crate::keys::Key>>, u64)> {
    let m = delegations.role(role)?;
    let keys = m
        .keyids
        .iter()
        .map(|id| (id.clone(), delegations.keys.get(id).cloned()))
        .collect();
    Some((keys, m.threshold))
}
