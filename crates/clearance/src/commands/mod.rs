//! One file per subcommand.

pub mod admission;
pub mod check;
pub mod db;
pub mod decisions;
pub mod evidence;
pub mod image;
pub mod inspect;
pub mod policy;
pub mod sbom;
pub mod scan;
pub mod serve;
pub mod trust;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let name = match &cli.command {
        Command::Sbom(_) => "sbom",
        Command::Scan(_) => "scan",
        _ => "other",
    };
    let format = cli.global.format;
    if !format.fits(name) {
        let prints = match name {
            "sbom" => "`clearance sbom` prints table, json, cyclonedx or spdx",
            _ => "this command prints table or json",
        };
        anyhow::bail!(
            "--format {} is for `clearance sbom` and `clearance scan` (sarif: `scan` only); {prints}",
            format.name()
        );
    }
    match cli.command {
        Command::Inspect(args) => inspect::run(args, cli.global.format).await,
        Command::Sbom(args) => sbom::run(args, cli.global.format).await,
        Command::Scan(args) => scan::run(args, cli.global.format).await,
        Command::Db(command) => db::run(command, cli.global.format).await,
        Command::Trust(command) => trust::run(command, cli.global.format).await,
        Command::Admission(command) => admission::run(command).await,
        Command::Check(args) => check::run(args, cli.global.format).await,
        Command::Decisions(args) => decisions::run(args, cli.global.format),
        Command::Policy(command) => policy::run(command, cli.global.format).await,
        Command::Serve(args) => serve::run(args).await,
    }
}
