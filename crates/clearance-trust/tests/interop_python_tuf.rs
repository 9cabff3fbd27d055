//! Interop with python-tuf, the reference implementation, both ways:
//!
//! - python-tuf writes (tests/data/python-tuf/make_repo.py: consistent
//!   snapshots, a rotated root, ed25519 / ECDSA / RSA-PSS keys, a delegated
//!   role, an unknown field in signed targets) and Clearance's `Updater`
//!   reads it from disk;
//! - Clearance writes (the `TestRepo` of tests/support) and python-tuf's
//!   `ngclient.Updater` (tests/data/python-tuf/client.py) reads it over HTTP
//!   from `python -m http.server` on 127.0.0.1.
//!
//! python-tuf runs from the virtualenv `target/test-venv`, which
//! `scripts/install-test-deps.sh` creates.
#![allow(clippy::unwrap_used)]

mod python_tuf;
mod support;

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clearance_trust::client::{
    DirStore, FetchError, Transport, UpdateError, Updater, UpdaterSettings,
};
use clearance_trust::metadata::MetadataError;
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};
use clearance_trust::time::UtcTime;
use clearance_trust::{RoleName, TopRole};
use python_tuf::{PyOutput, python, run};
use serde_json::{Value, json};
use sha2::Digest as _;
use support::{BASE, Served, TARGETS_BASE, TestRepo, role};

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/python-tuf");
/// Longest a Python script may run (RSA key generation included).
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------
// Running Python
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Part 1: python-tuf writes, Clearance reads
// ---------------------------------------------------------------------------

const DISK_METADATA: &str = "file://disk/metadata/";
const DISK_TARGETS: &str = "file://disk/targets/";

/// A `Transport` over directories: URL prefix → directory. A missing file
/// is a 404 (`Ok(None)`). Every URL asked for is recorded.
#[derive(Clone)]
struct DiskTransport {
    routes: Vec<(String, PathBuf)>,
    fetched: Arc<Mutex<Vec<String>>>,
}

impl DiskTransport {
    fn new(routes: &[(&str, &Path)]) -> DiskTransport {
        DiskTransport {
            routes: routes
                .iter()
                .map(|(prefix, dir)| ((*prefix).to_owned(), dir.to_path_buf()))
                .collect(),
            fetched: Arc::default(),
        }
    }

    fn fetched(&self) -> Vec<String> {
        self.fetched.lock().unwrap().clone()
    }
}

impl Transport for DiskTransport {
    async fn fetch(&self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, FetchError> {
        self.fetched.lock().unwrap().push(url.to_owned());
        let Some((dir, rest)) = self
            .routes
            .iter()
            .find_map(|(prefix, dir)| Some((dir, url.strip_prefix(prefix.as_str())?)))
        else {
            return Ok(None);
        };
        // Like a web server: no way out of the directory.
        if rest
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Ok(None);
        }
        let path = dir.join(rest);
        let io = |e: std::io::Error| FetchError::Transport {
            url: url.to_owned(),
            message: e.to_string(),
        };
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => {
                if m.len() > max_len {
                    return Err(FetchError::TooLong {
                        url: url.to_owned(),
                        limit: max_len,
                    });
                }
                std::fs::read(&path).map(Some).map_err(io)
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
}

/// A repository written by python-tuf, and what make_repo.py says it wrote.
struct PyRepo {
    dir: tempfile::TempDir,
    summary: Value,
}

impl PyRepo {
    fn build() -> PyRepo {
        let dir = tempfile::tempdir().unwrap();
        let out = run(
            Command::new(python())
                .arg(format!("{SCRIPTS}/make_repo.py"))
                .arg(dir.path()),
            SCRIPT_LIMIT,
        );
        assert!(
            out.status.success(),
            "make_repo.py failed ({}):\n{}{}",
            out.status,
            out.stdout,
            out.stderr
        );
        let summary = out.json();
        PyRepo { dir, summary }
    }

    fn metadata_dir(&self) -> PathBuf {
        self.dir.path().join("metadata")
    }

    fn transport(&self) -> DiskTransport {
        DiskTransport::new(&[
            (DISK_METADATA, &self.metadata_dir()),
            (DISK_TARGETS, &self.dir.path().join("targets")),
        ])
    }

    fn version(&self, role: &str) -> u64 {
        self.summary["versions"][role].as_u64().unwrap()
    }

    /// A client store holding python-tuf's `initial_root.json` (root v1).
    fn client_store(&self) -> (tempfile::TempDir, DirStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path()).unwrap();
        let root = std::fs::read(self.dir.path().join("initial_root.json")).unwrap();
        store.save(&RoleName::ROOT, &root).unwrap();
        (dir, store)
    }
}

fn role_version(store_dir: &Path, role: &str) -> Option<u64> {
    let bytes = std::fs::read(store_dir.join(format!("{role}.json"))).ok()?;
    serde_json::from_slice::<Value>(&bytes).unwrap()["signed"]["version"].as_u64()
}

#[tokio::test]
async fn clearance_trusts_a_python_tuf_repository() {
    let repo = PyRepo::build();
    let transport = repo.transport();
    let (store_dir, store) = repo.client_store();
    let mut updater = Updater::new(
        store,
        transport.clone(),
        DISK_METADATA,
        UpdaterSettings::default(),
    )
    .unwrap();
    assert_eq!(updater.trusted().root().version(), 1);

    updater.refresh().await.unwrap();

    // The rotated root (v2, cross-signed) is trusted and stored byte for byte.
    let trusted = updater.trusted();
    assert_eq!(trusted.root().version(), 2);
    assert!(trusted.root().signed.consistent_snapshot);
    assert_eq!(
        std::fs::read(store_dir.path().join("root.json")).unwrap(),
        std::fs::read(repo.metadata_dir().join("2.root.json")).unwrap()
    );
    assert_eq!(
        trusted.timestamp().unwrap().version(),
        repo.version("timestamp")
    );
    assert_eq!(
        trusted.snapshot().unwrap().version(),
        repo.version("snapshot")
    );
    // Every key type python-tuf made is in use: the root lists them.
    let schemes: std::collections::BTreeSet<&str> = trusted
        .root()
        .signed
        .keys
        .values()
        .map(|k| k.scheme.as_str())
        .collect();
    assert_eq!(
        schemes,
        ["ecdsa-sha2-nistp256", "ed25519", "rsassa-pss-sha256"].into()
    );

    // The unknown field in signed targets survived verification.
    let targets = trusted
        .targets(&RoleName::TARGETS, &RoleName::ROOT)
        .unwrap();
    assert_eq!(targets.version(), repo.version("targets"));
    assert_eq!(targets.signed.extra.get("x-custom"), Some(&json!({"a": 1})));
    assert_eq!(
        repo.summary["unknown_field"],
        json!({"x-custom": {"a": 1}}),
        "make_repo.py and this test disagree on the unknown field"
    );

    // Top-level and delegated targets: found, downloaded, byte-exact.
    let out = tempfile::tempdir().unwrap();
    let expected = repo.summary["targets"].as_object().unwrap();
    assert_eq!(expected.len(), 3);
    for (name, want) in expected {
        let info = updater
            .target_info(name)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name} not found"));
        let content = want["content"].as_str().unwrap().as_bytes();
        assert_eq!(info.length, content.len() as u64, "{name}");
        assert!(info.hashes.contains_key("sha512"), "{name}");
        let path = updater
            .download_target(&name.parse().unwrap(), &info, out.path(), DISK_TARGETS)
            .await
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), content, "{name}");
    }
    assert!(
        updater
            .trusted()
            .targets(&role("releases"), &RoleName::TARGETS)
            .is_some_and(|r| r.version() == repo.version("releases"))
    );
    assert_eq!(
        role_version(store_dir.path(), "releases"),
        Some(repo.version("releases"))
    );
    // Not listed anywhere; and release/* is terminating, so a name under it
    // that releases lacks is simply absent.
    assert_eq!(updater.target_info("nothing.txt").await.unwrap(), None);
    assert_eq!(
        updater.target_info("release/missing.tar").await.unwrap(),
        None
    );

    // Consistent snapshots: versioned metadata names, hash-prefixed targets.
    let fetched = transport.fetched();
    for name in [
        "2.root.json".to_owned(),
        "3.root.json".to_owned(),
        "timestamp.json".to_owned(),
        format!("{}.snapshot.json", repo.version("snapshot")),
        format!("{}.targets.json", repo.version("targets")),
        format!("{}.releases.json", repo.version("releases")),
    ] {
        let url = format!("{DISK_METADATA}{name}");
        assert!(fetched.contains(&url), "{url} not fetched: {fetched:#?}");
    }
    let release = &expected["release/app-v2.tar"]["content"];
    let digest = hex(&sha2::Sha256::digest(release.as_str().unwrap()));
    let url = format!("{DISK_TARGETS}release/{digest}.app-v2.tar");
    assert!(fetched.contains(&url), "{url} not fetched: {fetched:#?}");
}

#[tokio::test]
async fn a_flipped_byte_in_python_tuf_snapshot_fails_refresh() {
    let repo = PyRepo::build();
    let name = repo.summary["snapshot_file"].as_str().unwrap();
    let path = repo.metadata_dir().join(name);
    let mut bytes = std::fs::read(&path).unwrap();
    // The first digit of the year in "expires": still valid JSON, still a
    // valid date, but no longer what was signed and hashed.
    let at = find(&bytes, b"\"expires\": \"").unwrap() + b"\"expires\": \"".len();
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    let (store_dir, store) = repo.client_store();
    let mut updater = Updater::new(
        store,
        repo.transport(),
        DISK_METADATA,
        UpdaterSettings::default(),
    )
    .unwrap();
    let err = updater.refresh().await.unwrap_err();
    assert!(
        matches!(&err, UpdateError::LengthOrHash { what, .. } if what == "snapshot"),
        "{err}"
    );
    assert_eq!(role_version(store_dir.path(), "snapshot"), None);
    assert_eq!(role_version(store_dir.path(), "targets"), None);
}

#[tokio::test]
async fn a_flipped_byte_in_a_python_tuf_delegated_role_fails_its_signature() {
    // Snapshot lists releases.json by version only, so nothing but the
    // ECDSA signature python-tuf made protects its bytes.
    let repo = PyRepo::build();
    let path = repo
        .metadata_dir()
        .join(format!("{}.releases.json", repo.version("releases")));
    let mut bytes = std::fs::read(&path).unwrap();
    let at = find(&bytes, b"\"expires\": \"").unwrap() + b"\"expires\": \"".len();
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    let (store_dir, store) = repo.client_store();
    let mut updater = Updater::new(
        store,
        repo.transport(),
        DISK_METADATA,
        UpdaterSettings::default(),
    )
    .unwrap();
    updater.refresh().await.unwrap();
    assert!(updater.target_info("hello.txt").await.unwrap().is_some());
    let err = updater.target_info("release/app-v2.tar").await.unwrap_err();
    assert!(
        matches!(&err, UpdateError::Metadata(MetadataError::ThresholdNotMet { role, .. }) if role == "releases"),
        "{err}"
    );
    assert_eq!(role_version(store_dir.path(), "releases"), None);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------
// Part 2: Clearance writes, python-tuf reads
// ---------------------------------------------------------------------------

/// Write every file `served` holds under `dir/metadata/` and `dir/targets/`.
fn write_served(served: &Served, dir: &Path) {
    let files = served.0.lock().unwrap().clone();
    for (url, bytes) in files {
        let (sub, name) = if let Some(name) = url.strip_prefix(BASE) {
            ("metadata", name)
        } else if let Some(name) = url.strip_prefix(TARGETS_BASE) {
            ("targets", name)
        } else {
            panic!("unexpected served URL {url}");
        };
        write_file(&dir.join(sub), name, &bytes);
    }
}

/// With consistent snapshots, targets are also served as `HASH.name`, once
/// per hash, next to the plain name.
fn write_consistent_targets(repo: &TestRepo, dir: &Path) {
    let mut all: Vec<_> = repo.targets.targets.iter().collect();
    for (targets, _) in repo.delegated.values() {
        all.extend(targets.targets.iter());
    }
    for (name, info) in all {
        let bytes = std::fs::read(dir.join("targets").join(name)).unwrap();
        let (parent, base) = match name.rsplit_once('/') {
            Some((parent, base)) => (format!("{parent}/"), base),
            None => (String::new(), name.as_str()),
        };
        for digest in info.hashes.values() {
            write_file(
                &dir.join("targets"),
                &format!("{parent}{digest}.{base}"),
                &bytes,
            );
        }
    }
}

fn write_file(root: &Path, name: &str, bytes: &[u8]) {
    assert!(
        !name.is_empty()
            && name
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".."),
        "unsafe file name {name:?}"
    );
    let path = root.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// `python -m http.server` on 127.0.0.1, killed on drop.
struct HttpServer {
    child: Child,
    port: u16,
}

impl HttpServer {
    fn start(dir: &Path) -> HttpServer {
        // The venv's python3: a real interpreter (no shim between the
        // process we kill and the server).
        let python3 = python().with_file_name("python3");
        for _ in 0..3 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(&python3)
                .args(["-m", "http.server", "--bind", "127.0.0.1"])
                .arg(port.to_string())
                .arg("--directory")
                .arg(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut server = HttpServer { child, port };
            if server.wait_ready(Duration::from_secs(20)) {
                return server;
            }
            // Dropped: killed. Most likely the port was taken meanwhile.
        }
        panic!("python -m http.server did not start on 127.0.0.1");
    }

    /// Until the server answers an HTTP request, it exits, or the deadline.
    fn wait_ready(&mut self, limit: Duration) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if let Ok(mut conn) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                conn.set_write_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                let mut answer = [0u8; 8];
                if conn
                    .write_all(b"HEAD / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    .is_ok()
                    && conn.read_exact(&mut answer).is_ok()
                    && answer.starts_with(b"HTTP/1.")
                {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Clearance repository on disk, served over HTTP.
struct Published {
    dir: tempfile::TempDir,
    server: HttpServer,
}

impl Published {
    fn new(repo: &TestRepo) -> Published {
        let dir = tempfile::tempdir().unwrap();
        let published = Published {
            server: HttpServer::start(dir.path()),
            dir,
        };
        published.update(repo);
        published
    }

    /// Write what the repository serves now (new files and changed ones).
    fn update(&self, repo: &TestRepo) {
        write_served(&repo.served, self.dir.path());
        if repo.root.consistent_snapshot {
            write_consistent_targets(repo, self.dir.path());
        }
    }

    /// Run python-tuf's client from `root` (bytes of a trusted root).
    fn python_client(&self, root: &[u8], targets: &[&str]) -> (PyOutput, tempfile::TempDir) {
        let work = tempfile::tempdir().unwrap();
        let root_file = work.path().join("trusted_root.json");
        std::fs::write(&root_file, root).unwrap();
        let out = run(
            Command::new(python())
                .arg(format!("{SCRIPTS}/client.py"))
                .arg(self.server.url("metadata/"))
                .arg(self.server.url("targets/"))
                .arg(&root_file)
                .arg(work.path().join("client"))
                .args(targets),
            SCRIPT_LIMIT,
        );
        (out, work)
    }
}

/// A repository with top-level targets, a terminating ECDSA-keyed
/// delegation `releases` (paths `release/*`) holding one target, and an
/// unknown field in signed targets.
fn clearance_repo() -> TestRepo {
    let mut repo = TestRepo::new();
    repo.add_target("hello.txt", b"hello from clearance\n");
    repo.add_target("app/v1", b"{\"digest\":\"sha256:abcd\"}\n");
    repo.delegate("releases", &["release/*"], true);
    repo.add_delegated_target("releases", "release/app-v2.tar", &[7u8; 300]);
    repo.targets
        .extra
        .insert("x-clearance".into(), json!({"b": [1, 2]}));
    repo.publish_targets_chain(true);
    repo
}

const CLEARANCE_TARGETS: [&str; 3] = ["hello.txt", "app/v1", "release/app-v2.tar"];

/// Assert python-tuf downloaded each target with exactly the bytes served.
fn assert_downloaded(repo: &TestRepo, result: &Value, published: &Published) {
    for name in CLEARANCE_TARGETS {
        let got = &result["targets"][name];
        let path = got["path"].as_str().unwrap_or_else(|| panic!("{result:#}"));
        let want = std::fs::read(published.dir.path().join("targets").join(name)).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), want, "{name}");
        assert_eq!(got["sha256"], hex(&sha2::Sha256::digest(&want)), "{name}");
        let listed = repo
            .targets
            .targets
            .get(name)
            .or_else(|| repo.delegated["releases"].0.targets.get(name))
            .unwrap();
        assert_eq!(got["length"], listed.length, "{name}");
    }
}

#[test]
fn python_tuf_downloads_from_a_clearance_repository() {
    let repo = clearance_repo();
    let published = Published::new(&repo);
    let (out, _work) = published.python_client(&repo.root_bytes(), &CLEARANCE_TARGETS);
    let result = out.json();
    assert!(
        out.status.success() && result["ok"] == true,
        "python-tuf refused Clearance's repository: {result:#}\nstderr:\n{}",
        out.stderr
    );
    assert_downloaded(&repo, &result, &published);
    let metadata = &result["metadata"];
    for (role, version) in [
        ("root", 1),
        ("timestamp", 2),
        ("snapshot", 2),
        ("targets", 2),
        ("releases", 2),
    ] {
        assert_eq!(metadata[role]["version"], version, "{role}: {metadata:#}");
    }
    // python-tuf kept the unknown field (and its signature verified over it).
    assert_eq!(
        metadata["targets"]["unrecognized_fields"],
        json!({"x-clearance": {"b": [1, 2]}})
    );
}

#[test]
fn python_tuf_refuses_an_expired_clearance_timestamp() {
    let mut repo = clearance_repo();
    repo.timestamp.common.expires = UtcTime::now().plus_seconds(-3600);
    repo.publish_timestamp(true);
    let published = Published::new(&repo);
    let (out, _work) = published.python_client(&repo.root_bytes(), &CLEARANCE_TARGETS);
    let result = out.json();
    assert!(!out.status.success(), "python-tuf accepted: {result:#}");
    assert_eq!(result["error"], "ExpiredMetadataError", "{result:#}");
    assert!(
        result["message"].as_str().unwrap().contains("timestamp"),
        "{result:#}"
    );
}

#[test]
fn python_tuf_refuses_a_clearance_target_whose_bytes_were_swapped() {
    let mut repo = clearance_repo();
    // Same length, different bytes: only the hash can tell.
    repo.served
        .put_target("app/v1", b"{\"digest\":\"sha256:evil\"}\n".to_vec());
    let published = Published::new(&repo);
    let (out, work) = published.python_client(&repo.root_bytes(), &["hello.txt", "app/v1"]);
    let result = out.json();
    assert!(!out.status.success(), "python-tuf accepted: {result:#}");
    assert_eq!(result["error"], "LengthOrHashMismatchError", "{result:#}");
    let written = work.path().join("client/targets/app%2Fv1");
    assert!(!written.exists(), "{} was written", written.display());

    // The genuine bytes are accepted again.
    repo.add_target("app/v1", b"{\"digest\":\"sha256:abcd\"}\n");
    published.update(&repo);
    let (out, _work) = published.python_client(&repo.root_bytes(), &CLEARANCE_TARGETS);
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
}

#[tokio::test]
async fn python_tuf_follows_a_clearance_root_rotation_to_consistent_snapshots() {
    let mut repo = clearance_repo();
    let initial_root = repo.root_bytes();
    // Root v2: a new ECDSA root key, cross-signed by the old ed25519 one,
    // and consistent snapshots switched on.
    let new_root_key = LocalSigner::generate(KeyKind::EcdsaP256).unwrap();
    repo.root
        .keys
        .insert(new_root_key.key_id(), new_root_key.public_key().clone());
    repo.root.roles.get_mut(&TopRole::Root).unwrap().keyids = vec![new_root_key.key_id()];
    repo.root.consistent_snapshot = true;
    repo.root.common.version = support::v(2);
    let old = std::mem::replace(&mut repo.root_signers, vec![new_root_key]);
    repo.publish_root(&[&old[0]]);
    repo.publish_targets_chain(true);
    let published = Published::new(&repo);
    // Consistent snapshots: only hash-prefixed targets may be fetched.
    for name in CLEARANCE_TARGETS {
        std::fs::remove_file(published.dir.path().join("targets").join(name)).unwrap();
    }

    let (out, _work) = published.python_client(&initial_root, &CLEARANCE_TARGETS);
    let result = out.json();
    assert!(
        out.status.success() && result["ok"] == true,
        "python-tuf refused the rotation: {result:#}\nstderr:\n{}",
        out.stderr
    );
    assert_eq!(result["metadata"]["root"]["version"], 2, "{result:#}");
    assert_eq!(result["metadata"]["targets"]["version"], 3, "{result:#}");
    for name in CLEARANCE_TARGETS {
        let got = &result["targets"][name];
        let bytes = std::fs::read(got["path"].as_str().unwrap()).unwrap();
        let listed = repo
            .targets
            .targets
            .get(name)
            .or_else(|| repo.delegated["releases"].0.targets.get(name))
            .unwrap();
        assert_eq!(bytes.len() as u64, listed.length, "{name}");
        assert_eq!(
            Some(&hex(&sha2::Sha256::digest(&bytes))),
            listed.hashes.get("sha256")
        );
    }

    // Clearance's own client agrees with python-tuf on the same files. (From
    // disk, not over HTTP: reqwest would honour proxy variables, and these
    // tests talk to 127.0.0.1 only.)
    let transport = DiskTransport::new(&[
        (DISK_METADATA, &published.dir.path().join("metadata")),
        (DISK_TARGETS, &published.dir.path().join("targets")),
    ]);
    let store_dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(store_dir.path()).unwrap();
    store.save(&RoleName::ROOT, &initial_root).unwrap();
    let mut updater =
        Updater::new(store, transport, DISK_METADATA, UpdaterSettings::default()).unwrap();
    updater.refresh().await.unwrap();
    assert_eq!(updater.trusted().root().version(), 2);
    let out_dir = tempfile::tempdir().unwrap();
    let info = updater
        .target_info("release/app-v2.tar")
        .await
        .unwrap()
        .unwrap();
    let path = updater
        .download_target(
            &"release/app-v2.tar".parse().unwrap(),
            &info,
            out_dir.path(),
            DISK_TARGETS,
        )
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), vec![7u8; 300]);
}
