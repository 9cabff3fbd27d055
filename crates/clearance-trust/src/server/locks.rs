//! One lock per repository, held while a publish to it is checked and
//! stored, so publishes to one repository run one at a time on this node.
//!
//! The map holds an entry only while someone holds or waits for that
//! repository's lock: a service that has served a million repository names
//! does not keep a million entries. Every clone of an entry's `Arc` is made,
//! and every one dropped, with the map locked, so the count seen there is
//! exact and the last one out removes the entry, even when a waiter is
//! cancelled (a client that hangs up mid-publish).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::gun::Gun;

type RepoMutex = Arc<tokio::sync::Mutex<()>>;

/// The per-repository locks of one service.
#[derive(Debug, Default)]
pub(super) struct RepoLocks {
    map: Mutex<HashMap<Gun, RepoMutex>>,
}

/// A claim on one repository's lock: taking the lock waits in line behind
/// the other claims on it. Dropping the claim (held or not) gives it up.
#[derive(Debug)]
pub(super) struct Claim<'a> {
    locks: &'a RepoLocks,
    gun: Gun,
    mutex: RepoMutex,
}

impl RepoLocks {
    /// Claim `gun`'s lock; [`Claim::lock`] then waits for it.
    pub(super) fn claim(&self, gun: &Gun) -> Claim<'_> {
        let mutex = self.map().entry(gun.clone()).or_default().clone();
        Claim {
            locks: self,
            gun: gun.clone(),
            mutex,
        }
    }

    /// How many repositories have an entry now (held or waited for).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map().len()
    }

    fn map(&self) -> MutexGuard<'_, HashMap<Gun, RepoMutex>> {
        // A panic while the map was locked cannot leave it inconsistent:
        // every critical section is a single map operation.
        match self.map.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl Claim<'_> {
    /// Wait for the repository's lock; it is held until the guard drops.
    pub(super) async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.mutex.lock().await
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut map = self.locks.map();
        // Our clone goes while the map is locked (a fresh, unshared mutex
        // stands in for it until the claim itself is gone).
        drop(std::mem::take(&mut self.mutex));
        if map
            .get(&self.gun)
            .is_some_and(|entry| Arc::strong_count(entry) == 1)
        {
            map.remove(&self.gun);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn gun(name: &str) -> Gun {
        Gun::new(name).unwrap()
    }

    #[tokio::test]
    async fn b15_the_lock_map_forgets_repositories_nobody_holds() {
        let locks = RepoLocks::default();
        for i in 0..100 {
            let claim = locks.claim(&gun(&format!("r/{i}")));
            let _held = claim.lock().await;
            assert_eq!(locks.len(), 1);
        }
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test]
    async fn b15_waiters_keep_the_entry_and_cancelled_waiters_leave_none() {
        let locks = RepoLocks::default();
        let first = locks.claim(&gun("r/a"));
        let held = first.lock().await;
        {
            // A second publish waits, then its client hangs up.
            let second = locks.claim(&gun("r/a"));
            let waited = tokio::time::timeout(Duration::from_millis(10), async {
                drop(second.lock().await)
            })
            .await;
            assert!(waited.is_err(), "the lock was not exclusive");
            assert_eq!(locks.len(), 1);
        }
        assert_eq!(locks.len(), 1, "the holder's entry went away");
        drop(held);
        drop(first);
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test]
    async fn one_repository_at_a_time_others_in_parallel() {
        let locks = RepoLocks::default();
        let a = locks.claim(&gun("r/a"));
        let _a = a.lock().await;
        let b = locks.claim(&gun("r/b"));
        let got_b = tokio::time::timeout(Duration::from_secs(5), b.lock()).await;
        assert!(got_b.is_ok(), "another repository's lock was blocked");
    }
}
