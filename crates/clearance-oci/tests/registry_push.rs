//! Pushing through the registry client against a small registry on
//! 127.0.0.1 that keeps what it is sent: monolithic uploads (POST, then
//! PUT to a relative or absolute `Location` whose query is kept), blobs the
//! registry has skipped, `pull,push` tokens, and a registry that answers a
//! manifest push with the digest of something else.
#![allow(clippy::unwrap_used)]

#[path = "support/fake_http.rs"]
mod fake_http;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clearance_oci::artifact::{ArtifactManifest, Descriptor, EMPTY_JSON};
use clearance_oci::media_type::{OCI_EMPTY, OCI_MANIFEST};
use clearance_oci::registry::{Progress, RegistryClient, RegistryError, RegistrySettings, Retry};
use clearance_oci::verify::VerifyError;
use clearance_oci::{Digest, RegistryRef};
use fake_http::{FakeServer, Reply, Request};

const REPO: &str = "team/db";
const TOKEN: &str = "push-token";

/// How the fake registry behaves.
#[derive(Debug, Clone, Copy, Default)]
struct Quirks {
    /// Answer the POST with an absolute `Location` (else a relative one).
    absolute_location: bool,
    /// Answer a manifest PUT with the digest of other bytes.
    lie_about_manifest_digest: bool,
    /// Require a bearer token (from /token) for everything.
    token_auth: bool,
}

#[derive(Debug, Default)]
struct Stored {
    blobs: HashMap<String, Vec<u8>>,
    manifests: HashMap<String, (String, Vec<u8>)>,
    /// The `scope` of every token asked for.
    scopes: Vec<String>,
}

async fn registry(quirks: Quirks) -> (FakeServer, Arc<Mutex<Stored>>) {
    let stored = Arc::new(Mutex::new(Stored::default()));
    let state = stored.clone();
    let server = FakeServer::start(move |req| handle(&state, quirks, req))
        .await
        .unwrap();
    (server, stored)
}

fn handle(state: &Mutex<Stored>, quirks: Quirks, req: &Request) -> Reply {
    let mut stored = state.lock().unwrap();
    if req.path == "/token" {
        stored
            .scopes
            .push(req.query_param("scope").unwrap_or_default());
        return Reply::ok(
            "application/json",
            serde_json::json!({"token": TOKEN}).to_string(),
        );
    }
    if quirks.token_auth && req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        let challenge = format!(
            r#"Bearer realm="http://{}/token",service="fake",scope="repository:{REPO}:pull,push""#,
            req.server
        );
        return Reply::oci_error(401, "UNAUTHORIZED", "log in")
            .header("WWW-Authenticate", &challenge);
    }
    let prefix = format!("/v2/{REPO}/");
    let Some(rest) = req.path.strip_prefix(&prefix) else {
        return Reply::oci_error(404, "NAME_UNKNOWN", "no such repository");
    };
    match (req.method.as_str(), rest) {
        ("HEAD", blob) if blob.starts_with("blobs/sha256:") => {
            match stored.blobs.get(&blob["blobs/".len()..]) {
                // The length of the body a GET would have (a HEAD sends none).
                Some(bytes) => Reply::ok("application/octet-stream", bytes.clone())
                    .header("Docker-Content-Digest", &blob["blobs/".len()..]),
                None => Reply::new(404),
            }
        }
        ("POST", "blobs/uploads/") => {
            let location = format!("/v2/{REPO}/blobs/uploads/u-{}?_state=kept", req.nth);
            let location = if quirks.absolute_location {
                format!("http://{}{location}", req.server)
            } else {
                location
            };
            Reply::new(202).header("Location", &location)
        }
        ("PUT", upload) if upload.starts_with("blobs/uploads/u-") => {
            if req.query_param("_state").as_deref() != Some("kept") {
                return Reply::oci_error(
                    400,
                    "BLOB_UPLOAD_INVALID",
                    "the location's query was lost",
                );
            }
            let Some(digest) = req.query_param("digest") else {
                return Reply::oci_error(400, "DIGEST_INVALID", "no digest");
            };
            if Digest::sha256_of(&req.body).to_string() != digest {
                return Reply::oci_error(400, "DIGEST_INVALID", "the body is not its digest");
            }
            stored.blobs.insert(digest.clone(), req.body.clone());
            Reply::new(201)
                .header("Location", &format!("/v2/{REPO}/blobs/{digest}"))
                .header("Docker-Content-Digest", &digest)
        }
        ("PUT", manifest) if manifest.starts_with("manifests/") => {
            let content_type = req.header("content-type").unwrap_or_default().to_owned();
            let reference = manifest["manifests/".len()..].to_owned();
            stored
                .manifests
                .insert(reference, (content_type, req.body.clone()));
            let digest = if quirks.lie_about_manifest_digest {
                Digest::sha256_of(b"something else")
            } else {
                Digest::sha256_of(&req.body)
            };
            Reply::new(201).header("Docker-Content-Digest", &digest.to_string())
        }
        _ => Reply::oci_error(404, "NOT_FOUND", "no route"),
    }
}

fn client() -> RegistryClient {
    RegistryClient::new(&RegistrySettings {
        credentials: None,
        docker_config: None,
        extra_ca_file: None,
        insecure_registries: Vec::new(),
        retry: Retry {
            retries: 1,
            backoff: Duration::from_millis(10),
        },
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

fn reference(server: &FakeServer) -> RegistryRef {
    RegistryRef::parse(&format!("{}/{REPO}:v1", server.host())).unwrap()
}

/// A file of `len` bytes that are not all alike.
fn file_of(len: usize) -> (tempfile::NamedTempFile, Vec<u8>) {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    (file, bytes)
}

fn counter() -> (Progress, Arc<Mutex<u64>>) {
    let total = Arc::new(Mutex::new(0u64));
    let t = total.clone();
    (Arc::new(move |n| *t.lock().unwrap() += n), total)
}

async fn bounded<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .expect("the client did not give up in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_is_uploaded_monolithically_to_a_relative_location_then_skipped() {
    let (server, stored) = registry(Quirks::default()).await;
    let r = reference(&server);
    let client = client();
    // More than one read chunk, less than the fake server's body limit.
    let (file, bytes) = file_of(700_000);
    let (progress, total) = counter();
    let pushed = bounded(client.push_blob_file(&r, file.path(), "application/x.db", progress))
        .await
        .unwrap();
    assert!(pushed.uploaded);
    assert_eq!(pushed.blob.digest, Digest::sha256_of(&bytes));
    assert_eq!(pushed.blob.size, bytes.len() as u64);
    assert_eq!(*total.lock().unwrap(), bytes.len() as u64);
    assert_eq!(
        stored.lock().unwrap().blobs[&pushed.blob.digest.to_string()],
        bytes
    );
    let posts = server.count("POST", &format!("/v2/{REPO}/blobs/uploads/"));
    assert_eq!(posts, 1);

    // Again: the registry has it, so nothing is sent.
    let (progress, _) = counter();
    let again = bounded(client.push_blob_file(&r, file.path(), "application/x.db", progress))
        .await
        .unwrap();
    assert!(!again.uploaded);
    assert_eq!(again.blob, pushed.blob);
    assert_eq!(
        server.count("POST", &format!("/v2/{REPO}/blobs/uploads/")),
        1,
        "a blob the registry has is not uploaded again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absolute_location_is_followed_and_its_query_kept() {
    let (server, stored) = registry(Quirks {
        absolute_location: true,
        ..Quirks::default()
    })
    .await;
    let r = reference(&server);
    let pushed = bounded(client().push_blob_bytes(&r, EMPTY_JSON, OCI_EMPTY))
        .await
        .unwrap();
    assert!(pushed.uploaded);
    assert_eq!(pushed.blob.digest, Descriptor::empty().digest);
    assert_eq!(pushed.blob.size, 2);
    assert_eq!(
        stored.lock().unwrap().blobs[&pushed.blob.digest.to_string()],
        b"{}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_is_put_with_its_type_and_its_digest_checked() {
    let (server, stored) = registry(Quirks::default()).await;
    let r = reference(&server);
    let client = client();
    let config = bounded(client.push_blob_bytes(&r, EMPTY_JSON, OCI_EMPTY))
        .await
        .unwrap();
    assert!(config.uploaded);
    let manifest = ArtifactManifest::new(
        "application/x.kind",
        vec![Descriptor::empty()],
        Default::default(),
    )
    .to_bytes();
    let digest = bounded(client.put_manifest(&r, "v1", &manifest, OCI_MANIFEST))
        .await
        .unwrap();
    assert_eq!(digest, Digest::sha256_of(&manifest));
    let (content_type, body) = stored.lock().unwrap().manifests["v1"].clone();
    assert_eq!(content_type, OCI_MANIFEST);
    assert_eq!(body, manifest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_stored_another_manifest_is_caught() {
    let (server, _) = registry(Quirks {
        lie_about_manifest_digest: true,
        ..Quirks::default()
    })
    .await;
    let manifest =
        ArtifactManifest::new("application/x.kind", vec![], Default::default()).to_bytes();
    let e = bounded(client().put_manifest(&reference(&server), "v1", &manifest, OCI_MANIFEST))
        .await
        .unwrap_err();
    match e {
        RegistryError::Verify(VerifyError::DigestMismatch {
            expected, actual, ..
        }) => {
            assert_eq!(expected, Digest::sha256_of(&manifest));
            assert_eq!(actual, Digest::sha256_of(b"something else"));
        }
        other => panic!("not a digest mismatch: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushing_asks_for_a_pull_and_push_token() {
    let (server, stored) = registry(Quirks {
        token_auth: true,
        ..Quirks::default()
    })
    .await;
    let r = reference(&server);
    let (file, _) = file_of(10_000);
    let (progress, _) = counter();
    bounded(client().push_blob_file(&r, file.path(), "application/x.db", progress))
        .await
        .unwrap();
    let scopes = stored.lock().unwrap().scopes.clone();
    assert_eq!(scopes, [format!("repository:{REPO}:pull,push")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_the_url_status_and_the_registrys_code() {
    let server = FakeServer::start(|req| {
        if req.method == "POST" {
            Reply::oci_error(403, "DENIED", "requested access to the resource is denied")
        } else {
            Reply::new(404)
        }
    })
    .await
    .unwrap();
    let e = bounded(client().push_blob_bytes(&reference(&server), EMPTY_JSON, OCI_EMPTY))
        .await
        .unwrap_err();
    match &e {
        RegistryError::Http {
            method,
            url,
            status,
            code,
            ..
        } => {
            assert_eq!(*method, "POST");
            assert!(
                url.ends_with(&format!("/v2/{REPO}/blobs/uploads/")),
                "{url}"
            );
            assert_eq!(*status, 403);
            assert_eq!(code.as_deref(), Some("DENIED"));
        }
        other => panic!("not an HTTP error: {other:?}"),
    }
    let e = {
        let server = FakeServer::start(|req| match req.method.as_str() {
            "POST" => Reply::new(202),
            _ => Reply::new(404),
        })
        .await
        .unwrap();
        bounded(client().push_blob_bytes(&reference(&server), EMPTY_JSON, OCI_EMPTY))
            .await
            .unwrap_err()
    };
    assert!(
        matches!(
            e,
            RegistryError::Protocol {
                method: "POST",
                status: 202,
                ..
            }
        ),
        "a 202 without a Location: {e:?}"
    );
}

/// The digest sent is the one of the bytes sent: a file that changes
/// between its hashing and its upload (here, while the registry is asked
/// whether it has it) is cut off before its last byte, so the registry
/// never completes the upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_changes_while_it_is_pushed_is_cut_off() {
    let (file, bytes) = file_of(600_000);
    let path = file.path().to_owned();
    let bytes = Mutex::new(bytes);
    let puts = Arc::new(Mutex::new(0usize));
    let seen = puts.clone();
    let server = FakeServer::start(move |req| match req.method.as_str() {
        "HEAD" => {
            let mut bytes = bytes.lock().unwrap();
            bytes[300_000] ^= 1;
            std::fs::write(&path, &*bytes).unwrap();
            Reply::new(404)
        }
        "POST" => Reply::new(202).header("Location", &format!("/v2/{REPO}/blobs/uploads/u")),
        "PUT" => {
            *seen.lock().unwrap() += 1;
            Reply::new(201)
        }
        _ => Reply::new(404),
    })
    .await
    .unwrap();
    let (progress, _) = counter();
    let e = bounded(client().push_blob_file(
        &reference(&server),
        file.path(),
        "application/x.db",
        progress,
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(e, RegistryError::Verify(VerifyError::DigestMismatch { .. })),
        "{e:?}"
    );
    assert_eq!(
        *puts.lock().unwrap(),
        0,
        "the registry never saw the whole PUT"
    );
}
