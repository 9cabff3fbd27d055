//! Pushing to a registry (OCI distribution-spec 1.1, "Push"): blobs
//! uploaded monolithically (POST then PUT) unless the registry has them,
//! then the manifest that names them.
//!
//! Every digest sent is computed here from the bytes sent: a file is
//! hashed before its upload and again while it streams, and an upload of a
//! file that changed in between is cut off before its last byte, so the
//! registry never stores it. Tokens ask for `pull,push` on the repository.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};

use crate::digest::Digest;
use crate::manifest::{BlobRef, MAX_MANIFEST_BYTES};
use crate::reference::RegistryRef;
use crate::registry::client::{Access, MIN_BLOB_RATE, RegistryClient, digest_with};
use crate::registry::error::RegistryError;
use crate::registry::file_body::{file_body, hash_file};
use crate::registry::transport::{Retry, authority, header};
use crate::verify::VerifyError;

/// The `Content-Type` of a blob upload (distribution-spec "POST then PUT").
const OCTET_STREAM: &str = "application/octet-stream";

/// A blob pushed (or found already there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedBlob {
    /// Its descriptor: the media type given, the digest and size computed here.
    pub blob: BlobRef,
    /// False when the registry had it already and nothing was sent.
    pub uploaded: bool,
}

/// Called with the number of bytes just sent (or, for a blob the registry
/// had, with its whole size at once).
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

impl RegistryClient {
    /// Whether `r`'s repository holds `blob` (distribution-spec end-2,
    /// `HEAD /v2/<name>/blobs/<digest>`): 200 with the same length (or none
    /// given) is yes, 404 is no, anything else is an error. Asks for push
    /// access, as it is asked before an upload.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Http`] for a status other than 200 and 404, and the
    /// transport and login errors of any request.
    pub async fn has_blob(&self, r: &RegistryRef, blob: &BlobRef) -> Result<bool, RegistryError> {
        let url = self
            .repository_url(r, &format!("blobs/{}", blob.digest))
            .await?;
        let answer = self
            .send_to(
                r,
                Access::Push,
                &Method::HEAD,
                &url,
                self.settings.retry,
                |req| req,
            )
            .await;
        match answer {
            // The header itself: for a HEAD, reqwest's content_length() is
            // the empty body's (0).
            Ok(resp) => Ok(header(resp.headers(), CONTENT_LENGTH)
                .and_then(|len| len.trim().parse::<u64>().ok())
                .is_none_or(|len| len == blob.size)),
            Err(RegistryError::Http { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Push the file at `path` as a blob of `media_type` into `r`'s
    /// repository, unless the registry has it. Its digest (sha256) and size
    /// are computed by reading it first; it is then streamed (never held
    /// in memory), hashed again as it goes, within the registry timeout
    /// plus its size at [`MIN_BLOB_RATE`]. `progress` hears of every chunk
    /// sent. The PUT is not retried (its upload session is spent); the
    /// POST before it is.
    ///
    /// # Errors
    ///
    /// [`RegistryError::File`] when the file cannot be read,
    /// [`RegistryError::Verify`] when it changed while it was uploaded (the
    /// upload is cut off, so the registry keeps nothing),
    /// [`RegistryError::Protocol`] for an answer the spec does not allow,
    /// and the errors of [`RegistryClient::has_blob`].
    pub async fn push_blob_file(
        &self,
        r: &RegistryRef,
        path: &Path,
        media_type: &str,
        progress: Progress,
    ) -> Result<PushedBlob, RegistryError> {
        let owned = path.to_owned();
        let (digest, size) = tokio::task::spawn_blocking(move || hash_file(&owned))
            .await
            .map_err(|e| RegistryError::File {
                path: path.to_owned(),
                source: std::io::Error::other(e),
            })??;
        let blob = BlobRef {
            media_type: media_type.to_owned(),
            digest,
            size,
        };
        if self.has_blob(r, &blob).await? {
            progress(size);
            return Ok(PushedBlob {
                blob,
                uploaded: false,
            });
        }
        let changed: Arc<Mutex<Option<VerifyError>>> = Arc::default();
        let body = {
            let path = path.to_owned();
            let expected = blob.digest.clone();
            let changed = changed.clone();
            move || file_body(&path, &expected, size, progress.clone(), changed.clone())
        };
        let sent = self.upload(r, &blob, body).await;
        // A file that changed under the upload: say so, rather than the
        // broken connection it caused.
        if let Some(e) = changed.lock().ok().and_then(|mut c| c.take()) {
            return Err(e.into());
        }
        sent?;
        Ok(PushedBlob {
            blob,
            uploaded: true,
        })
    }

    /// Push a small blob held in memory (a config, the empty JSON `{}`)
    /// unless the registry has it.
    ///
    /// # Errors
    ///
    /// As [`RegistryClient::push_blob_file`], without the file's.
    pub async fn push_blob_bytes(
        &self,
        r: &RegistryRef,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<PushedBlob, RegistryError> {
        let blob = BlobRef {
            media_type: media_type.to_owned(),
            digest: Digest::sha256_of(bytes),
            size: bytes.len() as u64,
        };
        if self.has_blob(r, &blob).await? {
            return Ok(PushedBlob {
                blob,
                uploaded: false,
            });
        }
        let bytes = Bytes::copy_from_slice(bytes);
        self.upload(r, &blob, move || reqwest::Body::from(bytes.clone()))
            .await?;
        Ok(PushedBlob {
            blob,
            uploaded: true,
        })
    }

    /// PUT a manifest of `media_type` under `reference` (a tag or a digest)
    /// in `r`'s repository (distribution-spec end-7, "Pushing Manifests"),
    /// after every blob it names. Returns its sha256 digest, computed here;
    /// a `Docker-Content-Digest` answer that disagrees is an error (the
    /// registry stored something else).
    ///
    /// # Errors
    ///
    /// [`RegistryError::TooLarge`] over the 4 MiB every registry must take,
    /// [`RegistryError::Verify`] for a digest the registry answers that is
    /// not the manifest's, and the errors of any request.
    pub async fn put_manifest(
        &self,
        r: &RegistryRef,
        reference: &str,
        manifest: &[u8],
        media_type: &str,
    ) -> Result<Digest, RegistryError> {
        let url = self
            .repository_url(r, &format!("manifests/{reference}"))
            .await?;
        if manifest.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(RegistryError::TooLarge {
                url,
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let ours = Digest::sha256_of(manifest);
        let body = Bytes::copy_from_slice(manifest);
        let resp = self
            .send_to(
                r,
                Access::Push,
                &Method::PUT,
                &url,
                self.settings.retry,
                |req| {
                    // The spec: "clients MUST set the Content-Type header to
                    // the value specified by the mediaType field".
                    req.header(CONTENT_TYPE, media_type).body(body.clone())
                },
            )
            .await?;
        let claimed = header(
            resp.headers(),
            reqwest::header::HeaderName::from_static("docker-content-digest"),
        );
        // "The Docker-Content-Digest header returns the digest of the
        // uploaded blob, and MUST be equal to the client provided digest."
        if let Some(claimed) = claimed {
            let claimed: Digest = claimed.parse().map_err(|_| RegistryError::Protocol {
                method: "PUT",
                url: url.clone(),
                status: resp.status().as_u16(),
                message: format!("Docker-Content-Digest {claimed:?} is not a digest"),
            })?;
            let expected = digest_with(claimed.algorithm(), manifest);
            if claimed != expected {
                return Err(VerifyError::DigestMismatch {
                    what: format!("{url} (Docker-Content-Digest of the manifest pushed)"),
                    expected,
                    actual: claimed,
                }
                .into());
            }
        }
        Ok(ours)
    }

    /// Upload a blob the registry does not have: POST for a session
    /// (end-4a, 202 and a `Location`), then PUT the bytes there with
    /// `?digest=` (end-6, 201). `body` makes the bytes for the one PUT.
    async fn upload(
        &self,
        r: &RegistryRef,
        blob: &BlobRef,
        body: impl Fn() -> reqwest::Body,
    ) -> Result<(), RegistryError> {
        let start = self.repository_url(r, "blobs/uploads/").await?;
        let resp = self
            .send_to(
                r,
                Access::Push,
                &Method::POST,
                &start,
                self.settings.retry,
                |req| req.header(CONTENT_LENGTH, 0),
            )
            .await?;
        let status = resp.status().as_u16();
        let location = header(resp.headers(), LOCATION).ok_or_else(|| RegistryError::Protocol {
            method: "POST",
            url: start.clone(),
            status,
            message: "the answer has no Location to upload to".into(),
        })?;
        let mut target = self.upload_url(&start, &location, status)?;
        // The location "MAY contain critical query parameters": keep them.
        target
            .query_pairs_mut()
            .append_pair("digest", &blob.digest.to_string());
        let target = target.to_string();
        // A slow drip never trips the per-read timeout: the whole PUT must
        // be done within the timeout plus the blob at MIN_BLOB_RATE.
        let allowed = self.settings.timeout
            + Duration::from_secs_f64(blob.size as f64 / MIN_BLOB_RATE as f64);
        let once = Retry {
            retries: 0,
            ..self.settings.retry
        };
        let put = self.send_to(r, Access::Push, &Method::PUT, &target, once, |req| {
            req.header(CONTENT_TYPE, OCTET_STREAM)
                .header(CONTENT_LENGTH, blob.size)
                .body(body())
        });
        let resp = tokio::time::timeout(allowed, put)
            .await
            .map_err(|_| RegistryError::Transport {
                url: target.clone(),
                message: format!(
                    "the upload went slower than {} KiB/s on average (allowed {:.0} s in all); stopped",
                    MIN_BLOB_RATE >> 10,
                    allowed.as_secs_f64()
                ),
            })??;
        if resp.status() != StatusCode::CREATED {
            tracing::debug!(url = %target, status = resp.status().as_u16(), "upload answered without 201 Created");
        }
        Ok(())
    }

    /// The absolute URL of an upload `location` the POST to `start`
    /// answered: relative ones resolve against `start` (RFC 7231 7.1.2);
    /// absolute ones keep to https, or plain http where the registry's own
    /// rule allows it.
    fn upload_url(
        &self,
        start: &str,
        location: &str,
        status: u16,
    ) -> Result<reqwest::Url, RegistryError> {
        let protocol = |message: String| RegistryError::Protocol {
            method: "POST",
            url: start.to_owned(),
            status,
            message,
        };
        let base = reqwest::Url::parse(start).map_err(|e| protocol(e.to_string()))?;
        let url = base
            .join(location)
            .map_err(|e| protocol(format!("its Location {location:?} is not a URL ({e})")))?;
        match url.scheme() {
            "https" if url.has_host() => Ok(url),
            "http" if url.has_host() && self.http_allowed(&authority(&url)) => Ok(url),
            "http" if url.has_host() => Err(RegistryError::InsecureRefused {
                host: authority(&url),
            }),
            _ => Err(protocol(format!(
                "its Location {location:?} is not an http(s) URL"
            ))),
        }
    }
}
