//! Trust speed: sign 10,000 tags in one publish, add one tag to that
//! repository, and verify one tag from a cold client (file:// repository).
//! Prints times, metadata bytes per target, and ratios to Notary 0.7's
//! figures measured on this machine (issue [2]): 4.29 s to publish 10,000
//! tags, 0.63 s to add one more, 94 bytes per tag.
//!
//! Usage: cargo bench -p clearance-trust --bench trust_speed [-- TAGS]

use std::time::Instant;

use clearance_trust::client::{DirStore, HttpTransport, Updater, UpdaterSettings};
use clearance_trust::image::target_for_manifest;
use clearance_trust::publish::{Changed, Expiries, Repository, RoleSigners};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};

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
    let write = |files: &[(String, Vec<u8>)]| -> std::io::Result<()> {
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes)?;
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
    let mut repo = Repository::create(
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
        );
    }
    let files = repo.publish(Changed::RootAndTargets, &signers, true)?;
    write(&files)?;
    let publish = t.elapsed().as_secs_f64();
    // Every role that lists targets: top-level targets and the hash bins.
    let targets_bytes: usize = files
        .iter()
        .filter(|(n, _)| n == "targets.json" || (n.starts_with("bins-") && n.ends_with(".json")))
        .map(|(_, b)| b.len())
        .sum();
    let bins = files.iter().filter(|(n, _)| n.starts_with("bins-")).count();
    let per_tag = targets_bytes as f64 / tags as f64;

    // 2. Add one tag.
    let t = Instant::now();
    repo.set_target("one-more", target_for_manifest(b"{}", media));
    let files2 = repo.publish(Changed::Targets, &signers, false)?;
    write(&files2)?;
    let add = t.elapsed().as_secs_f64();

    // 3. Verify one tag from a cold client.
    let root = files
        .iter()
        .find(|(n, _)| n == "1.root.json")
        .map(|(_, b)| b.clone())
        .unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client_dir = tempfile::tempdir()?;
    let t = Instant::now();
    let store = DirStore::new(client_dir.path())?;
    store.save("root", &root)?;
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
    Ok(())
}
