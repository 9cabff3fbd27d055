//! `clearance trust …`: content trust on TUF.

pub(crate) mod common;
mod delegate;
pub(crate) mod failure;
mod held;
mod init;
mod inspect;
mod key;
mod passphrase;
mod refresh;
mod revoke;
mod rotate;
pub(crate) mod sign;
mod tuf_client;
pub(crate) mod verify;

use clap::Subcommand;

#[cfg(test)]
pub(crate) use delegate::DelegateCommand;

use crate::cli::Format;
use crate::exit::Exit;

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Create keys and the first signed metadata for an image repository.
    Init(init::InitArgs),
    /// Sign a tag: pin IMAGE:TAG to the digest of its manifest.
    Sign(sign::SignArgs),
    /// Let another key sign some tags (a team, a release pipeline).
    #[command(subcommand)]
    Delegate(delegate::DelegateCommand),
    /// Give a role a new key (root is re-signed by the old and new keys).
    Rotate(rotate::RotateArgs),
    /// Remove a key from every role that lists it: root's roles (root is
    /// re-signed) and delegated roles (each re-signed by its remaining
    /// keys); refused when a role would fall below its threshold.
    Revoke(revoke::RevokeArgs),
    /// Re-sign what expires soon: the roles whose keys you hold, delegated
    /// ones too (a trust service re-signs the snapshot and timestamp it
    /// holds by itself).
    Refresh(refresh::RefreshArgs),
    /// Manage the keystore.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Show who may sign what in a repository, and when each role expires.
    Inspect(inspect::InspectArgs),
    /// Verify a tag through TUF and fetch its manifest by the signed digest
    /// (exit 1 if it is not trusted).
    Verify(verify::VerifyArgs),
    /// A bare TUF client speaking the tuf-conformance CLI protocol
    /// (init, refresh, download); used to run the conformance suite.
    #[command(hide = true)]
    TufClient(tuf_client::TufClientArgs),
}

/// Run a trust command. Every command that prints a result honours the
/// global `--format` (JSON shapes: `docs/trust-*-json.md`); the one that
/// cannot refuses `--format json` with a usage error.
pub async fn run(command: TrustCommand, format: Format) -> anyhow::Result<Exit> {
    match command {
        TrustCommand::Init(args) => init::run(args, format).await,
        TrustCommand::Sign(args) => sign::run(args, format).await,
        TrustCommand::Inspect(args) => inspect::run(args, format).await,
        TrustCommand::Rotate(args) => rotate::run(args, format).await,
        TrustCommand::Delegate(command) => delegate::run(command, format).await,
        TrustCommand::Revoke(args) => revoke::run(args, format).await,
        TrustCommand::Refresh(args) => refresh::run(args, format).await,
        TrustCommand::Key(command) => key::run(command, format),
        TrustCommand::Verify(args) => verify::run(args, format).await,
        TrustCommand::TufClient(args) => {
            common::refuse_json(
                format,
                "trust tuf-client",
                "it answers by its exit code, as the conformance suite's protocol asks",
            )?;
            tuf_client::run(args).await
        }
    }
}
