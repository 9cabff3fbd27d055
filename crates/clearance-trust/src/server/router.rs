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
use crate::gun::Gun;
use crate::schema::{RoleName, RoleNameError, TopRole, Version};

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
    NoFile { gun: Gun, file: String },
    #[error("no {role} key")]
    NoKey { role: String },
    #[error("a publish is multipart/form-data with one part per metadata file: {0}")]
    NotMultipart(#[from] MultipartRejection),
    #[error("reading the upload: {}", .0.body_text())]
    Upload(#[from] MultipartError),
    #[error("each part needs a file name naming its role")]
    UnnamedPart,
    #[error("bad role name: {0}")]
    RoleName(#[from] RoleNameError),
    #[error("{role}: larger than {MAX_FILE} bytes")]
    FileTooLarge { role: RoleName },
    #[error("{role} appears twice")]
    Twice { role: RoleName },
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
    // Notary's GUNs are: the rule the tokens' scopes follow. Built once,
    // here; everything after takes the checked name.
    let name = clearance_auth::RepositoryName::parse(&gun)?;
    let gun = Gun::from(name.clone());
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
                let role = server_role(role)?;
                Ok(axum::Json(service.rotate_server_key(&gun, role).await?).into_response())
            }
            None => publish(service, &gun, request).await,
        };
    }
    if let Some(role) = file.strip_suffix(".key") {
        let role = server_role(role)?;
        return match service.server_key(&gun, role, true).await? {
            Some(key) => Ok(axum::Json(key).into_response()),
            None => Err(RequestError::NoKey {
                role: role.to_string(),
            }),
        };
    }
    serve_file(service, &gun, &file).await
}

/// The role a `ROLE.key` route names: one whose keys the service may hold.
fn server_role(role: &str) -> Result<TopRole, ServiceError> {
    role.parse().map_err(|_| ServiceError::NotServerRole {
        role: role.chars().take(64).collect(),
    })
}

async fn serve_file(
    service: &TrustService,
    gun: &Gun,
    file: &str,
) -> Result<Response, RequestError> {
    let stem = file
        .strip_suffix(".json")
        .ok_or_else(|| RequestError::NotMetadata {
            file: file.to_owned(),
        })?;
    let no_file = || RequestError::NoFile {
        gun: gun.clone(),
        file: file.to_owned(),
    };
    let store = service.store();
    // A name that is no role name has no file.
    let (found, immutable) = match parse_name(stem).ok_or_else(no_file)? {
        Name::Version(v, role) => (store.by_version(gun, &role, v).await, true),
        Name::Hash(role, hash) => (store.by_hash(gun, &role, &hash).await, true),
        Name::Current(role) => (store.latest(gun, &role).await, false),
    };
    let bytes = found.map_err(ServiceError::from)?.ok_or_else(no_file)?;
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
    gun: &Gun,
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

/// The files of a publish by role name (each part's file name, `.json`
/// optional, checked as a [`RoleName`]).
async fn read_upload(request: Request) -> Result<BTreeMap<RoleName, Vec<u8>>, RequestError> {
    let mut multipart = Multipart::from_request(request, &()).await?;
    let mut files = BTreeMap::new();
    while let Some(field) = multipart.next_field().await? {
        let name = field.file_name().ok_or(RequestError::UnnamedPart)?;
        let role = RoleName::new(name.strip_suffix(".json").unwrap_or(name))?;
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

async fn read_field(mut field: Field<'_>, role: &RoleName) -> Result<Vec<u8>, RequestError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if out.len() + chunk.len() > MAX_FILE {
            return Err(RequestError::FileTooLarge { role: role.clone() });
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

/// What a metadata file name asks for.
enum Name {
    /// `ROLE.json`: the newest version.
    Current(RoleName),
    /// `N.ROLE.json`: version N.
    Version(Version, RoleName),
    /// `ROLE.SHA256.json`: the version with those bytes (Notary's names).
    Hash(RoleName, String),
}

/// The file name's stem (without `.json`) read as Notary's server reads
/// it; `None` when the role it names is no role name.
fn parse_name(stem: &str) -> Option<Name> {
    if let Some((n, role)) = stem.split_once('.')
        && !n.is_empty()
        && n.len() <= 19
        && n.bytes().all(|b| b.is_ascii_digit())
        && let Some(v) = n.parse::<u64>().ok().and_then(|v| Version::new(v).ok())
    {
        return Some(Name::Version(v, RoleName::new(role).ok()?));
    }
    if let Some((role, hash)) = stem.rsplit_once('.')
        && hash.len() == 64
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Some(Name::Hash(
            RoleName::new(role).ok()?,
            hash.to_ascii_lowercase(),
        ));
    }
    Some(Name::Current(RoleName::new(stem).ok()?))
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

    /// Issue 8 point 6: the router builds each role name once, as a
    /// checked [`RoleName`]: an upload part named `.`, `..` or with a
    /// control character is refused before anything is read.
    #[tokio::test]
    async fn i8_upload_parts_must_be_named_by_role_names() {
        let upload = |name: &str| {
            let body = format!(
                "--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\r\n{{}}\r\n--b--\r\n"
            );
            Request::builder()
                .method(Method::POST)
                .header(header::CONTENT_TYPE, "multipart/form-data; boundary=b")
                .body(Body::from(body))
                .unwrap()
        };
        let files = read_upload(upload("targets%2Freleases.json")).await;
        assert!(files.is_ok());
        for bad in ["..", "...json", ".json"] {
            let err = read_upload(upload(bad)).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    RequestError::RoleName(RoleNameError::Dots { .. } | RoleNameError::Empty)
                ),
                "{bad:?}: {err}"
            );
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn file_names_name_current_versioned_and_hashed_metadata() {
        assert!(matches!(parse_name("root"), Some(Name::Current(r)) if r == "root"));
        assert!(matches!(parse_name("3.root"), Some(Name::Version(v, r)) if v == 3 && r == "root"));
        assert!(
            matches!(parse_name("12.bins-a0"), Some(Name::Version(v, r)) if v == 12 && r == "bins-a0")
        );
        let h = "ab".repeat(32);
        assert!(
            matches!(parse_name(&format!("targets.{h}")), Some(Name::Hash(r, x)) if r == "targets" && x == h)
        );
        assert!(matches!(
            parse_name("99999999999999999999.root"),
            Some(Name::Current(_))
        ));
        assert!(parse_name("..").is_none());
        assert!(parse_name("3.x\u{1b}").is_none());
    }
}
