//! Running python-tuf from tests: the interpreter of `target/test-venv`
//! (made by `scripts/install-test-deps.sh`), checked once, and commands run
//! with a deadline, no proxy, and their output captured. Shared by
//! clearance-trust's interop tests and the binary's trust-service tests
//! (`#[path]`).
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const PYTHON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../target/test-venv/bin/python"
);
/// The venv interpreter, checked once: it must exist and import python-tuf.
pub fn python() -> &'static Path {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        if !Path::new(PYTHON).exists() {
            return Err(format!("{PYTHON} does not exist"));
        }
        let out = run(
            Command::new(PYTHON).args(["-c", "import tuf, securesystemslib"]),
            Duration::from_secs(60),
        );
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("it cannot import tuf: {}", out.stderr.trim()))
        }
    });
    if let Err(why) = checked {
        panic!(
            "the python-tuf test environment is missing ({why}); \
             run scripts/install-test-deps.sh from the repository root"
        );
    }
    Path::new(PYTHON)
}

pub struct PyOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl PyOutput {
    /// The JSON object the scripts print as their last line.
    pub fn json(&self) -> Value {
        let line = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|e| {
            panic!(
                "script output is not JSON ({e}); status {}\nstdout:\n{}\nstderr:\n{}",
                self.status, self.stdout, self.stderr
            )
        })
    }
}

/// Run a command to completion with a deadline, capturing its output; a
/// command still running at the deadline is killed and the test fails.
pub fn run(cmd: &mut Command, limit: Duration) -> PyOutput {
    // Only 127.0.0.1 is ever contacted: no proxy may intercept it.
    for var in [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let described = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{described}: {e}"));
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{described} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    PyOutput {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}
