//! `clearance decisions`: the decision log (`clearance.audit/v1` lines),
//! filtered and listed oldest first (schema `clearance.decisions/v1`,
//! docs/policy.md).

use anyhow::Context as _;
use clap::Args;
use clearance_policy::audit::{self, AuditRecord};
use clearance_policy::date::Date;
use serde::Serialize;

use super::check::DecisionLogArgs;
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::{self, Page, ToText as _, bad, dim, good, warn};

#[derive(Debug, Args)]
pub struct DecisionsArgs {
    /// Only decisions for this environment.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Only denials.
    #[arg(long, conflicts_with = "allowed")]
    pub denied: bool,
    /// Only decisions that allowed the image.
    #[arg(long)]
    pub allowed: bool,
    /// Only images whose reference or digest contains this text.
    #[arg(long, value_name = "TEXT")]
    pub image: Option<String>,
    /// Only decisions from this point on: a day (`2026-12-01`, UTC) or a
    /// span back from now (`90m`, `24h`, `7d`).
    #[arg(long, value_name = "WHEN", value_parser = since)]
    pub since: Option<i64>,
    /// Only the last N decisions that match.
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    #[command(flatten)]
    pub log: DecisionLogArgs,
}

/// `--since`: Unix seconds. A span is resolved against the clock when the
/// arguments are parsed.
fn since(value: &str) -> Result<i64, String> {
    if let Some(date) = Date::parse(value) {
        return Ok(date.days() * 86_400);
    }
    // The unit is the last character (which may not be one byte).
    let cut = value.char_indices().last().map_or(0, |(i, _)| i);
    let (number, unit) = value.split_at(cut);
    let seconds = match unit {
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => 0,
    };
    let n: i64 = number.parse().unwrap_or(-1);
    if seconds == 0 || n < 0 {
        return Err(format!(
            "{value:?} is neither a day (YYYY-MM-DD) nor a span (90m, 24h, 7d)"
        ));
    }
    let now = i64::try_from(clearance_oci::time::now_unix()).unwrap_or(i64::MAX);
    Ok(now.saturating_sub(n.saturating_mul(seconds)))
}

/// `clearance.decisions/v1`.
#[derive(Debug, Serialize)]
struct Listing {
    schema: &'static str,
    log: String,
    decisions: Vec<AuditRecord>,
    /// Lines of the log that are not records (a crash can cut the last).
    skipped_lines: u64,
}

pub fn run(args: DecisionsArgs, format: Format) -> anyhow::Result<Exit> {
    let path = args.log.path()?;
    let read = match audit::read(&path, |r| keep(&args, r)) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => audit::ReadLog::default(),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read the decision log {}", path.display()));
        }
    };
    let mut decisions = read.records;
    if let Some(n) = args.last {
        let cut = decisions.len().saturating_sub(n);
        decisions.drain(..cut);
    }
    let listing = Listing {
        schema: "clearance.decisions/v1",
        log: path.display().to_string(),
        decisions,
        skipped_lines: read.skipped_count,
    };
    if read.skipped_count > 0 {
        let lines: Vec<String> = read.skipped.iter().map(u64::to_string).collect();
        output::warning(format!(
            "{} of {} not a decision record and skipped (line {})",
            output::count(read.skipped_count, "line", "lines"),
            listing.log,
            lines.join(", ")
        ));
    }
    let mut page = Page::default();
    match format {
        Format::Json => page.json(&listing)?,
        _ => render(&listing, &mut page),
    }
    page.emit()?;
    Ok(Exit::Ok)
}

fn keep(args: &DecisionsArgs, r: &AuditRecord) -> bool {
    args.env.as_ref().is_none_or(|e| *e == r.environment)
        && !(args.denied && r.allowed)
        && (!args.allowed || r.allowed)
        && args.since.is_none_or(|s| r.unix_time >= s)
        && args.image.as_ref().is_none_or(|i| {
            r.reference.contains(i.as_str())
                || r.digest.as_deref().is_some_and(|d| d.contains(i.as_str()))
        })
}

fn render(listing: &Listing, page: &mut Page) {
    if listing.decisions.is_empty() {
        page.line(dim(format!("no decisions match in {}", listing.log)));
        return;
    }
    let mut t = output::table(&["Time", "Point", "Environment", "Image", "Decision", "Rules"]);
    for r in &listing.decisions {
        let rules: Vec<&str> = r.reasons.iter().map(|x| x.rule.as_str()).collect();
        let digest = r
            .digest
            .as_deref()
            .map(|d| {
                let hex = d.strip_prefix("sha256:").unwrap_or(d);
                format!("@{}", hex.get(..12).unwrap_or(hex))
            })
            .unwrap_or_default();
        t.row([
            (&r.time).to_text(),
            (&r.point).to_text(),
            (&r.environment).to_text(),
            crate::output::text!(&r.reference, dim(digest)),
            match (r.allowed, r.reasons.is_empty()) {
                (true, true) => good("allowed"),
                (true, false) => warn("allowed (warn)"),
                (false, _) => bad("denied"),
            },
            rules.join(", ").to_text(),
        ]);
    }
    page.line(t);
    page.line(dim(format!(
        "{} from {}",
        output::count(listing.decisions.len(), "decision", "decisions"),
        listing.log
    )));
}
