//! Trust speed: sign 10,000 tags in one publish, add one tag to that
//! repository as `trust sign` does (load it, with the one hash bin the tag
//! falls in, change it, publish), and verify one tag from a cold client
//! (file:// repository).
//! Prints times, metadata bytes per target, and ratios to Notary 0.7's
//! figures measured on this machine (issue [2]): 4.29 s to publish 10,000
//! tags, 0.63 s to add one more, 94 bytes per tag.
//!
//! With `--features server` it also does the same through the trust service
//! (in process, SQLite, on 127.0.0.1): the service checks every publish
//! against what it trusts, stores it, and signs timestamp itself.
//!
//! Usage: cargo bench -p clearance-trust [--features server] --bench trust_speed [-- TAGS]

use std::time::Instant;

use clearance_trust::client::{DirStore, HttpTransport, Updater, UpdaterSettings};
use clearance_trust::image::target_for_manifest;
use clearance_trust::publish::{
    Bins, Changed, Expiries, RepositoryEditor, RoleSigners, SignedFile,
};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};
use clearance_trust::{RoleName, TopRole};

const NOTARY_PUBLISH_S: f64 = 4.29;
const NOTARY_ADD_S: f64 = 0.63;
const NOTARY_BYTES_PER_TAG: f64 = 94.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tags: usize = std::env::args()
        .skip(1)
        .find(|a| a != "--bench")
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let keys: Vec<LocalSigner> = (0..4)
        .map(|i| {
            LocalSigner::generate(if i == 0 {
                KeyKind::EcdsaP256
            } else {
                KeyKind::Ed25519
            })
        })
        .collect::<Result<_, _>>()?;
    let signers = RoleSigners {
        root: vec![&keys[0]],
        targets: vec![&keys[1]],
        snapshot: vec![&keys[2]],
        timestamp: vec![&keys[3]],
        ..Default::default()
    };
    let dir = tempfile::tempdir()?;
    let write = |files: &[SignedFile]| -> std::io::Result<()> {
        for file in files {
            for name in file.file_names() {
                std::fs::write(dir.path().join(name), &file.bytes)?;
            }
        }
        Ok(())
    };
    let manifest = |i: usize| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","n":{i}}}"#
        )
    };
    let media = Some("application/vnd.oci.image.manifest.v1+json");

    // 1. Publish N tags at once.
    let t = Instant::now();
    let mut repo = RepositoryEditor::create(
        [
            keys[0].public_key(),
            keys[1].public_key(),
            keys[2].public_key(),
            keys[3].public_key(),
        ],
        Expiries::default(),
    );
    for i in 0..tags {
        repo.set_target(
            &format!("v{i}"),
            target_for_manifest(manifest(i).as_bytes(), media),
        )?;
    }
    let files = repo.publish(Changed::RootAndTargets, &signers, true)?;
    write(&files)?;
    let publish = t.elapsed().as_secs_f64();
    // Every role that lists targets: top-level targets and the hash bins.
    let is_bin = |f: &&SignedFile| f.role.as_str().starts_with("bins-");
    let targets_bytes: usize = files
        .iter()
        .filter(|f| f.role == TopRole::Targets || is_bin(f))
        .map(|f| f.bytes.len())
        .sum();
    let bins = files.iter().filter(is_bin).count();
    let per_tag = targets_bytes as f64 / tags as f64;

    // 2. Add one tag, as `trust sign` does: load the published repository
    // (top-level roles and the one bin the tag falls in), change it, publish.
    drop(repo);
    let t = Instant::now();
    let read = |name: &RoleName| std::fs::read(dir.path().join(name.file_name()));
    let mut repo = RepositoryEditor::load_bins(
        &read(&RoleName::ROOT)?,
        &read(&RoleName::TARGETS)?,
        &read(&RoleName::SNAPSHOT)?,
        &read(&RoleName::TIMESTAMP)?,
        Expiries::default(),
        Bins::For(&["one-more"]),
        |name| read(name).ok(),
    )?;
    repo.set_target("one-more", target_for_manifest(b"{}", media))?;
    let files2 = repo.publish(Changed::Targets, &signers, false)?;
    write(&files2)?;
    let add = t.elapsed().as_secs_f64();

    // 3. Verify one tag from a cold client.
    let root = files
        .iter()
        .find(|f| f.role == TopRole::Root)
        .map(|f| f.bytes.clone())
        .unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client_dir = tempfile::tempdir()?;
    let t = Instant::now();
    let store = DirStore::new(client_dir.path())?;
    store.save(&RoleName::ROOT, &root)?;
    let url = format!("file://{}/", dir.path().display());
    let found = runtime.block_on(async {
        let transport = HttpTransport::new(std::time::Duration::from_secs(10), None)?;
        let mut updater = Updater::new(store, transport, &url, UpdaterSettings::default())?;
        updater
            .target_info("v42")
            .await
            .map_err(Box::<dyn std::error::Error>::from)
    })?;
    let verify = t.elapsed().as_secs_f64();
    if found.is_none() {
        return Err("v42 not found".into());
    }

    println!(
        "tags: {tags} in {bins} hash bins; targets metadata {targets_bytes} bytes, {per_tag:.0} bytes per tag (Notary 0.7: {NOTARY_BYTES_PER_TAG:.0})"
    );
    println!(
        "publish {tags} tags: {publish:.3} s, {:.1}x faster than Notary's {NOTARY_PUBLISH_S} s (target >= 5x)",
        NOTARY_PUBLISH_S / publish
    );
    println!(
        "add one tag: {:.1} ms, {:.1}x faster than Notary's {NOTARY_ADD_S} s (target < 50 ms)",
        add * 1000.0,
        NOTARY_ADD_S / add
    );
    println!(
        "cold verify of one tag: {:.1} ms (target < 100 ms)",
        verify * 1000.0
    );
    #[cfg(feature = "server")]
    service::run(tags, &keys)?;
    Ok(())
}

#[cfg(feature = "server")]
mod service {
    use std::sync::Arc;
    use std::time::Instant;

    use clearance_trust::client::{
        DirStore, HttpTransport, PublishOutcome, Updater, UpdaterSettings,
    };
    use clearance_trust::image::target_for_manifest;
    use clearance_trust::publish::{
        Bins, Changed, Expiries, RepositoryEditor, RoleSigners, ServerSigned, SignedFile,
    };
    use clearance_trust::server::{Lifetimes, MasterKey, Store, TrustService};
    use clearance_trust::signer::{LocalSigner, Signer};
    use clearance_trust::{Gun, RoleName, TopRole};

    type Error = Box<dyn std::error::Error>;

    pub fn run(tags: usize, keys: &[LocalSigner]) -> Result<(), Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(measure(tags, keys))
    }

    async fn measure(tags: usize, keys: &[LocalSigner]) -> Result<(), Error> {
        let data = tempfile::tempdir()?;
        let store = Store::open(data.path().join("trust.db").to_str().unwrap_or_default()).await?;
        let master = MasterKey::load_or_create(&data.path().join("master.key"))?;
        let service = Arc::new(TrustService::new(store, master, Lifetimes::default(), None));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = clearance_trust::server::router(service.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let gun = Gun::new("127.0.0.1:5000/bench/app")?;
        let url = format!("http://{addr}/v2/{gun}/_trust/tuf/");
        let http = HttpTransport::new(std::time::Duration::from_secs(60), None)?;
        let timestamp = service
            .server_key(&gun, TopRole::Timestamp, true)
            .await?
            .ok_or("no server key")?;
        let media = Some("application/vnd.oci.image.manifest.v1+json");
        let signers = RoleSigners {
            root: vec![&keys[0]],
            targets: vec![&keys[1]],
            snapshot: vec![&keys[2]],
            server: ServerSigned::Timestamp,
            ..Default::default()
        };
        let send = |files: Vec<SignedFile>| {
            let (http, url) = (&http, &url);
            async move {
                let current: Vec<(RoleName, Vec<u8>)> =
                    files.into_iter().map(|f| (f.role, f.bytes)).collect();
                match http.publish(url, &current).await? {
                    PublishOutcome::Stored => Ok::<usize, Error>(current.len()),
                    PublishOutcome::Stale(why) => Err(why.into()),
                }
            }
        };

        let t = Instant::now();
        let mut repo = RepositoryEditor::create(
            [
                keys[0].public_key(),
                keys[1].public_key(),
                keys[2].public_key(),
                &timestamp,
            ],
            Expiries::default(),
        );
        for i in 0..tags {
            let m = format!(r#"{{"schemaVersion":2,"n":{i}}}"#);
            repo.set_target(&format!("v{i}"), target_for_manifest(m.as_bytes(), media))?;
        }
        let files = repo.publish(Changed::RootAndTargets, &signers, true)?;
        let root = files
            .iter()
            .find(|f| f.role == TopRole::Root)
            .map(|f| f.bytes.clone())
            .unwrap_or_default();
        let sent = send(files).await?;
        let publish = t.elapsed().as_secs_f64();

        // Add one, as `trust sign` does with a publisher's client store
        // (warmed by signing another tag): verify the current metadata from
        // the pinned root, fetch and verify the tag's bin, change it, publish.
        drop(repo);
        let publisher = tempfile::tempdir()?;
        let store = DirStore::new(publisher.path())?;
        store.save(&RoleName::ROOT, &root)?;
        let mut updater = Updater::new(store, http.clone(), &url, UpdaterSettings::default())?;
        RepositoryEditor::load_verified(&mut updater, Expiries::default(), Bins::For(&["v0"]))
            .await?;
        let t = Instant::now();
        let mut repo = RepositoryEditor::load_verified(
            &mut updater,
            Expiries::default(),
            Bins::For(&["one-more"]),
        )
        .await?;
        repo.set_target("one-more", target_for_manifest(b"{}", media))?;
        send(repo.publish(Changed::Targets, &signers, false)?).await?;
        let add = t.elapsed().as_secs_f64();

        let client = tempfile::tempdir()?;
        let t = Instant::now();
        let store = DirStore::new(client.path())?;
        store.save(&RoleName::ROOT, &root)?;
        let mut updater = Updater::new(store, http.clone(), &url, UpdaterSettings::default())?;
        let found = updater.target_info("v42").await?;
        let verify = t.elapsed().as_secs_f64();
        if found.is_none() {
            return Err("v42 not found through the service".into());
        }
        println!("through the trust service (SQLite, HTTP on 127.0.0.1, every publish checked):");
        println!(
            "  publish {tags} tags ({sent} files): {publish:.3} s, {:.1}x faster than Notary's {} s",
            super::NOTARY_PUBLISH_S / publish,
            super::NOTARY_PUBLISH_S
        );
        println!(
            "  add one tag: {:.1} ms, {:.1}x faster than Notary's {} s",
            add * 1000.0,
            super::NOTARY_ADD_S / add,
            super::NOTARY_ADD_S
        );
        println!("  cold verify of one tag: {:.1} ms", verify * 1000.0);
        Ok(())
    }
}
