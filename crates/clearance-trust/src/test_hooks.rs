//! Switches for tests of the real binary, read from the environment, that
//! only test builds have (review A.6: tests that can fail, and fail the same
//! way every run).
//!
//! | variable | effect |
//! |---|---|
//! | `CLEARANCE_TEST_CRASH_AFTER_ROW=k` | the trust service aborts the process after writing row `k` (1-based) of the next publish, before the transaction commits ([`InsertFault::AbortAfterRow`](crate::server::InsertFault)) |
//! | `CLEARANCE_TEST_NOW=YYYY-MM-DDTHH:MM:SSZ` | the TUF clock stands at that time: the trust service's (signatures, re-signing) and the client's reference time (expiry). Tokens of the token endpoint keep the system's time |
//!
//! They are compiled in only with the `test-hooks` feature, which no
//! release turns on: the `clearance` package turns it on through its
//! dev-dependencies, and Cargo (resolver 2 and later) applies a
//! dev-dependency's features only when it builds test targets. So
//! `cargo test` and `cargo nextest` build the binary with the switches, and
//! `cargo build` and `cargo install` never do; without the feature, every
//! function here answers "not set" without reading the environment. A
//! `#[cfg(debug_assertions)]` switch was not chosen: it would be in every
//! debug build a user makes, and missing from `cargo test --release`.

use std::sync::Arc;

#[cfg(feature = "test-hooks")]
use crate::time::UtcTime;
use crate::time::{SharedClock, SystemClock};

/// The variable that makes the trust service crash mid-publish.
pub const CRASH_AFTER_ROW: &str = "CLEARANCE_TEST_CRASH_AFTER_ROW";

/// The variable that sets the TUF clock of the service and the client.
pub const NOW: &str = "CLEARANCE_TEST_NOW";

/// The clock a process runs on: [`SystemClock`], or, in a test build with
/// `CLEARANCE_TEST_NOW` set, a clock standing at that time.
pub fn clock() -> Result<SharedClock, HookError> {
    #[cfg(feature = "test-hooks")]
    if let Some(value) = read(NOW)? {
        let at: UtcTime = value.parse().map_err(|_| HookError {
            variable: NOW,
            value: value.clone(),
            expected: "a time as YYYY-MM-DDTHH:MM:SSZ",
        })?;
        tracing::warn!("test build: {NOW} is set, so the TUF clock stands at {at}");
        return Ok(Arc::new(crate::time::ManualClock::new(at)));
    }
    Ok(Arc::new(SystemClock))
}

/// As [`clock`], where an error cannot be returned (the client's default
/// settings): a bad `CLEARANCE_TEST_NOW` is logged and the system's clock used.
pub fn clock_or_system() -> SharedClock {
    clock().unwrap_or_else(|e| {
        tracing::error!("{e}; using the system clock");
        Arc::new(SystemClock)
    })
}

/// A test switch set to a value it cannot mean.
#[derive(Debug, thiserror::Error)]
#[error("{variable}={value:?}: expected {expected}")]
pub struct HookError {
    /// The variable.
    pub variable: &'static str,
    /// What it was set to.
    pub value: String,
    /// What it takes.
    pub expected: &'static str,
}

/// Arm `store` to abort after the row `CLEARANCE_TEST_CRASH_AFTER_ROW`
/// names, when this is a test build and the variable is set.
#[cfg(feature = "server")]
pub fn arm_store(store: &crate::server::Store) -> Result<(), HookError> {
    #[cfg(feature = "test-hooks")]
    if let Some(value) = read(CRASH_AFTER_ROW)? {
        let row = value
            .parse::<usize>()
            .ok()
            .filter(|k| *k >= 1)
            .ok_or_else(|| HookError {
                variable: CRASH_AFTER_ROW,
                value: value.clone(),
                expected: "a row number, 1 or more",
            })?;
        tracing::warn!(
            row,
            "test build: {CRASH_AFTER_ROW} is set, so the next publish aborts the process after row {row}"
        );
        store.arm(crate::server::InsertFault::AbortAfterRow(row));
    }
    #[cfg(not(feature = "test-hooks"))]
    let _ = store;
    Ok(())
}

/// A variable's value; one that is not UTF-8 is an error.
#[cfg(feature = "test-hooks")]
fn read(variable: &'static str) -> Result<Option<String>, HookError> {
    match std::env::var(variable) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(value)) => Err(HookError {
            variable,
            value: value.to_string_lossy().into_owned(),
            expected: "UTF-8",
        }),
    }
}
