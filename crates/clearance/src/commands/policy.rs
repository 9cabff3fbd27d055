//! `clearance policy`: policy files (docs/policy.md).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use clearance_policy::date::Date;
use clearance_policy::policy::{self, Environment, Mode, Policy, PolicyError};
use serde::Serialize;

use crate::cli::Format;
use crate::exit::Exit;
use crate::output::{self, Page, ToText as _, bad, dim, good, warn};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a policy file: every problem with its line and column, or the
    /// environments it defines and the rules of each. Exit 2 when it is not
    /// valid.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The policy file (YAML; the format is in docs/policy.md).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `clearance.policy-check/v1`.
#[derive(Debug, Serialize)]
struct CheckReport<'a> {
    schema: &'static str,
    file: String,
    valid: bool,
    environments: Vec<EnvironmentSummary<'a>>,
    errors: Vec<Located>,
    warnings: Vec<Located>,
}

#[derive(Debug, Serialize)]
struct EnvironmentSummary<'a> {
    name: &'a str,
    mode: Mode,
    rules: Vec<&'static str>,
    exceptions: usize,
}

#[derive(Debug, Serialize)]
struct Located {
    line: u64,
    column: u64,
    path: String,
    message: String,
}

impl From<&PolicyError> for Located {
    fn from(e: &PolicyError) -> Located {
        Located {
            line: e.line,
            column: e.column,
            path: e.path.clone(),
            message: e.message.clone(),
        }
    }
}

pub async fn run(command: PolicyCommand, format: Format) -> anyhow::Result<Exit> {
    match command {
        PolicyCommand::Check(args) => check(args, format),
    }
}

/// The policy file at `path`, read bounded ([`policy::MAX_POLICY_BYTES`])
/// and as UTF-8: its name as given, and its text.
pub(crate) fn read_text(path: &std::path::Path) -> anyhow::Result<(String, String)> {
    use std::io::Read as _;
    let name = path.display().to_string();
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read the policy file {name}"))?;
    // Bounded as it is read: a device or a pipe has no size to check first.
    let mut bytes = Vec::new();
    file.take(policy::MAX_POLICY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read the policy file {name}"))?;
    if bytes.len() > policy::MAX_POLICY_BYTES {
        anyhow::bail!(
            "{name} is over {} bytes; a policy file is at most that",
            policy::MAX_POLICY_BYTES
        );
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name} is not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok((name, text))
}

/// Today (UTC), which exception expiries are judged against.
pub(crate) fn today() -> Date {
    Date::of_unix(i64::try_from(clearance_oci::time::now_unix()).unwrap_or(i64::MAX))
}

/// Load the policy at `path` for a command that uses it: its warnings are
/// printed; a policy with mistakes is an error listing each with its line.
pub(crate) fn load(path: &std::path::Path) -> anyhow::Result<Policy> {
    let (name, text) = read_text(path)?;
    match policy::load(&text, &name, today()) {
        Ok(policy) => {
            for w in &policy.warnings {
                output::warning(located(&name, &Located::from(w)));
            }
            Ok(policy)
        }
        Err(e) => {
            // Each on a line of its own: the error's text is escaped whole.
            for p in &e.errors {
                eprintln!("{}", output::clean(&located(&name, &Located::from(p))));
            }
            Err(anyhow::anyhow!(
                "{name} is not a valid policy: {}; fix {} and run `clearance policy check {name}`",
                output::count(e.errors.len(), "problem", "problems"),
                output::them(e.errors.len())
            ))
        }
    }
}

fn check(args: CheckArgs, format: Format) -> anyhow::Result<Exit> {
    let (name, text) = read_text(&args.file)?;
    let today = today();
    let loaded = policy::load(&text, &name, today);
    let (policy, errors) = match &loaded {
        Ok(p) => (Some(p), Vec::new()),
        Err(e) => (None, e.errors.iter().map(Located::from).collect()),
    };
    let report = CheckReport {
        schema: "clearance.policy-check/v1",
        file: name.clone(),
        valid: policy.is_some(),
        environments: policy.map(summaries).unwrap_or_default(),
        errors,
        warnings: policy
            .map(|p| p.warnings.iter().map(Located::from).collect())
            .unwrap_or_default(),
    };
    let mut page = Page::default();
    match format {
        Format::Json => page.json(&report)?,
        Format::Table | Format::Cyclonedx | Format::Spdx | Format::Sarif => {
            for e in &report.errors {
                page.line(bad(located(&name, e)));
            }
            for w in &report.warnings {
                page.line(warn(format!("warning: {}", located(&name, w))));
            }
            if report.valid {
                page.line(good(format!(
                    "✓ {name}: a valid policy with {} environment{}",
                    report.environments.len(),
                    if report.environments.len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                )));
                let mut t = output::table(&["Environment", "Mode", "Rules", "Exceptions"]);
                for env in &report.environments {
                    t.row([
                        env.name.to_text(),
                        match env.mode {
                            Mode::Enforce => "enforce".to_text(),
                            Mode::Warn => warn("warn"),
                        },
                        if env.rules.is_empty() {
                            dim("none: every image is allowed")
                        } else {
                            env.rules.join(", ").to_text()
                        },
                        env.exceptions.to_text(),
                    ]);
                }
                page.line(t);
            }
        }
    }
    page.emit()?;
    match loaded {
        Ok(_) => Ok(Exit::Ok),
        Err(e) => Err(anyhow::anyhow!(
            "{name} is not a valid policy: {} problem{}; fix {} and run `clearance policy check` again",
            e.errors.len(),
            if e.errors.len() == 1 { "" } else { "s" },
            if e.errors.len() == 1 { "it" } else { "them" }
        )),
    }
}

fn located(file: &str, e: &Located) -> String {
    let place = if e.path.is_empty() {
        String::new()
    } else {
        format!("{}: ", e.path)
    };
    format!("{file}:{}:{}: {place}{}", e.line, e.column, e.message)
}

fn summaries(policy: &Policy) -> Vec<EnvironmentSummary<'_>> {
    policy.environments.values().map(summary).collect()
}

/// The rule groups an environment sets, by name.
fn summary(env: &Environment) -> EnvironmentSummary<'_> {
    let mut rules = Vec::new();
    if env.trust.is_some() {
        rules.push("trust");
    }
    if env.sources.is_some() {
        rules.push("sources");
    }
    if env.contents.is_some() {
        rules.push("contents");
    }
    if env.runtime.is_some() {
        rules.push("runtime");
    }
    EnvironmentSummary {
        name: &env.name,
        mode: env.mode,
        rules,
        exceptions: env.exceptions.len(),
    }
}
