//! `clearance db`: the advisory database (build from files, update from
//! the feeds, status; push to and pull from a registry).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use clearance_oci::time::rfc3339_signed;
use clearance_scan::advisory::source;
use clearance_scan::db::{AdvisoryDb, DbStatus};
use serde::Serialize;

use crate::cli::Format;
use crate::exit::Exit;
use crate::output::{self, Page, ToText as _, dim, text, warn};

mod pull;
mod push;
mod update;

/// Where the advisory database lives.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// The advisory database file [default: $CLEARANCE_HOME/db/advisories.db,
    /// CLEARANCE_HOME defaulting to ~/.clearance].
    #[arg(long = "db", value_name = "FILE", env = "CLEARANCE_DB")]
    pub path: Option<PathBuf>,
}

impl DbArgs {
    /// The database file to use.
    ///
    /// # Errors
    ///
    /// No home directory to default to, or a path that is a directory
    /// (SQLite would only say it is "unable to open database file").
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        let path = self.given().map_or_else(Self::default_path, Ok)?;
        if path.is_dir() {
            bail!(
                "{} is a directory: --db (or CLEARANCE_DB) takes the path of the advisory database file, such as {}",
                path.display(),
                path.join("advisories.db").display()
            );
        }
        Ok(path)
    }

    /// `--db`, else CLEARANCE_DB: commands without a --db flag (sbom)
    /// still honour the variable.
    fn given(&self) -> Option<PathBuf> {
        self.path.clone().or_else(|| {
            std::env::var_os("CLEARANCE_DB")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        })
    }

    /// `$CLEARANCE_HOME/db/advisories.db`.
    fn default_path() -> anyhow::Result<PathBuf> {
        let home = std::env::var_os("CLEARANCE_HOME").map(PathBuf::from);
        let home = super::trust::common::home_dir(home.as_deref())?;
        Ok(home.join("db").join("advisories.db"))
    }
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import advisory feeds from files, for air-gapped sites: OSV (`all.zip`,
    /// a record, a directory of records), the Debian security tracker JSON,
    /// Alpine secdb (YAML or JSON), CISA KEV JSON, EPSS CSV (.csv or .csv.gz).
    /// Each source replaces what it gave before.
    Build(BuildArgs),
    /// Fetch the public feeds (OSV per ecosystem, the Debian security tracker,
    /// CISA KEV, EPSS) with conditional requests, and import what changed.
    /// A feed that fails is named; the others are still imported, and the
    /// database keeps the failed feed's previous data.
    Update(UpdateArgs),
    /// Sources, dates, record counts and schema version.
    Status(StatusArgs),
    /// Push the database to a registry as an OCI artifact and sign its tag
    /// with content trust (`--no-sign` to leave it unsigned), so a site's
    /// scanners pull it from there (`db pull`).
    Push(push::PushArgs),
    /// Pull a database `db push` pushed: its tag verified with content
    /// trust, the download checked against its digest and size, and the
    /// database checked before it replaces the old one (which keeps serving
    /// if anything fails). Exit 1 when the tag is not trusted.
    Pull(pull::PullArgs),
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Fetch only these feeds (comma-separated: osv:PyPI, osv:npm, osv:crates.io,
    /// osv:Go, osv:Maven, osv:RubyGems, osv:Packagist, osv:NuGet, osv:Debian,
    /// osv:Ubuntu, osv:Alpine, osv:Wolfi, osv:Chainguard, osv:AlmaLinux,
    /// "osv:Rocky Linux", debian-tracker, kev, epss).
    #[arg(long, value_delimiter = ',', value_name = "FEED")]
    pub only: Vec<String>,
    /// Fetch every feed from this mirror instead of its origin, laid out as the
    /// origins are: BASE/osv/PyPI/all.zip, BASE/debian/json,
    /// BASE/kev/known_exploited_vulnerabilities.json, BASE/epss/epss_scores-current.csv.gz.
    #[arg(long, value_name = "BASE_URL", env = "CLEARANCE_DB_MIRROR")]
    pub mirror: Option<url::Url>,
    /// Extra PEM CA certificates to trust for the feeds or the mirror.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Connect timeout and longest stall of a download, in seconds.
    #[arg(long, default_value_t = 60, value_parser = crate::cli::timeout_seconds)]
    pub timeout: u64,
    /// Longest one feed may take, download and import, in seconds: a server
    /// that trickles bytes under --timeout is cut off here, the feed is
    /// named as failed and keeps its previous data.
    #[arg(long, default_value_t = 1800, value_parser = crate::cli::timeout_seconds)]
    pub feed_deadline: u64,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// A feed file or directory (repeatable).
    #[arg(long = "source", value_name = "PATH", required = true)]
    pub sources: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

pub async fn run(command: DbCommand, format: Format) -> anyhow::Result<Exit> {
    match command {
        DbCommand::Build(args) => build(args, format).await,
        DbCommand::Update(args) => update::run(args, format).await,
        DbCommand::Status(args) => status(args, format).await,
        DbCommand::Push(args) => push::run(args, format).await,
        DbCommand::Pull(args) => pull::run(args, format).await,
    }
}

#[derive(Debug, Serialize)]
struct Imported {
    source: String,
    kind: &'static str,
    origin: String,
    advisories: usize,
    records: usize,
    skipped_other_ecosystems: usize,
    problems: Vec<String>,
    problems_not_shown: usize,
}

#[derive(Debug, Serialize)]
struct BuildReport {
    schema: &'static str,
    database: PathBuf,
    imported: Vec<Imported>,
}

pub(crate) async fn create(path: &Path) -> anyhow::Result<AdvisoryDb> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {} for the advisory database", dir.display()))?;
    }
    Ok(AdvisoryDb::create(path).await?)
}

async fn build(args: BuildArgs, format: Format) -> anyhow::Result<Exit> {
    let path = args.db.path()?;
    // Read every source before touching the database: a bad path fails
    // the build with the database as it was.
    let mut imports = Vec::new();
    for source_path in &args.sources {
        let spinner = output::spinner(format!("reading {}", source_path.display()));
        let p = source_path.clone();
        let read = tokio::task::spawn_blocking(move || source::read_path(&p)).await?;
        spinner.finish_and_clear();
        imports.extend(read?);
    }
    let (imports, merged) = source::merge_same_sources(imports);
    for name in merged {
        output::warning(format!(
            "{name} is given by more than one --source; they were merged (a record in both is taken from the later)"
        ));
    }
    let db = create(&path).await?;
    // Closed on every path: an unclosed pool leaves -wal/-shm files.
    let imported = store(&db, &imports).await;
    db.close().await;
    let report = BuildReport {
        schema: "clearance.db-build/v1",
        database: path,
        imported: imported?,
    };
    let mut page = Page::default();
    match format {
        Format::Json => page.json(&report)?,
        Format::Table | Format::Cyclonedx | Format::Spdx | Format::Sarif => {
            page.field("Database", report.database.display().to_string());
            let mut t = output::table(&["Source", "Feed", "Advisories", "Records", "From"]);
            for i in &report.imported {
                t.row([
                    (&i.source).to_text(),
                    i.kind.to_text(),
                    i.advisories.to_text(),
                    i.records.to_text(),
                    output::truncate(&i.origin, 60).to_text(),
                ]);
            }
            page.line(t);
            for i in &report.imported {
                for p in &i.problems {
                    page.line(text!(warn("warning:"), " ", &i.source, ": ", p));
                }
                if i.problems_not_shown > 0 {
                    page.line(text!(
                        warn("warning:"),
                        format!(
                            " {}: {} not shown",
                            i.source,
                            output::count(i.problems_not_shown, "more problem", "more problems")
                        )
                    ));
                }
            }
        }
    }
    page.emit()?;
    Ok(Exit::Ok)
}

/// Import each source in turn into `db`.
async fn store(db: &AdvisoryDb, imports: &[source::Import]) -> anyhow::Result<Vec<Imported>> {
    let mut imported = Vec::new();
    let before = db.status().await?;
    for import in imports {
        warn_if_shrinking(&before, import);
        let spinner = output::spinner(format!("storing {}", import.name));
        let summary = db.import(import).await;
        spinner.finish_and_clear();
        let summary = summary?;
        imported.push(Imported {
            source: import.name.clone(),
            kind: import.kind.as_str(),
            origin: import.origin.clone(),
            advisories: summary.advisories,
            records: summary.affected,
            skipped_other_ecosystems: import.skipped,
            problems: import.problems.clone(),
            problems_not_shown: import.problems_not_shown,
        });
    }
    Ok(imported)
}

/// Warn when an import replaces a source with far fewer records than it
/// held (one OSV record given where the whole feed was meant).
pub(crate) fn warn_if_shrinking(before: &DbStatus, import: &source::Import) {
    let Some(old) = before.sources.iter().find(|s| s.name == import.name) else {
        return;
    };
    let new = i64::try_from(import.advisories.len()).unwrap_or(i64::MAX);
    if old.advisories >= 100 && new < old.advisories / 2 {
        output::warning(format!(
            "{} held {} advisories and is replaced by {new} from {}: a source is replaced whole, so give the whole feed",
            import.name, old.advisories, import.origin
        ));
    }
}

#[derive(Debug, Serialize)]
struct StatusReport {
    schema: &'static str,
    #[serde(flatten)]
    status: DbStatus,
    updated: Option<String>,
}

async fn status(args: StatusArgs, format: Format) -> anyhow::Result<Exit> {
    let path = args.db.path()?;
    let db = AdvisoryDb::open(&path).await?;
    let status = db.status().await?;
    db.close().await;
    let report = StatusReport {
        schema: "clearance.db-status/v1",
        updated: status.updated_at.map(rfc3339_signed),
        status,
    };
    let mut page = Page::default();
    match format {
        Format::Json => page.json(&report)?,
        Format::Table | Format::Cyclonedx | Format::Spdx | Format::Sarif => {
            page.field("Database", report.status.path.display().to_string());
            page.field("Schema", report.status.schema_version);
            page.field(
                "Updated",
                match &report.updated {
                    Some(u) => u.to_text(),
                    None => dim("never"),
                },
            );
            let mut t = output::table(&[
                "Source",
                "Feed",
                "Advisories",
                "Records",
                "Data as of",
                "Imported",
            ]);
            for s in &report.status.sources {
                t.row([
                    (&s.name).to_text(),
                    (&s.kind).to_text(),
                    s.advisories.to_text(),
                    s.affected.to_text(),
                    s.data_date.as_deref().unwrap_or("").to_text(),
                    rfc3339_signed(s.imported_at).to_text(),
                ]);
            }
            page.line(t);
        }
    }
    page.emit()?;
    Ok(Exit::Ok)
}
