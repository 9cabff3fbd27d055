//! `clearance trust …`: content trust on TUF.

mod tuf_client;

use clap::Subcommand;

use crate::exit::Exit;

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// A bare TUF client speaking the tuf-conformance CLI protocol
    /// (init, refresh, download); used to run the conformance suite.
    #[command(hide = true)]
    TufClient(tuf_client::TufClientArgs),
}

pub async fn run(command: TrustCommand) -> anyhow::Result<Exit> {
    match command {
        TrustCommand::TufClient(args) => tuf_client::run(args).await,
    }
}
