//! The trust service on PostgreSQL (Debian's server, started for the test
//! on 127.0.0.1 with a password): the same behaviour as on SQLite, and two
//! service nodes sharing one database still serialise publishes.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::{Registry, TestImage, TrustServer, assert_success, skopeo_copy, stderr};

const PASSWORD: &str = "pg-s3cret-passw0rd";

/// A throwaway PostgreSQL cluster (stopped on drop).
struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl Postgres {
    fn start() -> Postgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).max())
            .filter(|b| b.join("initdb").exists())
            .expect("PostgreSQL is not installed: run scripts/install-test-deps.sh");
        let dir = tempfile::tempdir().unwrap();
        let root = is_root();
        if root {
            chown_postgres(dir.path());
        }
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if root {
            chown_postgres(&pwfile);
        }
        let data = dir.path().join("data");
        run_pg(
            &bin,
            root,
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "clearance",
                "-A",
                "scram-sha-256",
                "--pwfile",
                pwfile.to_str().unwrap(),
                "--no-sync",
            ],
        );
        let port = free_port();
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.path().display()
        );
        let log = dir.path().join("pg.log");
        run_pg(
            &bin,
            root,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        let pg = Postgres { dir, bin, port };
        pg.psql("postgres", "CREATE DATABASE trust");
        pg
    }

    fn url(&self) -> String {
        format!(
            "postgres://clearance:{PASSWORD}@127.0.0.1:{}/trust",
            self.port
        )
    }

    fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "clearance",
            ])
            .args(["-d", db, "-tAc", sql])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .unwrap();
        assert!(out.status.success(), "psql: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = pg_command(&self.bin, is_root(), "pg_ctl")
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// PostgreSQL refuses to run as root: run its tools as `postgres` then.
fn pg_command(bin: &Path, root: bool, tool: &str) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

fn run_pg(bin: &Path, root: bool, tool: &str, args: &[&str]) {
    let out = pg_command(bin, root, tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

fn chown_postgres(path: &Path) {
    let status = Command::new("chown")
        .arg("postgres:postgres")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Run the binary as a publisher with every passphrase set.
fn clearance(home: &Path, server: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clearance"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("CLEARANCE_HOME", home)
        .env("CLEARANCE_TRUST_SERVER", server);
    for role in ["ROOT", "TARGETS", "SNAPSHOT", "TIMESTAMP"] {
        cmd.env(
            format!("CLEARANCE_PASSPHRASE_{role}"),
            format!("{role} passphrase"),
        );
    }
    cmd.output().unwrap()
}

#[test]
fn the_service_keeps_metadata_in_postgresql_and_two_nodes_share_it() {
    let pg = Postgres::start();
    let img = TestImage::build();
    let registry = Registry::start(None);
    let gun = format!("{}/team/app", registry.host());
    let tags = ["v1", "v2", "v3", "v4"];
    for tag in tags {
        skopeo_copy(&img.oci_ref(), &format!("docker://{gun}:{tag}"), None);
    }
    let url = pg.url();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let node_a = TrustServer::start(a_dir.path(), None, &["--no-auth", "--database", &url]);
    // A second node: same database, and the same master key (the sealed
    // server keys in the database open only with it).
    std::fs::create_dir_all(b_dir.path()).unwrap();
    std::fs::copy(
        a_dir.path().join("trust-master.key"),
        b_dir.path().join("trust-master.key"),
    )
    .unwrap();
    let node_b = TrustServer::start(b_dir.path(), None, &["--no-auth", "--database", &url]);
    let home = tempfile::tempdir().unwrap();

    assert_success(&clearance(
        home.path(),
        &node_a.url,
        &["trust", "init", &gun],
    ));
    // Sign through both nodes at once: the database decides who goes first,
    // the loser is told 409 and tries again.
    let children: Vec<_> = tags
        .iter()
        .enumerate()
        .map(|(i, tag)| {
            let node = if i % 2 == 0 { &node_a } else { &node_b };
            let home = home.path().to_owned();
            let server = node.url.clone();
            let image = format!("{gun}:{tag}");
            std::thread::spawn(move || clearance(&home, &server, &["trust", "sign", &image]))
        })
        .collect();
    for child in children {
        assert_success(&child.join().unwrap());
    }
    for (i, tag) in tags.iter().enumerate() {
        let node = if i % 2 == 0 { &node_b } else { &node_a };
        let out = clearance(
            home.path(),
            &node.url,
            &["trust", "verify", &format!("{gun}:{tag}")],
        );
        assert_success(&out);
    }

    // It is PostgreSQL that holds every version, and no password reached the logs.
    let versions = pg.psql(
        "trust",
        &format!("SELECT max(version) FROM tuf_files WHERE gun = '{gun}' AND role = 'targets'"),
    );
    assert_eq!(versions, (1 + tags.len()).to_string());
    let stored = pg.psql("trust", "SELECT count(*) FROM tuf_files");
    // One root; targets, snapshot and timestamp at init and at each sign.
    assert_eq!(stored, (1 + 3 * (1 + tags.len())).to_string());
    let keys = pg.psql("trust", "SELECT role FROM tuf_server_keys ORDER BY role");
    assert_eq!(keys, "timestamp");
    for node in [&node_a, &node_b] {
        let log = node.log();
        assert!(log.contains("postgres://clearance:***@"), "{log}");
        assert!(!log.contains(PASSWORD), "the database password was logged");
    }

    // A wrong password is a clear error at start, naming the database without the password.
    let c_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args([
            "serve",
            "--trust",
            "--no-auth",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(c_dir.path())
        .args(["--database", &url.replace(PASSWORD, "wrong")])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("postgres://clearance:***@127.0.0.1"), "{err}");
    assert!(err.contains("password authentication failed"), "{err}");
}

/// Every password in the B-5 cases holds this, raw or percent-encoded.
const MARK: &str = "s3cret";

/// `serve --trust --no-auth --database URL` that must refuse to start: its stderr.
fn refused_with(database: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args([
            "serve",
            "--trust",
            "--no-auth",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .args(["--database", database])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("CLEARANCE_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{database}: {}", stderr(&out));
    stderr(&out)
}

#[test]
fn b5_database_passwords_are_redacted_in_every_url_form() {
    let pg = Postgres::start();
    // Passwords with every character that breaks a URL, and one with only '@'.
    let odd = format!("{MARK}/@:?#%x");
    let at = format!("pg@{MARK}");
    pg.psql(
        "postgres",
        &format!("CREATE ROLE odd LOGIN SUPERUSER PASSWORD '{odd}'"),
    );
    pg.psql(
        "postgres",
        &format!("CREATE ROLE atuser LOGIN SUPERUSER PASSWORD '{at}'"),
    );
    let host = format!("127.0.0.1:{}", pg.port);
    let encoded: String = url::form_urlencoded::byte_serialize(odd.as_bytes()).collect();
    let encoded = encoded.replace('+', "%20");

    // Forms that connect: the banner and every log line (at trace) hide the password.
    for (url, shown) in [
        (
            format!("postgres://odd:{encoded}@{host}/trust"),
            format!("postgres://odd:***@{host}/trust"),
        ),
        (
            format!("postgresql://odd:{encoded}@{host}/trust"),
            format!("postgresql://odd:***@{host}/trust"),
        ),
        (
            format!("postgres://{host}/trust?user=odd&password={encoded}"),
            format!("postgres://{host}/trust?user=odd&password=***"),
        ),
        // A raw '@' in the password: the last '@' ends the user-info, as sqlx reads it.
        (
            format!("postgres://atuser:{at}@{host}/trust"),
            format!("postgres://atuser:***@{host}/trust"),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let node = TrustServer::start(dir.path(), None, &["--no-auth", "--database", &url]);
        let log = node.log();
        assert!(log.contains(&shown), "{url}:\n{log}");
        assert!(
            !log.contains(MARK),
            "{url}: the password was logged:\n{log}"
        );
    }

    // Forms that cannot connect: the error names the database, never the password.
    for (url, says) in [
        // A raw '/' (and '?', '#') in the password: not a URL at all.
        (
            format!("postgres://odd:{odd}@{host}/trust"),
            "percent-encode",
        ),
        // A numeric start makes it parse with the password in the path.
        (
            format!("postgres://odd:12/{MARK}@{host}/trust"),
            "percent-encode",
        ),
        (
            format!("postgres://{host}/trust?user=odd&password=wrong{MARK}"),
            "password authentication failed",
        ),
        (
            format!("postgres://odd:wrong{MARK}@{host}/trust"),
            "password authentication failed",
        ),
        (
            format!("postgres://odd@{host}/trust?sslpassword={MARK}"),
            "unsupported connection parameter(s) sslpassword",
        ),
        (
            format!(
                "host=127.0.0.1 port={} user=odd password={MARK} dbname=trust",
                pg.port
            ),
            "key=value connection strings are not supported",
        ),
    ] {
        let err = refused_with(&url);
        assert!(err.contains(says), "{url}:\n{err}");
        assert!(
            !err.contains(MARK),
            "{url}: the password was printed:\n{err}"
        );
    }
}

/// Review A.6 on PostgreSQL: the service crashes after each row of a
/// publish in turn; the server rolls the open transaction back.
#[test]
fn a_crash_mid_publish_leaves_the_previous_version_served_on_postgresql() {
    let pg = Postgres::start();
    let url = pg.url();
    support::service::crash_mid_publish_at_every_row(&["--no-auth", "--database", &url]);
}
