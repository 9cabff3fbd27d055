//! Clients of the trust service in tests: the binary with a private home per
//! person, and plain HTTP (curl) for looking at what the service serves.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{Registry, TestImage, TrustServer, assert_success, both, require, skopeo_copy, stdout};

/// The binary with a private home per person, pointed at a trust service,
/// with every role's passphrase set.
pub struct Trust {
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl Trust {
    pub fn new(server: &TrustServer) -> Trust {
        Trust::at(&server.url)
    }

    /// People with homes of their own, pointed at the service (or a stand-in
    /// for one) at `url`.
    pub fn at(url: impl Into<String>) -> Trust {
        Trust {
            dir: tempfile::tempdir().unwrap(),
            url: url.into(),
        }
    }

    /// A fresh `file://` repository below the people's homes (not
    /// initialised yet): its server directory is `dir/server`.
    pub fn file() -> Trust {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().join("server").display());
        Trust { dir, url }
    }

    /// As [`Trust::file`], with `gun` initialised by "publisher".
    pub fn file_initialised(gun: &str) -> Trust {
        let trust = Trust::file();
        assert_success(&trust.run("publisher", &["trust", "init", gun]));
        trust
    }

    pub fn command(&self, home: &str, args: &[&str], creds: Option<&str>) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_clearance"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .env("CLEARANCE_HOME", self.dir.path().join(home))
            .env("CLEARANCE_TRUST_SERVER", &self.url);
        for role in ["ROOT", "TARGETS", "SNAPSHOT", "TIMESTAMP"] {
            cmd.env(
                format!("CLEARANCE_PASSPHRASE_{role}"),
                format!("{role} passphrase"),
            );
        }
        if let Some(c) = creds {
            cmd.env("CLEARANCE_TRUST_CREDS", c);
        }
        cmd
    }

    pub fn run(&self, home: &str, args: &[&str]) -> Output {
        self.command(home, args, None).output().unwrap()
    }

    /// Run with the passphrase of each delegated role in `roles` set too:
    /// `CLEARANCE_PASSPHRASE_QA=qa passphrase` for `qa`.
    pub fn run_with_passphrases(&self, home: &str, args: &[&str], roles: &[&str]) -> Output {
        let mut cmd = self.command(home, args, None);
        for role in roles {
            cmd.env(
                format!("CLEARANCE_PASSPHRASE_{}", role.to_ascii_uppercase()),
                format!("{role} passphrase"),
            );
        }
        cmd.output().unwrap()
    }

    /// Run with a login for the service's token endpoint.
    pub fn run_as(&self, home: &str, creds: &str, args: &[&str]) -> Output {
        self.command(home, args, Some(creds)).output().unwrap()
    }

    /// The root `trust init` pinned for `gun` in `home`.
    pub fn trusted_root(&self, home: &str, gun: &str) -> PathBuf {
        let path = self
            .dir
            .path()
            .join(home)
            .join("trust/tuf")
            .join(clearance_trust::client::quote(gun))
            .join("root.json");
        assert!(path.is_file(), "{} does not exist", path.display());
        path
    }

    /// `trust sign GUN:TAG` as the publisher, returning the `Digest` it prints.
    pub fn sign(&self, gun: &str, tag: &str) -> String {
        let out = self.run("publisher", &["trust", "sign", &format!("{gun}:{tag}")]);
        assert_success(&out);
        let text = stdout(&out);
        text.lines()
            .find_map(|l| l.strip_prefix("Digest"))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no Digest line in:\n{text}"))
            .to_owned()
    }
}

/// `trust sign GUN:TAG` for every tag at once as "publisher", each run
/// succeeding, then every tag verifying.
pub fn sign_concurrently(trust: &Trust, gun: &str, tags: &[&str]) {
    let children: Vec<_> = tags
        .iter()
        .map(|tag| {
            trust
                .command(
                    "publisher",
                    &["trust", "sign", &format!("{gun}:{tag}")],
                    None,
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert_success(&child.wait_with_output().unwrap());
    }
    for tag in tags {
        let out = trust.run("publisher", &["trust", "verify", &format!("{gun}:{tag}")]);
        assert_success(&out);
    }
}

/// The value of a `Field   value` line of a command's output (`Generated`,
/// `Digest`, `Version`), trimmed.
pub fn field(out: &Output, name: &str) -> String {
    stdout(out)
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} line in:\n{}", both(out)))
        .trim()
        .to_owned()
}

/// The test image pushed to a fresh registry under `repo` with these tags.
pub fn pushed(repo: &str, tags: &[&str]) -> (TestImage, Registry, String) {
    let img = TestImage::build();
    let registry = Registry::start(None);
    let gun = format!("{}/{repo}", registry.host());
    for tag in tags {
        skopeo_copy(&img.oci_ref(), &format!("docker://{gun}:{tag}"), None);
    }
    (img, registry, gun)
}

/// A repository's metadata URL on a service (or a proxy in front of one).
pub fn metadata_url(server_url: &str, gun: &str) -> String {
    format!("{server_url}/v2/{gun}/_trust/tuf/")
}

/// GET with curl: (status, body).
pub fn get(url: &str) -> (u16, Vec<u8>) {
    curl(&["-o", "-", "-w", "\n%{http_code}", url])
}

/// GET a file that must exist, parsed.
pub fn get_json(url: &str) -> serde_json::Value {
    let (status, body) = get(url);
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    json(&body)
}

/// POST files as a publish (multipart parts named by role): (status, body).
pub fn post(url: &str, files: &[(&str, &Path)]) -> (u16, Vec<u8>) {
    let mut args = vec![
        "-X".to_owned(),
        "POST".into(),
        "-o".into(),
        "-".into(),
        "-w".into(),
        "\n%{http_code}".into(),
    ];
    for (role, path) in files {
        args.push("-F".into());
        args.push(format!("files=@{};filename={role}", path.display()));
    }
    args.push(url.to_owned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    curl(&refs)
}

/// curl with its output ending in `\n<status>`, never through a proxy.
fn curl(args: &[&str]) -> (u16, Vec<u8>) {
    require("curl");
    let out = Command::new("curl")
        .args(["-s", "--noproxy", "*"])
        .args(args)
        .output()
        .unwrap();
    let text = out.stdout;
    let split = text.iter().rposition(|b| *b == b'\n').unwrap();
    let status = String::from_utf8_lossy(&text[split + 1..]).parse().unwrap();
    (status, text[..split].to_vec())
}

pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

/// The rows a `trust sign` publish writes when the service holds the
/// timestamp key: targets, snapshot, timestamp.
pub const SIGN_ROWS: usize = 3;

/// Review A.6, a crash mid-publish made deterministic: for every row k of a
/// `trust sign` publish, the service (with `extra` flags, e.g. a PostgreSQL
/// `--database`) is told to abort after writing row k
/// (`CLEARANCE_TEST_CRASH_AFTER_ROW`, a switch only test builds read). After
/// each crash, a restarted service serves exactly the previous metadata,
/// the tag of the failed publish is not signed, and signing it again lands.
/// Armed one row past the last, the publish lands: every row was covered.
pub fn crash_mid_publish_at_every_row(extra: &[&str]) {
    use std::os::unix::process::ExitStatusExt as _;

    let tags: Vec<String> = (1..=SIGN_ROWS + 2).map(|i| format!("v{i}")).collect();
    let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    let (_img, _registry, gun) = pushed("team/app", &tag_refs);
    let data = tempfile::tempdir().unwrap();
    let start = |env: &[(&str, &str)]| TrustServer::start_with_env(data.path(), None, extra, env);
    let base = |server: &TrustServer| metadata_url(&server.url, &gun);
    let served = |server: &TrustServer| -> Vec<Vec<u8>> {
        ["root", "targets", "snapshot", "timestamp"]
            .iter()
            .map(|role| get_json_bytes(&format!("{}{role}.json", base(server))))
            .collect()
    };
    let server = start(&[]);
    let mut trust = Trust::new(&server);
    assert_success(&trust.run("publisher", &["trust", "init", &gun]));
    assert_success(&trust.run("publisher", &["trust", "sign", &format!("{gun}:v1")]));
    drop(server);

    for k in 1..=SIGN_ROWS + 1 {
        let tag = &tags[k];
        let image = format!("{gun}:{tag}");
        let row = k.to_string();
        let mut crashing = start(&[("CLEARANCE_TEST_CRASH_AFTER_ROW", &row)]);
        let before = served(&crashing);
        trust.url = crashing.url.clone();
        let out = trust.run("publisher", &["trust", "sign", &image]);
        if k > SIGN_ROWS {
            // No row k: the fault never fired, the publish landed.
            assert_success(&out);
            assert_success(&trust.run("publisher", &["trust", "verify", &image]));
            return;
        }
        assert!(
            !out.status.success(),
            "row {k}: the publish survived the crash\n{}",
            crashing.log()
        );
        let status = crashing.wait_for_exit().expect("the service did not crash");
        assert_eq!(
            status.signal(),
            Some(6),
            "row {k}: not SIGABRT ({status})\n{}",
            crashing.log()
        );
        assert!(
            crashing.log().contains(&format!("row={k}")),
            "row {k}: the fault did not fire at row {k}\n{}",
            crashing.log()
        );

        // Restarted on the same database: the previous metadata, byte for byte.
        let server = start(&[]);
        trust.url = server.url.clone();
        assert!(
            served(&server) == before,
            "row {k}: a crashed publish changed what is served"
        );
        for signed in &tags[..k] {
            assert_success(&trust.run(
                "publisher",
                &["trust", "verify", &format!("{gun}:{signed}")],
            ));
        }
        let out = trust.run("publisher", &["trust", "verify", &image]);
        assert_eq!(out.status.code(), Some(1), "row {k}: {image} is signed");
        // The next publish lands.
        assert_success(&trust.run("publisher", &["trust", "sign", &image]));
        assert_success(&trust.run("publisher", &["trust", "verify", &image]));
    }
    unreachable!("the loop returns once armed past the last row");
}

/// GET a file that must exist, as bytes.
fn get_json_bytes(url: &str) -> Vec<u8> {
    let (status, body) = get(url);
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    body
}
