//! `clearance trust delegate add | remove`: let another key sign some tags
//! (a team, a release pipeline), limited to path patterns.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use clearance_trust::keys::Key;
use clearance_trust::publish::{Bins, Changed, FirstVersion};
use clearance_trust::signer::Signer;
use clearance_trust::{RoleName, TopRole};
use serde::Serialize;

use super::common::{RoleNameParser, TimeoutArgs, TrustArgs, gun, repository_ref, show};
use super::held::{delegated_keys, online_keys, role_key};
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::Page;

/// The `schema` of `trust delegate add|remove --format json`.
const SCHEMA: &str = "clearance.trust.delegate/v1";

/// The delegation as published; its JSON shape
/// (`clearance.trust.delegate/v1`) is in `docs/trust-publish-json.md`.
#[derive(Debug, Serialize)]
struct DelegationView {
    schema: &'static str,
    repository: String,
    role: String,
    /// `added` or `removed`.
    change: &'static str,
    /// What the role may sign, its keys and threshold (none once removed).
    paths: Option<Vec<String>>,
    keyids: Option<Vec<String>>,
    threshold: Option<u64>,
    /// The command its keys' holder signs its first tag with, when the
    /// role has no metadata yet.
    next: Option<String>,
}

impl DelegationView {
    fn render(&self, page: &mut Page) {
        let title = match self.change {
            "added" => "Delegated",
            _ => "Removed",
        };
        page.field(title, format!("{} in {}", self.role, self.repository));
        if let (Some(paths), Some(keyids), Some(threshold)) =
            (&self.paths, &self.keyids, self.threshold)
        {
            page.field("Paths", paths.join(", "));
            page.field("Keys", format!("{threshold} of {}", keyids.join(", ")));
        }
        if let Some(next) = &self.next {
            page.field("Next", next);
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DelegateCommand {
    /// Let ROLE sign tags matching --paths with its own keys (someone
    /// else's public key, from `trust key export`, or one in the keystore).
    /// Only targets is signed here; the role's keys sign its metadata when
    /// they first sign a tag (`trust sign --role ROLE`).
    Add(AddArgs),
    /// Stop delegating to ROLE.
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The image repository, e.g. registry.example.com/team/app.
    pub repository: String,
    /// The delegated role's name, e.g. releases or qa (a team, a
    /// pipeline): lower-case letters, digits and -. Notary's
    /// targets/releases is releases here.
    #[arg(value_parser = RoleNameParser::NEW_DELEGATION)]
    pub role: RoleName,
    /// The delegate's public key: a file from `trust key export` (someone
    /// else's key), or a key id in the keystore, whole or a unique prefix of
    /// at least 8 hex digits (repeatable).
    #[arg(long = "key", required = true)]
    pub keys: Vec<String>,
    /// Tag patterns the role may sign, comma-separated: tag names (letters,
    /// digits, _ . -, not starting with . or -, up to 128 characters) with
    /// `*` for any run of characters, e.g. v*,release-*.
    #[arg(long, required = true, value_delimiter = ',', value_parser = TagPatternParser)]
    pub paths: Vec<String>,
    /// Signatures needed.
    #[arg(long, default_value_t = 1)]
    pub threshold: u64,
    /// Stop the search at this role for the tags it covers.
    #[arg(long)]
    pub terminating: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The image repository, e.g. registry.example.com/team/app.
    pub repository: String,
    /// The delegated role to stop delegating to.
    #[arg(value_parser = RoleNameParser::ANY)]
    pub role: RoleName,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
}

pub async fn run(command: DelegateCommand, format: Format) -> anyhow::Result<Exit> {
    let (repository, trust) = match &command {
        DelegateCommand::Add(a) => (&a.repository, a.trust.settings(a.timeout.timeout)?),
        DelegateCommand::Remove(r) => (&r.repository, r.trust.settings(r.timeout.timeout)?),
    };
    let gun = gun(&repository_ref(repository)?)?;
    let publisher = trust.publisher(&gun)?;
    let first = publisher.load(Bins::All).await?;
    // A wrong login shows before any key is unsealed.
    publisher.check_login().await?;
    let keystore = trust.keystore()?;
    let added = matches!(command, DelegateCommand::Add(_));
    let role = match &command {
        DelegateCommand::Add(a) => a.role.clone(),
        DelegateCommand::Remove(r) => r.role.clone(),
    };
    let new_keys = match &command {
        DelegateCommand::Add(a) => a
            .keys
            .iter()
            .map(|k| public_key(k, &keystore))
            .collect::<anyhow::Result<Vec<Key>>>()?,
        DelegateCommand::Remove(_) => Vec::new(),
    };
    let targets = role_key(&keystore, &first, &gun, TopRole::Targets)?;
    let online = online_keys(&publisher, &keystore, &first)?;
    // The delegate's keys, only when the role must be signed in this
    // publish (a role of that name was delegated before: B-9).
    let mut delegated = Vec::new();
    let mut signs_later = false;
    let repo = publisher
        .edit(first, Bins::All, |repo| {
            match &command {
                DelegateCommand::Add(a) => {
                    let first = repo.add_delegation(
                        &a.role,
                        &new_keys,
                        a.threshold,
                        a.paths.clone(),
                        a.terminating,
                    )?;
                    signs_later = first == FirstVersion::Later && !repo.is_published(&a.role);
                    if first == FirstVersion::Now && delegated.is_empty() {
                        delegated = delegated_keys(&keystore, repo, &role).with_context(|| {
                            format!(
                                "{role} was delegated before, and snapshot still lists its last version, signed by its old keys: its new keys must sign the next one now, so add it where they are in the keystore, or choose another role name"
                            )
                        })?;
                    }
                }
                DelegateCommand::Remove(r) => repo.remove_delegation(&r.role)?,
            }
            let mut signers = online.signers(vec![&targets]);
            signers.delegated.insert(
                role.clone(),
                delegated.iter().map(|s| s as &dyn Signer).collect(),
            );
            anyhow::Ok(repo.publish(Changed::Targets, &signers, false)?)
        })
        .await?;
    let delegation = repo.delegation(&role);
    let view = DelegationView {
        schema: SCHEMA,
        repository: gun.to_string(),
        role: role.to_string(),
        change: if added { "added" } else { "removed" },
        paths: delegation.map(|d| d.paths.clone().unwrap_or_default()),
        keyids: delegation.map(|d| d.keyids.clone()),
        threshold: delegation.map(|d| d.threshold),
        next: signs_later.then(|| {
            format!(
                "{role} signs its first tag with `clearance trust sign {gun}:TAG --role {role}` (its keys' holder, with {gun}'s root pinned: `clearance trust verify --root ROOT.json {gun}:TAG`)"
            )
        }),
    };
    show(format, &view, DelegationView::render)?;
    Ok(Exit::Ok)
}

/// An exported `{"keyid", "key"}` file, or a key id in the keystore
/// (whole, or a unique prefix of at least 8 hex digits).
fn public_key(spec: &str, keystore: &clearance_trust::keystore::Keystore) -> anyhow::Result<Key> {
    let path = std::path::Path::new(spec);
    if path.is_file() {
        let bytes = std::fs::read(path).with_context(|| format!("reading {spec}"))?;
        let doc: serde_json::Value =
            serde_json::from_slice(&bytes).with_context(|| format!("{spec} is not JSON"))?;
        return serde_json::from_value(doc.get("key").cloned().unwrap_or(doc)).with_context(|| {
            format!("{spec} holds no public key (export one with `trust key export`)")
        });
    }
    let context = || {
        format!(
            "--key {spec} is not a file, so it was taken as a key id (give a file from `trust key export`, or an id from `trust key list`)"
        )
    };
    let keyid = keystore.resolve(spec).with_context(context)?;
    keystore.public(&keyid).with_context(context)
}

/// The longest tag a registry takes (OCI distribution spec: a tag is
/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`).
const MAX_TAG_LEN: usize = 128;

/// Why `pattern` can never match a tag, if it cannot (finding 14 #11): a
/// tag pattern is a tag name with `*` for any run of characters.
fn tag_pattern_problem(pattern: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '*');
    let problem = if pattern.is_empty() {
        "an empty pattern (or an empty item between commas)".to_owned()
    } else if let Some(c) = pattern.chars().find(|c| !allowed(*c)) {
        format!("{pattern:?} has {c:?}, which no tag has")
    } else if pattern.starts_with(['.', '-']) {
        format!(
            "{pattern:?} starts with {:?}, which no tag does",
            &pattern[..1]
        )
    } else if pattern.replace('*', "").len() > MAX_TAG_LEN {
        format!("{pattern:?} is longer than a tag may be ({MAX_TAG_LEN} characters)")
    } else {
        return None;
    };
    Some(format!(
        "{problem}: tag patterns are tag names (letters, digits, _ . -, not starting with . or -, up to {MAX_TAG_LEN} characters) with * for any run of characters, e.g. v*,release-*"
    ))
}

/// Parses one `--paths` item as a tag pattern; a refused one is shown
/// escaped (clap's own message would echo it raw).
#[derive(Debug, Clone, Copy)]
struct TagPatternParser;

impl clap::builder::TypedValueParser for TagPatternParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let refuse = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for --paths: {why}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| refuse(format!("{value:?} is not UTF-8")))?;
        match tag_pattern_problem(text) {
            Some(why) => Err(refuse(why)),
            None => Ok(text.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f14_11_tag_patterns_are_tag_names_with_stars() {
        for bad in ["", "../*", "a/b", "v\u{1}*", ".v*", "-v*", "v 1", "v:1"] {
            assert!(tag_pattern_problem(bad).is_some(), "{bad:?}");
        }
        for good in ["*", "v*", "release_1.*", "qa-*", "V1.2.3", "*-rc"] {
            assert_eq!(tag_pattern_problem(good), None, "{good:?}");
        }
        assert!(tag_pattern_problem(&"a".repeat(129)).is_some());
    }
}
