//! Passphrases of sealed keys: from `CLEARANCE_PASSPHRASE_<ROLE>`, else
//! asked at the terminal, up to [`TRIES`] times as Notary's client does. A
//! new key's passphrase has at least [`MIN_LEN`] characters (Notary's rule)
//! and, at a prompt, is typed twice (newcomer finding 13).

use anyhow::bail;
use clearance_trust::keystore::{Keystore, KeystoreError};
use clearance_trust::signer::LocalSigner;

/// Attempts at a prompt before giving up.
pub const TRIES: u32 = 3;
/// The shortest passphrase a new key may have.
pub const MIN_LEN: usize = 8;

/// The variable that may hold a role's passphrase:
/// `CLEARANCE_PASSPHRASE_<ROLE>`, the role upper-cased and anything but
/// letters and digits made `_`. One to one for the names `trust` makes
/// (top-level roles, and delegations of lower-case letters, digits and
/// `-`: [`clearance_trust::RoleName::new_delegation`]). A role another
/// TUF tool named `a_b` or `a/b` maps to the variable of `a-b`; a command
/// that needs keys of two such roles reads that one variable for both
/// (leave it unset to be asked for each at the prompt).
pub fn variable(role: &str) -> String {
    format!(
        "CLEARANCE_PASSPHRASE_{}",
        role.to_ascii_uppercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    )
}

/// A passphrase for a new key of `role`: the variable (refused if shorter
/// than [`MIN_LEN`]), else typed twice at a prompt, up to [`TRIES`] times.
pub fn new_passphrase(role: &str, keyid: &str) -> anyhow::Result<String> {
    let var = variable(role);
    if let Ok(p) = std::env::var(&var) {
        if p.chars().count() < MIN_LEN {
            bail!(
                "{var} is shorter than {MIN_LEN} characters: a new key's passphrase needs at least {MIN_LEN}"
            );
        }
        return Ok(p);
    }
    require_terminal(role, &var)?;
    let short = short(keyid);
    for attempt in 1..=TRIES {
        let left = TRIES - attempt;
        let first = rpassword::prompt_password(format!("Passphrase for {role} key {short}: "))?;
        if first.chars().count() < MIN_LEN {
            retry(
                format!("use a passphrase of at least {MIN_LEN} characters for the {role} key"),
                left,
            )?;
            continue;
        }
        let again =
            rpassword::prompt_password(format!("Repeat passphrase for {role} key {short}: "))?;
        if again == first {
            return Ok(first);
        }
        retry(
            format!("the passphrases for the {role} key do not match"),
            left,
        )?;
    }
    bail!("no passphrase for the {role} key after {TRIES} tries")
}

/// Unseal `keyid` (a key of `role`): with the variable's passphrase (a
/// wrong one is an error naming the variable), else asked at a prompt, up
/// to [`TRIES`] times.
pub fn unseal(keystore: &Keystore, role: &str, keyid: &str) -> anyhow::Result<LocalSigner> {
    let var = variable(role);
    if let Ok(p) = std::env::var(&var) {
        if p.is_empty() {
            bail!(
                "{var} is set but empty: set it to the passphrase of the {role} key {}, or unset it to be asked at a prompt",
                short(keyid)
            );
        }
        return match keystore.load(keyid, &p) {
            Err(KeystoreError::Decrypt { .. }) => bail!(
                "wrong passphrase for the {role} key {} in {var} (or the key file was altered)",
                short(keyid)
            ),
            other => Ok(other?),
        };
    }
    require_terminal(role, &var)?;
    let short = short(keyid);
    for attempt in 1..=TRIES {
        let pass = rpassword::prompt_password(format!("Passphrase for {role} key {short}: "))?;
        match keystore.load(keyid, &pass) {
            Err(KeystoreError::Decrypt { .. }) => retry(
                format!(
                    "wrong passphrase for the {role} key {short} (or the key file was altered)"
                ),
                TRIES - attempt,
            )?,
            other => return Ok(other?),
        }
    }
    bail!("wrong passphrase for the {role} key {short} after {TRIES} tries")
}

/// Say what went wrong and how many tries are left; an error when none are.
fn retry(problem: String, left: u32) -> anyhow::Result<()> {
    if left == 0 {
        bail!("{problem} ({TRIES} tries)");
    }
    crate::output::warning(format!(
        "{problem}; {left} {} left",
        if left == 1 { "try" } else { "tries" }
    ));
    Ok(())
}

fn require_terminal(role: &str, var: &str) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    if !std::io::stdin().is_terminal() {
        bail!("no passphrase for the {role} key: set {var} or run in a terminal");
    }
    Ok(())
}

/// The first 12 hex digits of a key id, as prompts and `trust inspect` show it.
fn short(keyid: &str) -> &str {
    &keyid[..keyid.len().min(12)]
}
