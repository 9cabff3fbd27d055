//! The trust service (`clearance serve --trust`) read by python-tuf, the
//! reference TUF client: what `clearance trust init` and `trust sign`
//! publish through the service is a repository python-tuf's
//! `ngclient.Updater` refreshes, finds targets in and downloads by their
//! consistent-snapshot names; a timestamp the service did not sign is
//! refused; and a repository whose snapshot the service signs (`trust init
//! --server-snapshot`) works the same.
//!
//! python-tuf runs from the virtualenv `target/test-venv`, which
//! `scripts/install-test-deps.sh` creates. All traffic is on 127.0.0.1.
#![allow(clippy::unwrap_used)]

#[path = "../../clearance-trust/tests/python_tuf/mod.rs"]
mod python_tuf;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use python_tuf::{PyOutput, python, run};
use serde_json::{Value, json};
use support::service::{Trust, get, get_json, json, metadata_url, pushed};
use support::{
    MitmProxy, StaticServer, TrustServer, assert_success, require, skopeo_copy_with, stderr, stdout,
};

/// Longest a Python script may run.
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

/// python-tuf's side. `client CONFIG_JSON` runs `tuf.ngclient.Updater`
/// (refresh, get_targetinfo, download_target) and prints one JSON object:
/// the versions of the metadata files in its metadata directory before and
/// after, and what it found; on any exception `{"ok": false, "error":
/// CLASS, "message": TEXT}` and exit status 1. `forge IN OUT` re-signs a
/// metadata file's unchanged `signed` part with a fresh ECDSA key, under
/// the key ids of the genuine signatures.
const SCRIPT: &str = r#"
import hashlib
import json
import os
import sys


def versions(metadata_dir):
    out = {}
    if not os.path.isdir(metadata_dir):
        return out
    for fname in sorted(os.listdir(metadata_dir)):
        path = os.path.join(metadata_dir, fname)
        if fname.endswith(".json") and os.path.isfile(path):
            with open(path, "rb") as f:
                out[fname[: -len(".json")]] = json.load(f)["signed"]["version"]
    return out


def client(cfg):
    from tuf.ngclient import Updater

    metadata_dir = cfg["metadata_dir"]
    os.makedirs(metadata_dir, exist_ok=True)
    os.makedirs(cfg["target_dir"], exist_ok=True)
    result = {"before": versions(metadata_dir)}
    try:
        bootstrap = None
        if cfg.get("bootstrap"):
            with open(cfg["bootstrap"], "rb") as f:
                bootstrap = f.read()
        updater = Updater(
            metadata_dir=metadata_dir,
            metadata_base_url=cfg["metadata_url"],
            target_dir=cfg["target_dir"],
            target_base_url=cfg.get("target_url"),
            bootstrap=bootstrap,
        )
        updater.refresh()
        targets = {}
        for name in cfg.get("lookup", []):
            info = updater.get_targetinfo(name)
            if info is None:
                targets[name] = None
                continue
            entry = {"length": info.length, "hashes": info.hashes}
            if name in cfg.get("download", []):
                path = updater.download_target(info)
                with open(path, "rb") as f:
                    data = f.read()
                entry["path"] = os.path.abspath(path)
                entry["downloaded_sha256"] = hashlib.sha256(data).hexdigest()
            targets[name] = entry
        result.update(ok=True, targets=targets)
    except Exception as e:  # every refusal goes back to the test as JSON
        result.update(ok=False, error=type(e).__name__, message=str(e))
    result["after"] = versions(metadata_dir)
    print(json.dumps(result, sort_keys=True))
    return 0 if result["ok"] else 1


def forge(src, dst):
    from securesystemslib.signer import CryptoSigner, Signature
    from tuf.api.metadata import Metadata

    with open(src, "rb") as f:
        md = Metadata.from_bytes(f.read())
    genuine = sorted(md.signatures)
    forger = CryptoSigner.generate_ecdsa()
    sig = forger.sign(md.signed_bytes)
    # A real signature over the real bytes, only by the wrong key.
    forger.public_key.verify_signature(sig, md.signed_bytes)
    md.signatures.clear()
    for keyid in genuine:
        md.signatures[keyid] = Signature(keyid, sig.signature)
    with open(dst, "wb") as f:
        f.write(md.to_bytes())
    print(json.dumps({"genuine": genuine, "forger": forger.public_key.keyid}))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "client":
        sys.exit(client(json.loads(sys.argv[2])))
    sys.exit(forge(sys.argv[2], sys.argv[3]))
"#;

// ---------------------------------------------------------------------------
// Running python-tuf
// ---------------------------------------------------------------------------

/// A python-tuf client with its own metadata and target directories.
struct PyClient {
    dir: tempfile::TempDir,
}

impl PyClient {
    /// A client whose metadata directory holds `root` as `root.json`.
    fn pinned(root: &Path) -> PyClient {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("client.py"), SCRIPT).unwrap();
        let client = PyClient { dir };
        std::fs::create_dir_all(client.metadata_dir()).unwrap();
        std::fs::copy(root, client.metadata_dir().join("root.json")).unwrap();
        client
    }

    fn metadata_dir(&self) -> PathBuf {
        self.dir.path().join("metadata")
    }

    fn target_dir(&self) -> PathBuf {
        self.dir.path().join("targets")
    }

    /// One `Updater` run. `bootstrap`: start from the copied root.json as
    /// the bootstrap bytes (a first run); else from what earlier runs left
    /// in the metadata directory (`bootstrap=None`).
    fn run(
        &self,
        bootstrap: bool,
        metadata_url: &str,
        target_url: Option<&str>,
        lookup: &[&str],
        download: &[&str],
    ) -> (PyOutput, Value) {
        let bootstrap_file = self.dir.path().join("bootstrap-root.json");
        if bootstrap {
            std::fs::copy(self.metadata_dir().join("root.json"), &bootstrap_file).unwrap();
        }
        let cfg = json!({
            "metadata_dir": self.metadata_dir(),
            "target_dir": self.target_dir(),
            "metadata_url": metadata_url,
            "target_url": target_url,
            "bootstrap": bootstrap.then_some(&bootstrap_file),
            "lookup": lookup,
            "download": download,
        });
        let out = run(
            Command::new(python())
                .arg(self.dir.path().join("client.py"))
                .arg("client")
                .arg(cfg.to_string()),
            SCRIPT_LIMIT,
        );
        let result = out.json();
        (out, result)
    }
}

/// Assert a python-tuf run succeeded, showing what it said when it did not.
fn assert_py_ok(out: &PyOutput, result: &Value) {
    assert!(
        out.status.success() && result["ok"] == true,
        "python-tuf refused the service's repository: {result:#}\nstderr:\n{}",
        out.stderr
    );
}

/// Re-sign `src`'s `signed` part with a fresh key under the genuine key ids.
fn forge(src: &Path, dst: &Path) -> Value {
    let script = dst.with_file_name("forge.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = run(
        Command::new(python())
            .arg(&script)
            .arg("forge")
            .arg(src)
            .arg(dst),
        SCRIPT_LIMIT,
    );
    assert!(
        out.status.success(),
        "forging failed: {}\n{}",
        out.stdout,
        out.stderr
    );
    out.json()
}

// ---------------------------------------------------------------------------
// The publisher and the service
// ---------------------------------------------------------------------------

/// The manifest bytes the registry serves for `gun:tag`.
fn manifest(gun: &str, tag: &str) -> Vec<u8> {
    require("skopeo");
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{gun}:{tag}"))
        .output()
        .unwrap();
    assert_success(&out);
    out.stdout
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// The version of `role` in the service's current metadata.
fn served_version(base: &str, role: &str) -> u64 {
    get_json(&format!("{base}{role}.json"))["signed"]["version"]
        .as_u64()
        .unwrap()
}

/// A directory served over HTTP holding `bytes` under the consistent-
/// snapshot name of target `name` (`<sha256>.<name>`).
fn serve_target(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(format!("{}.{name}", sha256_hex(bytes))), bytes).unwrap();
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn python_tuf_refreshes_and_downloads_from_a_service_repository() {
    let (img, _registry, gun) = pushed("team/app", &["v1"]);
    // v2 as a Docker schema 2 manifest: other bytes, another digest.
    let v2_args = ["--format", "v2s2"];
    skopeo_copy_with(
        &img.oci_ref(),
        &format!("docker://{gun}:v2"),
        None,
        &v2_args,
    );
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), None, &["--no-auth"]);
    let trust = Trust::new(&server);
    assert_success(&trust.run("publisher", &["trust", "init", &gun]));
    let digest = trust.sign(&gun, "v1");
    let base = metadata_url(&server.url, &gun);

    let manifest_v1 = manifest(&gun, "v1");
    let sha_v1 = sha256_hex(&manifest_v1);
    assert_eq!(
        digest,
        format!("sha256:{sha_v1}"),
        "trust sign printed a digest that is not the manifest's"
    );

    // Targets, served under their consistent-snapshot names only.
    let targets = tempfile::tempdir().unwrap();
    serve_target(targets.path(), "v1", &manifest_v1);
    let target_server = StaticServer::start(targets.path());
    let target_url = format!("http://127.0.0.1:{}/", target_server.port);

    let client = PyClient::pinned(&trust.trusted_root("publisher", &gun));
    let (out, result) = client.run(true, &base, Some(&target_url), &["v1", "v2"], &["v1"]);
    assert_py_ok(&out, &result);
    let after = &result["after"];
    for role in ["root", "timestamp", "snapshot", "targets"] {
        assert_eq!(
            after[role],
            served_version(&base, role),
            "python-tuf trusts another {role} than the service serves: {result:#}"
        );
    }
    assert_eq!(after["targets"], 2, "{result:#}");
    let v1 = &result["targets"]["v1"];
    assert_eq!(v1["length"], manifest_v1.len(), "{result:#}");
    assert_eq!(v1["hashes"]["sha256"], sha_v1.as_str(), "{result:#}");
    assert_eq!(
        result["targets"]["v2"],
        Value::Null,
        "v2 is not signed yet: {result:#}"
    );
    let path = v1["path"].as_str().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), manifest_v1);
    assert_eq!(
        Path::new(path).parent().unwrap(),
        client.target_dir(),
        "{result:#}"
    );

    // A second tag; a new Updater starts from the metadata python-tuf
    // stored (bootstrap=None) and moves on to the new versions.
    let digest_v2 = trust.sign(&gun, "v2");
    let manifest_v2 = manifest(&gun, "v2");
    let sha_v2 = sha256_hex(&manifest_v2);
    assert_eq!(digest_v2, format!("sha256:{sha_v2}"));
    assert_ne!(sha_v2, sha_v1, "v2 must be another manifest");
    serve_target(targets.path(), "v2", &manifest_v2);
    let first = result;
    let (out, result) = client.run(false, &base, Some(&target_url), &["v1", "v2"], &["v2"]);
    assert_py_ok(&out, &result);
    let before = &result["before"];
    for role in ["root", "timestamp", "snapshot", "targets"] {
        assert_eq!(
            before[role], first["after"][role],
            "python-tuf did not start from its stored {role}: {result:#}"
        );
    }
    let after = &result["after"];
    assert_eq!(after["targets"], 3, "{result:#}");
    for role in ["timestamp", "snapshot", "targets"] {
        assert_eq!(after[role], served_version(&base, role), "{result:#}");
        assert!(
            after[role].as_u64() > before[role].as_u64(),
            "{role} did not move on: {result:#}"
        );
    }
    assert_eq!(after["root"], before["root"], "{result:#}");
    let v2 = &result["targets"]["v2"];
    assert_eq!(v2["length"], manifest_v2.len(), "{result:#}");
    assert_eq!(v2["hashes"]["sha256"], sha_v2.as_str(), "{result:#}");
    assert_eq!(
        std::fs::read(v2["path"].as_str().unwrap()).unwrap(),
        manifest_v2
    );
    assert_eq!(
        result["targets"]["v1"]["hashes"]["sha256"],
        sha_v1.as_str(),
        "{result:#}"
    );
}

#[test]
fn python_tuf_refuses_a_service_timestamp_signed_by_another_key() {
    let (_img, _registry, gun) = pushed("team/app", &["v1"]);
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), None, &["--no-auth"]);
    let trust = Trust::new(&server);
    assert_success(&trust.run("publisher", &["trust", "init", &gun]));
    trust.sign(&gun, "v1");
    let root = trust.trusted_root("publisher", &gun);

    // python-tuf reaches the service through a proxy on 127.0.0.1 that can
    // answer timestamp.json itself.
    let port: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    let proxy = MitmProxy::start(port);
    let proxied = metadata_url(&format!("http://{}", proxy.host()), &gun);

    // Untouched, the proxied repository is accepted.
    let (out, result) = PyClient::pinned(&root).run(true, &proxied, None, &["v1"], &[]);
    assert_py_ok(&out, &result);
    assert!(result["targets"]["v1"].is_object(), "{result:#}");

    // The genuine timestamp, re-signed by another key under the service
    // key's id: same signed bytes, valid signature, wrong key.
    let work = tempfile::tempdir().unwrap();
    let base = metadata_url(&server.url, &gun);
    let (status, genuine) = get(&format!("{base}timestamp.json"));
    assert_eq!(status, 200);
    let genuine_file = work.path().join("timestamp.json");
    std::fs::write(&genuine_file, &genuine).unwrap();
    let forged_file = work.path().join("forged-timestamp.json");
    let forged_by = forge(&genuine_file, &forged_file);
    let forged = std::fs::read(&forged_file).unwrap();
    let (genuine_doc, forged_doc) = (json(&genuine), json(&forged));
    let ts_keyid =
        get_json(&format!("{base}root.json"))["signed"]["roles"]["timestamp"]["keyids"][0].clone();
    assert_eq!(genuine_doc["signatures"][0]["keyid"], ts_keyid);
    assert_eq!(forged_doc["signed"], genuine_doc["signed"]);
    assert_eq!(forged_doc["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(forged_doc["signatures"][0]["keyid"], ts_keyid);
    assert_ne!(
        forged_doc["signatures"][0]["sig"],
        genuine_doc["signatures"][0]["sig"]
    );
    assert_ne!(forged_by["forger"], ts_keyid, "{forged_by}");

    *proxy.replay.lock().unwrap() = Some(("/_trust/tuf/timestamp.json".to_owned(), forged));
    let client = PyClient::pinned(&root);
    let (out, result) = client.run(true, &proxied, None, &["v1"], &[]);
    assert!(
        !out.status.success() && result["ok"] == false,
        "python-tuf accepted a timestamp the service did not sign: {result:#}"
    );
    assert_eq!(result["error"], "UnsignedMetadataError", "{result:#}");
    let message = result["message"].as_str().unwrap();
    assert!(message.contains("timestamp"), "{result:#}");
    for role in ["timestamp", "snapshot", "targets"] {
        assert!(
            result["after"].get(role).is_none(),
            "python-tuf stored {role} after a refused timestamp: {result:#}"
        );
    }

    // Clearance's own client refuses it as well.
    let consumer = Trust::at(format!("http://{}", proxy.host()));
    let out = consumer.run(
        "consumer",
        &[
            "trust",
            "verify",
            "--root",
            root.to_str().unwrap(),
            &format!("{gun}:v1"),
        ],
    );
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        out.status.code(),
        Some(1),
        "clearance trust verify accepted the forged timestamp: {said}"
    );
    assert!(
        said.contains("timestamp metadata is signed by 0 of the 1 keys"),
        "{said}"
    );
}

#[test]
fn a_publisher_can_hand_snapshot_to_the_service() {
    let (_img, _registry, gun) = pushed("team/app", &["v1"]);
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), None, &["--no-auth"]);
    let trust = Trust::new(&server);
    assert_success(&trust.run("publisher", &["trust", "init", "--server-snapshot", &gun]));
    let digest = trust.sign(&gun, "v1");
    let base = metadata_url(&server.url, &gun);

    // Root names a snapshot key the publisher does not hold…
    let root = get_json(&format!("{base}root.json"));
    let roles = &root["signed"]["roles"];
    let keyid = |role: &str| -> String {
        let ids = roles[role]["keyids"].as_array().unwrap();
        assert_eq!(ids.len(), 1, "{role}: {root:#}");
        ids[0].as_str().unwrap().to_owned()
    };
    let snapshot_keyid = keyid("snapshot");
    let out = trust.run("publisher", &["--format", "json", "trust", "key", "list"]);
    assert_success(&out);
    let held: Vec<String> = json(&out.stdout)["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keyid"].as_str().unwrap().to_owned())
        .collect();
    for role in ["root", "targets"] {
        assert!(
            held.contains(&keyid(role)),
            "the publisher should hold the {role} key: {held:?}"
        );
    }
    assert!(
        !held.contains(&snapshot_keyid),
        "the snapshot key is in the publisher's keystore: {held:?}"
    );
    assert!(!held.contains(&keyid("timestamp")), "{held:?}");
    assert_ne!(snapshot_keyid, keyid("timestamp"));

    // …which is the service's, and signs the snapshot it serves.
    let key = get_json(&format!("{base}snapshot.key"));
    assert_eq!(
        key["keyval"]["public"],
        root["signed"]["keys"][&snapshot_keyid]["keyval"]["public"]
    );
    let snapshot = get_json(&format!("{base}snapshot.json"));
    let signatures = snapshot["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1, "{snapshot:#}");
    assert_eq!(signatures[0]["keyid"], snapshot_keyid.as_str());
    let targets_version = served_version(&base, "targets");
    assert_eq!(targets_version, 2);
    assert_eq!(
        snapshot["signed"]["meta"]["targets.json"]["version"],
        targets_version
    );

    let out = trust.run(
        "publisher",
        &["--format", "json", "trust", "verify", &format!("{gun}:v1")],
    );
    assert_success(&out);
    assert_eq!(json(&out.stdout)["trusted"], true, "{}", stdout(&out));

    // python-tuf agrees.
    let manifest_v1 = manifest(&gun, "v1");
    assert_eq!(digest, format!("sha256:{}", sha256_hex(&manifest_v1)));
    let targets = tempfile::tempdir().unwrap();
    serve_target(targets.path(), "v1", &manifest_v1);
    let target_server = StaticServer::start(targets.path());
    let target_url = format!("http://127.0.0.1:{}/", target_server.port);
    let client = PyClient::pinned(&trust.trusted_root("publisher", &gun));
    let (out, result) = client.run(true, &base, Some(&target_url), &["v1"], &["v1"]);
    assert_py_ok(&out, &result);
    assert_eq!(
        result["after"]["snapshot"], snapshot["signed"]["version"],
        "{result:#}"
    );
    assert_eq!(result["after"]["targets"], targets_version, "{result:#}");
    let v1 = &result["targets"]["v1"];
    assert_eq!(v1["length"], manifest_v1.len(), "{result:#}");
    assert_eq!(
        v1["hashes"]["sha256"],
        sha256_hex(&manifest_v1).as_str(),
        "{result:#}"
    );
    assert_eq!(
        std::fs::read(v1["path"].as_str().unwrap()).unwrap(),
        manifest_v1
    );
}
