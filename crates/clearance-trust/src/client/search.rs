//! Finding a target (TUF 5.6.7: pre-order depth-first through the
//! delegations; in Notary repositories Docker's rule), and downloading it
//! with its length and hashes checked.

use std::collections::BTreeSet;

use super::updater::with_slash;
use super::{Transport, UpdateError, Updater, check_hashes, store};
use crate::notary::{self, Dialect};
use crate::schema::{RoleName, TargetFile, TargetName, TopRole};
use crate::time::UtcTime;

/// Whether a search stops at the first role that lists the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    /// TUF's answer: the first.
    First,
    /// Every role that lists it.
    All,
}

/// A target found by the delegation search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundTarget {
    /// Its length, hashes and custom data, as signed.
    pub target: TargetFile,
    /// The role whose metadata lists it.
    pub role: RoleName,
    /// The role that delegated to it ([`RoleName::ROOT`] for targets).
    pub delegator: RoleName,
    /// When that role's signature expires.
    pub expires: UtcTime,
}

impl<T: Transport> Updater<T> {
    /// Search the delegation graph for `target` (§5.6.7, pre-order depth-first).
    pub async fn target_info(&mut self, target: &str) -> Result<Option<TargetFile>, UpdateError> {
        Ok(self.find_target(target).await?.map(|found| found.target))
    }

    /// As [`Updater::target_info`], also naming the role that signed it and
    /// the delegator that vouched for that role. In a Notary repository,
    /// only `targets/releases`, then targets, as Docker Content Trust does.
    pub async fn find_target(&mut self, target: &str) -> Result<Option<FoundTarget>, UpdateError> {
        if !self.refreshed {
            self.refresh().await?;
        }
        if self.trusted.dialect() == Dialect::Notary {
            return self.find_as_docker(target).await;
        }
        Ok(self.search(target, Search::First).await?.into_iter().next())
    }

    /// Every role that lists `target`, in search order (§5.6.7, pre-order
    /// depth-first), each with what it signs: where [`Updater::find_target`]
    /// stops at the first, this goes on, so a policy can ask which roles
    /// sign the digest being admitted (production: `targets/releases`;
    /// staging: `targets/ci` too). A terminating delegation still ends the
    /// search of its siblings, as it ends the search for the target: roles
    /// after it are not trusted for its paths. In a Notary repository every
    /// delegation is searched, not only Docker's `targets/releases`.
    pub async fn find_signers(&mut self, target: &str) -> Result<Vec<FoundTarget>, UpdateError> {
        if !self.refreshed {
            self.refresh().await?;
        }
        self.search(target, Search::All).await
    }

    async fn search(&mut self, target: &str, how: Search) -> Result<Vec<FoundTarget>, UpdateError> {
        let mut found_all = Vec::new();
        let mut to_visit = vec![(RoleName::TARGETS, RoleName::ROOT)];
        let mut visited: BTreeSet<(RoleName, RoleName)> = BTreeSet::new();
        while let Some((role, delegator)) = to_visit.pop() {
            if visited.len() > self.settings.max_delegations {
                tracing::debug!(
                    target,
                    "delegation search stopped at {} roles",
                    visited.len()
                );
                break;
            }
            if !visited.insert((role.clone(), delegator.clone())) {
                continue; // a cycle
            }
            match self.load_targets(&role, &delegator).await {
                Ok(()) => {}
                // A delegated role snapshot has never listed has no metadata
                // yet (delegated to someone else's key, who has not signed
                // anything): it signs nothing, and the search goes on, as
                // Notary's client does. A role listed once can never be
                // dropped (`update_snapshot`), so this hides nothing signed.
                Err(UpdateError::NotInSnapshot { .. }) if role != TopRole::Targets => {
                    tracing::debug!(%role, "delegated role has no metadata yet");
                    continue;
                }
                Err(e) => return Err(e),
            }
            let Some(targets) = self.trusted.targets(&role, &delegator) else {
                continue;
            };
            if let Some(found) = targets.signed.targets.get(target) {
                found_all.push(FoundTarget {
                    target: found.clone(),
                    expires: targets.signed.common.expires,
                    role: role.clone(),
                    delegator: delegator.clone(),
                });
                if how == Search::First {
                    return Ok(found_all);
                }
            }
            let Some(delegations) = &targets.signed.delegations else {
                continue;
            };
            let mut children = Vec::new();
            for child in delegations.roles_for(target) {
                let terminating = child.terminating;
                children.push((child.name, role.clone()));
                if terminating {
                    to_visit.clear();
                    break;
                }
            }
            to_visit.extend(children.into_iter().rev());
        }
        Ok(found_all)
    }

    /// Docker Content Trust's rule for Notary repositories: a tag counts
    /// only if `targets/releases` signs it or, failing that, targets itself;
    /// other delegations (`targets/ci`, …) do not make a tag trusted.
    async fn find_as_docker(&mut self, target: &str) -> Result<Option<FoundTarget>, UpdateError> {
        let releases = notary::releases_role();
        let delegated = self
            .trusted
            .targets(&RoleName::TARGETS, &RoleName::ROOT)
            .and_then(|t| t.signed.delegations.as_ref())
            .is_some_and(|d| d.roles_for(target).iter().any(|r| r.name == releases));
        if delegated {
            match self.load_targets(&releases, &RoleName::TARGETS).await {
                // Never listed (a dropped listing is refused with the snapshot).
                Ok(()) | Err(UpdateError::NotInSnapshot { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let found = [
            (releases, RoleName::TARGETS),
            (RoleName::TARGETS, RoleName::ROOT),
        ]
        .into_iter()
        .find_map(|(role, delegator)| {
            let t = self.trusted.targets(&role, &delegator)?;
            t.signed.targets.get(target).map(|found| FoundTarget {
                target: found.clone(),
                expires: t.signed.common.expires,
                role,
                delegator,
            })
        });
        Ok(found)
    }

    /// The verified bytes of a delegated role (loaded as the search would
    /// load it), or `None` when snapshot does not list it.
    pub async fn role_bytes(
        &mut self,
        role: &RoleName,
        delegator: &RoleName,
    ) -> Result<Option<Vec<u8>>, UpdateError> {
        if !self.refreshed {
            self.refresh().await?;
        }
        match self.load_targets(role, delegator).await {
            Ok(()) => Ok(self.trusted.targets(role, delegator).map(|t| t.raw.clone())),
            Err(UpdateError::NotInSnapshot { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Download a target to `dir`, unless a verified copy is already there.
    /// Returns the file's path: `dir` joined with the percent-quoted name, a
    /// single file name that a [`TargetName`] keeps from being `.` or `..`.
    pub async fn download_target(
        &self,
        target: &TargetName,
        info: &TargetFile,
        dir: &std::path::Path,
        base_url: &str,
    ) -> Result<std::path::PathBuf, UpdateError> {
        let name = target.as_str();
        let path = dir.join(store::quote(name));
        if let Ok(existing) = std::fs::read(&path)
            && existing.len() as u64 == info.length
            && check_hashes(&existing, &info.hashes, name).is_ok()
        {
            return Ok(path);
        }
        let mut remote = name.to_owned();
        if self.trusted.root().signed.consistent_snapshot
            && let Some(hash) = info.hashes.values().next()
        {
            remote = match name.rsplit_once('/') {
                Some((dir, base)) => format!("{dir}/{hash}.{base}"),
                None => format!("{hash}.{name}"),
            };
        }
        let url = format!("{}{remote}", with_slash(base_url));
        let bytes = self
            .transport
            .fetch(&url, info.length)
            .await?
            .ok_or_else(|| UpdateError::TargetNotFound(name.to_owned()))?;
        if bytes.len() as u64 != info.length {
            return Err(UpdateError::LengthOrHash {
                what: name.to_owned(),
                message: format!("expected {} bytes, got {}", info.length, bytes.len()),
            });
        }
        check_hashes(&bytes, &info.hashes, name)?;
        store::write_atomic(&path, &bytes).map_err(|source| UpdateError::Store {
            path: path.display().to_string(),
            source,
        })?;
        Ok(path)
    }
}
