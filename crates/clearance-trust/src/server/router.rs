//! HTTP: Notary's URL layout under `/v2/<gun>/_trust/tuf/`.
//!
//! - `GET …/<role>.json` the current version; `…/<N>.<role>.json` version N;
//!   `…/<role>.<sha256>.json` the version with that hash (consistent
//!   snapshots, Notary's checksum names);
//! - `GET …/<timestamp|snapshot>.key` the key the service holds for that
//!   role, made on first request by someone allowed to push;
//! - `POST …/<timestamp|snapshot>.key` a new key for that role, used once a
//!   published root names it (Notary's server-managed key rotation);
//! - `POST …/` a publish: `multipart/form-data`, one part per file, the
//!   part's file name being the role (`targets`, `targets.json`,
//!   `targets/releases`), as Notary's client sends it.
//!
//! Reads need `pull` on the repository (or the repository to be public),
//! publishing and making keys need `push`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest as _, Multipart, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clearance_auth::Action;
use serde_json::json;

use super::{Refused, ServiceError, StoreError, TrustService, Upload};

/// Largest file accepted in a publish.
const MAX_FILE: usize = 16 << 20;
/// Largest publish body.
const MAX_BODY: usize = 256 << 20;
/// Most files in one publish (a 2^16-bin repository re-signed whole, and then some).
const MAX_FILES: usize = 70_000;

type Shared = Arc<TrustService>;

/// The trust service's routes (the token endpoint is mounted beside them by
/// the binary).
pub fn router(service: Shared) -> Router {
    Router::new()
        .route("/v2/", get(|| async { axum::Json(json!({})) }))
        .route(
            "/_notary_server/health",
            get(|| async { axum::Json(json!({})) }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(dispatch)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(service)
}

async fn dispatch(State(service): State<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let Some((gun, file)) = split_path(&path) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route".into());
    };
    // The OCI name grammar, with a registry host (and port) in front, as
    // Notary's GUNs are: the rule the tokens' scopes follow.
    let name = match clearance_auth::RepositoryName::parse(&gun) {
        Ok(name) => name,
        Err(e) => return error(StatusCode::BAD_REQUEST, "NAME_INVALID", e.to_string()),
    };
    let method = request.method().clone();
    let action = match (&method, file.as_str()) {
        (&Method::GET | &Method::HEAD, f) if !f.is_empty() => {
            if f.ends_with(".key") {
                Action::Push
            } else {
                Action::Pull
            }
        }
        (&Method::POST, "") => Action::Push,
        (&Method::POST, f) if f.ends_with(".key") => Action::Push,
        _ => {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "UNSUPPORTED",
                format!("{method} {path} is not supported"),
            );
        }
    };
    if let Some(guard) = &service.guard
        && let Err(denied) = guard.check(request.headers(), &name, action)
    {
        return denied.into_response();
    }
    if method == Method::POST {
        return match file.strip_suffix(".key") {
            Some(role) => rotate_key(&service, &gun, role).await,
            None => publish(&service, &gun, request).await,
        };
    }
    if let Some(role) = file.strip_suffix(".key") {
        return server_key(&service, &gun, role).await;
    }
    serve_file(&service, &gun, &file).await
}

async fn serve_file(service: &TrustService, gun: &str, file: &str) -> Response {
    let Some(stem) = file.strip_suffix(".json") else {
        return error(
            StatusCode::NOT_FOUND,
            "METADATA_NOT_FOUND",
            format!("{file}: not metadata"),
        );
    };
    let store = service.store();
    let (found, immutable) = match parse_name(stem) {
        Name::Version(v, role) => (store.by_version(gun, &role, v).await, true),
        Name::Hash(role, hash) => (store.by_hash(gun, &role, &hash).await, true),
        Name::Current(role) => (store.latest(gun, &role).await, false),
    };
    match found {
        Ok(Some(bytes)) => {
            let mut resp = Response::new(Body::from(bytes));
            let headers = resp.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(if immutable {
                    "private, max-age=31536000, immutable"
                } else {
                    "no-store"
                }),
            );
            resp
        }
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "METADATA_NOT_FOUND",
            format!("{gun} has no {file}"),
        ),
        Err(e) => store_error(e),
    }
}

async fn server_key(service: &TrustService, gun: &str, role: &str) -> Response {
    match service.server_key(gun, role, true).await {
        Ok(Some(key)) => axum::Json(key).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "NOT_FOUND", format!("no {role} key")),
        Err(ServiceError::NotServerRole { role }) => error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("the trust service holds only timestamp and snapshot keys, not {role}"),
        ),
        Err(e) => service_error(e),
    }
}

async fn rotate_key(service: &TrustService, gun: &str, role: &str) -> Response {
    match service.rotate_server_key(gun, role).await {
        Ok(key) => axum::Json(key).into_response(),
        Err(e) => service_error(e),
    }
}

async fn publish(service: &TrustService, gun: &str, request: Request) -> Response {
    let mut multipart = match Multipart::from_request(request, &()).await {
        Ok(m) => m,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "METADATA_INVALID",
                format!("a publish is multipart/form-data with one part per metadata file: {e}"),
            );
        }
    };
    let mut files = BTreeMap::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return error(
                    e.status(),
                    "METADATA_INVALID",
                    format!("reading the upload: {e}"),
                );
            }
        };
        let Some(role) = field
            .file_name()
            .map(|n| n.strip_suffix(".json").unwrap_or(n).to_owned())
        else {
            return error(
                StatusCode::BAD_REQUEST,
                "METADATA_INVALID",
                "each part needs a file name naming its role".into(),
            );
        };
        if role.is_empty() || role.len() > 255 || role.chars().any(char::is_control) {
            return error(
                StatusCode::BAD_REQUEST,
                "METADATA_INVALID",
                format!("bad role name {role:?}"),
            );
        }
        let bytes = match read_field(field).await {
            Ok(b) => b,
            Err(message) => {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "SIZE_INVALID",
                    format!("{role}: {message}"),
                );
            }
        };
        if files.insert(role.clone(), bytes).is_some() {
            return error(
                StatusCode::BAD_REQUEST,
                "METADATA_INVALID",
                format!("{role} appears twice"),
            );
        }
        if files.len() > MAX_FILES {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "SIZE_INVALID",
                format!("more than {MAX_FILES} files"),
            );
        }
    }
    if files.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "METADATA_INVALID",
            "the upload holds no files".into(),
        );
    }
    let roles: Vec<String> = files.keys().cloned().collect();
    let upload = Upload {
        files,
        resign_snapshot: false,
    };
    match service.publish(gun, upload).await {
        Ok(stored) => {
            tracing::info!(%gun, ?roles, "published");
            let stored: Vec<_> = stored
                .iter()
                .map(|f| json!({"role": f.role, "version": f.version}))
                .collect();
            axum::Json(json!({ "published": stored })).into_response()
        }
        Err(e) => {
            tracing::info!(%gun, ?roles, error = %e, "publish refused");
            service_error(e)
        }
    }
}

async fn read_field(mut field: axum::extract::multipart::Field<'_>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| e.to_string())? {
        if out.len() + chunk.len() > MAX_FILE {
            return Err(format!("larger than {MAX_FILE} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// `/v2/<gun>/_trust/tuf/<file>` → (gun, percent-decoded file).
fn split_path(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/v2/")?;
    let (gun, file) = rest.split_once("/_trust/tuf/")?;
    Some((crate::client::unquote(gun)?, crate::client::unquote(file)?))
}

enum Name {
    Current(String),
    Version(crate::schema::Version, String),
    Hash(String, String),
}

fn parse_name(stem: &str) -> Name {
    if let Some((n, role)) = stem.split_once('.')
        && !n.is_empty()
        && n.len() <= 19
        && n.bytes().all(|b| b.is_ascii_digit())
        && let Some(v) = n
            .parse::<u64>()
            .ok()
            .and_then(|v| crate::schema::Version::new(v).ok())
    {
        return Name::Version(v, role.to_owned());
    }
    if let Some((role, hash)) = stem.rsplit_once('.')
        && hash.len() == 64
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Name::Hash(role.to_owned(), hash.to_ascii_lowercase());
    }
    Name::Current(stem.to_owned())
}

fn service_error(e: ServiceError) -> Response {
    match e {
        ServiceError::Refused(Refused::Stale { .. })
        | ServiceError::Refused(Refused::Store(StoreError::Conflict { .. }))
        | ServiceError::Store(StoreError::Conflict { .. }) => {
            error(StatusCode::CONFLICT, "METADATA_STALE", e.to_string())
        }
        ServiceError::Refused(Refused::Store(e)) | ServiceError::Store(e) => store_error(e),
        ServiceError::Refused(r) => {
            error(StatusCode::BAD_REQUEST, "METADATA_INVALID", r.to_string())
        }
        ServiceError::Key(k) => {
            tracing::error!(error = %k, "server key");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                "server key unavailable".into(),
            )
        }
        ServiceError::NotServerRole { .. } | ServiceError::NoServerKey { .. } => {
            error(StatusCode::NOT_FOUND, "NOT_FOUND", e.to_string())
        }
    }
}

fn store_error(e: StoreError) -> Response {
    tracing::error!(error = %e, "metadata store");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "UNKNOWN",
        "the metadata store failed; see the server log".into(),
    )
}

/// The OCI error envelope.
fn error(status: StatusCode, code: &str, message: String) -> Response {
    clearance_auth::error_response(status, code, &message, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_repository_and_file() {
        assert_eq!(
            split_path("/v2/127.0.0.1:5000/app/_trust/tuf/targets%2Freleases.json"),
            Some(("127.0.0.1:5000/app".into(), "targets/releases.json".into()))
        );
        assert_eq!(
            split_path("/v2/r/a/_trust/tuf/"),
            Some(("r/a".into(), String::new()))
        );
        assert_eq!(split_path("/v2/r/a/tags/list"), None);
    }

    #[test]
    fn file_names_name_current_versioned_and_hashed_metadata() {
        assert!(matches!(parse_name("root"), Name::Current(r) if r == "root"));
        assert!(matches!(parse_name("3.root"), Name::Version(v, r) if v == 3 && r == "root"));
        assert!(
            matches!(parse_name("12.bins-a0"), Name::Version(v, r) if v == 12 && r == "bins-a0")
        );
        let h = "ab".repeat(32);
        assert!(
            matches!(parse_name(&format!("targets.{h}")), Name::Hash(r, x) if r == "targets" && x == h)
        );
        assert!(matches!(
            parse_name("99999999999999999999.root"),
            Name::Current(_)
        ));
    }
}
