//! Policy gates: evidence in, allow or deny with reasons out — the one
//! decision every enforcement point (`clearance check`, Kubernetes
//! admission, the Docker Engine authorization plugin) calls.
//!
//! - [`policy`]: the policy file (YAML), validated with errors that name
//!   the line ([`policy::load`]).
//! - [`evidence`]: what a decision reads (trust, scan, configuration,
//!   runtime request), plain data gathered elsewhere.
//! - [`evaluate()`]: the pure decision function.
//! - [`decision`]: its answer, `clearance.decision/v1`.
//! - [`admission`]: Kubernetes AdmissionReview v1 in (every container of
//!   a Pod, a pod template, `kubectl debug`), answers and patches out.
//! - [`docker_authz`]: Docker Engine authorization plugin requests in
//!   (container and exec creates read as the daemon reads them; a body that
//!   never reached the plugin refused).
//! - [`audit`]: the decision log, one `clearance.audit/v1` JSON line per
//!   decision.
//!
//! ```
//! use clearance_policy::{date::Date, evaluate, evidence::Evidence, policy};
//!
//! let text = "version: 1\nenvironments:\n  production:\n    sources:\n      registries: [registry.internal]\n";
//! let today = Date::parse("2026-12-01").unwrap();
//! let policy = policy::load(text, "policy.yaml", today).unwrap();
//! let mut evidence = Evidence::default();
//! evidence.image.registry = "docker.io".into();
//! let decision = evaluate(&policy, "production", &evidence, 1_796_083_200).unwrap();
//! assert!(!decision.allowed);
//! assert_eq!(decision.reasons[0].rule, "sources.registries");
//! ```
#![forbid(unsafe_code)]

pub mod admission;
pub mod audit;
pub mod capability;
pub mod date;
pub mod decision;
pub mod docker_authz;
pub mod evaluate;
pub mod evidence;
pub mod policy;

pub use evaluate::{EvaluateError, evaluate};
