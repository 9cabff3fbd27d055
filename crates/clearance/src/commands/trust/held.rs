//! The signing keys a publisher holds: sealed in the keystore (unsealed
//! with a passphrase) or on a PKCS#11 token, found by what the repository's
//! metadata names.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use clearance_trust::keystore::Keystore;
use clearance_trust::pkcs11::{HsmSigner, IfMissing, KeyOrigin, Pkcs11Uri};
use clearance_trust::publish::RepositoryEditor;
use clearance_trust::repository::{OnlineKeys, Publisher};
use clearance_trust::signer::{LocalSigner, Signer};
use clearance_trust::{Gun, RoleName, TopRole};

use super::passphrase::unseal;

/// Where the root key is, for commands that make or change root.
#[derive(Debug, Clone, Args)]
pub struct RootKeyArgs {
    /// The root key on a hardware token, else the keystore: a pkcs11: URI
    /// such as "pkcs11:token=clearance" (the key labelled for this
    /// repository) or "pkcs11:token=YubiKey PIV #123;object=LABEL". `trust
    /// init` generates it on the token if it has none by that name; it never
    /// leaves the token.
    #[arg(long, value_name = "PKCS11_URI")]
    pub root_key: Option<String>,
    /// The PKCS#11 module (else the URI's module-path).
    #[arg(long, env = "CLEARANCE_PKCS11_MODULE")]
    pub pkcs11_module: Option<PathBuf>,
}

/// A signing key the publisher holds: sealed on disk or on a token.
pub enum Held {
    Local(Box<LocalSigner>),
    Token(Box<HsmSigner>),
}

impl Held {
    pub fn signer(&self) -> &dyn Signer {
        match self {
            Held::Local(s) => s.as_ref(),
            Held::Token(s) => s.as_ref(),
        }
    }
}

/// Open (or, at init and root rotations, create) a key on a PKCS#11 token;
/// `HsmSigner::open` refuses one that can leave the token. A URI without `object=` names the
/// label `default_label` (a label per repository: review B-7); a key that
/// was to be created but was found already is warned about, since one key
/// rooting several repositories is one compromise away from all of them.
pub fn token_key(
    uri: &str,
    module: Option<&PathBuf>,
    if_missing: IfMissing,
    default_label: &str,
) -> anyhow::Result<HsmSigner> {
    let mut uri: Pkcs11Uri = uri.parse()?;
    let label = uri
        .object
        .get_or_insert_with(|| default_label.to_owned())
        .clone();
    let module = module.cloned().or_else(|| uri.module_path.clone()).context(
        "name the PKCS#11 module: --pkcs11-module PATH (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so, YubiKey: libykcs11.so)",
    )?;
    let pin = match given_pin(&uri)? {
        Some(pin) => pin,
        None => {
            // No terminal to ask at: say what to set, as for passphrases
            // (was "No such device or address (os error 6)": finding 14 #7).
            use std::io::IsTerminal as _;
            if !std::io::stdin().is_terminal() {
                bail!(
                    "no PIN for token {}: set CLEARANCE_PKCS11_PIN (or give pin-source= in the URI), or run in a terminal",
                    uri.token
                );
            }
            rpassword::prompt_password(format!("PIN for token {}: ", uri.token))?
        }
    };
    // Refuses a key that may have left the token, or whose halves do not pair.
    let signer = HsmSigner::open(&uri, &module, &pin, if_missing)?;
    if if_missing == IfMissing::Generate && signer.origin() == KeyOrigin::Found {
        crate::output::warning(format!(
            "token {} already holds the key {label} ({}); using it. If it roots other repositories, one compromise reaches all of them (each root names its repository, so their metadata cannot be swapped); leave object= out for a key per repository",
            uri.token,
            signer.key_id()
        ));
    }
    Ok(signer)
}

/// The PIN the URI (`pin-value`, `pin-source`) or CLEARANCE_PKCS11_PIN
/// gives, if any.
fn given_pin(uri: &Pkcs11Uri) -> anyhow::Result<Option<String>> {
    Ok(match uri.pin()? {
        Some(pin) => Some(pin),
        None => std::env::var("CLEARANCE_PKCS11_PIN").ok(),
    })
}

/// The token labels of the current root keys (`keyids`) among those
/// `trust` gives a repository's root keys (`root_key_label`, at each root
/// version up to `root_version`), on the token `uri` names: what to type as
/// `object=` (finding 14 #7). Empty when the PIN is not given (it is not
/// asked for again) or none is found.
fn current_root_labels(
    uri: &str,
    module: Option<&PathBuf>,
    gun: &Gun,
    keyids: &[String],
    root_version: u64,
) -> Vec<String> {
    let Ok(mut uri) = uri.parse::<Pkcs11Uri>() else {
        return Vec::new();
    };
    let Some(module) = module.cloned().or_else(|| uri.module_path.clone()) else {
        return Vec::new();
    };
    let Ok(Some(pin)) = given_pin(&uri) else {
        return Vec::new();
    };
    // A rotation brings a key in at version 2 or later; at most 64 looked at.
    let versions = (2..=root_version).rev().take(64).map(Some);
    let mut labels = Vec::new();
    for version in std::iter::once(None).chain(versions) {
        let label = root_key_label(gun, version);
        uri.object = Some(label.clone());
        if let Ok(key) = HsmSigner::open(&uri, &module, &pin, IfMissing::Fail)
            && keyids.contains(&key.key_id())
        {
            labels.push(label);
        }
    }
    labels
}

/// The token label `trust` gives a repository's root key when the URI
/// names none: `clearance-root-<first 16 hex digits of sha256(gun)>`, and
/// `…-v<N>` for the key a root rotation brings in at root version N.
pub fn root_key_label(gun: &Gun, version: Option<u64>) -> String {
    let hash = clearance_oci::Digest::sha256_of(gun.as_str().as_bytes());
    let short = &hash.hex()[..16];
    match version {
        Some(v) => format!("clearance-root-{short}-v{v}"),
        None => format!("clearance-root-{short}"),
    }
}

/// The publisher's sealed key for a top-level role of `repo`.
pub fn role_key(
    keystore: &Keystore,
    repo: &RepositoryEditor,
    gun: &Gun,
    role: TopRole,
) -> anyhow::Result<LocalSigner> {
    let keyids = &repo
        .root
        .roles
        .get(&role)
        .with_context(|| format!("root names no {role} keys"))?
        .keyids;
    let Some(keyid) = keyids.iter().find(|k| keystore.public(k).is_ok()) else {
        bail!(
            "none of the {role} keys of {gun} is in {}",
            keystore.dir().display()
        );
    };
    unseal(keystore, role.name(), keyid)
}

/// The current root key: on a token when --root-key says so, else sealed.
pub fn root_key(
    args: &RootKeyArgs,
    keystore: &Keystore,
    repo: &RepositoryEditor,
    gun: &Gun,
) -> anyhow::Result<Held> {
    let keyids = repo
        .root
        .roles
        .get(&TopRole::Root)
        .map(|r| r.keyids.clone())
        .unwrap_or_default();
    match &args.root_key {
        Some(uri) => {
            let key = token_key(
                uri,
                args.pkcs11_module.as_ref(),
                IfMissing::Fail,
                &root_key_label(gun, None),
            )?;
            // Review 9 #5: checked here, before anything is signed or sent
            // (a file:// store would take a root signed by any key).
            if !keyids.contains(&key.key_id()) {
                let labels = current_root_labels(
                    uri,
                    args.pkcs11_module.as_ref(),
                    gun,
                    &keyids,
                    repo.root.common.version.get(),
                );
                let on_token = if labels.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; on this token: {}",
                        labels
                            .iter()
                            .map(|l| format!("object={l}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                // The URI is not repeated: it may carry the PIN.
                bail!(
                    "--root-key names key {} ({}), which is not a root key of {gun} (its root keys: {}{on_token}): give the pkcs11: URI of one of those (a root rotation labels the new key …-vN)",
                    key.key_id(),
                    key.label(),
                    keyids.join(", ")
                );
            }
            Ok(Held::Token(Box::new(key)))
        }
        // In the keystore: unsealed (a wrong passphrase said as such,
        // finding 14 #6); not there: perhaps on a token.
        None if keyids.iter().any(|k| keystore.public(k).is_ok()) => Ok(Held::Local(Box::new(
            role_key(keystore, repo, gun, TopRole::Root)?,
        ))),
        None => bail!(
            "the root key of {gun} ({}) is not in {}: if it is on a hardware token, name it with --root-key pkcs11:token=LABEL;object=LABEL",
            keyids.join(", "),
            keystore.dir().display()
        ),
    }
}

/// The snapshot and timestamp keys the publisher holds for `repo`,
/// unsealed; the store signs the others.
pub fn online_keys(
    publisher: &Publisher,
    keystore: &Keystore,
    repo: &RepositoryEditor,
) -> anyhow::Result<OnlineKeys> {
    let server = publisher.server_signed(repo, |k| keystore.public(k).is_ok());
    OnlineKeys::load(server, |role| {
        role_key(keystore, repo, publisher.gun(), role)
    })
}

/// Whether the keystore holds a threshold of a delegated role's keys.
pub fn holds_delegated(keystore: &Keystore, repo: &RepositoryEditor, role: &RoleName) -> bool {
    repo.delegation(role).is_some_and(|d| {
        let held = d
            .keyids
            .iter()
            .filter(|k| keystore.public(k).is_ok())
            .count() as u64;
        held >= d.threshold
    })
}

/// The publisher's sealed keys for a delegated role (as many as it holds).
pub fn delegated_keys(
    keystore: &Keystore,
    repo: &RepositoryEditor,
    role: &RoleName,
) -> anyhow::Result<Vec<LocalSigner>> {
    let delegation = repo
        .delegation(role)
        .with_context(|| format!("targets does not delegate to {role:?}"))?;
    let held: Vec<&String> = delegation
        .keyids
        .iter()
        .filter(|k| keystore.public(k).is_ok())
        .collect();
    // Counted before anything is unsealed.
    if (held.len() as u64) < delegation.threshold {
        bail!(
            "{role} needs {} of its keys {:?}; {} of them are in {}",
            delegation.threshold,
            delegation.keyids,
            held.len(),
            keystore.dir().display()
        );
    }
    held.into_iter()
        .map(|keyid| unseal(keystore, role.as_str(), keyid))
        .collect()
}
