//! The registry client against a hostile fake registry on 127.0.0.1: wrong
//! digests, lying headers, oversized and endless bodies, redirect loops,
//! flaky and stalling servers, auth handshakes gone wrong. Every case must
//! end in an error (never a panic or a hang) that names what was wrong,
//! with memory and time bounded.
#![allow(clippy::unwrap_used)]

#[path = "support/fake_http.rs"]
mod fake_http;

use std::collections::HashMap;
use std::io::Read as _;
use std::time::{Duration, Instant};

use clearance_oci::manifest::{BlobRef, ManifestError};
use clearance_oci::media_type;
use clearance_oci::registry::{Credential, RegistryError, RegistrySettings, Retry};
use clearance_oci::verify::VerifyError;
use clearance_oci::{
    Digest, ImageRef, ImageSource, Platform, ResolvedImage, SourceError, SourceSettings,
};
use fake_http::{Body, EndlessOutcome, FakeServer, Framing, Reply, Request, Stop};
use serde_json::json;

const REPO: &str = "app";
const TAG: &str = "v1";
const LAYER_SIZE: usize = 1000;
const MAX_MANIFEST: u64 = 4 << 20;
/// The longest any single client call may take before the test calls it a hang.
const SAFETY_NET: Duration = Duration::from_secs(10);
/// What a server may have pushed into socket buffers before the client hung
/// up; far below the fake server's own 256 MiB cap.
const BOUNDED_SEND: u64 = 64 << 20;
/// `base64("user:s3cret")`, written out so the test does not trust the
/// client's own encoder.
const BASIC_USER_S3CRET: &str = "Basic dXNlcjpzM2NyZXQ=";
const TOKEN: &str = "tok-123";

// ---------------------------------------------------------------------------
// Fixtures: realistic OCI documents with real digests.

#[derive(Debug, Clone)]
struct Blob {
    media_type: &'static str,
    bytes: Vec<u8>,
    digest: Digest,
}

impl Blob {
    fn new(media_type: &'static str, bytes: Vec<u8>) -> Blob {
        let digest = Digest::sha256_of(&bytes);
        Blob {
            media_type,
            bytes,
            digest,
        }
    }

    fn json(media_type: &'static str, value: &serde_json::Value) -> Blob {
        Blob::new(media_type, serde_json::to_vec(value).unwrap())
    }

    fn descriptor(&self) -> serde_json::Value {
        json!({
            "mediaType": self.media_type,
            "digest": self.digest.to_string(),
            "size": self.bytes.len(),
        })
    }

    fn blob_ref(&self) -> BlobRef {
        BlobRef {
            media_type: self.media_type.to_owned(),
            digest: self.digest.clone(),
            size: self.bytes.len() as u64,
        }
    }

    fn reply(&self) -> Reply {
        Reply::ok(self.media_type, self.bytes.clone())
            .header("Docker-Content-Digest", &self.digest.to_string())
    }
}

#[derive(Debug, Clone)]
struct Image {
    layer: Blob,
    config: Blob,
    manifest: Blob,
}

fn image(arch: &str) -> Image {
    let seed = arch.bytes().fold(0u8, u8::wrapping_add);
    let layer_bytes = (0..LAYER_SIZE)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    let layer = Blob::new("application/vnd.oci.image.layer.v1.tar", layer_bytes);
    let config = Blob::json(
        media_type::OCI_CONFIG,
        &json!({
            "created": "2024-01-01T00:00:00Z",
            "architecture": arch,
            "os": "linux",
            "config": {"Env": ["PATH=/usr/local/bin:/usr/bin"], "Cmd": ["/app"]},
            "rootfs": {"type": "layers", "diff_ids": [layer.digest.to_string()]},
            "history": [{"created_by": "COPY app /app"}],
        }),
    );
    let manifest = Blob::json(
        media_type::OCI_MANIFEST,
        &json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_MANIFEST,
            "config": config.descriptor(),
            "layers": [layer.descriptor()],
        }),
    );
    Image {
        layer,
        config,
        manifest,
    }
}

fn manifest_path(reference: &str) -> String {
    format!("/v2/{REPO}/manifests/{reference}")
}

fn blob_path(digest: &Digest) -> String {
    format!("/v2/{REPO}/blobs/{digest}")
}

type Routes = HashMap<String, Reply>;

/// Everything a registry serves for `img` under tag `v1`.
fn routes_for(img: &Image) -> Routes {
    let mut routes = Routes::new();
    add_image(&mut routes, img);
    routes.insert(manifest_path(TAG), img.manifest.reply());
    routes
}

/// An image's manifest (by digest) and blobs.
fn add_image(routes: &mut Routes, img: &Image) {
    routes.insert(
        manifest_path(&img.manifest.digest.to_string()),
        img.manifest.reply(),
    );
    for blob in [&img.config, &img.layer] {
        routes.insert(
            blob_path(&blob.digest),
            Reply::ok("application/octet-stream", blob.bytes.clone()),
        );
    }
}

fn route(routes: &Routes, req: &Request) -> Reply {
    routes.get(&req.path).cloned().unwrap_or_else(|| {
        Reply::oci_error(404, "NAME_UNKNOWN", &format!("no route for {}", req.path))
    })
}

async fn serve(routes: Routes) -> FakeServer {
    FakeServer::start(move |req| route(&routes, req))
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------
// Client helpers.

fn settings() -> SourceSettings {
    SourceSettings {
        registry: RegistrySettings {
            credentials: None,
            // Never pick up the developer's ~/.docker/config.json.
            docker_config: None,
            extra_ca_file: None,
            insecure_registries: Vec::new(),
            retry: Retry {
                retries: 3,
                backoff: Duration::from_millis(10),
            },
            timeout: Duration::from_secs(5),
        },
    }
}

fn with_creds(credential: Credential) -> SourceSettings {
    let mut s = settings();
    s.registry.credentials = Some(credential);
    s
}

fn user_s3cret() -> Credential {
    Credential::Basic {
        username: "user".into(),
        password: "s3cret".into(),
    }
}

/// `suffix` is `:TAG` or `@DIGEST`.
async fn open(server: &FakeServer, suffix: &str, settings: &SourceSettings) -> ImageSource {
    let reference: ImageRef = format!("docker://{}/{REPO}{suffix}", server.host())
        .parse()
        .unwrap();
    ImageSource::open(&reference, settings).await.unwrap()
}

/// Run a client call under the safety net: the client's own error must come
/// first.
async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(SAFETY_NET, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: the client did not give up within {SAFETY_NET:?}"),
    }
}

async fn resolve_with(
    server: &FakeServer,
    suffix: &str,
    settings: &SourceSettings,
    platform: &str,
) -> Result<ResolvedImage, SourceError> {
    let source = open(server, suffix, settings).await;
    bounded("resolve", source.resolve(&platform.parse().unwrap())).await
}

/// Resolve `:TAG` for linux/amd64.
async fn resolve(
    server: &FakeServer,
    settings: &SourceSettings,
) -> Result<ResolvedImage, SourceError> {
    resolve_with(server, &format!(":{TAG}"), settings, "linux/amd64").await
}

/// Open a blob and read it to the end on a blocking thread. Returns the bytes
/// handed out before the end or the error, and how reading ended.
async fn read_blob(
    source: &ImageSource,
    blob: &BlobRef,
) -> Result<(Vec<u8>, std::io::Result<()>), SourceError> {
    let mut reader = bounded("open_blob", source.open_blob(blob)).await?;
    let read = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return (out, Ok(())),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return (out, Err(e)),
            }
        }
    });
    Ok(bounded("reading a blob", read).await.unwrap())
}

fn registry_error(e: SourceError) -> RegistryError {
    match e {
        SourceError::Registry(r) => r,
        other => panic!("expected SourceError::Registry, got {other:?} ({other})"),
    }
}

/// A transport failure's `(url, message)`.
fn transport_error(e: SourceError) -> (String, String) {
    match registry_error(e) {
        RegistryError::Transport { url, message } => (url, message),
        other => panic!("expected Transport, got {other:?}"),
    }
}

/// An authentication failure's `(url, hint)`; every one must carry a hint.
fn unauthorized(e: SourceError) -> (String, String) {
    let r = registry_error(e);
    assert_eq!(r.status(), Some(401), "{r}");
    match r {
        RegistryError::Unauthorized {
            url,
            hint: Some(hint),
        } => (url, hint),
        other => panic!("expected Unauthorized with a hint, got {other:?}"),
    }
}

fn verify_error(e: SourceError) -> VerifyError {
    match e {
        SourceError::Registry(RegistryError::Verify(v)) | SourceError::Verify(v) => v,
        other => panic!("expected a verification error, got {other:?} ({other})"),
    }
}

fn assert_digest_mismatch(
    err: &VerifyError,
    want_expected: &Digest,
    want_actual: &Digest,
    what_contains: &str,
) {
    let VerifyError::DigestMismatch {
        what,
        expected,
        actual,
    } = err
    else {
        panic!("expected DigestMismatch, got {err:?}");
    };
    assert_eq!(expected, want_expected, "{err}");
    assert_eq!(actual, want_actual, "{err}");
    assert!(what.contains(what_contains), "{what:?} / {what_contains}");
}

/// Every endless body stopped because the client hung up, early.
fn assert_client_hung_up(outcomes: &[EndlessOutcome], n: usize) {
    assert_eq!(outcomes.len(), n, "endless bodies finished: {outcomes:?}");
    for o in outcomes {
        assert_eq!(o.stop, Stop::ClientGone, "{o:?}");
        assert!(o.sent < BOUNDED_SEND, "{o:?}");
    }
}

// ---------------------------------------------------------------------------
// 1–3: digests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_by_digest_with_wrong_bytes_is_a_digest_mismatch() {
    let img = image("amd64");
    let impostor = image("arm64").manifest;
    let mut routes = routes_for(&img);
    routes.insert(
        manifest_path(&img.manifest.digest.to_string()),
        impostor.reply(),
    );
    let server = serve(routes).await;

    let err = resolve_with(
        &server,
        &format!("@{}", img.manifest.digest),
        &settings(),
        "linux/amd64",
    )
    .await
    .unwrap_err();
    let v = verify_error(err);
    assert_digest_mismatch(
        &v,
        &img.manifest.digest,
        &impostor.digest,
        &manifest_path(&img.manifest.digest.to_string()),
    );
    assert_eq!(
        server.count_prefix(&format!("/v2/{REPO}/blobs/")),
        0,
        "nothing the bad manifest points at may be fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_content_digest_that_disagrees_with_the_body_is_a_mismatch() {
    let img = image("amd64");
    let claimed = Digest::sha256_of(b"what the registry claims");
    let mut routes = routes_for(&img);
    routes.insert(
        manifest_path(TAG),
        Reply::ok(media_type::OCI_MANIFEST, img.manifest.bytes.clone())
            .header("Docker-Content-Digest", &claimed.to_string()),
    );
    let server = serve(routes).await;

    let v = verify_error(resolve(&server, &settings()).await.unwrap_err());
    assert_digest_mismatch(&v, &claimed, &img.manifest.digest, "Docker-Content-Digest");
    assert!(
        matches!(&v, VerifyError::DigestMismatch { what, .. } if what.contains(&manifest_path(TAG))),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_blob_with_wrong_bytes_is_a_digest_mismatch() {
    let img = image("amd64");
    // Same length, different architecture: a plausible forgery.
    let forged = String::from_utf8(img.config.bytes.clone())
        .unwrap()
        .replace("amd64", "arm64")
        .into_bytes();
    assert_eq!(forged.len(), img.config.bytes.len());
    let mut routes = routes_for(&img);
    routes.insert(
        blob_path(&img.config.digest),
        Reply::ok("application/octet-stream", forged.clone()),
    );
    let server = serve(routes).await;

    let v = verify_error(resolve(&server, &settings()).await.unwrap_err());
    assert_digest_mismatch(
        &v,
        &img.config.digest,
        &Digest::sha256_of(&forged),
        &blob_path(&img.config.digest),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_blob_longer_than_its_descriptor_is_a_size_mismatch() {
    let img = image("amd64");
    let mut longer = img.config.bytes.clone();
    longer.push(b' ');
    let mut routes = routes_for(&img);
    routes.insert(
        blob_path(&img.config.digest),
        Reply::new(200).body(Body::Chunked(longer)),
    );
    let server = serve(routes).await;

    let v = verify_error(resolve(&server, &settings()).await.unwrap_err());
    let VerifyError::SizeMismatch { expected, size, .. } = &v else {
        panic!("expected SizeMismatch, got {v:?}");
    };
    assert_eq!(expected, &img.config.digest);
    assert_eq!(*size, img.config.bytes.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_with_wrong_bytes_fails_at_the_end_of_the_stream() {
    let img = image("amd64");
    let mut forged = img.layer.bytes.clone();
    forged[LAYER_SIZE / 2] ^= 0xff;
    let mut routes = routes_for(&img);
    routes.insert(
        blob_path(&img.layer.digest),
        Reply::ok("application/octet-stream", forged.clone()),
    );
    let server = serve(routes).await;

    let source = open(&server, &format!(":{TAG}"), &settings()).await;
    let resolved = bounded("resolve", source.resolve(&Platform::default()))
        .await
        .unwrap();
    assert_eq!(resolved.layers[0].blob, img.layer.blob_ref());
    let (_, end) = read_blob(&source, &resolved.layers[0].blob).await.unwrap();
    let io = end.unwrap_err();
    let v = VerifyError::from_io(&io).unwrap_or_else(|| panic!("not a VerifyError: {io:?}"));
    assert_digest_mismatch(
        v,
        &img.layer.digest,
        &Digest::sha256_of(&forged),
        &blob_path(&img.layer.digest),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_whose_content_length_disagrees_is_refused_before_reading() {
    let img = image("amd64");
    let mut longer = img.layer.bytes.clone();
    longer.extend_from_slice(b"trailing junk");
    let server = serve(Routes::from([(
        blob_path(&img.layer.digest),
        Reply::ok("application/octet-stream", longer),
    )]))
    .await;
    let source = open(&server, &format!(":{TAG}"), &settings()).await;
    let err = bounded("open_blob", source.open_blob(&img.layer.blob_ref()))
        .await
        .err()
        .unwrap();
    let v = verify_error(err);
    let VerifyError::SizeMismatch {
        expected,
        size,
        actual,
        ..
    } = &v
    else {
        panic!("expected SizeMismatch, got {v:?}");
    };
    assert_eq!(expected, &img.layer.digest);
    assert_eq!(*size, LAYER_SIZE as u64);
    assert_eq!(actual, &(LAYER_SIZE + 13).to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_child_with_wrong_bytes_is_a_digest_mismatch() {
    let (amd, arm) = (image("amd64"), image("arm64"));
    let index = index_of(&[(&amd, "amd64"), (&arm, "arm64")]);
    let mut routes = Routes::new();
    add_image(&mut routes, &amd);
    add_image(&mut routes, &arm);
    routes.insert(manifest_path(TAG), index.reply());
    // The arm64 slot serves the amd64 manifest.
    routes.insert(
        manifest_path(&arm.manifest.digest.to_string()),
        amd.manifest.reply(),
    );
    let server = serve(routes).await;

    let err = resolve_with(&server, &format!(":{TAG}"), &settings(), "linux/arm64")
        .await
        .unwrap_err();
    assert_digest_mismatch(
        &verify_error(err),
        &arm.manifest.digest,
        &amd.manifest.digest,
        &arm.manifest.digest.to_string(),
    );
}

/// An index names a platform's manifest the registry answers 404 for: the
/// error says the registry lost it, not the advice meant for `docker save`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_index_child_missing_is_named_as_missing_from_the_registry() {
    let (amd, arm) = (image("amd64"), image("arm64"));
    let index = index_of(&[(&amd, "amd64"), (&arm, "arm64")]);
    let mut routes = Routes::new();
    add_image(&mut routes, &amd);
    routes.insert(manifest_path(TAG), index.reply());
    let server = serve(routes).await;

    let err = resolve_with(&server, &format!(":{TAG}"), &settings(), "linux/arm64")
        .await
        .unwrap_err();
    match err {
        SourceError::RegistryMissingChild {
            platform, digest, ..
        } => {
            assert_eq!(digest, arm.manifest.digest);
            assert_eq!(platform.to_string(), "linux/arm64");
        }
        other => panic!("expected RegistryMissingChild, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// 4–5: size limits, endless bodies.

fn oversized_manifest(len: usize) -> Vec<u8> {
    let head = br#"{"schemaVersion":2,"pad":""#;
    let mut body = head.to_vec();
    body.resize(len - 2, b'a');
    body.extend_from_slice(b"\"}");
    body
}

fn assert_too_large(e: SourceError, url_contains: &str, want_limit: u64) {
    match registry_error(e) {
        RegistryError::TooLarge { url, limit } => {
            assert_eq!(limit, want_limit);
            assert!(url.contains(url_contains), "{url}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_manifest_is_too_large_with_or_without_a_length() {
    let big = oversized_manifest(MAX_MANIFEST as usize + 1);
    let routes = Routes::from([
        (
            manifest_path("fixed"),
            Reply::new(200)
                .header("Content-Type", media_type::OCI_MANIFEST)
                .body(Body::Fixed(big.clone())),
        ),
        (
            manifest_path("chunked"),
            Reply::new(200)
                .header("Content-Type", media_type::OCI_MANIFEST)
                .body(Body::Chunked(big.clone())),
        ),
        (
            manifest_path("until-close"),
            Reply::new(200)
                .header("Content-Type", media_type::OCI_MANIFEST)
                .body(Body::UntilClose(big)),
        ),
    ]);
    let server = serve(routes).await;
    for tag in ["fixed", "chunked", "until-close"] {
        let err = resolve_with(&server, &format!(":{tag}"), &settings(), "linux/amd64")
            .await
            .unwrap_err();
        assert_too_large(err, &manifest_path(tag), MAX_MANIFEST);
        assert_eq!(server.count("GET", &manifest_path(tag)), 1, "{tag}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_of_exactly_the_limit_is_accepted() {
    let img = image("amd64");
    let mut padded = img.manifest.bytes.clone();
    padded.resize(MAX_MANIFEST as usize, b' '); // trailing JSON whitespace
    let mut routes = routes_for(&img);
    routes.insert(
        manifest_path(TAG),
        Reply::new(200)
            .header("Content-Type", media_type::OCI_MANIFEST)
            .body(Body::Chunked(padded.clone())),
    );
    let server = serve(routes).await;
    let resolved = resolve(&server, &settings()).await.unwrap();
    assert_eq!(resolved.manifest_bytes.len() as u64, MAX_MANIFEST);
    assert_eq!(resolved.manifest_digest, Digest::sha256_of(&padded));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_manifest_body_is_cut_off_at_the_limit() {
    let framings = [
        ("chunked", Framing::Chunked),
        ("until-close", Framing::UntilClose),
        ("absurd-length", Framing::Length(1 << 40)),
    ];
    let routes: Routes = framings
        .iter()
        .map(|(tag, f)| {
            (
                manifest_path(tag),
                Reply::new(200)
                    .header("Content-Type", media_type::OCI_MANIFEST)
                    .body(Body::Endless(*f)),
            )
        })
        .collect();
    let server = serve(routes).await;
    let started = Instant::now();
    for (tag, _) in framings {
        let err = resolve_with(&server, &format!(":{tag}"), &settings(), "linux/amd64")
            .await
            .unwrap_err();
        assert_too_large(err, &manifest_path(tag), MAX_MANIFEST);
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    let outcomes = server
        .endless_outcomes(framings.len(), Duration::from_secs(5))
        .await;
    assert_client_hung_up(&outcomes, framings.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_blob_body_stops_just_past_the_declared_size() {
    let img = image("amd64");
    let blob = img.layer.blob_ref();
    for framing in [Framing::Chunked, Framing::UntilClose] {
        let server = serve(Routes::from([(
            blob_path(&blob.digest),
            Reply::new(200).body(Body::Endless(framing)),
        )]))
        .await;
        let source = open(&server, &format!(":{TAG}"), &settings()).await;
        let (handed_out, end) = read_blob(&source, &blob).await.unwrap();
        let io = end.unwrap_err();
        let v = VerifyError::from_io(&io).unwrap_or_else(|| panic!("not a VerifyError: {io:?}"));
        let VerifyError::SizeMismatch {
            expected,
            size,
            actual,
            ..
        } = v
        else {
            panic!("expected SizeMismatch, got {v:?}");
        };
        assert_eq!(expected, &blob.digest);
        assert_eq!(*size, LAYER_SIZE as u64);
        // The verifying reader asks for at most one byte past the size.
        assert_eq!(actual, &format!("more than {LAYER_SIZE}"), "{framing:?}");
        assert!(handed_out.len() <= LAYER_SIZE, "{}", handed_out.len());
        drop(source);
        let outcomes = server.endless_outcomes(1, Duration::from_secs(5)).await;
        assert_client_hung_up(&outcomes, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_blob_with_an_absurd_length_is_refused_at_the_headers() {
    let img = image("amd64");
    let blob = img.layer.blob_ref();
    let server = serve(Routes::from([(
        blob_path(&blob.digest),
        Reply::new(200).body(Body::Endless(Framing::Length(1 << 40))),
    )]))
    .await;
    let source = open(&server, &format!(":{TAG}"), &settings()).await;
    let err = bounded("open_blob", source.open_blob(&blob))
        .await
        .err()
        .unwrap();
    let VerifyError::SizeMismatch { actual, size, .. } = verify_error(err) else {
        panic!("expected SizeMismatch");
    };
    assert_eq!(size, LAYER_SIZE as u64);
    assert_eq!(actual, (1u64 << 40).to_string());
    let outcomes = server.endless_outcomes(1, Duration::from_secs(5)).await;
    assert_client_hung_up(&outcomes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_error_body_still_gives_the_status() {
    let server = serve(Routes::from([(
        manifest_path(TAG),
        Reply::new(404)
            .header("Content-Type", "application/json")
            .body(Body::Endless(Framing::Chunked)),
    )]))
    .await;
    match registry_error(resolve(&server, &settings()).await.unwrap_err()) {
        RegistryError::Http {
            status, code, url, ..
        } => {
            assert_eq!(status, 404);
            assert_eq!(code, None);
            assert!(url.contains(&manifest_path(TAG)), "{url}");
        }
        other => panic!("expected Http, got {other:?}"),
    }
    let outcomes = server.endless_outcomes(1, Duration::from_secs(5)).await;
    assert_client_hung_up(&outcomes, 1);
}

// ---------------------------------------------------------------------------
// 6: redirects.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_redirect_loop_is_a_bounded_transport_error() {
    let img = image("amd64");
    let layer = blob_path(&img.layer.digest);
    let routes = routes_for(&img);
    let server = FakeServer::start(move |req| {
        if req.path == layer {
            Reply::redirect(&format!("http://{}{}", req.server, req.path))
        } else {
            route(&routes, req)
        }
    })
    .await
    .unwrap();
    let source = open(&server, &format!(":{TAG}"), &settings()).await;
    let err = bounded("open_blob", source.open_blob(&img.layer.blob_ref()))
        .await
        .err()
        .unwrap();
    let (url, message) = transport_error(err);
    assert!(message.contains("redirect"), "{message}");
    assert!(url.contains(&blob_path(&img.layer.digest)), "{url}");
    let hits = server.count("GET", &blob_path(&img.layer.digest));
    assert!((2..=6).contains(&hits), "{hits} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_to_another_host_does_not_leak_the_token() {
    let img = image("amd64");
    let cdn = serve(Routes::from([(
        "/cdn/layer".to_owned(),
        Reply::ok("application/octet-stream", img.layer.bytes.clone()),
    )]))
    .await;
    let cdn_url = format!("{}/cdn/layer", cdn.base_url());
    let mut routes = routes_for(&img);
    routes.insert(blob_path(&img.layer.digest), Reply::redirect(&cdn_url));
    let server = FakeServer::start(bearer_registry(routes, None, token_reply()))
        .await
        .unwrap();

    let source = open(&server, &format!(":{TAG}"), &settings()).await;
    let (bytes, end) = read_blob(&source, &img.layer.blob_ref()).await.unwrap();
    end.unwrap();
    assert_eq!(bytes, img.layer.bytes);
    let seen = cdn.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        None,
        "the registry's token went to another host"
    );
}

/// A blob redirect to plain HTTP on a host that is not loopback (and not
/// named insecure) must be refused like any other plain-HTTP endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn redirect_to_plain_http_on_a_remote_host_is_refused() {
    let img = image("amd64");
    let mut routes = routes_for(&img);
    routes.insert(
        blob_path(&img.layer.digest),
        Reply::redirect("http://example.invalid/cdn/layer"),
    );
    let server = serve(routes).await;
    let source = open(&server, &format!(":{TAG}"), &settings()).await;
    let err = bounded("open_blob", source.open_blob(&img.layer.blob_ref()))
        .await
        .err()
        .unwrap();
    match registry_error(err) {
        RegistryError::InsecureRefused { host } => assert_eq!(host, "example.invalid"),
        other => panic!("expected InsecureRefused, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// 7: retries.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_unavailable_then_success_is_retried() {
    let img = image("amd64");
    let routes = routes_for(&img);
    let tag = manifest_path(TAG);
    let server = FakeServer::start(move |req| {
        if req.path == tag && req.nth < 2 {
            Reply::oci_error(503, "UNAVAILABLE", "warming up")
        } else {
            route(&routes, req)
        }
    })
    .await
    .unwrap();
    let resolved = resolve(&server, &settings()).await.unwrap();
    assert_eq!(resolved.manifest_digest, img.manifest.digest);
    assert_eq!(server.count("GET", &manifest_path(TAG)), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_with_retry_after_zero_is_retried() {
    let img = image("amd64");
    let routes = routes_for(&img);
    let config = blob_path(&img.config.digest);
    let server = FakeServer::start(move |req| {
        if req.path == config && req.nth == 0 {
            Reply::oci_error(429, "TOOMANYREQUESTS", "slow down").header("Retry-After", "0")
        } else {
            route(&routes, req)
        }
    })
    .await
    .unwrap();
    let resolved = resolve(&server, &settings()).await.unwrap();
    assert_eq!(resolved.config_bytes, img.config.bytes);
    assert_eq!(server.count("GET", &blob_path(&img.config.digest)), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_server_error_gives_up_after_the_retries() {
    for retries in [0u32, 3] {
        let server = FakeServer::start(|_| Reply::oci_error(500, "UNKNOWN", "boom"))
            .await
            .unwrap();
        let mut s = settings();
        s.registry.retry.retries = retries;
        let err = resolve(&server, &s).await.unwrap_err();
        match registry_error(err) {
            RegistryError::Http {
                method,
                url,
                status,
                code,
                message: m,
            } => {
                assert_eq!(method, "GET");
                assert!(url.contains(&manifest_path(TAG)), "{url}");
                assert_eq!(status, 500);
                assert_eq!(code.as_deref(), Some("UNKNOWN"));
                assert_eq!(m, "boom");
            }
            other => panic!("expected Http, got {other:?}"),
        }
        assert_eq!(
            server.count("GET", &manifest_path(TAG)),
            retries as usize + 1,
            "retries = {retries}"
        );
        // The https probe (a TLS ClientHello) is not an HTTP request.
        assert_eq!(server.requests().len(), retries as usize + 1);
        assert_eq!(server.garbage(), 1, "one https probe");
    }
}

// ---------------------------------------------------------------------------
// 8–9: auth.

/// What a well-behaved token service answers.
fn token_reply() -> Reply {
    Reply::ok(
        "application/json",
        json!({"token": TOKEN, "expires_in": 300}).to_string(),
    )
}

/// A registry that wants `Bearer tok-123`, with its token service at
/// `/token` answering `token`. `realm` overrides the realm URL in the
/// challenge.
fn bearer_registry(
    routes: Routes,
    realm: Option<&'static str>,
    token: Reply,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |req| {
        if req.path == "/token" {
            return token.clone();
        }
        if req.header("authorization") == Some(format!("Bearer {TOKEN}").as_str()) {
            return route(&routes, req);
        }
        let realm = realm
            .map(str::to_owned)
            .unwrap_or_else(|| format!("http://{}/token", req.server));
        Reply::oci_error(401, "UNAUTHORIZED", "authentication required").header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{realm}",service="fake",scope="repository:app:pull""#),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_is_fetched_once_and_used() {
    for credential in [None, Some(user_s3cret())] {
        let img = image("amd64");
        let server = FakeServer::start(bearer_registry(routes_for(&img), None, token_reply()))
            .await
            .unwrap();
        let s = match &credential {
            Some(c) => with_creds(c.clone()),
            None => settings(),
        };
        let source = open(&server, &format!(":{TAG}"), &s).await;
        let resolved = bounded("resolve", source.resolve(&Platform::default()))
            .await
            .unwrap();
        let (bytes, end) = read_blob(&source, &resolved.layers[0].blob).await.unwrap();
        end.unwrap();
        assert_eq!(bytes, img.layer.bytes);

        let requests = server.requests();
        let tokens: Vec<_> = requests.iter().filter(|r| r.path == "/token").collect();
        assert_eq!(tokens.len(), 1, "the token is cached per scope");
        let t = tokens[0];
        assert_eq!(t.method, "GET");
        assert_eq!(t.query_param("service").as_deref(), Some("fake"));
        assert_eq!(
            t.query_param("scope").as_deref(),
            Some("repository:app:pull")
        );
        let want_basic = credential.as_ref().map(|_| BASIC_USER_S3CRET);
        assert_eq!(t.header("authorization"), want_basic, "{credential:?}");

        let registry: Vec<_> = requests.iter().filter(|r| r.path != "/token").collect();
        assert_eq!(registry[0].header("authorization"), None);
        for r in &registry[1..] {
            assert_eq!(
                r.header("authorization"),
                Some(format!("Bearer {TOKEN}").as_str()),
                "{}",
                r.path
            );
        }
        for path in [
            manifest_path(TAG),
            blob_path(&img.config.digest),
            blob_path(&img.layer.digest),
        ] {
            assert!(registry.iter().any(|r| r.path == path), "{path} not seen");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_token_is_exchanged_with_a_post() {
    let img = image("amd64");
    let token = Reply::ok(
        "application/json",
        json!({"access_token": TOKEN}).to_string(),
    );
    let server = FakeServer::start(bearer_registry(routes_for(&img), None, token))
        .await
        .unwrap();
    let s = with_creds(Credential::IdentityToken("refresh-me".into()));
    let resolved = resolve(&server, &s).await.unwrap();
    assert_eq!(resolved.manifest_digest, img.manifest.digest);
    let tokens: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/token")
        .collect();
    assert_eq!(tokens.len(), 1);
    let t = &tokens[0];
    assert_eq!(t.method, "POST");
    assert_eq!(
        t.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = String::from_utf8(t.body.clone()).unwrap();
    let param = |name| fake_http::form_param(&form, name);
    assert_eq!(param("grant_type").as_deref(), Some("refresh_token"));
    assert_eq!(param("refresh_token").as_deref(), Some("refresh-me"));
    assert_eq!(param("service").as_deref(), Some("fake"));
    assert_eq!(param("scope").as_deref(), Some("repository:app:pull"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_service_refusing_is_unauthorized() {
    let token = Reply::oci_error(401, "UNAUTHORIZED", "bad credentials");
    let server = FakeServer::start(bearer_registry(Routes::new(), None, token))
        .await
        .unwrap();
    let err = resolve(&server, &with_creds(user_s3cret()))
        .await
        .unwrap_err();
    let (url, hint) = unauthorized(err);
    assert_eq!(url, format!("http://{}/token", server.host()));
    assert!(hint.contains("token service"), "{hint}");
    assert_eq!(server.count("GET", "/token"), 1);
    assert_eq!(server.count("GET", &manifest_path(TAG)), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_token_responses_are_refused() {
    // What each is refused as: a token error saying why, or a body too large.
    let cases: [(Reply, Option<&str>); 3] = [
        (
            // A header-injection attempt in the token.
            Reply::ok(
                "application/json",
                json!({"token": "tok\r\nX-Evil: 1"}).to_string(),
            ),
            Some("no usable token"),
        ),
        (
            Reply::ok("text/html", "<html>login</html>"),
            Some("not a token response"),
        ),
        (Reply::new(200).body(Body::Endless(Framing::Chunked)), None),
    ];
    for (reply, want) in cases {
        let server = FakeServer::start(bearer_registry(Routes::new(), None, reply))
            .await
            .unwrap();
        let err = resolve(&server, &settings()).await.unwrap_err();
        match (registry_error(err), want) {
            (RegistryError::Token { realm, message }, Some(why)) => {
                assert!(realm.ends_with("/token"), "{realm}");
                assert!(message.contains(why), "{message}");
            }
            (RegistryError::TooLarge { url, .. }, None) => {
                assert!(url.ends_with("/token"), "{url}");
            }
            (other, _) => panic!("expected a token error ({want:?}), got {other:?}"),
        }
        // The registry never saw anything but the anonymous attempt.
        assert_eq!(server.count("GET", &manifest_path(TAG)), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_refusing_a_valid_token_does_not_loop() {
    let server = FakeServer::start(|req| {
        if req.path == "/token" {
            return Reply::ok("application/json", json!({"token": TOKEN}).to_string());
        }
        Reply::oci_error(401, "UNAUTHORIZED", "no").header(
            "WWW-Authenticate",
            &format!(
                r#"Bearer realm="http://{}/token",service="fake""#,
                req.server
            ),
        )
    })
    .await
    .unwrap();
    let (url, hint) = unauthorized(resolve(&server, &settings()).await.unwrap_err());
    assert!(url.contains(&manifest_path(TAG)), "{url}");
    assert!(hint.contains("--creds"), "{hint}");
    assert_eq!(server.count("GET", "/token"), 1);
    assert_eq!(server.count("GET", &manifest_path(TAG)), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_realm_on_a_remote_host_is_refused_before_connecting() {
    let server = FakeServer::start(bearer_registry(
        Routes::new(),
        Some("http://example.invalid/token"),
        token_reply(),
    ))
    .await
    .unwrap();
    let err = resolve(&server, &with_creds(user_s3cret()))
        .await
        .unwrap_err();
    match registry_error(err) {
        RegistryError::InsecureRefused { host } => assert_eq!(host, "example.invalid"),
        other => panic!("expected InsecureRefused, got {other:?}"),
    }
    assert_eq!(server.count("GET", &manifest_path(TAG)), 1);
    assert_eq!(server.count_prefix("/token"), 0);
}

/// newuser D3: a realm that is not an http(s) URL is refused as such, not
/// as "plain HTTP to <empty host>".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_realm_that_is_not_an_http_url_is_refused_as_such() {
    for realm in [
        "file:///etc/passwd",
        "not a url",
        "mailto:x@example.invalid",
    ] {
        let server = FakeServer::start(bearer_registry(Routes::new(), Some(realm), token_reply()))
            .await
            .unwrap();
        let err = registry_error(resolve(&server, &settings()).await.unwrap_err());
        match &err {
            RegistryError::BadRealm { realm: r, .. } => assert_eq!(r, realm),
            other => panic!("{realm}: expected BadRealm, got {other:?}"),
        }
    }
    // Shown escaped: it comes from the server.
    let shown = RegistryError::BadRealm {
        realm: "file:///x\u{1b}[31m".into(),
        reason: None,
    }
    .to_string();
    assert!(!shown.contains('\u{1b}'), "{shown}");
}

fn basic_registry(routes: Routes, challenge: bool) -> impl Fn(&Request) -> Reply + Send + Sync {
    move |req| {
        if req.header("authorization") == Some(BASIC_USER_S3CRET) {
            return route(&routes, req);
        }
        let reply = Reply::oci_error(401, "UNAUTHORIZED", "authentication required");
        if challenge {
            reply.header("WWW-Authenticate", r#"Basic realm="x""#)
        } else {
            reply
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_challenge_without_credentials_asks_for_creds() {
    let server = FakeServer::start(basic_registry(Routes::new(), true))
        .await
        .unwrap();
    let err = resolve(&server, &settings()).await.unwrap_err();
    let (url, hint) = unauthorized(err);
    assert!(url.contains(&manifest_path(TAG)), "{url}");
    assert!(hint.contains("--creds"), "{hint}");
    assert_eq!(server.count("GET", &manifest_path(TAG)), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_challenge_with_credentials_sends_them() {
    let img = image("amd64");
    let server = FakeServer::start(basic_registry(routes_for(&img), true))
        .await
        .unwrap();
    let resolved = resolve(&server, &with_creds(user_s3cret())).await.unwrap();
    assert_eq!(resolved.manifest_digest, img.manifest.digest);
    let requests = server.requests();
    assert_eq!(requests[0].header("authorization"), None);
    assert_eq!(requests.len(), 3, "manifest twice, then the config");
    for r in &requests[1..] {
        assert_eq!(r.header("authorization"), Some(BASIC_USER_S3CRET));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_unusable_basic_credentials_are_unauthorized() {
    // Wrong password: one retry with it, then a hint that it was refused.
    let server = FakeServer::start(basic_registry(Routes::new(), true))
        .await
        .unwrap();
    let wrong = Credential::Basic {
        username: "user".into(),
        password: "wrong".into(),
    };
    let err = resolve(&server, &with_creds(wrong)).await.unwrap_err();
    let (url, hint) = unauthorized(err);
    assert!(url.contains(&manifest_path(TAG)), "{url}");
    assert!(hint.contains("refused the credentials"), "{hint}");
    assert_eq!(server.count("GET", &manifest_path(TAG)), 2);

    // A 401 with no challenge at all.
    let server = FakeServer::start(basic_registry(Routes::new(), false))
        .await
        .unwrap();
    let (url, hint) = unauthorized(resolve(&server, &settings()).await.unwrap_err());
    assert!(url.contains(&manifest_path(TAG)), "{url}");
    assert!(hint.contains("WWW-Authenticate"), "{hint}");
}

// ---------------------------------------------------------------------------
// 10–11: manifest kinds and platforms.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_1_manifest_is_refused() {
    let body = json!({
        "schemaVersion": 1,
        "name": "app",
        "tag": "v1",
        "architecture": "amd64",
        "fsLayers": [{"blobSum": image("amd64").layer.digest.to_string()}],
        "history": [{"v1Compatibility": "{}"}],
        "signatures": [{"header": {"alg": "ES256"}, "signature": "c2ln", "protected": "cHJvdA"}],
    });
    let server = serve(Routes::from([(
        manifest_path(TAG),
        Reply::ok(media_type::DOCKER_SCHEMA1_SIGNED, body.to_string()),
    )]))
    .await;
    let err = resolve(&server, &settings()).await.unwrap_err();
    match err {
        SourceError::Manifest(ManifestError::Schema1 { what }) => {
            assert!(
                what.contains(&format!("{}/{REPO}:{TAG}", server.host())),
                "{what}"
            );
        }
        other => panic!("expected Schema1, got {other:?}"),
    }
    assert_eq!(server.count_prefix(&format!("/v2/{REPO}/blobs/")), 0);
}

fn index_of(images: &[(&Image, &str)]) -> Blob {
    let mut manifests: Vec<_> = images
        .iter()
        .map(|(img, arch)| {
            let mut d = img.manifest.descriptor();
            d["platform"] = json!({"os": "linux", "architecture": arch});
            d
        })
        .collect();
    // A build attestation, as BuildKit adds: never a candidate.
    let mut attestation = images[0].0.manifest.descriptor();
    attestation["platform"] = json!({"os": "unknown", "architecture": "unknown"});
    manifests.push(attestation);
    Blob::json(
        media_type::OCI_INDEX,
        &json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_INDEX,
            "manifests": manifests,
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_resolves_the_requested_platform_or_lists_the_others() {
    let (amd, arm) = (image("amd64"), image("arm64"));
    let index = index_of(&[(&amd, "amd64"), (&arm, "arm64")]);
    let mut routes = Routes::new();
    add_image(&mut routes, &amd);
    add_image(&mut routes, &arm);
    routes.insert(manifest_path(TAG), index.reply());
    let server = serve(routes).await;

    let resolved = resolve_with(&server, &format!(":{TAG}"), &settings(), "linux/arm64")
        .await
        .unwrap();
    assert_eq!(resolved.index_digest.as_ref(), Some(&index.digest));
    assert_eq!(resolved.manifest_digest, arm.manifest.digest);
    assert_eq!(resolved.config_blob.digest, arm.config.digest);
    assert_eq!(resolved.platform.architecture, "arm64");
    assert_eq!(resolved.layers[0].blob, arm.layer.blob_ref());
    assert_eq!(
        server.count("GET", &manifest_path(&amd.manifest.digest.to_string())),
        0
    );

    let err = resolve_with(&server, &format!(":{TAG}"), &settings(), "linux/s390x")
        .await
        .unwrap_err();
    match err {
        SourceError::Manifest(ManifestError::NoPlatform {
            wanted, available, ..
        }) => {
            assert_eq!(wanted.to_string(), "linux/s390x");
            assert_eq!(available, ["linux/amd64", "linux/arm64"]);
        }
        other => panic!("expected NoPlatform, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_child_whose_size_lies_is_a_size_mismatch() {
    let (amd, arm) = (image("amd64"), image("arm64"));
    let mut lying = arm.manifest.descriptor();
    lying["size"] = json!(arm.manifest.bytes.len() - 1);
    lying["platform"] = json!({"os": "linux", "architecture": "arm64"});
    let mut honest = amd.manifest.descriptor();
    honest["platform"] = json!({"os": "linux", "architecture": "amd64"});
    let index = Blob::json(
        media_type::OCI_INDEX,
        &json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": [honest, lying]}),
    );
    let mut routes = Routes::new();
    add_image(&mut routes, &arm);
    routes.insert(manifest_path(TAG), index.reply());
    let server = serve(routes).await;

    let err = resolve_with(&server, &format!(":{TAG}"), &settings(), "linux/arm64")
        .await
        .unwrap_err();
    let v = verify_error(err);
    let VerifyError::SizeMismatch {
        expected,
        size,
        actual,
        ..
    } = &v
    else {
        panic!("expected SizeMismatch, got {v:?}");
    };
    assert_eq!(expected, &arm.manifest.digest);
    assert_eq!(*size, arm.manifest.bytes.len() as u64 - 1);
    assert_eq!(actual, &arm.manifest.bytes.len().to_string());
    assert_eq!(server.count_prefix(&format!("/v2/{REPO}/blobs/")), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_inside_an_index_is_followed() {
    let img = image("amd64");
    let inner = index_of(&[(&img, "amd64")]);
    let mut entry = inner.descriptor();
    entry["platform"] = json!({"os": "linux", "architecture": "amd64"});
    let outer = Blob::json(
        media_type::OCI_INDEX,
        &json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": [entry]}),
    );
    let mut routes = routes_for(&img);
    routes.insert(manifest_path(TAG), outer.reply());
    routes.insert(manifest_path(&inner.digest.to_string()), inner.reply());
    let server = serve(routes).await;

    let resolved = resolve(&server, &settings()).await.unwrap();
    assert_eq!(resolved.manifest_digest, img.manifest.digest);
    assert_eq!(resolved.index_digest.as_ref(), Some(&outer.digest));
}

// ---------------------------------------------------------------------------
// 12: stalls.

fn stall_settings(timeout: Duration, retries: u32) -> SourceSettings {
    let mut s = settings();
    s.registry.timeout = timeout;
    s.registry.retry.retries = retries;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_body_that_never_comes_times_out() {
    let img = image("amd64");
    let server = serve(Routes::from([(
        manifest_path(TAG),
        Reply::new(200)
            .header("Content-Type", media_type::OCI_MANIFEST)
            .body(Body::Stall {
                content_length: img.manifest.bytes.len() as u64,
                prefix: Vec::new(),
            }),
    )]))
    .await;
    let started = Instant::now();
    let err = resolve(&server, &stall_settings(Duration::from_secs(1), 3))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    let (url, message) = transport_error(err);
    assert!(url.contains(&manifest_path(TAG)), "{url}");
    assert!(message.contains("timed out"), "{message}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_never_answers_times_out_after_the_retries() {
    let server = serve(Routes::from([(
        manifest_path(TAG),
        Reply::new(200).body(Body::HangBeforeHead),
    )]))
    .await;
    let started = Instant::now();
    let err = resolve(&server, &stall_settings(Duration::from_millis(500), 1))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    let (url, message) = transport_error(err);
    assert!(url.contains(&manifest_path(TAG)), "{url}");
    assert!(message.contains("timed out"), "{message}");
    assert_eq!(server.count("GET", &manifest_path(TAG)), 2);
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_that_stalls_mid_stream_times_out() {
    let img = image("amd64");
    let server = serve(Routes::from([(
        blob_path(&img.layer.digest),
        Reply::new(200).body(Body::Stall {
            content_length: LAYER_SIZE as u64,
            prefix: img.layer.bytes[..100].to_vec(),
        }),
    )]))
    .await;
    let source = open(
        &server,
        &format!(":{TAG}"),
        &stall_settings(Duration::from_millis(500), 3),
    )
    .await;
    let started = Instant::now();
    let (handed_out, end) = read_blob(&source, &img.layer.blob_ref()).await.unwrap();
    let elapsed = started.elapsed();
    let io = end.unwrap_err();
    assert!(VerifyError::from_io(&io).is_none(), "{io}");
    let mut chain = io.to_string();
    let mut source_err = std::error::Error::source(&io);
    while let Some(s) = source_err {
        chain = format!("{chain}: {s}");
        source_err = s.source();
    }
    assert!(chain.contains("timed out"), "{chain}");
    assert_eq!(handed_out.len(), 100);
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

/// A server that drips a manifest one byte at a time never trips the
/// per-read timeout; small documents need a deadline for the whole body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn manifest_that_trickles_is_cut_off() {
    let img = image("amd64");
    let server = serve(Routes::from([(
        manifest_path(TAG),
        Reply::new(200)
            .header("Content-Type", media_type::OCI_MANIFEST)
            .body(Body::Trickle {
                data: img.manifest.bytes.clone(),
                every: Duration::from_millis(100),
            }),
    )]))
    .await;
    // ~400 bytes at 10 B/s is ~40 s; a 4 MiB manifest would take 5 days.
    let err = resolve(&server, &stall_settings(Duration::from_secs(1), 0))
        .await
        .unwrap_err();
    let (url, message) = transport_error(err);
    assert!(url.contains(&manifest_path(TAG)), "{url}");
    assert!(message.contains("timed out"), "{message}");
}

/// A layer dripped a few bytes at a time never trips the per-read timeout
/// either (a hostile review: 1 byte/s never timed out); a blob must arrive
/// within the timeout plus its size at 64 KiB/s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_that_trickles_is_cut_off() {
    let img = image("amd64");
    let server = serve(Routes::from([(
        blob_path(&img.layer.digest),
        Reply::new(200)
            .header("Content-Type", "application/octet-stream")
            .body(Body::Trickle {
                data: img.layer.bytes.clone(),
                every: Duration::from_millis(50),
            }),
    )]))
    .await;
    let source = open(
        &server,
        &format!(":{TAG}"),
        &stall_settings(Duration::from_secs(1), 0),
    )
    .await;
    let started = std::time::Instant::now();
    let (_, end) = read_blob(&source, &img.layer.blob_ref()).await.unwrap();
    let io = end.unwrap_err();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut, "{io}");
    assert!(io.to_string().contains("slower than 64 KiB/s"), "{io}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
