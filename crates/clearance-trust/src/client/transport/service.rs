//! What only a trust service answers: a publish (one multipart POST), the
//! keys it holds, and its reasons for refusing.

use reqwest::StatusCode;

use super::{FetchError, HttpTransport, PublishOutcome};
use crate::schema::{RoleName, TopRole};

/// Most bytes of a trust service's answer to a refused publish that are read.
const MAX_ERROR_BODY: u64 = 64 << 10;

impl HttpTransport {
    /// POST a publish to a trust service (`metadata_url` is the repository's
    /// `…/_trust/tuf/` URL): one multipart part per file, named by role.
    pub async fn publish(
        &self,
        metadata_url: &str,
        files: &[(RoleName, Vec<u8>)],
    ) -> Result<PublishOutcome, FetchError> {
        let build = || {
            let mut form = reqwest::multipart::Form::new();
            for (role, bytes) in files {
                // Named as Notary's client names parts: `targets/releases.json`.
                let part = reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(role.meta_name())
                    .mime_str("application/json")
                    .unwrap_or_else(|_| reqwest::multipart::Part::bytes(bytes.clone()));
                form = form.part("files", part);
            }
            self.http.post(metadata_url).multipart(form)
        };
        let resp = self.send(metadata_url, "push", build).await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(PublishOutcome::Stored);
        }
        let message = reason(resp, metadata_url).await;
        if status == StatusCode::CONFLICT {
            return Ok(PublishOutcome::Stale(message));
        }
        Err(FetchError::Refused {
            url: metadata_url.to_owned(),
            status: status.as_u16(),
            message,
            hint: self.hint(status),
        })
    }

    /// What to do about an HTTP error: a 401 without a login asks for one.
    pub(super) fn hint(&self, status: StatusCode) -> Option<&'static str> {
        (status == StatusCode::UNAUTHORIZED && self.credential.is_none()).then_some(
            "no login was given: set CLEARANCE_TRUST_CREDS or pass --trust-creds USER:PASSWORD",
        )
    }

    /// The public key the trust service holds for `role` (`timestamp` or
    /// `snapshot`) of the repository at `metadata_url`, made on first request.
    pub async fn server_key(
        &self,
        metadata_url: &str,
        role: TopRole,
    ) -> Result<crate::keys::Key, FetchError> {
        let url = key_url(metadata_url, role);
        // Making the key needs push.
        let bytes = self.get(&url, "push", 64 << 10).await?;
        public_key(url, bytes)
    }

    /// Check now that this client may publish to the repository at
    /// `metadata_url`: the push token is fetched (the login checked) by
    /// reading the service's timestamp key, which needs push. A wrong login
    /// or missing rights show here, before a publisher unseals any key.
    pub async fn check_push(&self, metadata_url: &str) -> Result<(), FetchError> {
        let url = key_url(metadata_url, TopRole::Timestamp);
        self.get(&url, "push", 64 << 10).await.map(|_| ())
    }

    /// Ask the trust service for a new key for `role`, which it will use
    /// once a published root names it.
    pub async fn rotate_server_key(
        &self,
        metadata_url: &str,
        role: TopRole,
    ) -> Result<crate::keys::Key, FetchError> {
        let url = key_url(metadata_url, role);
        let bytes = self
            .call(&url, "push", 64 << 10, || self.http.post(&url))
            .await?;
        public_key(url, bytes)
    }
}

/// The server's reason for an HTTP error: the OCI error envelope's first
/// message, else the start of the body. Bounded like every other body
/// (B-14): a hostile or broken service cannot fill memory with its refusal.
pub(super) async fn reason(resp: reqwest::Response, url: &str) -> String {
    match clearance_oci::registry::read_body(resp, MAX_ERROR_BODY, url).await {
        Ok(body) => {
            let body = String::from_utf8_lossy(&body);
            serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["errors"][0]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| body.trim().chars().take(500).collect())
        }
        Err(e) => format!("its answer could not be read: {e}"),
    }
}

/// Where a trust service serves the key it holds for `role`: `ROLE.key`.
fn key_url(metadata_url: &str, role: TopRole) -> String {
    format!("{metadata_url}{role}.key")
}

fn public_key(url: String, bytes: Option<Vec<u8>>) -> Result<crate::keys::Key, FetchError> {
    let bytes = bytes.ok_or_else(|| FetchError::NotFound { url: url.clone() })?;
    serde_json::from_slice(&bytes).map_err(|e| FetchError::Transport {
        url,
        message: format!("not a TUF public key: {e}"),
    })
}
