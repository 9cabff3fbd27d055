//! A Go program built here for the binary tests of clearance-scan and of
//! the `clearance` binary: `example.com/hello`, needing
//! `example.com/greet v1.2.3` and `example.com/old v1.0.0` replaced by
//! `example.com/new v1.1.0`, both vendored, built with no network
//! (`-mod=vendor`, `GOPROXY=off`, `GOTOOLCHAIN=local`).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The program built, and the toolchain that built it.
pub struct GoProgram {
    /// The binary (`DIR/go/hello`).
    pub binary: PathBuf,
    /// `go env GOVERSION` (`go1.19.8`).
    pub go_version: String,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Build the program in `dir/go`. Fails (never skips) without `go`.
pub fn build(dir: &Path) -> GoProgram {
    let d = dir.join("go");
    write(
        &d.join("go.mod"),
        "module example.com/hello\n\ngo 1.18\n\nrequire (\n\texample.com/greet v1.2.3\n\texample.com/old v1.0.0\n)\n\nreplace example.com/old => example.com/new v1.1.0\n",
    );
    write(
        &d.join("main.go"),
        "package main\n\nimport (\n\t\"example.com/greet\"\n\t\"example.com/old\"\n)\n\nfunc main() { greet.Hello(); old.Hi() }\n",
    );
    write(
        &d.join("vendor/modules.txt"),
        "# example.com/greet v1.2.3\n## explicit\nexample.com/greet\n# example.com/old v1.0.0 => example.com/new v1.1.0\n## explicit\nexample.com/old\n# example.com/old => example.com/new v1.1.0\n",
    );
    write(
        &d.join("vendor/example.com/greet/greet.go"),
        "package greet\n\nimport \"fmt\"\n\nfunc Hello() { fmt.Println(\"hello\") }\n",
    );
    write(
        &d.join("vendor/example.com/old/old.go"),
        "package old\n\nfunc Hi() {}\n",
    );
    let go = |args: &[&str]| {
        let out = Command::new("go")
            .args(args)
            .current_dir(&d)
            .env("GOFLAGS", "-mod=vendor")
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOCACHE", d.join("cache"))
            .env("GOPATH", d.join("gopath"))
            .env("CGO_ENABLED", "0")
            .output()
            .unwrap_or_else(|e| {
                panic!("`go` is not installed ({e}); run scripts/install-test-deps.sh (Debian package `golang-go`)")
            });
        assert!(
            out.status.success(),
            "go {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let go_version = go(&["env", "GOVERSION"]).trim().to_owned();
    go(&["build", "-o", "hello", "."]);
    GoProgram {
        binary: d.join("hello"),
        go_version,
    }
}

/// `go1.19.8` → `1.19.8`, `go1.20` → `1.20.0`: the toolchain's version as
/// OSV's `stdlib` records write it.
pub fn stdlib_version(go_version: &str) -> String {
    let v = go_version.strip_prefix("go").unwrap();
    match v.matches('.').count() {
        1 => format!("{v}.0"),
        _ => v.to_owned(),
    }
}
