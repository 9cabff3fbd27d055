//! `clearance trust key list | export | import`.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};

use super::passphrase::new_passphrase;
use super::common::{keystore_in};
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::{self, Page, ToText as _};

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// The keys in the keystore (no secrets shown).
    List(KeyArgs),
    /// Make a new key and seal it in the keystore.
    Generate {
        /// What the key is for (a delegation's name, a role).
        #[arg(long)]
        role: String,
        /// ed25519 or p256.
        #[arg(long, default_value = "ed25519", value_parser = ["ed25519", "p256"])]
        kind: String,
        #[command(flatten)]
        args: KeyArgs,
    },
    /// Print a key's public part as TUF metadata lists it.
    Export {
        /// The key id, whole or a unique prefix of at least 8 hex digits.
        keyid: String,
        #[command(flatten)]
        args: KeyArgs,
    },
    /// Seal a PKCS#8 private key (PEM; ed25519 or P-256) into the keystore.
    Import {
        file: std::path::PathBuf,
        /// What the key is for (root, targets, a delegation's name, …).
        #[arg(long)]
        role: String,
        #[command(flatten)]
        args: KeyArgs,
    },
}

/// Key commands need only the home directory.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// Clearance's own directory (keys, trusted metadata).
    #[arg(long, env = "CLEARANCE_HOME")]
    pub home: Option<std::path::PathBuf>,
}

impl KeyArgs {
    fn keystore(&self) -> anyhow::Result<clearance_trust::keystore::Keystore> {
        keystore_in(self.home.as_deref())
    }
}

pub fn run(command: KeyCommand, format: Format) -> anyhow::Result<Exit> {
    let mut page = Page::default();
    match command {
        KeyCommand::List(args) => {
            let keys = args.keystore()?.list()?;
            match format {
                Format::Json => page.json(&keys)?,
                Format::Table => {
                    let mut t = output::table(&["Key id", "Role", "Kind", "File"]);
                    for k in &keys {
                        t.row([
                            (&k.keyid).to_text(),
                            (&k.role).to_text(),
                            (&k.kind).to_text(),
                            k.path.display().to_text(),
                        ]);
                    }
                    page.line(t);
                }
            }
        }
        KeyCommand::Generate { role, kind, args } => {
            let kind = if kind == "p256" {
                KeyKind::EcdsaP256
            } else {
                KeyKind::Ed25519
            };
            let signer = LocalSigner::generate(kind)?;
            let pass = new_passphrase(&role, &signer.key_id())?;
            let keyid = args.keystore()?.save(&signer, &role, &pass)?;
            page.field("Generated", &keyid);
            page.field("Role", &role);
        }
        KeyCommand::Export { keyid, args } => {
            let keystore = args.keystore()?;
            let keyid = keystore.resolve(&keyid)?;
            let key = keystore.public(&keyid)?;
            page.json(&serde_json::json!({ "keyid": keyid, "key": key }))?;
        }
        KeyCommand::Import { file, role, args } => {
            let pem = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            if !pem.contains("BEGIN PRIVATE KEY") {
                anyhow::bail!(
                    "{} is not a PKCS#8 private key (-----BEGIN PRIVATE KEY-----)",
                    file.display()
                );
            }
            let der = clearance_trust::keys::pem_decode(&pem)
                .with_context(|| format!("{} is not valid PEM", file.display()))?;
            let signer = LocalSigner::from_pkcs8(KeyKind::Ed25519, &der)
                .or_else(|_| LocalSigner::from_pkcs8(KeyKind::EcdsaP256, &der))
                .with_context(|| {
                    format!(
                        "{}: only ed25519 and P-256 keys are supported",
                        file.display()
                    )
                })?;
            let pass = new_passphrase(&role, &signer.key_id())?;
            let keyid = args.keystore()?.save(&signer, &role, &pass)?;
            page.field("Imported", &keyid);
            page.field("Role", &role);
        }
    }
    page.emit()?;
    Ok(Exit::Ok)
}
