//! `clearance trust key list | export | import`.

use std::collections::BTreeMap;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use clearance_trust::RoleName;
use clearance_trust::metadata::Signed;
use clearance_trust::schema::{Root, Targets};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};
use serde::Serialize;

use super::common::{RoleNameParser, home_dir, keystore_in};
use super::passphrase::new_passphrase;
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::{self, Page, Text, ToText as _};

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// The keys in the keystore (no secrets shown), and the repositories
    /// whose trusted metadata here names each.
    List(KeyArgs),
    /// Make a new key and seal it in the keystore.
    Generate {
        /// What the key is for: root, targets, snapshot, timestamp, or a
        /// delegation's name (lower-case letters, digits and -). Its
        /// passphrase variable is CLEARANCE_PASSPHRASE_<ROLE>, upper-cased
        /// with - as _.
        #[arg(long, value_parser = RoleNameParser::KEY_ROLE)]
        role: RoleName,
        /// ed25519 or p256.
        #[arg(long, default_value = "ed25519", value_parser = ["ed25519", "p256"])]
        kind: String,
        #[command(flatten)]
        args: KeyArgs,
    },
    /// Print a key's public part as TUF metadata lists it (JSON, for
    /// someone who delegates to it: `trust delegate add --key FILE`). The
    /// private key stays sealed; to move or back it up, copy its file.
    Export {
        /// The key id, whole or a unique prefix of at least 8 hex digits.
        keyid: String,
        #[command(flatten)]
        args: KeyArgs,
    },
    /// Seal a private key made elsewhere into the keystore: unencrypted
    /// PKCS#8 PEM, ed25519 or P-256 (not the inverse of export, which
    /// prints a public key).
    Import {
        file: std::path::PathBuf,
        /// What the key is for, as for `generate`: root, targets,
        /// snapshot, timestamp, or a delegation's name.
        #[arg(long, value_parser = RoleNameParser::KEY_ROLE)]
        role: RoleName,
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
        keystore_in(&home_dir(self.home.as_deref())?)
    }
}

/// A key sealed into the keystore; its JSON shape
/// (`clearance.trust.key-saved/v1`) is in `docs/trust-keys-json.md`.
#[derive(Debug, Serialize)]
struct Saved {
    schema: &'static str,
    /// `generated` or `imported`.
    how: &'static str,
    keyid: String,
    role: String,
}

impl Saved {
    fn render(&self, page: &mut Page) {
        let title = match self.how {
            "generated" => "Generated",
            _ => "Imported",
        };
        page.field(title, &self.keyid);
        page.field("Role", &self.role);
    }
}

/// Show a saved key as `format` asks.
fn saved(page: &mut Page, format: Format, view: &Saved) -> anyhow::Result<()> {
    match format {
        Format::Json => page.json(view)?,
        Format::Table | Format::Cyclonedx | Format::Spdx | Format::Sarif => view.render(page),
    }
    Ok(())
}

/// The `schema` of `trust key generate|import --format json`.
const SAVED: &str = "clearance.trust.key-saved/v1";

pub fn run(command: KeyCommand, format: Format) -> anyhow::Result<Exit> {
    let mut page = Page::default();
    match command {
        KeyCommand::List(args) => list(&args, format, &mut page)?,
        KeyCommand::Generate { role, kind, args } => {
            let kind = if kind == "p256" {
                KeyKind::EcdsaP256
            } else {
                KeyKind::Ed25519
            };
            let signer = LocalSigner::generate(kind)?;
            let pass = new_passphrase(role.as_str(), &signer.key_id())?;
            let keyid = args.keystore()?.save(&signer, role.as_str(), &pass)?;
            let view = Saved {
                schema: SAVED,
                how: "generated",
                keyid,
                role: role.to_string(),
            };
            saved(&mut page, format, &view)?;
        }
        KeyCommand::Export { keyid, args } => {
            let keystore = args.keystore()?;
            let keyid = keystore.resolve(&keyid)?;
            let key = keystore.public(&keyid)?;
            page.json(&serde_json::json!({
                "schema": "clearance.trust.key/v1",
                "keyid": keyid,
                "key": key,
            }))?;
        }
        KeyCommand::Import { file, role, args } => {
            let pem = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            // An encrypted one is said to be encrypted (finding 14 #14).
            if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
                anyhow::bail!(
                    "{} is an encrypted PKCS#8 key: decrypt it first (`openssl pkcs8 -in {} -out PLAIN.pem` asks for its passphrase), import PLAIN.pem, then delete it (the keystore seals the key under a passphrase of its own)",
                    file.display(),
                    file.display()
                );
            }
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
            let pass = new_passphrase(role.as_str(), &signer.key_id())?;
            let keyid = args.keystore()?.save(&signer, role.as_str(), &pass)?;
            let view = Saved {
                schema: SAVED,
                how: "imported",
                keyid,
                role: role.to_string(),
            };
            saved(&mut page, format, &view)?;
        }
    }
    page.emit()?;
    Ok(Exit::Ok)
}

/// A key of the keystore, and the repositories that use it.
#[derive(Debug, Serialize)]
struct KeyView {
    keyid: String,
    /// What the key was made for, as named when it was made.
    role: String,
    kind: String,
    path: std::path::PathBuf,
    /// Where the trusted metadata pinned here names the key.
    repositories: Vec<Use>,
}

/// A repository whose trusted metadata names a key, and for which role.
#[derive(Debug, Clone, Serialize)]
struct Use {
    repository: String,
    role: String,
}

#[derive(Debug, Serialize)]
struct KeysView {
    schema: &'static str,
    keystore: std::path::PathBuf,
    keys: Vec<KeyView>,
}

fn list(args: &KeyArgs, format: Format, page: &mut Page) -> anyhow::Result<()> {
    let keystore = args.keystore()?;
    let uses = uses(&home_dir(args.home.as_deref())?.join("trust/tuf"));
    let keys: Vec<KeyView> = keystore
        .list()?
        .into_iter()
        .map(|k| KeyView {
            repositories: uses.get(&k.keyid).cloned().unwrap_or_default(),
            keyid: k.keyid,
            role: k.role,
            kind: k.kind,
            path: k.path,
        })
        .collect();
    let view = KeysView {
        schema: "clearance.trust.keys/v1",
        keystore: keystore.dir().to_owned(),
        keys,
    };
    match format {
        Format::Json => page.json(&view)?,
        Format::Table | Format::Cyclonedx | Format::Spdx | Format::Sarif => {
            page.field("Keystore", view.keystore.display());
            let mut t = output::table(&["Key id", "Role", "Kind", "Repositories"]);
            for k in &view.keys {
                let used = Text::lines(
                    k.repositories
                        .iter()
                        .map(|u| format!("{} ({})", u.repository, u.role).to_text()),
                );
                t.row([
                    k.keyid.chars().take(12).collect::<String>().to_text(),
                    (&k.role).to_text(),
                    (&k.kind).to_text(),
                    used,
                ]);
            }
            page.line(t);
        }
    }
    Ok(())
}

/// Key id → the repositories whose trusted metadata (under `tuf`, one
/// directory per repository) names it: root's roles and the roles targets
/// delegates to. Unreadable metadata is skipped: this is a listing.
fn uses(tuf: &std::path::Path) -> BTreeMap<String, Vec<Use>> {
    let mut out: BTreeMap<String, Vec<Use>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(tuf) else {
        return out;
    };
    let mut add = |keyid: &str, repository: &str, role: &str| {
        out.entry(keyid.to_owned()).or_default().push(Use {
            repository: repository.to_owned(),
            role: role.to_owned(),
        });
    };
    let mut dirs: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs {
        let Some(gun) = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(clearance_trust::client::unquote)
        else {
            continue;
        };
        let read = |role: &RoleName| std::fs::read(dir.join(role.file_name())).ok();
        let root =
            read(&RoleName::ROOT).and_then(|b| Signed::<Root>::parse(&b, &RoleName::ROOT).ok());
        if let Some(root) = root {
            for (role, keys) in &root.signed.roles {
                for keyid in &keys.keyids {
                    add(keyid, &gun, role.name());
                }
            }
        }
        let targets = read(&RoleName::TARGETS)
            .and_then(|b| Signed::<Targets>::parse(&b, &RoleName::TARGETS).ok());
        if let Some(targets) = targets {
            for r in targets
                .signed
                .delegations
                .iter()
                .flat_map(|d| d.roles.iter().flatten())
            {
                for keyid in &r.keyids {
                    add(keyid, &gun, r.name.as_str());
                }
            }
        }
    }
    out
}
