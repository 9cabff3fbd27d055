//! Debian's Notary 0.7 on 127.0.0.1: `notary-server` with its in-memory
//! store and local timestamp signer, and the `notary` client publishing to it
//! the way Docker Content Trust did.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use super::{assert_success, free_port, require};

pub struct NotaryServer {
    child: Child,
    pub port: u16,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl NotaryServer {
    pub fn start() -> NotaryServer {
        require("notary-server");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("server.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"server":{{"http_addr":"127.0.0.1:{port}"}},
                "trust_service":{{"type":"local","hostname":"","port":"","key_algorithm":"ecdsa"}},
                "logging":{{"level":"error"}},"storage":{{"backend":"memory"}}}}"#
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new("notary-server")
            .arg("-config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let server = NotaryServer {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        super::wait_for_http(self.port, "/_notary_server/health", "notary-server");
    }

    /// The bytes the server serves for `file` of `gun` (`timestamp.json`).
    pub fn get(&self, gun: &str, file: &str) -> Vec<u8> {
        let url = format!("{}{file}", super::service::metadata_url(&self.url, gun));
        let (status, body) = super::service::get(&url);
        assert_eq!(status, 200, "GET {url}: {}", String::from_utf8_lossy(&body));
        body
    }
}

impl Drop for NotaryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `notary` client with its own trust directory and passphrases.
pub struct NotaryClient {
    pub dir: PathBuf,
    server: String,
}

impl NotaryClient {
    pub fn new(dir: &Path, server: &NotaryServer) -> NotaryClient {
        require("notary");
        NotaryClient {
            dir: dir.to_owned(),
            server: server.url.clone(),
        }
    }

    pub fn output(&self, args: &[&str]) -> Output {
        Command::new("notary")
            .arg("-s")
            .arg(&self.server)
            .arg("-d")
            .arg(&self.dir)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.dir)
            .env("NOTARY_ROOT_PASSPHRASE", "notary root passphrase")
            .env("NOTARY_TARGETS_PASSPHRASE", "notary targets passphrase")
            .env("NOTARY_SNAPSHOT_PASSPHRASE", "notary snapshot passphrase")
            .env(
                "NOTARY_DELEGATION_PASSPHRASE",
                "notary delegation passphrase",
            )
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    pub fn run(&self, args: &[&str]) {
        assert_success(&self.output(args));
    }
}
