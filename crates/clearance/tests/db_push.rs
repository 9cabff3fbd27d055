//! `clearance db push` / `db pull` end to end: a real registry
//! (Distribution 2.8) on 127.0.0.1, the database signed and verified with
//! Clearance content trust (a file:// trust repository), and what a site's
//! scanners must refuse: a tag re-pushed without the signing keys, a blob
//! damaged in the registry's storage, an artifact of another type, a
//! signed artifact holding a database that is not ours. Whatever is
//! refused, the database already in place is left as it was, byte for byte.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clearance_oci::artifact::{ArtifactManifest, Descriptor, EMPTY_JSON};
use clearance_oci::media_type::{OCI_CONFIG, OCI_EMPTY, OCI_MANIFEST};
use clearance_oci::registry::{RegistryClient, RegistrySettings};
use clearance_oci::{Digest, RegistryRef};
use clearance_scan::db_artifact::{ARTIFACT_TYPE, LAYER_MEDIA_TYPE};
use support::{
    Registry, TrustServer, assert_success, both, repo_root, require, service, stderr, stdout,
};

/// A site: a registry, a trust repository its publisher initialised for
/// the database's repository, and a directory for databases.
struct Site {
    registry: Registry,
    trust: service::Trust,
    gun: String,
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let registry = Registry::start(None);
        let gun = format!("{}/site/advisory-db", registry.host());
        let trust = service::Trust::file_initialised(&gun);
        Site {
            registry,
            trust,
            gun,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A registry that wants a login, and the trust service (no logins)
    /// instead of a file:// repository.
    fn with_service(server: &TrustServer, login: (&str, &str)) -> Site {
        let registry = Registry::start(Some(login));
        let gun = format!("{}/site/advisory-db", registry.host());
        let trust = service::Trust::new(server);
        assert_success(&trust.run("publisher", &["trust", "init", &gun]));
        Site {
            registry,
            trust,
            gun,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db(&self, name: &str) -> PathBuf {
        self.dir.path().join(name).join("advisories.db")
    }

    /// The binary as `home`, pointed at the trust repository.
    fn command(&self, home: &str, args: &[&str]) -> Command {
        self.trust.command(home, args, None)
    }

    fn run(&self, home: &str, args: &[&str]) -> Output {
        self.command(home, args).output().unwrap()
    }

    /// `db build` of fixture feeds into `db`.
    fn build(&self, db: &Path, feeds: &[&str]) {
        let mut args = vec!["db", "build", "--db", db.to_str().unwrap()];
        let paths: Vec<String> = feeds.iter().map(|f| fixture(f)).collect();
        for p in &paths {
            args.extend(["--source", p.as_str()]);
        }
        assert_success(&self.run("publisher", &args));
    }

    /// `db push --format json` as the publisher (signed).
    fn push(&self, db: &Path, tag: &str) -> serde_json::Value {
        let out = self.run(
            "publisher",
            &[
                "--format",
                "json",
                "db",
                "push",
                "--db",
                db.to_str().unwrap(),
                &format!("{}:{tag}", self.gun),
            ],
        );
        assert_success(&out);
        json(&out)
    }

    /// `db push --no-sign` of `db` under `tag`, as `home`.
    fn push_unsigned(&self, home: &str, db: &Path, tag: &str) -> Output {
        let reference = format!("{}:{tag}", self.gun);
        self.run(
            home,
            &[
                "db",
                "push",
                "--no-sign",
                "--db",
                db.to_str().unwrap(),
                &reference,
            ],
        )
    }

    /// `db pull --format json` as a consumer who pinned the publisher's root.
    fn pull(&self, db: &Path, tag: &str, extra: &[&str]) -> Output {
        let root = self.trust.trusted_root("publisher", &self.gun);
        let mut args = vec![
            "--format",
            "json",
            "db",
            "pull",
            "--db",
            db.to_str().unwrap(),
            "--root",
            root.to_str().unwrap(),
        ];
        args.extend(extra);
        let reference = format!("{}:{tag}", self.gun);
        args.push(&reference);
        self.run("consumer", &args)
    }

    /// `db status --format json` of `db`: (name, advisories, records, data date) per source.
    fn sources(&self, db: &Path) -> Vec<(String, i64, i64, Option<String>)> {
        let out = self.run(
            "publisher",
            &[
                "--format",
                "json",
                "db",
                "status",
                "--db",
                db.to_str().unwrap(),
            ],
        );
        assert_success(&out);
        json(&out)["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_owned(),
                    s["advisories"].as_i64().unwrap(),
                    s["affected"].as_i64().unwrap(),
                    s["data_date"].as_str().map(str::to_owned),
                )
            })
            .collect()
    }

    fn reference(&self, tag: &str) -> RegistryRef {
        RegistryRef::parse(&format!("{}:{tag}", self.gun)).unwrap()
    }
}

fn fixture(name: &str) -> String {
    repo_root()
        .join("crates/clearance-scan/tests/data/feeds")
        .join(name)
        .display()
        .to_string()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", both(out)))
}

/// The file's bytes, to show it was not touched.
fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Push `layer` (already compressed) as an artifact of `artifact_type`
/// (or, with `None`, as a container image) under `tag`, with the library
/// alone: what another tool, or someone with push rights, could put there.
fn push_artifact(site: &Site, tag: &str, artifact_type: Option<&str>, layer: &[u8]) -> Digest {
    push_artifact_of(site, tag, artifact_type, LAYER_MEDIA_TYPE, layer)
}

/// As [`push_artifact`], with a layer of media type `layer_type`.
fn push_artifact_of(
    site: &Site,
    tag: &str,
    artifact_type: Option<&str>,
    layer_type: &str,
    layer: &[u8],
) -> Digest {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = RegistryClient::new(&RegistrySettings {
            docker_config: None,
            ..RegistrySettings::default()
        })
        .unwrap();
        let r = site.reference(tag);
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), layer).unwrap();
        let pushed = client
            .push_blob_file(&r, file.path(), layer_type, std::sync::Arc::new(|_| {}))
            .await
            .unwrap();
        let layers = vec![Descriptor::new(
            layer_type,
            pushed.blob.digest.clone(),
            pushed.blob.size,
        )];
        let manifest = match artifact_type {
            Some(kind) => {
                client
                    .push_blob_bytes(&r, EMPTY_JSON, OCI_EMPTY)
                    .await
                    .unwrap();
                ArtifactManifest::new(kind, layers, Default::default())
            }
            None => {
                let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
                let c = client.push_blob_bytes(&r, config, OCI_CONFIG).await.unwrap();
                let mut m = ArtifactManifest::new("x", layers, Default::default());
                m.artifact_type = None;
                m.config = Descriptor::new(OCI_CONFIG, c.blob.digest, c.blob.size);
                m
            }
        };
        client
            .put_manifest(&r, tag, &manifest.to_bytes(), OCI_MANIFEST)
            .await
            .unwrap()
    })
}

/// `trust sign GUN:TAG@DIGEST` as the publisher.
fn sign(site: &Site, tag: &str, digest: &Digest) {
    let out = site.run(
        "publisher",
        &["trust", "sign", &format!("{}:{tag}@{digest}", site.gun)],
    );
    assert_success(&out);
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).unwrap()
}

#[test]
fn a_pushed_database_pulls_into_a_fresh_path_with_the_same_sources() {
    let site = Site::new();
    let original = site.db("publisher");
    site.build(&original, &["osv-pypi", "kev.json", "alpine/main.json"]);
    let pushed = site.push(&original, "v1");
    assert_eq!(pushed["schema"], "clearance.db-push/v1");
    assert_eq!(pushed["signed"]["role"], "targets");
    assert_eq!(pushed["layer"]["uploaded"], true);
    assert_eq!(pushed["layer"]["media_type"], LAYER_MEDIA_TYPE);

    let fresh = site.db("runner");
    let out = site.pull(&fresh, "v1", &[]);
    assert_success(&out);
    let pulled = json(&out);
    assert_eq!(pulled["schema"], "clearance.db-pull/v1");
    assert_eq!(pulled["trusted"], true);
    assert_eq!(pulled["digest"], pushed["digest"]);
    assert_eq!(pulled["signed_by"], "targets");
    assert_eq!(site.sources(&fresh), site.sources(&original));
    assert!(!site.sources(&fresh).is_empty());

    // The same database again: the same artifact, its layer in the
    // registry already, the tag signed as that manifest already.
    let again = site.push(&original, "v1");
    assert_eq!(again["layer"]["uploaded"], false);
    assert_eq!(again["digest"], pushed["digest"]);
    assert_eq!(again["signed"]["published"], false);
}

/// A database path that is a symbolic link (a runner's link to shared
/// storage) is updated where it points; the link stays a link (break-it:
/// it was replaced by a file and the shared database never updated).
#[test]
fn a_pull_through_a_symbolic_link_updates_what_it_points_to() {
    let site = Site::new();
    let original = site.db("publisher");
    site.build(&original, &["osv-pypi"]);
    site.push(&original, "v1");
    let shared = site.db("shared");
    std::fs::create_dir_all(shared.parent().unwrap()).unwrap();
    std::fs::write(&shared, b"").unwrap();
    let link = shared.with_file_name("link.db");
    std::os::unix::fs::symlink(&shared, &link).unwrap();
    assert_success(&site.pull(&link, "v1", &[]));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(site.sources(&shared), site.sources(&original));
}

/// `db pull HOST/REPO:TAG@DIGEST` takes the database only when the pinned
/// digest is the one the tag is signed for (break-it: the pin was ignored
/// and the signed tag's database installed).
#[test]
fn a_pinned_digest_must_be_the_signed_one() {
    let site = Site::new();
    let first = site.db("publisher");
    site.build(&first, &["osv-pypi"]);
    let v1 = site.push(&first, "v1");
    let second = site.db("second");
    site.build(&second, &["kev.json"]);
    let v2 = site.push(&second, "v2");
    assert_ne!(v1["digest"], v2["digest"]);
    let runner = site.db("runner");
    let pinned = format!("v1@{}", v2["digest"].as_str().unwrap());
    let out = site.pull(&runner, &pinned, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let reason = json(&out)["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("is signed for"), "{reason}");
    assert!(!runner.exists(), "nothing installed");
    let pinned = format!("v1@{}", v1["digest"].as_str().unwrap());
    assert_success(&site.pull(&runner, &pinned, &[]));
    assert_eq!(site.sources(&runner), site.sources(&first));
}

#[test]
fn pull_refuses_a_tag_re_pushed_without_the_signing_keys_and_keeps_the_old_database() {
    let site = Site::new();
    let original = site.db("publisher");
    site.build(&original, &["osv-pypi", "kev.json"]);
    site.push(&original, "v1");
    let runner = site.db("runner");
    assert_success(&site.pull(&runner, "v1", &[]));
    let before = bytes(&runner);

    // Someone who may push to the registry but holds no signing key.
    let other = site.db("intruder");
    site.build(&other, &["kev.json"]);
    let out = site.push_unsigned("intruder", &other, "v1");
    assert_success(&out);
    assert!(stderr(&out).contains("not signed"), "{}", stderr(&out));

    let out = site.pull(&runner, "v1", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let verdict = json(&out);
    assert_eq!(verdict["trusted"], false);
    let reason = verdict["reason"].as_str().unwrap();
    assert!(reason.contains("without the signing keys"), "{reason}");
    assert_eq!(bytes(&runner), before, "the old database was touched");

    // A tag that was never signed is not trusted either, and is taken
    // only when trust is skipped by name.
    let out = site.push_unsigned("intruder", &other, "unsigned");
    assert_success(&out);
    let out = site.pull(&runner, "unsigned", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        json(&out)["reason"]
            .as_str()
            .unwrap()
            .contains("is not signed")
    );
    assert_eq!(bytes(&runner), before);
    let out = site.run(
        "consumer",
        &[
            "--format",
            "json",
            "db",
            "pull",
            "--insecure-skip-trust",
            "--db",
            runner.to_str().unwrap(),
            &format!("{}:unsigned", site.gun),
        ],
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains("without content trust"),
        "{}",
        stderr(&out)
    );
    assert_eq!(json(&out)["trusted"], false);
    assert_eq!(site.sources(&runner), site.sources(&other));
}

#[test]
fn a_blob_damaged_in_the_registry_is_a_digest_error_and_the_old_database_stays() {
    let site = Site::new();
    let original = site.db("publisher");
    site.build(&original, &["osv-pypi", "kev.json"]);
    let pushed = site.push(&original, "v1");
    let runner = site.db("runner");
    site.build(&runner, &["alpine/main.json"]);
    let before = bytes(&runner);

    // Flip bytes in the middle of the stored layer, keeping its length.
    let digest = pushed["layer"]["digest"].as_str().unwrap();
    let hex = digest.trim_start_matches("sha256:");
    let data = site
        .registry
        .storage()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    let mut stored = bytes(&data);
    let middle = stored.len() / 2;
    for b in &mut stored[middle..middle + 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&data, &stored).unwrap();

    let out = site.pull(&runner, "v1", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let err = stderr(&out);
    assert!(err.contains("digest mismatch"), "{err}");
    assert!(err.contains(digest), "the error names the blob: {err}");
    assert_eq!(bytes(&runner), before, "the old database was touched");
    let leftovers: Vec<_> = std::fs::read_dir(runner.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".db-pull-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_artifact_of_another_type_is_refused_naming_its_type() {
    let site = Site::new();
    let runner = site.db("runner");
    site.build(&runner, &["kev.json"]);
    let before = bytes(&runner);

    let digest = push_artifact(
        &site,
        "chart",
        Some("application/vnd.cncf.helm.config.v1+json"),
        b"x",
    );
    sign(&site, "chart", &digest);
    let out = site.pull(&runner, "chart", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let err = stderr(&out);
    assert!(
        err.contains("is not a Clearance advisory database"),
        "{err}"
    );
    assert!(
        err.contains("application/vnd.cncf.helm.config.v1+json"),
        "{err}"
    );

    let digest = push_artifact(&site, "image", None, b"x");
    sign(&site, "image", &digest);
    let out = site.pull(&runner, "image", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("(a container image)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bytes(&runner), before);
}

/// Break-it (issue 9): `db pull` and `db push` named only the tag
/// ("verifies v1"), and a layer that is not a database was blamed on a
/// newer clearance ("upgrade"). Messages name the whole reference, and
/// such an artifact is not a Clearance advisory database.
#[test]
fn b9_pull_messages_name_the_whole_reference_and_what_the_artifact_is() {
    let site = Site::new();
    let runner = site.db("runner");
    site.build(&runner, &["kev.json"]);
    let before = bytes(&runner);
    let reference = format!("{}:v1", site.gun);
    for (verb, extra) in [("pull", "--insecure-skip-trust"), ("push", "--no-sign")] {
        let mut cmd = site.command(
            "consumer",
            &["db", verb, "--db", runner.to_str().unwrap(), &reference],
        );
        cmd.env_remove("CLEARANCE_TRUST_SERVER");
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", both(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(" {reference} with content trust")),
            "{err}"
        );
        assert!(err.contains(extra), "{err}");
    }
    let pinned = format!("{}@sha256:{}", site.gun, "0".repeat(64));
    let out = site.run(
        "consumer",
        &["db", "pull", "--db", runner.to_str().unwrap(), &pinned],
    );
    assert!(
        stderr(&out).contains(&format!("{pinned} names no tag")),
        "{}",
        stderr(&out)
    );

    let digest = push_artifact_of(
        &site,
        "notes",
        Some(ARTIFACT_TYPE),
        "text/plain",
        b"not a database",
    );
    sign(&site, "notes", &digest);
    let out = site.pull(&runner, "notes", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}:notes is not a Clearance advisory database: its artifact type is ours, but its layer is text/plain, not {LAYER_MEDIA_TYPE}",
            site.gun
        )),
        "{err}"
    );
    assert!(!err.contains("upgrade"), "{err}");
    assert_eq!(bytes(&runner), before);
}

/// Break-it (issue 9): a pulled database with a damaged page was reported
/// naming its temporary file (`.db-pull-….db`, removed by then), with
/// SQLite's complaint lines shown as a literal `\n`, and "DEST is as it
/// was" when there was no database at DEST.
#[test]
fn b9_a_damaged_pull_names_the_destination_on_one_line_and_what_was_kept() {
    require("sqlite3");
    let site = Site::new();
    let damaged = site.db("publisher");
    site.build(&damaged, &["osv-pypi", "kev.json"]);
    let sql = |query: &str| {
        let out = Command::new("sqlite3")
            .arg(&damaged)
            .arg(query)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", both(&out));
        stdout(&out).trim().parse::<usize>().unwrap()
    };
    let root = sql("SELECT rootpage FROM sqlite_master WHERE name = 'affected_package'");
    let page = sql("PRAGMA page_size");
    let mut file = bytes(&damaged);
    let start = (root - 1) * page + 8;
    file[start..start + 192].fill(0x41);
    let digest = push_artifact(&site, "damaged", Some(ARTIFACT_TYPE), &zstd(&file));
    sign(&site, "damaged", &digest);

    let fresh = site.db("fresh");
    let out = site.pull(&fresh, "damaged", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "nothing was pulled from {}:damaged: no database was written at {}",
            site.gun,
            fresh.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "the database pulled for {} is damaged: a stored page or index is unreadable (",
            fresh.display()
        )),
        "{err}"
    );
    assert!(!err.contains(".db-pull-") && !err.contains("\\n"), "{err}");
    assert!(!fresh.exists());

    let runner = site.db("runner");
    site.build(&runner, &["kev.json"]);
    let out = site.pull(&runner, "damaged", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains(&format!("{} is as it was", runner.display())),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_signed_artifact_holding_a_database_that_is_not_ours_is_refused_before_replacing() {
    require("sqlite3");
    let site = Site::new();
    let runner = site.db("runner");
    site.build(&runner, &["kev.json"]);
    let before = bytes(&runner);

    // A SQLite file of someone else's.
    let foreign = site.dir.path().join("foreign.db");
    let out = Command::new("sqlite3")
        .arg(&foreign)
        .arg("CREATE TABLE notes (x); INSERT INTO notes VALUES ('hello');")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
    let digest = push_artifact(
        &site,
        "foreign",
        Some(ARTIFACT_TYPE),
        &zstd(&bytes(&foreign)),
    );
    sign(&site, "foreign", &digest);
    let out = site.pull(&runner, "foreign", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("holds no advisory database this clearance reads"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("not a Clearance advisory database"),
        "{}",
        stderr(&out)
    );

    // Ours, but of a schema this clearance does not read.
    let future = site.db("future");
    site.build(&future, &["kev.json"]);
    let out = Command::new("sqlite3")
        .arg(&future)
        .arg("UPDATE meta SET value = '99' WHERE key = 'schema_version'; PRAGMA wal_checkpoint(TRUNCATE);")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
    let digest = push_artifact(&site, "future", Some(ARTIFACT_TYPE), &zstd(&bytes(&future)));
    sign(&site, "future", &digest);
    let out = site.pull(&runner, "future", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        stderr(&out).contains("schema version 99"),
        "{}",
        stderr(&out)
    );

    // Not even SQLite.
    let digest = push_artifact(&site, "junk", Some(ARTIFACT_TYPE), &zstd(&[7u8; 10_000]));
    sign(&site, "junk", &digest);
    let out = site.pull(&runner, "junk", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert_eq!(bytes(&runner), before, "the old database was touched");
    assert_eq!(site.sources(&runner).len(), 1);
}

#[test]
fn push_needs_a_trust_server_or_no_sign_and_pull_a_tag() {
    let site = Site::new();
    let db = site.db("publisher");
    site.build(&db, &["kev.json"]);
    let mut cmd = site.command(
        "publisher",
        &[
            "db",
            "push",
            "--db",
            db.to_str().unwrap(),
            &format!("{}:v1", site.gun),
        ],
    );
    cmd.env_remove("CLEARANCE_TRUST_SERVER");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(stderr(&out).contains("--no-sign"), "{}", stderr(&out));
    let out = site.run(
        "consumer",
        &[
            "db",
            "pull",
            "--db",
            db.to_str().unwrap(),
            &format!("{}@sha256:{}", site.gun, "0".repeat(64)),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(stderr(&out).contains("HOST/REPO:TAG"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

#[test]
fn through_the_trust_service_and_a_registry_that_wants_a_login() {
    let data = tempfile::tempdir().unwrap();
    let server = TrustServer::start(data.path(), None, &["--no-auth"]);
    let site = Site::with_service(&server, ("ci", "ci-secret"));
    let original = site.db("publisher");
    site.build(&original, &["osv-pypi", "kev.json"]);
    let reference = format!("{}:v1", site.gun);
    let push = |creds: Option<&str>| {
        let mut args = vec![
            "--format",
            "json",
            "db",
            "push",
            "--db",
            original.to_str().unwrap(),
        ];
        if let Some(c) = creds {
            args.extend(["--creds", c]);
        }
        args.push(&reference);
        site.run("publisher", &args)
    };
    // Without the login: refused before anything is signed, naming where.
    let out = push(None);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let err = stderr(&out);
    assert!(err.contains("authentication required"), "{err}");
    assert!(err.contains("/v2/site/advisory-db/blobs/"), "{err}");
    assert!(err.contains("--creds"), "{err}");
    let out = push(Some("ci:ci-secret"));
    assert_success(&out);
    assert_eq!(json(&out)["signed"]["published"], true);

    let fresh = site.db("runner");
    let root = site.trust.trusted_root("publisher", &site.gun);
    let out = site.run(
        "consumer",
        &[
            "db",
            "pull",
            "--creds",
            "ci:ci-secret",
            "--root",
            root.to_str().unwrap(),
            "--db",
            fresh.to_str().unwrap(),
            &reference,
        ],
    );
    assert_success(&out);
    assert!(stdout(&out).contains("✔ trusted"), "{}", stdout(&out));
    assert_eq!(site.sources(&fresh), site.sources(&original));
}
