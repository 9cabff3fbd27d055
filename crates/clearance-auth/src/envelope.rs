//! The OCI distribution error envelope that both the token endpoint and
//! resource servers answer with.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{HeaderValue, WWW_AUTHENTICATE};
use axum::response::{IntoResponse, Response};

/// `{"errors":[{"code":...,"message":...,"detail":null}]}` with `status`, and
/// a `WWW-Authenticate` challenge when one is given and fits in a header.
pub fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    challenge: Option<&str>,
) -> Response {
    let body = serde_json::json!({
        "errors": [{"code": code, "message": message, "detail": null}]
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
        let response = error_response(StatusCode::UNAUTHORIZED, "X", "m", Some("a\nb"));
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    }
}
