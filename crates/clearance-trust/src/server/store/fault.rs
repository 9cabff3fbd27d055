//! Faults a test arms for the next publish (test builds only: the crate's
//! own tests and the `test-hooks` feature), so that "all or nothing" is
//! tested at every row rather than wherever a kill happens to land.

use super::{Store, StoreError};
use crate::gun::Gun;

/// A fault [`Store::insert`] meets on the next publish, armed by a test with
/// [`Store::arm`]: after row `k` (1-based, in the order the publish lists its
/// files) is written and before the transaction commits. Only in test
/// builds: the crate's own tests and the `test-hooks` feature.
#[cfg(any(test, feature = "test-hooks"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertFault {
    /// Return [`StoreError::InjectedFault`]; the transaction is rolled back.
    FailAfterRow(usize),
    /// Abort the process (SIGABRT, no unwinding, nothing flushed), as a
    /// crash would: the open transaction is never committed.
    AbortAfterRow(usize),
}

impl Store {
    /// Arm `fault` for the next publish (test builds only); it is used up
    /// by that publish whether or not it had row `k`.
    #[cfg(any(test, feature = "test-hooks"))]
    pub fn arm(&self, fault: InsertFault) {
        let mut slot = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some(fault);
    }

    #[cfg(any(test, feature = "test-hooks"))]
    pub(super) fn take_fault(&self) -> Option<InsertFault> {
        self.fault.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Fail or abort when `fault` is for `row` (test builds only).
#[cfg(any(test, feature = "test-hooks"))]
pub(super) fn meet_fault(
    fault: Option<InsertFault>,
    gun: &Gun,
    row: usize,
) -> Result<(), StoreError> {
    match fault {
        Some(InsertFault::FailAfterRow(k)) if k == row => {
            tracing::warn!(
                %gun,
                row,
                "test fault: failing the publish before it commits"
            );
            Err(StoreError::InjectedFault {
                gun: gun.clone(),
                row,
            })
        }
        Some(InsertFault::AbortAfterRow(k)) if k == row => {
            tracing::warn!(%gun, row, "test fault: aborting before the publish commits");
            std::process::abort()
        }
        _ => Ok(()),
    }
}
