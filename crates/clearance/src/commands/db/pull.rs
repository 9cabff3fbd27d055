//! `clearance db pull REF`: the advisory database from a registry, its tag
//! verified with Clearance content trust, put in place of the old one only
//! once it has proved whole. Exit 1 when the tag is not trusted, 2 when
//! the registry, the trust server or the artifact fails otherwise; the old
//! database keeps serving in both cases.

use std::io::Read;
use std::path::Path;

use anyhow::{Context as _, bail};
use clap::Args;
use clearance_oci::RegistryRef;
use clearance_oci::artifact::ArtifactManifest;
use clearance_oci::manifest::BlobRef;
use clearance_oci::registry::RegistryClient;
use clearance_scan::db::SourceStatus;
use clearance_scan::db_artifact::{self, ARTIFACT_TYPE, LAYER_MEDIA_TYPE};
use serde::Serialize;

use super::DbArgs;
use crate::cli::{Format, RegistryArgs};
use crate::commands::trust::common::{OptionalTrustArgs, gun, registry_ref, show};
use crate::commands::trust::verify::{Lookup, RootArgs, look_up, signed_manifest, unanswered};
use crate::exit::Exit;
use crate::output::{self, Page, ToText as _, bad, good, text};

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The database to pull: [docker://]HOST/REPO:TAG, as `db push` pushed
    /// and signed it (a fleet's runners can all take it from the variable).
    #[arg(env = "CLEARANCE_DB_REPOSITORY")]
    pub reference: String,
    #[command(flatten)]
    pub roots: RootArgs,
    /// Pull without content trust: take whatever the registry's tag points
    /// at, signed or not. Anyone who can push to the registry (or sits
    /// between it and you) chooses which vulnerabilities your scans see.
    #[arg(long, conflicts_with_all = ["root", "trust_on_first_use"])]
    pub insecure_skip_trust: bool,
    /// The largest database accepted, uncompressed: bytes, or with a unit
    /// (KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", default_value = "2GiB", value_parser = size_bytes)]
    pub max_size: u64,
    #[command(flatten)]
    pub trust: OptionalTrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Whether a pull verifies its tag (the safety switch, read once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    /// Through the trust data (the default).
    Verify,
    /// `--insecure-skip-trust`.
    Skip,
}

/// What was pulled; `clearance.db-pull/v1`, in `docs/db-json.md`.
#[derive(Debug, Serialize)]
struct Pulled {
    schema: &'static str,
    reference: String,
    /// False with `--insecure-skip-trust`, or when not trusted (exit 1).
    trusted: bool,
    /// The artifact's manifest digest.
    digest: Option<String>,
    signed_by: Option<String>,
    /// Why nothing was pulled (exit 1).
    reason: Option<String>,
    /// The database written (`null` when nothing was).
    database: Option<std::path::PathBuf>,
    /// Bytes, compressed.
    size: Option<u64>,
    /// Bytes, uncompressed.
    database_bytes: Option<u64>,
    schema_version: Option<i64>,
    sources: Vec<SourceStatus>,
}

pub async fn run(args: PullArgs, format: Format) -> anyhow::Result<Exit> {
    let trust_mode = if args.insecure_skip_trust {
        Trust::Skip
    } else {
        Trust::Verify
    };
    let reference = registry_ref(&args.reference)?;
    let gun = gun(&reference)?;
    // The flags first: a wrong --db is told before anything is fetched.
    let target = args.db.path()?;
    let client = RegistryClient::new(&args.registry.settings()?.registry)?;
    let mut pulled = Pulled {
        schema: "clearance.db-pull/v1",
        reference: args.reference.clone(),
        trusted: false,
        digest: None,
        signed_by: None,
        reason: None,
        database: None,
        size: None,
        database_bytes: None,
        schema_version: None,
        sources: Vec::new(),
    };
    let manifest = match trust_mode {
        Trust::Verify => match signed_artifact(&args, &client, &reference, &mut pulled).await? {
            Some(bytes) => bytes,
            None => {
                show(format, &pulled, render)?;
                return Ok(Exit::Denied);
            }
        },
        Trust::Skip => {
            output::warning(format!(
                "pulling {reference} without content trust (--insecure-skip-trust): whoever can push to the registry decides what your scans know"
            ));
            let (bytes, digest, _) = client
                .get_manifest(&reference, &reference.manifest_reference())
                .await
                .with_context(|| format!("fetching the manifest of {reference}"))?;
            pulled.digest = Some(digest.to_string());
            bytes
        }
    };
    let layer = database_layer(&manifest, &reference, args.max_size)?;
    // A database path that is a symbolic link (to shared storage) is
    // updated where it points, not replaced by a file of its own.
    let target = match std::fs::symlink_metadata(&target) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(&target).with_context(|| {
                format!("{} is a symbolic link that leads nowhere", target.display())
            })?
        }
        _ => target,
    };
    let dir = match target.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_owned(),
        None => Path::new(".").to_owned(),
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating {} for the advisory database", dir.display()))?;
    let what = format!("{gun}@{}", layer.digest);
    let kept = if target.exists() {
        format!("{} is as it was", target.display())
    } else {
        format!("no database was written at {}", target.display())
    };
    let (file, status) = download(&client, &reference, &layer, &target, args.max_size, &what)
        .await
        .with_context(|| format!("nothing was pulled from {reference}: {kept}"))?;
    let database_bytes = file
        .as_file()
        .metadata()
        .with_context(|| format!("the database pulled for {}", target.display()))?
        .len();
    db_artifact::install(file, &target).await?;
    pulled.database = Some(target);
    pulled.size = Some(layer.size);
    pulled.database_bytes = Some(database_bytes);
    pulled.schema_version = Some(status.schema_version);
    pulled.sources = status.sources;
    show(format, &pulled, render)?;
    Ok(Exit::Ok)
}

/// The manifest of the artifact `args.reference`'s tag is signed as, once
/// the trust data and the registry agree on it; `None` when the tag is not
/// trusted (exit 1), with `pulled.reason` saying why. An error is a usage
/// error or a server that could not be asked (exit 2).
async fn signed_artifact(
    args: &PullArgs,
    client: &RegistryClient,
    reference: &RegistryRef,
    pulled: &mut Pulled,
) -> anyhow::Result<Option<Vec<u8>>> {
    let gun = gun(reference)?;
    let tag = reference
        .tag()
        .with_context(|| {
            format!(
                "{reference} names no tag: pull a signed tag, HOST/REPO:TAG (the trust data signs tags)"
            )
        })?
        .to_owned();
    let Some(trust) = args.trust.trust() else {
        bail!(
            "`db pull` verifies {reference} with content trust: give the trust server (--server URL or CLEARANCE_TRUST_SERVER), or --insecure-skip-trust to take the database unverified"
        );
    };
    let trust = trust.settings(args.registry.timeout)?;
    pulled.reference = format!("{gun}:{tag}");
    let mut refuse = |reason: String| {
        pulled.reason = Some(reason);
        Ok(None)
    };
    let signed = match look_up(&args.roots, &trust, &gun, &tag).await? {
        Lookup::Signed(signed) => signed,
        Lookup::NotTrusted(reason) => return refuse(reason),
    };
    // A digest the user pinned must be the one the tag is signed for.
    if let Some(pinned) = reference.digest()
        && pinned.to_string() != signed.digest
    {
        return refuse(format!(
            "{gun}:{tag} is signed for {}, not the {pinned} given; pull the tag alone, or pin the signed digest",
            signed.digest
        ));
    }
    let bytes = match signed_manifest(client, reference, &gun, &tag, &signed).await {
        Ok((bytes, _)) => bytes,
        Err(e) if unanswered(&e) => return Err(e),
        Err(e) => {
            pulled.digest = Some(signed.digest.clone());
            pulled.signed_by = Some(signed.role.to_string());
            pulled.reason = Some(format!("{e:#}"));
            return Ok(None);
        }
    };
    // The tag must point at what is signed: a tag moved by someone
    // without the keys (or a push not signed) is refused, loudly, rather
    // than quietly served the older signed database.
    let now = match client.get_manifest(reference, &tag).await {
        Ok((_, now, _)) => now.to_string(),
        Err(e) => {
            let e = anyhow::Error::new(e);
            if unanswered(&e) {
                return Err(e.context(format!("checking where {gun}:{tag} points")));
            }
            format!("nothing it can serve ({e:#})")
        }
    };
    pulled.digest = Some(signed.digest.clone());
    pulled.signed_by = Some(signed.role.to_string());
    if now != signed.digest {
        return refuse(format!(
            "the registry's {gun}:{tag} points at {now}, but the tag is signed as {}: someone pushed it without the signing keys (or a push is still being signed); nothing was pulled",
            signed.digest
        ));
    }
    pulled.trusted = true;
    Ok(Some(bytes))
}

/// Download the database layer into a temporary file beside `target`, its
/// digest checked while it streams and its size held to `max`, and check it
/// is a Clearance advisory database of this schema.
async fn download(
    client: &RegistryClient,
    reference: &RegistryRef,
    layer: &BlobRef,
    target: &Path,
    max: u64,
    what: &str,
) -> anyhow::Result<(tempfile::NamedTempFile, clearance_scan::db::DbStatus)> {
    let blob = client
        .open_blob(reference, layer)
        .await
        .with_context(|| format!("fetching {what}"))?;
    let bar = output::byte_progress(layer.size, "downloading");
    let counted = Counted {
        inner: blob,
        bar: bar.clone(),
    };
    let (into, name) = (target.to_owned(), what.to_owned());
    let file =
        tokio::task::spawn_blocking(move || db_artifact::unpack(counted, &name, &into, max)).await;
    bar.finish_and_clear();
    let file = file??;
    let spinner = output::spinner(format!("checking {what}"));
    let status = db_artifact::check(file.path(), target).await;
    spinner.finish_and_clear();
    let status = status
        .with_context(|| format!("{what} holds no advisory database this clearance reads"))?;
    Ok((file, status))
}

/// The database layer of an advisory database artifact: its
/// `artifactType` (or, for artifacts of before image-spec 1.1, its
/// config's type) must be ours, with exactly one layer of ours, no larger
/// than `max`.
fn database_layer(manifest: &[u8], reference: &RegistryRef, max: u64) -> anyhow::Result<BlobRef> {
    let manifest = ArtifactManifest::parse(manifest)
        .with_context(|| format!("{reference} is not a Clearance advisory database artifact"))?;
    let kind = manifest.kind();
    if kind != ARTIFACT_TYPE {
        let what = if kind == clearance_oci::media_type::OCI_CONFIG {
            " (a container image)".to_owned()
        } else {
            String::new()
        };
        bail!(
            "{reference} is not a Clearance advisory database: its artifact type is {kind}{what}, not {ARTIFACT_TYPE}; check the reference (`clearance db push` makes these)"
        );
    }
    let [layer] = manifest.layers.as_slice() else {
        bail!(
            "{reference} is a Clearance advisory database artifact with {} layers, not one: it was not made by `clearance db push`",
            manifest.layers.len()
        );
    };
    if layer.media_type != LAYER_MEDIA_TYPE {
        bail!(
            "{reference} is not a Clearance advisory database: its artifact type is ours, but its layer is {}, not {LAYER_MEDIA_TYPE}; check the reference, and push the database with `clearance db push`",
            layer.media_type
        );
    }
    if layer.size > max {
        bail!(
            "{reference}'s database is {} bytes compressed, over the --max-size of {max}; if it is genuine, raise --max-size",
            layer.size
        );
    }
    Ok(BlobRef {
        media_type: layer.media_type.clone(),
        digest: layer.digest.clone(),
        size: layer.size,
    })
}

/// A reader that moves a progress bar.
struct Counted<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

fn render(p: &Pulled, page: &mut Page) {
    match (&p.database, &p.reason) {
        (_, Some(reason)) => {
            page.line(text!(bad("✘ not trusted"), " ", &p.reference));
            page.field("Reason", reason);
        }
        (Some(path), None) => {
            if p.trusted {
                page.line(text!(good("✔ trusted"), " ", &p.reference));
            } else {
                page.line(text!(
                    bad("unverified"),
                    " ",
                    &p.reference,
                    " (--insecure-skip-trust)"
                ));
            }
            page.field("Digest", p.digest.as_deref().unwrap_or_default());
            if let Some(role) = &p.signed_by {
                page.field("Signed by", role);
            }
            page.field("Database", path.display().to_string());
            page.field(
                "Size",
                format!(
                    "{} ({} compressed)",
                    output::size(p.database_bytes.unwrap_or_default()),
                    output::size(p.size.unwrap_or_default())
                ),
            );
            let mut t = output::table(&["Source", "Advisories", "Records", "Data as of"]);
            for s in &p.sources {
                t.row([
                    (&s.name).to_text(),
                    s.advisories.to_text(),
                    s.affected.to_text(),
                    s.data_date.as_deref().unwrap_or("").to_text(),
                ]);
            }
            page.line(t);
        }
        (None, None) => {}
    }
}

/// `--max-size`: bytes, or a number with KiB, MiB or GiB (also K, M, G,
/// binary); at least 1 MiB.
fn size_bytes(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| "give a size such as 2GiB, 512MiB or 1073741824".to_owned())?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        other => return Err(format!("unknown unit {other:?}: use KiB, MiB or GiB")),
    };
    let bytes = number
        .checked_mul(scale)
        .ok_or_else(|| "too large".to_owned())?;
    if bytes < 1 << 20 {
        return Err("must be at least 1MiB".into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::size_bytes;

    #[test]
    fn max_size_takes_bytes_and_binary_units() {
        assert_eq!(size_bytes("2GiB"), Ok(2 << 30));
        assert_eq!(size_bytes("512M"), Ok(512 << 20));
        assert_eq!(size_bytes("1048576"), Ok(1 << 20));
        assert!(size_bytes("1KiB").is_err());
        assert!(size_bytes("2GB").is_err());
        assert!(size_bytes("lots").is_err());
    }

    #[test]
    fn the_default_is_the_library_default() {
        assert_eq!(
            size_bytes("2GiB"),
            Ok(clearance_scan::db_artifact::DEFAULT_MAX_DATABASE_BYTES)
        );
    }
}
