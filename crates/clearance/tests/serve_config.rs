//! What a new user meets when starting `clearance serve --trust`: the
//! README's example works as written, rules that let nobody do anything (or
//! anyone push) are warned about, authentication is never switched off by a
//! missing users file, a puller cannot have server keys made, the data
//! directory is private, and the log stays short.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::service::{Trust, get, json, metadata_url, pushed};
use support::{TrustServer, assert_success, require, stderr};

/// The binary's `serve --trust` with these arguments, expected to stop on
/// its own (a refused configuration); killed after 30 s if it serves instead.
fn serve_refused(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(["serve", "--trust", "--data-dir"])
        .arg(dir.join("data"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the service started with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    out
}

/// An htpasswd file with these users (password `<name>-secret`).
fn users_file(dir: &Path, names: &[&str]) -> PathBuf {
    require("htpasswd");
    let path = dir.join("users");
    let mut text = Vec::new();
    for name in names {
        let out = Command::new("htpasswd")
            .args(["-Bbn", name, &format!("{name}-secret")])
            .output()
            .unwrap();
        assert!(out.status.success());
        text.extend_from_slice(&out.stdout);
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn config_file(dir: &Path, text: &str) -> String {
    let path = dir.join("serve.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The `serve.toml` of the README's trust-service example and the login it uses.
fn readme_example() -> (String, String) {
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).unwrap();
    let start = readme
        .find("cat > serve.toml <<'EOF'\n")
        .expect("the README's serve example writes serve.toml");
    let body = &readme[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let config = body[..body.find("\nEOF\n").unwrap()].to_owned();
    let creds = body
        .lines()
        .find_map(|l| l.strip_prefix("export CLEARANCE_TRUST_CREDS="))
        .expect("the README's example sets CLEARANCE_TRUST_CREDS")
        .trim_matches('\'')
        .to_owned();
    (config, creds)
}

#[test]
fn n1_the_readme_serve_example_lets_alice_init_and_sign() {
    let (config, creds) = readme_example();
    let (user, password) = creds.split_once(':').unwrap();
    let (_img, registry, gun) = pushed("team/app", &["1.0"]);
    let data = tempfile::tempdir().unwrap();
    // As private as the ~/.clearance/serve the service would make.
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    // The README's `htpasswd -Bbn alice '…' > users`, and its file named by full path.
    require("htpasswd");
    let out = Command::new("htpasswd")
        .args(["-Bbn", user, password])
        .output()
        .unwrap();
    let users = data.path().join("users");
    std::fs::write(&users, out.stdout).unwrap();
    let config = config
        .replace("registry.example.com", &registry.host())
        .replace(
            "users = \"users\"",
            &format!("users = \"{}\"", users.display()),
        );
    let server = TrustServer::start(data.path(), Some(&config), &[]);
    let trust = Trust::new(&server);
    assert_success(&trust.run_as("publisher", &creds, &["trust", "init", &gun]));
    assert_success(&trust.run_as(
        "publisher",
        &creds,
        &["trust", "sign", &format!("{gun}:1.0")],
    ));
    let log = server.log();
    assert!(!log.contains("WARN"), "the README's example warns:\n{log}");
}

#[test]
fn n1_a_users_file_without_access_rules_warns_that_every_request_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let users = users_file(data.path(), &["alice"]);
    let server = TrustServer::start(data.path(), None, &["--users", users.to_str().unwrap()]);
    let log = server.log();
    assert!(
        log.contains("no access rule grants anyone anything: every request will be refused"),
        "{log}"
    );
}

#[test]
fn b16_anonymous_push_is_warned_about_at_start() {
    let data = tempfile::tempdir().unwrap();
    let users = users_file(data.path(), &["alice"]);
    let config = format!(
        "[auth]\nusers = \"{}\"\n\n[[auth.access]]\nrepositories = \"open/**\"\nanonymous = [\"pull\", \"push\"]\n",
        users.display()
    );
    let server = TrustServer::start(data.path(), Some(&config), &[]);
    let log = server.log();
    assert!(
        log.contains("access rule for \"open/**\" lets anyone push without signing in"),
        "{log}"
    );
}

#[test]
fn n7_an_auth_section_without_users_is_an_error_and_its_values_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    // The newcomer's file: rules and a token lifetime, but no users.
    let rules = "[[auth.access]]\nrepositories = \"**\"\nusers = [\"alice\"]\nactions = [\"*\"]\n";
    let config = config_file(dir.path(), &format!("[auth]\ntoken_ttl = \"5m\"\n{rules}"));
    let out = serve_refused(dir.path(), &["--config", &config]);
    assert!(
        stderr(&out).contains("has an [auth] section but no users file"),
        "{}",
        stderr(&out)
    );
    // A bad value is refused even though, without users, it would not be used.
    let config = config_file(dir.path(), &format!("[auth]\ntoken_ttl = \"abc\"\n{rules}"));
    let out = serve_refused(dir.path(), &["--config", &config]);
    assert!(
        stderr(&out).contains("\"abc\" is not a duration"),
        "{}",
        stderr(&out)
    );
    let config = config_file(dir.path(), "[auth]\nrealm = \"trust.example.com/token\"\n");
    let out = serve_refused(dir.path(), &["--config", &config, "--no-auth"]);
    assert!(stderr(&out).contains("auth.realm"), "{}", stderr(&out));
    // --no-auth does not override an [auth] section either.
    let config = config_file(dir.path(), "[auth]\n");
    let out = serve_refused(dir.path(), &["--config", &config, "--no-auth"]);
    assert!(stderr(&out).contains("--no-auth, but"), "{}", stderr(&out));
}

#[test]
fn n7_b15_without_users_authentication_is_off_only_when_asked_and_only_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = serve_refused(dir.path(), &["--listen", "127.0.0.1:0"]);
    let err = stderr(&out);
    assert!(err.contains("no users file: pass --users FILE"), "{err}");
    assert!(err.contains("--no-auth"), "{err}");
    let out = serve_refused(
        dir.path(),
        &[
            "--no-auth",
            "--listen",
            "0.0.0.0:0",
            "--plain-http-behind-proxy",
        ],
    );
    assert!(
        stderr(&out).contains("without authentication is refused"),
        "{}",
        stderr(&out)
    );
    let users = users_file(dir.path(), &["alice"]);
    let out = serve_refused(
        dir.path(),
        &["--no-auth", "--users", users.to_str().unwrap()],
    );
    assert!(stderr(&out).contains("--no-auth"), "{}", stderr(&out));

    // Asked for: it serves, says so, and anyone on loopback may push.
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), None, &["--no-auth"]);
    assert!(
        server.log().contains("serving without authentication"),
        "{}",
        server.log()
    );
    let url = format!(
        "{}timestamp.key",
        metadata_url(&server.url, "127.0.0.1:5000/team/app")
    );
    assert_eq!(get(&url).0, 200);
}

/// A token from the service's endpoint for `user` asking `scope`.
fn token(server: &str, user: &str, scope: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "--noproxy",
            "*",
            "-u",
            &format!("{user}:{user}-secret"),
        ])
        .arg(format!("{server}/token?service=clearance&scope={scope}"))
        .output()
        .unwrap();
    json(&out.stdout)["token"].as_str().unwrap().to_owned()
}

/// GET with a bearer token: the status.
fn get_with(url: &str, token: &str) -> u16 {
    let out = Command::new("curl")
        .args([
            "-s",
            "--noproxy",
            "*",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg(url)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).parse().unwrap()
}

/// How many keys the service holds, by looking into its SQLite database.
fn server_keys(data_dir: &Path) -> u64 {
    require("python3");
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM tuf_server_keys').fetchone()[0])",
        ])
        .arg(data_dir.join("trust.db"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn b15_a_puller_cannot_have_server_keys_made_for_names_of_its_choosing() {
    require("curl");
    let data = tempfile::tempdir().unwrap();
    let users = users_file(data.path(), &["alice", "bob"]);
    let config = format!(
        r#"[auth]
users = "{}"

[[auth.access]]
repositories = "**"
users = ["alice"]
actions = ["pull", "push"]

[[auth.access]]
repositories = "**"
users = ["bob"]
actions = ["pull"]

[[auth.access]]
repositories = "127.0.0.1:5000/public/**"
anonymous = ["pull"]
"#,
        users.display()
    );
    let server = TrustServer::start(data.path(), Some(&config), &[]);
    for gun in ["127.0.0.1:5000/team/app", "127.0.0.1:5000/public/app"] {
        let url = format!("{}timestamp.key", metadata_url(&server.url, gun));
        let scope = format!("repository:{gun}:pull,push");
        assert_eq!(get_with(&url, &token(&server.url, "bob", &scope)), 401);
        assert_eq!(get(&url).0, 401, "anonymous");
        assert_eq!(server_keys(&server.data_dir), 0, "{gun}");
    }
    // The check can see a key being made: alice may push.
    let gun = "127.0.0.1:5000/team/app";
    let url = format!("{}timestamp.key", metadata_url(&server.url, gun));
    let scope = format!("repository:{gun}:pull,push");
    assert_eq!(get_with(&url, &token(&server.url, "alice", &scope)), 200);
    assert_eq!(server_keys(&server.data_dir), 1);
}

#[test]
fn b15_the_published_log_line_counts_roles_instead_of_listing_them() {
    let (_img, _registry, gun) = pushed("team/app", &["v1"]);
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), None, &["--no-auth"]);
    let trust = Trust::new(&server);
    assert_success(&trust.run("publisher", &["trust", "init", &gun]));
    assert_success(&trust.run("publisher", &["trust", "sign", &format!("{gun}:v1")]));
    let log = server.log();
    let published: Vec<&str> = log.lines().filter(|l| l.contains("published")).collect();
    assert_eq!(published.len(), 2, "{log}");
    for line in published {
        let roles = line.split_once("roles=").unwrap().1;
        assert!(roles.starts_with(|c: char| c.is_ascii_digit()), "{line}");
        assert!(!line.contains("\"targets\""), "{line}");
    }
}

#[test]
fn n20_the_data_directory_and_its_database_are_private() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("serve");
    let mut child = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(["serve", "--trust", "--no-auth", "--print-address"])
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The address is printed once the database is open.
    let mut line = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("listening on"), "{line:?}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    for file in [
        "trust.db",
        "trust.db-wal",
        "trust.db-shm",
        "trust-master.key",
    ] {
        let path = data.join(file);
        if file == "trust.db" || path.exists() {
            assert_eq!(mode(&path), 0o600, "{file}");
        }
    }
}
