//! The OCI distribution error envelope that both the token endpoint and
//! resource servers answer with, and the codes it carries.

use std::fmt;

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{HeaderValue, WWW_AUTHENTICATE};
use axum::response::{IntoResponse, Response};

/// The `code` of an error in the envelope.
///
/// The first fourteen are the OCI distribution spec's ("Error Codes",
/// code-1 … code-14); `Unknown` is Distribution's catch-all; the last four
/// are the trust service's, in Notary's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// code-1 `BLOB_UNKNOWN`: blob unknown to registry.
    BlobUnknown,
    /// code-2 `BLOB_UPLOAD_INVALID`: blob upload invalid.
    BlobUploadInvalid,
    /// code-3 `BLOB_UPLOAD_UNKNOWN`: blob upload unknown to registry.
    BlobUploadUnknown,
    /// code-4 `DIGEST_INVALID`: provided digest did not match uploaded content.
    DigestInvalid,
    /// code-5 `MANIFEST_BLOB_UNKNOWN`: manifest references a manifest or blob unknown to registry.
    ManifestBlobUnknown,
    /// code-6 `MANIFEST_INVALID`: manifest invalid.
    ManifestInvalid,
    /// code-7 `MANIFEST_UNKNOWN`: manifest unknown to registry.
    ManifestUnknown,
    /// code-8 `NAME_INVALID`: invalid repository name.
    NameInvalid,
    /// code-9 `NAME_UNKNOWN`: repository name not known to registry.
    NameUnknown,
    /// code-10 `SIZE_INVALID`: provided length did not match content length.
    SizeInvalid,
    /// code-11 `UNAUTHORIZED`: authentication required.
    Unauthorized,
    /// code-12 `DENIED`: requested access to the resource is denied.
    Denied,
    /// code-13 `UNSUPPORTED`: the operation is unsupported.
    Unsupported,
    /// code-14 `TOOMANYREQUESTS`: too many requests.
    TooManyRequests,
    /// `UNKNOWN`: an internal failure (the detail is in the server log).
    Unknown,
    /// `NOT_FOUND`: no such route or server-held key.
    NotFound,
    /// `METADATA_NOT_FOUND`: the repository has no such metadata file.
    MetadataNotFound,
    /// `METADATA_INVALID`: a publish was refused; the message says which role and why.
    MetadataInvalid,
    /// `METADATA_STALE`: a publish was built on versions another publish replaced.
    MetadataStale,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::ManifestInvalid => "MANIFEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::SizeInvalid => "SIZE_INVALID",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::Unknown => "UNKNOWN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::MetadataNotFound => "METADATA_NOT_FOUND",
            ErrorCode::MetadataInvalid => "METADATA_INVALID",
            ErrorCode::MetadataStale => "METADATA_STALE",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"errors":[{"code":...,"message":...,"detail":null}]}` with `status`, and
/// a `WWW-Authenticate` challenge when one is given and fits in a header.
pub fn error_response(
    status: StatusCode,
    code: ErrorCode,
    message: &str,
    challenge: Option<&str>,
) -> Response {
    let body = serde_json::json!({
        "errors": [{"code": code.as_str(), "message": message, "detail": null}]
    });
    let mut response = (status, Json(body)).into_response();
    if let Some(challenge) = challenge {
        match HeaderValue::from_str(challenge) {
            Ok(value) => {
                response.headers_mut().insert(WWW_AUTHENTICATE, value);
            }
            Err(_) => tracing::warn!("authentication challenge is not a valid header value"),
        }
    }
    response
}

/// `text` as an HTTP quoted-string (RFC 9110 5.6.4).
pub(crate) fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(quoted("a"), "\"a\"");
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn skips_challenges_that_are_not_header_values() {
        let response = error_response(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "m",
            Some("a\nb"),
        );
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    }
}
