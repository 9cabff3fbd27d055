//! `clearance scan IMAGE`: the known vulnerabilities of an image's
//! packages, each with the layer that brought it in, whether a fix exists
//! and how urgent it is (schema `clearance.scan/v1`, docs/scan-json.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use clearance_oci::inspect;
use clearance_oci::{Digest, ImageRef, Platform, ResolvedImage};
use clearance_scan::Inventory;
use clearance_scan::advisory::Severity;
use clearance_scan::config::Origin;
use clearance_scan::db::AdvisoryDb;
use clearance_scan::matcher::{
    self, Finding, MatchSettings, Report, SortOrder, Unfixed, UnknownSeverity,
};
use clearance_scan::os::Distro;
use clearance_scan::secrets::SecretsReport;
use serde::Serialize;

use crate::cli::Format;
use crate::commands::db::DbArgs;
use crate::exit::Exit;
use crate::output::{self, Page, Text, ToText as _, bad, count, dim, good, text, warn};

/// The JSON shape's name and version.
pub const SCHEMA: &str = "clearance.scan/v1";

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub image: super::image::ImageArgs,
    /// Show only findings at or above this severity.
    /// (unknown, negligible, low, medium, high, critical).
    #[arg(long, default_value = "unknown", value_parser = severity, value_name = "SEVERITY")]
    pub severity: Severity,
    /// Leave out findings that no released version fixes (including those a
    /// distribution marks will-not-fix, postponed, no-dsa).
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Exit 1 when a shown finding is at or above this severity (for CI).
    #[arg(long, value_parser = severity, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Order: by severity, or by risk (known exploited first, then EPSS).
    #[arg(long, value_enum, default_value_t = SortArg::Severity)]
    pub sort: SortArg,
    /// Group the table by package (default) or by the layer that brought each
    /// finding in.
    #[arg(long, value_enum, default_value_t = ByArg::Package)]
    pub by: ByArg,
    /// OpenVEX or CycloneDX VEX document (repeatable): `not_affected`
    /// statements suppress findings, which are listed as suppressed.
    #[arg(long = "vex", value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Warn when the advisory database was last updated more than this many
    /// days ago; with --fail-on, refuse to pass on such a database.
    #[arg(long, default_value_t = 5, value_name = "DAYS")]
    pub max_db_age_days: u32,
    /// Let --fail-on pass on a database older than --max-db-age-days.
    #[arg(long)]
    pub allow_stale_db: bool,
    /// Rank findings no feed rates below `negligible`: --severity hides them
    /// and --fail-on ignores them. By default they are shown and count
    /// against every --fail-on threshold (most PyPI and Alpine advisories
    /// carry no rating).
    #[arg(long)]
    pub ignore_unknown_severity: bool,
    /// The base image this image was built on (any form IMAGE takes): its
    /// layers must be this image's bottom layers. Findings are then split
    /// into the base's and the image's own. Without it, the manifest's
    /// `org.opencontainers.image.base.name`/`.digest` annotations are used
    /// when the base they name can be read.
    #[arg(long, value_name = "IMAGE", conflicts_with = "no_base_annotations")]
    pub base: Option<String>,
    /// Do not look up the base image the manifest's annotations name (the
    /// lookup contacts the registry they name, for at most 15 seconds).
    #[arg(long)]
    pub no_base_annotations: bool,
    /// With --fail-on, configuration findings at or above the threshold
    /// fail the gate too (off by default: most images run as root, and
    /// `clearance check` policies judge how an image runs).
    #[arg(long, requires = "fail_on")]
    pub fail_on_config: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `--severity`, `--fail-on`: a severity word, case-insensitive.
fn severity(value: &str) -> Result<Severity, String> {
    value
        .parse()
        .map_err(|e: clearance_scan::advisory::UnknownSeverity| e.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    Severity,
    Risk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ByArg {
    Package,
    Layer,
}

/// An image read through its layers.
struct ImageInput {
    reference: ImageRef,
    image: ResolvedImage,
    inventory: Inventory,
    warnings: Vec<String>,
    configuration: Option<clearance_scan::config::ConfigReport>,
    secrets: SecretsReport,
    base: Option<BaseInfo>,
}

/// The base image the image was built on, when known.
#[derive(Debug, Clone, Serialize)]
struct BaseInfo {
    /// The base as named (by `--base` or the annotation).
    reference: String,
    /// Its manifest's digest.
    manifest_digest: Digest,
    /// How many of the image's bottom layers are the base's.
    layers: usize,
    /// `flag` (`--base`) or `annotation` (the manifest's base annotations).
    from: &'static str,
}

/// What was scanned: an image (read through its layers) or an SBOM.
enum Input {
    Image(Box<ImageInput>),
    Sbom(String, Box<clearance_scan::sbom_input::SbomInventory>),
}

#[derive(Debug, Serialize)]
struct SbomInfo {
    format: String,
    without_purl: usize,
    unsupported: std::collections::BTreeMap<String, usize>,
}

#[derive(Debug, Serialize)]
struct ScanDocument {
    schema: &'static str,
    reference: String,
    /// `null` for `sbom:FILE`.
    manifest_digest: Option<Digest>,
    /// `null` for `sbom:FILE`.
    platform: Option<Platform>,
    /// For `sbom:FILE`: the format read and what was not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    sbom: Option<SbomInfo>,
    distro: Option<Distro>,
    /// The base image, when `--base` or the manifest's annotations name
    /// one that could be read; `null` otherwise.
    base: Option<BaseInfo>,
    database: DatabaseInfo,
    layers: Vec<LayerInfo>,
    packages: usize,
    summary: Summary,
    #[serde(flatten)]
    report: Report,
    inventory_warnings: Vec<String>,
    /// Configuration and attack surface (docs/config-checks.md); absent
    /// for `sbom:FILE`. Not part of `--fail-on` yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    configuration: Option<clearance_scan::config::ConfigReport>,
    /// Secrets in the layers (deleted files included) and the
    /// configuration (docs/secrets.md); absent for `sbom:FILE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    secrets: Option<SecretsReport>,
    verdict: Verdict,
}

#[derive(Debug, Serialize)]
struct DatabaseInfo {
    path: PathBuf,
    updated_at: Option<String>,
    age_days: Option<u64>,
    stale: bool,
}

#[derive(Debug, Serialize)]
struct LayerInfo {
    index: usize,
    digest: Digest,
    diff_id: Option<Digest>,
    created_by: Option<String>,
}

#[derive(Debug, Serialize, Default)]
struct Summary {
    total: usize,
    by_severity: BTreeMap<&'static str, usize>,
    fixable: usize,
    known_exploited: usize,
    suppressed: usize,
    filtered: usize,
    /// Secrets found (`null` for `sbom:FILE`).
    secrets: Option<usize>,
    /// Findings in the base image's layers (`null` when the base is not
    /// known).
    from_base: Option<usize>,
}

#[derive(Debug, Serialize)]
struct Verdict {
    /// `--fail-on` given.
    fail_on: Option<Severity>,
    /// Whether the gate passed (`true` without `--fail-on`).
    passed: bool,
    reasons: Vec<String>,
}

pub async fn run(args: ScanArgs, format: Format) -> anyhow::Result<Exit> {
    let db_path = args.db.path()?;
    // The database first: a missing one should not cost reading the layers.
    let db = AdvisoryDb::open(&db_path).await?;
    // Closed on every path: a pool left open leaves -wal/-shm files.
    let result = scan(&db, db_path, args, format).await;
    db.close().await;
    result
}

async fn scan(
    db: &AdvisoryDb,
    db_path: PathBuf,
    args: ScanArgs,
    format: Format,
) -> anyhow::Result<Exit> {
    let mut vex = Vec::new();
    for file in &args.vex {
        let bytes = read_bounded(file, clearance_scan::vex::MAX_VEX_BYTES as u64, "--vex")?;
        vex.extend(clearance_scan::vex::parse(
            &bytes,
            &file.display().to_string(),
        )?);
    }
    let input = if let Some(file) = args.image.image.strip_prefix("sbom:") {
        if !matches!(format, Format::Table | Format::Json) {
            anyhow::bail!(
                "`scan sbom:FILE` prints table or json; --format {} needs an image",
                format.name()
            );
        }
        let bytes = read_bounded(
            std::path::Path::new(file),
            clearance_scan::sbom_input::MAX_SBOM_BYTES as u64,
            "the SBOM",
        )?;
        let read = clearance_scan::sbom_input::read(&bytes)
            .with_context(|| format!("reading the SBOM {file}"))?;
        Input::Sbom(file.to_owned(), Box::new(read))
    } else {
        let super::image::ReadImage {
            reference,
            image,
            inventory,
            listings,
            secrets,
            mut warnings,
        } = args.image.read(&db_path).await?;
        let secrets = SecretsReport::build(
            secrets,
            clearance_scan::secrets::scan_image_config(&image.config),
        );
        let base = base_image(&args, &image, &mut warnings).await?;
        let facts = clearance_scan::config::ImageFacts {
            packages: inventory.packages.len(),
            base_layers: base.as_ref().map(|b| b.layers),
        };
        let configuration = match clearance_scan::config::check(&image.config, listings, facts) {
            Ok(report) => Some(report),
            Err(e) => {
                warnings.push(format!("configuration checks: {e}"));
                None
            }
        };
        Input::Image(Box::new(ImageInput {
            reference,
            image,
            inventory,
            warnings,
            configuration,
            secrets,
            base,
        }))
    };
    let inventory = match &input {
        Input::Sbom(_, read) => &read.inventory,
        Input::Image(i) => &i.inventory,
    };
    let keys = matcher::lookup_keys(inventory);
    let advisories = db.lookup(&keys).await?;
    let settings = MatchSettings {
        min_severity: args.severity,
        unfixed: if args.ignore_unfixed {
            Unfixed::Ignore
        } else {
            Unfixed::Show
        },
        sort: match args.sort {
            SortArg::Severity => SortOrder::Severity,
            SortArg::Risk => SortOrder::Risk,
        },
        unknown: if args.ignore_unknown_severity {
            UnknownSeverity::Rank
        } else {
            UnknownSeverity::Keep
        },
        vex,
    };
    let report = Report::generate(&advisories, inventory, &settings);

    let now = clearance_oci::time::now_unix();
    let age_days = advisories
        .updated_at
        .map(|u| now.saturating_sub(u64::try_from(u).unwrap_or(0)) / 86_400);
    let stale = age_days.is_none_or(|d| d > u64::from(args.max_db_age_days));
    let refresh = advisories.stalest.as_ref().map_or_else(
        || "run `clearance db update`".to_owned(),
        clearance_scan::db::StalestSource::refresh_hint,
    );
    let (secrets, base) = match &input {
        Input::Image(i) => (Some(&i.secrets), i.base.clone()),
        Input::Sbom(..) => (None, None),
    };
    let mut summary = Summary {
        total: report.findings.len(),
        secrets: secrets.map(|s| s.findings.len()),
        from_base: base.as_ref().map(|b| {
            report
                .findings
                .iter()
                .filter(|f| f.package.layer < b.layers)
                .count()
        }),
        suppressed: report.suppressed.len(),
        filtered: report.filtered,
        ..Summary::default()
    };
    for f in &report.findings {
        *summary.by_severity.entry(f.severity.as_str()).or_default() += 1;
        summary.fixable += usize::from(f.fixable());
        summary.known_exploited += usize::from(f.kev.is_some());
    }
    let fail_on = args.fail_on;
    let mut reasons = Vec::new();
    if let Some(threshold) = fail_on {
        let over = report
            .findings
            .iter()
            .filter(|f| {
                f.severity >= threshold
                    && (f.severity != Severity::Unknown || threshold == Severity::Unknown)
            })
            .count();
        if over > 0 {
            reasons.push(format!(
                "{} at or above {threshold}",
                count(over, "finding", "findings")
            ));
        }
        let unrated = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Unknown)
            .count();
        if unrated > 0 && !args.ignore_unknown_severity && threshold != Severity::Unknown {
            let them = output::them(unrated);
            reasons.push(format!(
                "{} of unknown severity (no feed rates {them}), which cannot be judged below {threshold}; --ignore-unknown-severity ranks {them} lowest",
                count(unrated, "finding", "findings")
            ));
        }
        if args.fail_on_config
            && let Input::Image(i) = &input
            && let Some(c) = &i.configuration
        {
            let over = c
                .findings
                .iter()
                .filter(|f| f.severity >= threshold)
                .count();
            if over > 0 {
                reasons.push(format!(
                    "{} at or above {threshold} (--fail-on-config)",
                    count(over, "configuration finding", "configuration findings")
                ));
            }
        }
        if let Some(secrets) = secrets {
            let over = secrets.at_or_above(threshold).count();
            if over > 0 {
                reasons.push(format!(
                    "{} at or above {threshold} (one in a deleted file can still be pulled with its layer)",
                    count(over, "secret", "secrets")
                ));
            }
            if secrets.stats.skipped_budget > 0 {
                let skipped = secrets.stats.skipped_budget;
                reasons.push(format!(
                    "{} not searched for secrets (a layer's scan budget was spent); the gate cannot vouch for {}",
                    count(skipped, "file was", "files were"),
                    output::them(skipped)
                ));
            }
        }
        if inventory.packages.is_empty() {
            reasons.push("no packages were found, so nothing was checked".to_owned());
        }
        if stale && !args.allow_stale_db {
            reasons.push(format!(
                "the advisory database is {} (over --max-db-age-days {}): {refresh}, or pass --allow-stale-db",
                age_days.map_or("of unknown age".to_owned(), |d| format!("{d} days old")),
                args.max_db_age_days
            ));
        }
        if !report.unmatched.is_empty() {
            let n: usize = report.unmatched.iter().map(|u| u.packages).sum();
            reasons.push(format!(
                "{} not be checked (see `not checked`); the gate cannot vouch for {}",
                count(n, "package could", "packages could"),
                output::them(n)
            ));
        }
    }
    let configuration = match &input {
        Input::Image(i) => i.configuration.clone(),
        Input::Sbom(..) => None,
    };
    let (reference, manifest_digest, platform, layers, inventory_warnings, sbom) = match &input {
        Input::Image(i) => {
            let (image, warnings) = (&i.image, &i.warnings);
            let history = inspect::layer_history(image);
            let layers = image
                .layers
                .iter()
                .zip(history)
                .enumerate()
                .map(|(index, (l, created_by))| LayerInfo {
                    index,
                    digest: l.blob.digest.clone(),
                    diff_id: l.diff_id.clone(),
                    created_by,
                })
                .collect();
            (
                image.reference.clone(),
                Some(image.manifest_digest.clone()),
                Some(image.platform.clone()),
                layers,
                warnings.clone(),
                None,
            )
        }
        Input::Sbom(file, read) => {
            let mut warnings = Vec::new();
            if read.without_purl > 0 {
                warnings.push(format!(
                    "{} no purl and {} not checked",
                    count(
                        read.without_purl,
                        "component of the SBOM has",
                        "components of the SBOM have"
                    ),
                    if read.without_purl == 1 {
                        "was"
                    } else {
                        "were"
                    }
                ));
            }
            for (ty, n) in &read.unsupported {
                warnings.push(format!(
                    "{} of purl type {ty:?} {} of an ecosystem Clearance does not match yet; not checked",
                    count(*n, "component", "components"),
                    if *n == 1 { "is" } else { "are" }
                ));
            }
            (
                format!("sbom:{file}"),
                None,
                None,
                Vec::new(),
                warnings,
                Some(SbomInfo {
                    format: read.format.clone(),
                    without_purl: read.without_purl,
                    unsupported: read.unsupported.clone(),
                }),
            )
        }
    };
    let document = ScanDocument {
        schema: SCHEMA,
        reference,
        manifest_digest,
        platform,
        sbom,
        distro: inventory.distro.clone(),
        base,
        database: DatabaseInfo {
            path: db_path,
            updated_at: advisories
                .updated_at
                .map(clearance_oci::time::rfc3339_signed),
            age_days,
            stale,
        },
        layers,
        packages: inventory.packages.len(),
        summary,
        inventory_warnings,
        configuration,
        secrets: secrets.cloned(),
        verdict: Verdict {
            fail_on,
            passed: reasons.is_empty(),
            reasons,
        },
        report,
    };
    if stale {
        output::warning(format!(
            "the advisory database ({}) holds data {}{}; {refresh}",
            document.database.path.display(),
            document
                .database
                .age_days
                .map_or("of unknown age".to_owned(), |d| format!("{d} days old")),
            advisories
                .stalest
                .as_ref()
                .map_or_else(String::new, |s| format!(
                    " (its stalest source, {}, is as of {})",
                    s.name,
                    clearance_oci::time::rfc3339_signed(s.as_of)
                )),
        ));
    }
    let mut page = Page::default();
    match format {
        Format::Json => page.json(&document)?,
        Format::Table => render(&document, args.by, &mut page),
        Format::Cyclonedx | Format::Spdx | Format::Sarif => {
            let Input::Image(i) = &input else {
                anyhow::bail!("--format {} needs an image", format.name());
            };
            let (reference, image, inventory) = (&i.reference, &i.image, &i.inventory);
            page.json(&super::image::standard_document(
                format,
                reference,
                image,
                inventory,
                Some(&document.report),
                Some(&i.secrets),
                clearance_scan::report::RemovedPackages::Omit,
            )?)?;
        }
    }
    page.emit()?;
    // Machine formats carry no verdict of their own: say why on stderr.
    if !matches!(format, Format::Table) {
        for reason in &document.verdict.reasons {
            output::warning(format!("--fail-on failed: {reason}"));
        }
    }
    Ok(if document.verdict.passed {
        Exit::Ok
    } else {
        Exit::Denied
    })
}

/// A file (or pipe) read whole, at most `limit` bytes.
fn read_bounded(path: &std::path::Path, limit: u64, what: &str) -> anyhow::Result<Vec<u8>> {
    use clearance_scan::advisory::source::{ReadBounded, read_file_bounded};
    read_file_bounded(path, limit).map_err(|e| match e {
        ReadBounded::TooLarge => {
            anyhow::anyhow!("{what} {} is over the {limit}-byte limit", path.display())
        }
        ReadBounded::Io(e) => anyhow::anyhow!("reading {what} {}: {e}", path.display()),
    })
}

/// A severity in its colour: critical red, high orange, medium yellow,
/// low and below dim.
fn severity_text(s: Severity) -> Text {
    match s {
        Severity::Critical => output::red(s.as_str()),
        Severity::High => output::orange(s.as_str()),
        Severity::Medium => warn(s.as_str()),
        _ => dim(s.as_str()),
    }
}

fn fixed_cell(f: &Finding) -> Text {
    match (&f.fixed_version, f.state) {
        (Some(v), _) => v.to_text(),
        (None, Some(state)) => dim(format!("({state})")),
        (None, None) => dim("(no fix)"),
    }
}

fn risk_cell(f: &Finding) -> Text {
    let mut parts = Vec::new();
    if f.kev.is_some() {
        parts.push(output::red("KEV"));
    }
    if let Some(e) = f.epss {
        parts.push(format!("EPSS {:.1}%", e.probability * 100.0).to_text());
    }
    let mut out = Vec::new();
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(" ".to_text());
        }
        out.push(p);
    }
    Text::concat(out)
}

/// The configuration findings and the attack-surface line.
fn render_configuration(c: &clearance_scan::config::ConfigReport, base: bool, page: &mut Page) {
    page.line("");
    if c.findings.is_empty() {
        page.line(good("configuration: no findings"));
    } else {
        let mut header = vec!["Severity", "Check", "Evidence", "Layer"];
        if base {
            header.push("From");
        }
        header.push("Fix");
        let mut t = output::table(&header);
        for f in &c.findings {
            let evidence = f
                .evidence
                .path
                .clone()
                .or_else(|| f.evidence.value.clone())
                .unwrap_or_default();
            let mut cells = vec![
                severity_text(f.severity),
                format!("{} {}", f.id.id(), f.name).to_text(),
                output::truncate(&evidence, 50).to_text(),
                f.evidence
                    .layer
                    .map_or(String::new(), |l| l.to_string())
                    .to_text(),
            ];
            if base {
                cells.push(
                    match f.origin {
                        Origin::Base => "base image",
                        Origin::Own => "own",
                        Origin::Unknown => "",
                    }
                    .to_text(),
                );
            }
            cells.push(f.fix.to_text());
            t.row(cells);
        }
        page.line(t);
    }
    let s = &c.surface;
    let names = |tools: &[clearance_scan::config::Tool]| {
        let mut n: Vec<&str> = tools.iter().map(|t| t.name).collect();
        n.dedup();
        if n.is_empty() {
            "none".to_owned()
        } else {
            n.join(", ")
        }
    };
    page.line(format!(
        "attack surface: {}; shells: {}; package managers: {}; {} setuid and {} setgid files; {}, {}",
        count(s.packages, "package", "packages"),
        names(&s.shells),
        names(&s.package_managers),
        s.setuid_files,
        s.setgid_files,
        count(s.files, "file", "files"),
        output::size(s.size_bytes)
    ));
}

/// Longest the lookup of a base the annotations name may take.
const BASE_LOOKUP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(15);

/// The image's base: `--base`, else the manifest's base annotations when
/// the base they name can be read (a warning says why not otherwise).
///
/// # Errors
///
/// `--base` that cannot be opened, or whose layers are not the image's
/// bottom layers.
async fn base_image(
    args: &ScanArgs,
    image: &ResolvedImage,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Option<BaseInfo>> {
    use clearance_scan::config::{BASE_DIGEST_ANNOTATION, BASE_NAME_ANNOTATION, base_layers};
    let ours: Vec<Option<Digest>> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
    let (platform, registry) = (args.image.platform.as_deref(), &args.image.registry);
    if let Some(name) = &args.base {
        let (_, _, base) = super::image::open(name, platform, registry)
            .await
            .context("reading --base")?;
        let theirs: Vec<Option<Digest>> = base.layers.iter().map(|l| l.diff_id.clone()).collect();
        let layers = base_layers(&ours, &theirs)
            .with_context(|| format!("--base {name} is not the base of {}", image.reference))?;
        return Ok(Some(BaseInfo {
            reference: name.clone(),
            manifest_digest: base.manifest_digest,
            layers,
            from: "flag",
        }));
    }
    if args.no_base_annotations {
        return Ok(None);
    }
    let annotations = image.manifest.annotations().clone().unwrap_or_default();
    let Some(name) = annotations.get(BASE_NAME_ANNOTATION) else {
        return Ok(None);
    };
    let digest = annotations.get(BASE_DIGEST_ANNOTATION);
    // Pinned by the digest the annotations give, when they give one.
    let named = match digest {
        Some(d) if !name.contains('@') => format!("{name}@{d}"),
        _ => name.clone(),
    };
    let not_split = |why: String| {
        format!(
            "the manifest names its base image {:?} ({BASE_NAME_ANNOTATION}), but {why}; findings are not split into the base's and the image's own (pass --base IMAGE)",
            output::truncate(&named, 200)
        )
    };
    // The image says where its base is: only a registry is taken from it,
    // never a path on this machine (`oci:`, `docker-archive:`).
    if !matches!(named.parse::<ImageRef>(), Ok(ImageRef::Registry(_))) {
        warnings.push(not_split("that is not a registry reference".to_owned()));
        return Ok(None);
    }
    // Optional, and named by the image: a registry that does not answer
    // may not hold the scan up for long.
    let lookup = tokio::time::timeout(
        BASE_LOOKUP_DEADLINE,
        super::image::open(&named, platform, registry),
    )
    .await;
    let base = match lookup {
        Ok(Ok((_, _, base))) => base,
        Ok(Err(e)) => {
            warnings.push(not_split(format!("it could not be read: {e:#}")));
            return Ok(None);
        }
        Err(_) => {
            warnings.push(not_split(format!(
                "it could not be read within {} seconds (--no-base-annotations skips the lookup)",
                BASE_LOOKUP_DEADLINE.as_secs()
            )));
            return Ok(None);
        }
    };
    if let Some(d) = digest
        && *d != base.manifest_digest.to_string()
        && base
            .index_digest
            .as_ref()
            .is_none_or(|i| i.to_string() != *d)
    {
        warnings.push(not_split(format!(
            "what it names has the digest {}, not {d}",
            base.manifest_digest
        )));
        return Ok(None);
    }
    let theirs: Vec<Option<Digest>> = base.layers.iter().map(|l| l.diff_id.clone()).collect();
    match base_layers(&ours, &theirs) {
        Ok(layers) => Ok(Some(BaseInfo {
            reference: named,
            manifest_digest: base.manifest_digest,
            layers,
            from: "annotation",
        })),
        Err(e) => {
            warnings.push(not_split(e.to_string()));
            Ok(None)
        }
    }
}

/// The secrets found, masked, and why the search may be incomplete.
fn render_secrets(secrets: &SecretsReport, page: &mut Page) {
    page.line("");
    if secrets.findings.is_empty() {
        page.line(good(format!(
            "secrets: none found ({} searched)",
            count(secrets.stats.files_scanned, "file", "files")
        )));
    } else {
        let mut t = output::table(&["Severity", "Secret", "Where", "Layer", "Masked"]);
        for f in &secrets.findings {
            let place = if f.path.starts_with("config:") {
                f.path.clone()
            } else {
                format!("{}:{}", f.path, f.line)
            };
            let layer = match f.deleted_in {
                Some(d) => text!(f.layer.to_text(), dim(format!(" (deleted in {d})"))),
                None => f.layer.to_text(),
            };
            t.row([
                severity_text(f.severity),
                format!("{} ({})", f.title, f.rule_id).to_text(),
                output::truncate(&place, 60).to_text(),
                layer,
                (&f.masked).to_text(),
            ]);
        }
        page.line(t);
        let deleted = secrets
            .findings
            .iter()
            .filter(|f| f.deleted_in.is_some())
            .count();
        let n = secrets.findings.len();
        let them = output::them(n);
        let in_deleted = if deleted == 0 {
            String::new()
        } else {
            format!(
                " ({deleted} in {} a later layer deleted: the layer that holds {} can still be pulled)",
                if deleted == 1 { "a file" } else { "files" },
                output::them(deleted)
            )
        };
        page.line(format!(
            "{}{in_deleted}; remove {them} from the layer that adds {them} and rotate {them}",
            count(n, "secret", "secrets"),
        ));
    }
    for reason in &secrets.incomplete {
        page.line(text!(warn("warning:"), " secrets: ", reason));
    }
}

/// Whether a findings table has a layer column (not when the table is
/// already one layer's).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Layer,
    NoLayer,
}

/// The findings as a table: severity, id, package, installed, fixed in,
/// (layer,) (path,) risk. The path column is there when a language
/// package is among the findings: the same artifact can sit in several
/// jars or binaries, and the path tells them apart (an OS package's path
/// is its database, and is left blank).
fn findings_table<'a>(
    findings: impl IntoIterator<Item = &'a Finding>,
    layer: Column,
) -> output::Table {
    let findings: Vec<&Finding> = findings.into_iter().collect();
    let paths = findings.iter().any(|f| !f.package.kind.is_os());
    let mut header = vec![
        "Severity",
        "Vulnerability",
        "Package",
        "Installed",
        "Fixed in",
    ];
    if layer == Column::Layer {
        header.push("Layer");
    }
    if paths {
        header.push("Path");
    }
    header.push("Risk");
    let mut t = output::table(&header);
    for f in findings {
        let mut cells = vec![
            severity_text(f.severity),
            (&f.id).to_text(),
            (&f.package.name).to_text(),
            (&f.package.version).to_text(),
            fixed_cell(f),
        ];
        if layer == Column::Layer {
            cells.push(f.package.layer.to_text());
        }
        if paths {
            cells.push(if f.package.kind.is_os() {
                "".to_text()
            } else {
                dim(output::path_tail(&f.package.path))
            });
        }
        cells.push(risk_cell(f));
        t.row(cells);
    }
    t
}

fn render(d: &ScanDocument, by: ByArg, page: &mut Page) {
    page.field(
        if d.sbom.is_some() { "SBOM" } else { "Image" },
        &d.reference,
    );
    if let Some(digest) = &d.manifest_digest {
        page.field("Digest", digest);
    }
    if let Some(distro) = &d.distro {
        page.field(
            "Distro",
            distro
                .pretty_name
                .clone()
                .unwrap_or_else(|| distro.purl_qualifier()),
        );
    }
    page.field("Packages", d.packages);
    if let Some(b) = &d.base {
        page.field(
            "Base",
            format!(
                "{} (the bottom {}; {})",
                b.reference,
                count(b.layers, "layer", "layers"),
                if b.from == "flag" {
                    "--base"
                } else {
                    "from the manifest's annotations"
                }
            ),
        );
    }
    page.field(
        "Database",
        match &d.database.updated_at {
            Some(u) => format!("updated {u}"),
            None => "never updated".into(),
        },
    );
    page.line("");
    let findings = &d.report.findings;
    if d.packages == 0 {
        page.line(warn("no packages found: nothing was checked"));
    } else if findings.is_empty() && d.report.unmatched.is_empty() {
        page.line(good("no known vulnerabilities"));
    } else if findings.is_empty() {
        page.line(warn(
            "no known vulnerabilities among the packages checked; some could not be checked (below)",
        ));
    } else {
        match by {
            ByArg::Package => page.line(findings_table(findings, Column::Layer)),
            ByArg::Layer => {
                let mut by_layer: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
                for f in findings {
                    by_layer.entry(f.package.layer).or_default().push(f);
                }
                for (layer, list) in by_layer {
                    let created_by = d
                        .layers
                        .get(layer)
                        .and_then(|l| l.created_by.as_deref())
                        .unwrap_or("");
                    let base = d.base.as_ref().is_some_and(|b| layer < b.layers);
                    page.line(text!(
                        output::bold(format!("Layer {layer}")),
                        if base { " (base image) " } else { " " },
                        dim(output::truncate(created_by, 80)),
                        format!(" ({})", count(list.len(), "finding", "findings"))
                    ));
                    page.line(findings_table(list, Column::NoLayer));
                }
            }
        }
    }
    let s = &d.summary;
    let mut counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|sev| {
            s.by_severity
                .get(sev.as_str())
                .map(|n| format!("{n} {sev}"))
        })
        .collect();
    if counts.is_empty() {
        counts.push("none".into());
    }
    page.line(format!(
        "{} ({}); {} fixable, {} known exploited; {} suppressed by VEX, {} filtered out",
        count(s.total, "vulnerability", "vulnerabilities"),
        counts.join(", "),
        s.fixable,
        s.known_exploited,
        s.suppressed,
        s.filtered
    ));
    if let Some(n) = s.from_base {
        page.line(format!(
            "{n} of them in the base image's layers, {} in the image's own",
            s.total.saturating_sub(n)
        ));
    }
    if let Some(c) = &d.configuration {
        render_configuration(c, d.base.is_some(), page);
    }
    if let Some(secrets) = &d.secrets {
        render_secrets(secrets, page);
    }
    for sup in &d.report.suppressed {
        page.line(text!(
            dim("suppressed:"),
            " ",
            &sup.finding.id,
            " in ",
            &sup.finding.package.name,
            format!(
                " ({}{}, {})",
                sup.vex_status,
                sup.justification
                    .as_deref()
                    .map(|j| format!(": {j}"))
                    .unwrap_or_default(),
                sup.vex_document
            )
        ));
    }
    for u in &d.report.unmatched {
        page.line(text!(
            warn("not checked:"),
            format!(
                " {} of {}: ",
                count(u.packages, "package", "packages"),
                u.ecosystem
            ),
            &u.reason
        ));
    }
    for w in d.report.warnings.iter().chain(&d.inventory_warnings) {
        page.line(text!(warn("warning:"), " ", w));
    }
    if let Some(threshold) = d.verdict.fail_on {
        if d.verdict.passed {
            page.line(text!(good("✔ passed"), format!(" --fail-on {threshold}")));
        } else {
            for r in &d.verdict.reasons {
                page.line(text!(bad("✘ failed:"), " ", r));
            }
        }
    }
}
