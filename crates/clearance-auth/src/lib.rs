//! Server-side authentication shared by Clearance's trust service and
//! registry, in the Docker registry token scheme: users with argon2 or bcrypt
//! hashes ([`Users`]), access rules granting `pull`/`push` per repository
//! pattern ([`AccessRules`]), a token endpoint that signs short-lived ES256
//! tokens ([`token_router`]), and the per-request check resource servers run
//! ([`BearerGuard`]), whose refusals carry the challenge that sends clients
//! back to the endpoint. Errors go out in the OCI error envelope
//! ([`error_response`], codes as [`ErrorCode`]); [`AccessRules::warnings`]
//! tells a server at start-up when its rules let nobody do anything, or
//! anyone push.
//!
//! ```
//! use std::time::Duration;
//! use clearance_auth::{AccessRules, Action, Scope, TokenIssuer, TokenKey};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let rules: AccessRules = serde_json::from_str(
//!     r#"[{"repositories": "team/*", "users": ["alice"], "actions": ["pull", "push"]}]"#,
//! )?;
//! let issuer = TokenIssuer::new(
//!     TokenKey::generate()?,
//!     "clearance",
//!     "registry.example",
//!     Duration::from_secs(300),
//! );
//!
//! let asked = Scope::parse("repository:team/app:pull,push")?.ok_or("not a repository scope")?;
//! let granted = rules.grant(Some("alice"), &asked);
//! let issued = issuer.issue(Some("alice"), &[granted])?;
//!
//! let claims = issuer.verifier().verify(&issued.token)?;
//! assert_eq!(claims.subject(), Some("alice"));
//! assert!(claims.allows("team/app", Action::Push));
//! assert!(!claims.allows("team/other", Action::Pull));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod access;
pub mod endpoint;
mod envelope;
pub mod guard;
pub mod key;
pub mod name;
pub mod password;
pub mod pattern;
pub mod scope;
pub mod time;
pub mod token;
pub mod users;
pub mod verify;
pub mod warnings;

#[cfg(test)]
mod testutil;

pub use access::{AccessRules, Rule};
pub use endpoint::{TokenService, token_router};
pub use envelope::{ErrorCode, error_response};
pub use guard::{BearerGuard, Denied, DeniedKind};
pub use key::{KeyError, TokenKey};
pub use name::{NameError, NameRule, RepositoryName};
pub use password::{PasswordError, hash_password};
pub use pattern::{Pattern, PatternError, PatternRule};
pub use scope::{Action, GrantedScope, Scope, ScopeError};
pub use token::{Claims, IssuedToken, ResourceAccess, TokenError, TokenIssuer};
pub use users::{Users, UsersError};
pub use verify::TokenVerifier;
pub use warnings::RuleWarning;
