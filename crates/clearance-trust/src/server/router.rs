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
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, FromRequest as _, Multipart, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clearance_auth::{Action, ErrorCode, NameError};
use serde_json::json;

use super::{ServiceError, TrustService, Upload};

/// Largest file accepted in a publish.
const MAX_FILE: usize = 16 << 20;
/// Largest publish body.
const MAX_BODY: usize = 256 << 20;
/// Most files in one publish (a 2^16-bin repository re-signed whole, and then some).
const MAX_FILES: usize = 70_000;

type Shared = Arc<TrustService>;

/// A request the router refuses, or the service's own failure.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    #[error("no such route")]
    NoRoute,
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("{method} {path} is not supported")]
    Method { method: Method, path: String },
    #[error("{file}: not metadata")]
    NotMetadata { file: String },
    #[error("{gun} has no {file}")]
    NoFile { gun: String, file: String },
    #[error("no {role} key")]
    NoKey { role: String },
    #[error("a publish is multipart/form-data with one part per metadata file: {0}")]
    NotMultipart(#[from] MultipartRejection),
    #[error("reading the upload: {}", .0.body_text())]
    Upload(#[from] MultipartError),
    #[error("each part needs a file name naming its role")]
    UnnamedPart,
    #[error("bad role name {0:?}")]
    RoleName(String),
    #[error("{role}: larger than {MAX_FILE} bytes")]
    FileTooLarge { role: String },
    #[error("{role} appears twice")]
    Twice { role: String },
    #[error("more than {MAX_FILES} files")]
    TooManyFiles,
    #[error("the upload holds no files")]
    NoFiles,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl RequestError {
    /// The HTTP status of the refusal.
    fn status(&self) -> StatusCode {
        match self {
            RequestError::NoRoute
            | RequestError::NotMetadata { .. }
            | RequestError::NoFile { .. }
            | RequestError::NoKey { .. } => StatusCode::NOT_FOUND,
            RequestError::Method { .. } => StatusCode::METHOD_NOT_ALLOWED,
            RequestError::Upload(e) => e.status(),
            RequestError::FileTooLarge { .. } | RequestError::TooManyFiles => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            RequestError::Name(_)
            | RequestError::NotMultipart(_)
            | RequestError::UnnamedPart
            | RequestError::RoleName(_)
            | RequestError::Twice { .. }
            | RequestError::NoFiles => StatusCode::BAD_REQUEST,
            RequestError::Service(e) => e.status(),
        }
    }

    /// The code in the OCI error envelope.
    fn code(&self) -> ErrorCode {
        match self {
            RequestError::NoRoute | RequestError::NoKey { .. } => ErrorCode::NotFound,
            RequestError::NotMetadata { .. } | RequestError::NoFile { .. } => {
                ErrorCode::MetadataNotFound
            }
            RequestError::Name(_) => ErrorCode::NameInvalid,
            RequestError::Method { .. } => ErrorCode::Unsupported,
            RequestError::Upload(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ErrorCode::SizeInvalid
            }
            RequestError::FileTooLarge { .. } | RequestError::TooManyFiles => {
                ErrorCode::SizeInvalid
            }
            RequestError::Upload(_)
            | RequestError::NotMultipart(_)
            | RequestError::UnnamedPart
            | RequestError::RoleName(_)
            | RequestError::Twice { .. }
            | RequestError::NoFiles => ErrorCode::MetadataInvalid,
            RequestError::Service(e) => e.code(),
        }
    }
}

/// The OCI error envelope. A failure of the service itself answers 500
/// "see the server log", and the detail goes to that log.
impl IntoResponse for RequestError {
    fn into_response(self) -> Response {
        let (status, code) = (self.status(), self.code());
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "trust service");
            "the trust service failed; see the server log".to_owned()
        } else {
            self.to_string()
        };
        clearance_auth::error_response(status, code, &message, None)
    }
}

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
    match route(&service, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn route(service: &TrustService, request: Request) -> Result<Response, RequestError> {
    let path = request.uri().path().to_owned();
    let (gun, file) = split_path(&path).ok_or(RequestError::NoRoute)?;
    // The OCI name grammar, with a registry host (and port) in front, as
    // Notary's GUNs are: the rule the tokens' scopes follow.
    let name = clearance_auth::RepositoryName::parse(&gun)?;
    let method = request.method().clone();
    let action = match (&method, file.as_str()) {
        // Reading a server key makes one when there is none: push only, so
        // a puller cannot have keys made for names of its choosing.
        (&Method::GET | &Method::HEAD, f) if f.ends_with(".key") => Action::Push,
        (&Method::GET | &Method::HEAD, f) if !f.is_empty() => Action::Pull,
        (&Method::POST, "") => Action::Push,
        (&Method::POST, f) if f.ends_with(".key") => Action::Push,
        _ => return Err(RequestError::Method { method, path }),
    };
    if let Some(guard) = &service.guard
        && let Err(denied) = guard.check(request.headers(), &name, action)
    {
        return Ok(denied.into_response());
    }
    if method == Method::POST {
        return match file.strip_suffix(".key") {
            Some(role) => {
                Ok(axum::Json(service.rotate_server_key(&gun, role).await?).into_response())
            }
            None => publish(service, &gun, request).await,
        };
    }
    if let Some(role) = file.strip_suffix(".key") {
        return match service.server_key(&gun, role, true).await? {
            Some(key) => Ok(axum::Json(key).into_response()),
            None => Err(RequestError::NoKey {
                role: role.to_owned(),
            }),
        };
    }
    serve_file(service, &gun, &file).await
}

async fn serve_file(
    service: &TrustService,
    gun: &str,
    file: &str,
) -> Result<Response, RequestError> {
    let stem = file
        .strip_suffix(".json")
        .ok_or_else(|| RequestError::NotMetadata {
            file: file.to_owned(),
        })?;
    let store = service.store();
    let (found, immutable) = match parse_name(stem) {
        Name::Version(v, role) => (store.by_version(gun, &role, v).await, true),
        Name::Hash(role, hash) => (store.by_hash(gun, &role, &hash).await, true),
        Name::Current(role) => (store.latest(gun, &role).await, false),
    };
    let bytes = found
        .map_err(ServiceError::from)?
        .ok_or_else(|| RequestError::NoFile {
            gun: gun.to_owned(),
            file: file.to_owned(),
        })?;
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
    Ok(resp)
}

async fn publish(
    service: &TrustService,
    gun: &str,
    request: Request,
) -> Result<Response, RequestError> {
    let upload = Upload {
        files: read_upload(request).await?,
        resign_snapshot: false,
    };
    // A count, not the names: a publish may hold 70,000 roles.
    let roles = upload.files.len();
    match service.publish(gun, upload).await {
        Ok(stored) => {
            tracing::info!(%gun, roles, stored = stored.len(), "published");
            let stored: Vec<_> = stored
                .iter()
                .map(|f| json!({"role": f.role, "version": f.version}))
                .collect();
            Ok(axum::Json(json!({ "published": stored })).into_response())
        }
        Err(e) => {
            if !e.is_internal() {
                tracing::info!(%gun, roles, error = %e, "publish refused");
            }
            Err(e.into())
        }
    }
}

/// The files of a publish by role name.
async fn read_upload(request: Request) -> Result<BTreeMap<String, Vec<u8>>, RequestError> {
    let mut multipart = Multipart::from_request(request, &()).await?;
    let mut files = BTreeMap::new();
    while let Some(field) = multipart.next_field().await? {
        let role = field
            .file_name()
            .map(|n| n.strip_suffix(".json").unwrap_or(n).to_owned())
            .ok_or(RequestError::UnnamedPart)?;
        if role.is_empty() || role.len() > 255 || role.chars().any(char::is_control) {
            return Err(RequestError::RoleName(role));
        }
        let bytes = read_field(field, &role).await?;
        if files.insert(role.clone(), bytes).is_some() {
            return Err(RequestError::Twice { role });
        }
        if files.len() > MAX_FILES {
            return Err(RequestError::TooManyFiles);
        }
    }
    if files.is_empty() {
        return Err(RequestError::NoFiles);
    }
    Ok(files)
}

async fn read_field(mut field: Field<'_>, role: &str) -> Result<Vec<u8>, RequestError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if out.len() + chunk.len() > MAX_FILE {
            return Err(RequestError::FileTooLarge {
                role: role.to_owned(),
            });
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
