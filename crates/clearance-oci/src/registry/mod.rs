//! A client for registries that speak the OCI Distribution Spec v1.1.
//!
//! Anonymous, basic and bearer-token auth; credentials from flags,
//! environment and `~/.docker/config.json`; TLS with an extra CA bundle;
//! plain HTTP only for loopback hosts or hosts named as insecure; retries
//! with backoff on 429 and 5xx; every body bounded and verified. Pushes
//! (blobs monolithically, then the manifest) in `upload`.

mod auth;
mod client;
mod error;
mod file_body;
pub mod tls;
mod token;
mod transport;
mod upload;

pub use auth::{Challenge, Credential, DockerConfig, HelperError, parse_challenge};
pub use client::{RegistryClient, RegistrySettings};
pub use error::RegistryError;
pub use tls::client_config as tls_config;
pub use token::{TokenRequest, fetch_token};
pub use transport::{Retry, error_chain, http_allowed, read_body, redirect_policy};
pub use upload::{Progress, PushedBlob};
