//! Shared test support: images built with umoci and skopeo, a real
//! Distribution registry on 127.0.0.1, and the `clearance` binary.
#![allow(dead_code, clippy::unwrap_used)]

pub mod notary;
pub mod service;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Fail with the fix when a peer tool is missing.
pub fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{tool} is not installed: run scripts/install-test-deps.sh (scripts/test.sh does this)"
    );
}

/// The three-layer test image in `oci/` (tag v1), `image.oci.tar`,
/// `image.docker.tar` and `multi.docker.tar`, built fresh with umoci and skopeo.
pub struct TestImage {
    pub dir: tempfile::TempDir,
}

impl TestImage {
    pub fn build() -> TestImage {
        require("umoci");
        require("skopeo");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("img");
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/build-test-image.sh"))
            .arg(&out)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "scripts/build-test-image.sh failed");
        TestImage { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join("img").join(rel)
    }

    pub fn oci_ref(&self) -> String {
        format!("oci:{}:v1", self.path("oci").display())
    }
}

/// Run a bash script that builds images with umoci in a fresh OCI layout
/// `dir/oci` (`$1` is `dir`, the script's own arguments follow), after
/// `set -euo pipefail`, `cd "$1"`, `umask 022` and `umoci init`.
pub fn umoci_script(dir: &Path, script: &str, args: &[&str]) {
    require("umoci");
    let script =
        format!("set -euo pipefail\ncd \"$1\"\numask 022\numoci init --layout oci\n{script}");
    let status = Command::new("bash")
        .args(["-c", &script, "build"])
        .arg(dir)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "the umoci script failed");
}

/// An OSV record file, `DIR/ID.json`: `name` of `ecosystem` affected in
/// one range of `range_type` (`SEMVER`, `ECOSYSTEM`) from `introduced`
/// until `fixed`.
pub fn osv_record(
    dir: &Path,
    id: &str,
    (ecosystem, name): (&str, &str),
    range_type: &str,
    (introduced, fixed): (&str, &str),
) {
    let text = serde_json::json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2024-01-01T00:00:00Z",
        "summary": format!("a flaw in {name}"),
        "affected": [{
            "package": {"ecosystem": ecosystem, "name": name},
            "ranges": [{"type": range_type, "events": [{"introduced": introduced}, {"fixed": fixed}]}]
        }]
    });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("{id}.json")), text.to_string()).unwrap();
}

/// `clearance db build --db DB --source SOURCE`, which must succeed.
pub fn db_build(db: &Path, source: &Path) {
    let out = clearance(&[
        "db",
        "build",
        "--db",
        &db.display().to_string(),
        "--source",
        &source.display().to_string(),
    ]);
    assert_success(&out);
}

/// Run the real binary with a clean environment (no user config, no colour).
pub fn clearance(args: &[&str]) -> Output {
    clearance_with_path(args, None)
}

/// As [`clearance`], with `extra` put first on `PATH` (for credential helpers).
pub fn clearance_with_path(args: &[&str], extra: Option<&Path>) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut path = std::ffi::OsString::new();
    if let Some(dir) = extra {
        path.push(dir);
        path.push(":");
    }
    path.push(std::env::var_os("PATH").unwrap_or_default());
    Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Both streams of a run, for assertion messages.
pub fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// Assert a run succeeded, showing everything it printed when it did not.
pub fn assert_success(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// The command failed as an input error (exit 2) and its stderr says `says`.
pub fn assert_input_error(o: &Output, says: &str) {
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(o));
    assert!(stderr(o).contains(says), "stderr: {}", stderr(o));
}

/// SoftHSM2's PKCS #11 module as Debian installs it.
pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A SoftHSM2 token of the test's own under `dir`, labelled `clearance`,
/// PIN 1234: returns its configuration file (for `SOFTHSM2_CONF`).
pub fn softhsm(dir: &Path) -> PathBuf {
    require("softhsm2-util");
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.join("tokens").display()
        ),
    )
    .unwrap();
    let out = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "clearance"])
        .args(["--pin", "1234", "--so-pin", "5678"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert_success(&out);
    conf
}

/// `clearance --format json inspect …`, parsed; panics with stderr on failure.
pub fn inspect_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["inspect", "--format", "json"];
    all.extend_from_slice(args);
    let out = clearance(&all);
    assert!(
        out.status.success(),
        "inspect {args:?} failed: {}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `skopeo copy` with a policy that accepts anything, so tests do not
/// depend on /etc/containers.
pub fn skopeo_copy(src: &str, dest: &str, dest_creds: Option<&str>) {
    skopeo_copy_with(src, dest, dest_creds, &[]);
}

/// As [`skopeo_copy`], with extra `skopeo copy` flags (`--format v2s2`).
pub fn skopeo_copy_with(src: &str, dest: &str, dest_creds: Option<&str>, extra: &[&str]) {
    require("skopeo");
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    let mut cmd = Command::new("skopeo");
    cmd.arg("--policy")
        .arg(&policy)
        .args(["copy", "--quiet", "--dest-tls-verify=false"]);
    if let Some(c) = dest_creds {
        cmd.args(["--dest-creds", c]);
    }
    cmd.args(extra);
    let out = cmd.args([src, dest]).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo copy {src} {dest}: {}",
        stderr(&out)
    );
}

/// Debian's `docker-registry` (CNCF Distribution 2.8) on 127.0.0.1.
pub struct Registry {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Start a registry; with `htpasswd_user` it requires basic auth.
    pub fn start(htpasswd_user: Option<(&str, &str)>) -> Registry {
        Registry::start_with(htpasswd_user, None)
    }

    /// Start a registry serving TLS with this certificate and key.
    pub fn start_tls(tls: &TestCa) -> Registry {
        Registry::start_with(None, Some(tls))
    }

    fn start_with(htpasswd_user: Option<(&str, &str)>, tls: Option<&TestCa>) -> Registry {
        require("docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        let mut auth = String::new();
        if let Some((user, pass)) = htpasswd_user {
            require("htpasswd");
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, pass])
                .output()
                .unwrap();
            assert!(out.status.success());
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, &out.stdout).unwrap();
            auth = format!(
                "auth:\n  htpasswd:\n    realm: clearance-test\n    path: {}\n",
                file.display()
            );
        }
        if let Some(ca) = tls {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                ca.leaf_cert.display(),
                ca.leaf_key.display()
            ));
        }
        config.push_str(&auth);
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let registry = Registry {
            child,
            port,
            _dir: dir,
        };
        registry.wait_ready();
        registry
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where the registry keeps its data (its filesystem storage driver).
    pub fn storage(&self) -> PathBuf {
        self._dir.path().join("data")
    }

    fn wait_ready(&self) {
        wait_for_http(self.port, "/v2/", "docker-registry");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait (15 s at most) until something answers HTTP on 127.0.0.1:`port`.
pub fn wait_for_http(port: u16, path: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(request.as_bytes());
            let mut buf = [0u8; 7];
            if s.read_exact(&mut buf).is_ok() && &buf == b"HTTP/1." {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not start on port {port}");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private CA and a server certificate for 127.0.0.1 and localhost, made
/// with the openssl command.
pub struct TestCa {
    pub ca_cert: PathBuf,
    pub leaf_cert: PathBuf,
    pub leaf_key: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCa {
    pub fn new() -> TestCa {
        require("openssl");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut ca = vec![
            "req",
            "-x509",
            "-days",
            "2",
            "-subj",
            "/CN=clearance test CA",
        ];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ]);
        run(&ca);
        let mut csr = vec![
            "req",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
        ];
        csr.extend(ec);
        run(&csr);
        std::fs::write(
            d.join("leaf.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "leaf.pem",
            "-extfile",
            "leaf.ext",
        ]);
        TestCa {
            ca_cert: d.join("ca.pem"),
            leaf_cert: d.join("leaf.pem"),
            leaf_key: d.join("leaf.key"),
            _dir: dir,
        }
    }
}

/// A path suffix and the bytes to answer it with.
pub type Replay = std::sync::Arc<std::sync::Mutex<Option<(String, Vec<u8>)>>>;

/// A man in the middle on 127.0.0.1: forwards GET/HEAD requests to
/// `upstream` and, once `tamper` is on, alters one byte of every manifest
/// fetched by digest.
pub struct MitmProxy {
    pub port: u16,
    pub tamper: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// When set, a request whose path ends with the first part is answered
    /// with the second, instead of being forwarded (a replay).
    pub replay: Replay,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MitmProxy {
    pub fn start(upstream: u16) -> MitmProxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let tamper = std::sync::Arc::new(AtomicBool::new(false));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let replay: Replay = Default::default();
        let (t, s, r) = (tamper.clone(), stop.clone(), replay.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !s.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let replay = r.lock().unwrap().clone();
                        let _ = proxy_one(conn, upstream, t.load(Ordering::SeqCst), replay);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        MitmProxy {
            port,
            tamper,
            replay,
            stop,
            thread: Some(thread),
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for MitmProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One request per connection: read the head, forward it with
/// `Connection: close`, read the whole answer, maybe alter it, send it back.
fn proxy_one(
    mut conn: TcpStream,
    upstream: u16,
    tamper: bool,
    replay: Option<(String, Vec<u8>)>,
) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 << 10 {
        if conn.read(&mut byte)? == 0 {
            return Ok(());
        }
        if head.is_empty() && !byte[0].is_ascii_uppercase() {
            return Ok(()); // a TLS handshake (the client probing https): hang up
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let path = text.split(' ').nth(1).unwrap_or("").to_owned();
    if let Some((suffix, body)) = replay
        && path.ends_with(&suffix)
    {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes())?;
        conn.write_all(&body)?;
        return Ok(());
    }
    let forwarded: String = text
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect::<String>()
        + "Connection: close\r\n\r\n";
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.set_read_timeout(Some(Duration::from_secs(10)))?;
    up.write_all(forwarded.as_bytes())?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    if tamper
        && path.contains("/manifests/sha256:")
        && let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n")
    {
        let body_start = split + 4;
        if let Some(i) = answer[body_start..].iter().position(|b| *b == b'2') {
            answer[body_start + i] = b'3'; // same length, different bytes
        }
    }
    conn.write_all(&answer)?;
    Ok(())
}

/// `python3 -m http.server` serving a directory on 127.0.0.1 (stopped on drop).
pub struct StaticServer {
    child: Child,
    pub port: u16,
}

impl StaticServer {
    pub fn start(dir: &Path) -> StaticServer {
        require("python3");
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_http(port, "/", "python3 -m http.server");
        StaticServer { child, port }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `clearance serve --trust` on 127.0.0.1 with its data in `data_dir`
/// (stopped on drop). Its log is `data_dir/serve.log`.
pub struct TrustServer {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
}

impl TrustServer {
    /// Start with an optional TOML configuration and extra flags.
    pub fn start(data_dir: &Path, config: Option<&str>, extra: &[&str]) -> TrustServer {
        TrustServer::start_with_env(data_dir, config, extra, &[])
    }

    /// Start without authentication, over HTTPS with a certificate from
    /// `ca`; its `url` still says `http://` (see [`TrustServer::https_url`]).
    pub fn start_tls(data_dir: &Path, ca: &TestCa) -> TrustServer {
        TrustServer::start(
            data_dir,
            None,
            &[
                "--no-auth",
                "--tls-cert",
                ca.leaf_cert.to_str().unwrap(),
                "--tls-key",
                ca.leaf_key.to_str().unwrap(),
            ],
        )
    }

    /// The service's URL with `https://`, for one started with TLS.
    pub fn https_url(&self) -> String {
        self.url.replace("http://", "https://")
    }

    /// As [`TrustServer::start`], with environment variables set (the test
    /// switches of `clearance_trust::test_hooks`). It runs in `data_dir`, so
    /// a core file of a crash it is told to have lands there.
    pub fn start_with_env(
        data_dir: &Path,
        config: Option<&str>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> TrustServer {
        std::fs::create_dir_all(data_dir).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_clearance"));
        cmd.args([
            "serve",
            "--trust",
            "--listen",
            "127.0.0.1:0",
            "--print-address",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("CLEARANCE_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .current_dir(data_dir);
        if let Some(text) = config {
            let path = data_dir.join("clearance.toml");
            std::fs::write(&path, text).unwrap();
            cmd.arg("--config").arg(path);
        }
        let log = std::fs::File::create(data_dir.join("serve.log")).unwrap();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while stdout.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
                line.push(byte[0]);
            }
            let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
            // Keep draining so the server never blocks on a full pipe.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let Some(addr) = line.strip_prefix("listening on ") else {
            let _ = child.kill();
            let log = std::fs::read_to_string(data_dir.join("serve.log")).unwrap_or_default();
            panic!("the trust service did not start: {line:?}\n{log}");
        };
        TrustServer {
            child,
            url: format!("http://{}", addr.trim()),
            data_dir: data_dir.to_owned(),
        }
    }

    /// Stop it at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("serve.log")).unwrap_or_default()
    }

    /// Wait (at most 30 s) for the process to end by itself; `None` if it
    /// is still running then.
    pub fn wait_for_exit(&mut self) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TrustServer {
    fn drop(&mut self) {
        self.kill();
    }
}
