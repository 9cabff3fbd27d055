//! `clearance db push REF`: the advisory database as an OCI artifact in a
//! registry, its tag signed with Clearance content trust, so a site serves
//! its own copy to every scanner (`db pull`).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::Args;
use clearance_oci::artifact::{ArtifactManifest, Descriptor, EMPTY_JSON};
use clearance_oci::media_type::{OCI_EMPTY, OCI_MANIFEST};
use clearance_oci::registry::RegistryClient;
use clearance_oci::{Digest, RegistryRef};
use clearance_scan::db::{DbError, SourceStatus};
use clearance_scan::db_artifact::{self, ARTIFACT_TYPE, LAYER_MEDIA_TYPE};
use clearance_trust::RoleName;
use serde::Serialize;

use super::DbArgs;
use crate::cli::{Format, RegistryArgs};
use crate::commands::trust::common::{
    OptionalTrustArgs, RoleNameParser, TrustSettings, registry_ref, show,
};
use crate::commands::trust::sign::Signing;
use crate::exit::Exit;
use crate::output::{self, Page, ToText as _};

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Where to push the database: [docker://]HOST/REPO:TAG (the tag is
    /// signed, so give one; a bare HOST/REPO is :latest).
    #[arg(env = "CLEARANCE_DB_REPOSITORY")]
    pub reference: String,
    /// Push without signing the tag. Scanners can then pull it only with
    /// `db pull --insecure-skip-trust`: anyone who can push to the registry
    /// could hand them another database.
    #[arg(long, conflicts_with = "role")]
    pub no_sign: bool,
    /// Sign into this delegated role instead of top-level targets.
    #[arg(long, value_parser = RoleNameParser::ANY)]
    pub role: Option<RoleName>,
    #[command(flatten)]
    pub trust: OptionalTrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Whether a push signs its tag (the safety switch, read once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signature {
    /// Sign with content trust (the default).
    Sign,
    /// `--no-sign`.
    Skip,
}

/// What was pushed; `clearance.db-push/v1`, in `docs/db-json.md`.
#[derive(Debug, Serialize)]
struct Pushed {
    schema: &'static str,
    reference: String,
    /// The artifact's manifest digest.
    digest: String,
    layer: Layer,
    /// The database's size uncompressed, bytes.
    database_bytes: u64,
    schema_version: i64,
    /// The signature, or `null` with `--no-sign`.
    signed: Option<Signed>,
    sources: Vec<SourceStatus>,
}

#[derive(Debug, Serialize)]
struct Layer {
    digest: String,
    /// Bytes, compressed.
    size: u64,
    media_type: &'static str,
    /// False when the registry had it already.
    uploaded: bool,
}

#[derive(Debug, Serialize)]
struct Signed {
    role: String,
    /// False when the tag was signed as this digest already.
    published: bool,
    version: Option<clearance_trust::schema::Version>,
}

pub async fn run(args: PushArgs, format: Format) -> anyhow::Result<Exit> {
    let signature = if args.no_sign {
        Signature::Skip
    } else {
        Signature::Sign
    };
    let reference = registry_ref(&args.reference)?;
    if reference.digest().is_some() {
        bail!(
            "{} names a digest: give HOST/REPO:TAG, the tag to push the database under",
            args.reference
        );
    }
    let tag = reference
        .tag()
        .with_context(|| format!("{reference} names no tag: push under a tag, HOST/REPO:TAG"))?
        .to_owned();
    let settings = args.registry.settings()?;
    let path = args.db.path()?;
    if !path.is_file() {
        return Err(DbError::Missing(path).into());
    }
    // The trust repository and the role first: a push that cannot be
    // signed is refused before anything is uploaded.
    let signing = match (signature, args.trust.trust()) {
        (Signature::Skip, _) => None,
        (Signature::Sign, None) => bail!(
            "`db push` signs {reference} with content trust: give the trust server (--server URL or CLEARANCE_TRUST_SERVER), or --no-sign to push it unsigned"
        ),
        (Signature::Sign, Some(trust)) => {
            let trust = trust.settings(args.registry.timeout)?;
            let signing = Signing::load(&trust, &reference, &tag, args.role.clone()).await?;
            Some((trust, signing))
        }
    };
    let client = RegistryClient::new(&settings.registry)?;
    let image = format!("{}:{tag}", reference.name());
    // The artifact's empty config first: a login that may not push here
    // is told before the database is copied and compressed.
    client
        .push_blob_bytes(&reference, EMPTY_JSON, OCI_EMPTY)
        .await
        .with_context(|| format!("pushing to {image}"))?;
    let work = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let spinner = output::spinner(format!("copying and compressing {}", path.display()));
    let packed = db_artifact::pack(&path, work).await;
    spinner.finish_and_clear();
    let packed = packed?;

    let bar = output::byte_progress(packed.size, "uploading");
    let progress = {
        let bar = bar.clone();
        Arc::new(move |n: u64| bar.inc(n))
    };
    let layer = client
        .push_blob_file(&reference, &packed.path, LAYER_MEDIA_TYPE, progress)
        .await;
    bar.finish_and_clear();
    let layer = layer.with_context(|| format!("pushing the database to {image}"))?;
    let manifest = ArtifactManifest::new(
        ARTIFACT_TYPE,
        vec![Descriptor::new(
            LAYER_MEDIA_TYPE,
            layer.blob.digest.clone(),
            layer.blob.size,
        )],
        db_artifact::annotations(&packed.status),
    )
    .to_bytes();
    let (digest, signed) = put_manifest(&client, &reference, &tag, &manifest, signing)
        .await
        .with_context(|| format!("pushing {image}"))?;
    let report = Pushed {
        schema: "clearance.db-push/v1",
        reference: image,
        digest: digest.to_string(),
        layer: Layer {
            digest: layer.blob.digest.to_string(),
            size: layer.blob.size,
            media_type: LAYER_MEDIA_TYPE,
            uploaded: layer.uploaded,
        },
        database_bytes: packed.database_bytes,
        schema_version: packed.status.schema_version,
        signed,
        sources: packed.status.sources.clone(),
    };
    show(format, &report, render)?;
    Ok(Exit::Ok)
}

/// Push the manifest under `tag`: unsigned, or (with `signing`) by
/// digest first, signed, and only then tagged, so a puller never finds the
/// tag on a manifest the trust data does not sign yet, and a signature
/// that fails moves nothing. Returns its digest and the signature.
async fn put_manifest(
    client: &RegistryClient,
    reference: &RegistryRef,
    tag: &str,
    manifest: &[u8],
    signing: Option<(TrustSettings, Signing)>,
) -> anyhow::Result<(Digest, Option<Signed>)> {
    let Some((trust, signing)) = signing else {
        let digest = client
            .put_manifest(reference, tag, manifest, OCI_MANIFEST)
            .await?;
        output::warning(format!(
            "{}:{tag} is not signed (--no-sign): `db pull` takes it only with --insecure-skip-trust",
            reference.name()
        ));
        return Ok((digest, None));
    };
    let by_digest = Digest::sha256_of(manifest).to_string();
    let digest = client
        .put_manifest(reference, &by_digest, manifest, OCI_MANIFEST)
        .await?;
    let view = signing
        .sign(&trust, manifest, Some(OCI_MANIFEST), &digest)
        .await
        .with_context(|| format!("signing it as {digest}"))?;
    client
        .put_manifest(reference, tag, manifest, OCI_MANIFEST)
        .await
        .with_context(|| format!("tagging {digest}, signed"))?;
    Ok((
        digest,
        Some(Signed {
            role: view.role,
            published: view.published,
            version: view.version,
        }),
    ))
}

fn render(p: &Pushed, page: &mut Page) {
    page.field("Pushed", &p.reference);
    page.field("Digest", &p.digest);
    page.field(
        "Database",
        format!(
            "{} ({} compressed{})",
            output::size(p.database_bytes),
            output::size(p.layer.size),
            if p.layer.uploaded {
                ""
            } else {
                ", already in the registry"
            }
        ),
    );
    match &p.signed {
        Some(s) if s.published => page.field(
            "Signed by",
            match s.version {
                Some(v) => format!("{} v{v}", s.role),
                None => s.role.clone(),
            },
        ),
        Some(s) => page.field("Signed by", format!("{} (already)", s.role)),
        None => page.field("Signed", "no (--no-sign)"),
    }
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
