//! `clearance trust refresh REPO`: re-sign what expires soon, so clients
//! never see stale metadata: the roles whose keys the publisher holds
//! (timestamp always, when it is the publisher's); a trust service re-signs
//! the snapshot and timestamp it holds by itself.

use anyhow::Context as _;
use clap::Args;
use clearance_trust::client::{Expiration, Updater, UpdaterSettings};
use clearance_trust::publish::{Bins, Changed, RoleSigners, ServerSigned};
use clearance_trust::repository::OnlineKeys;
use clearance_trust::schema::{Common, Version};
use clearance_trust::signer::Signer;
use clearance_trust::time::UtcTime;
use clearance_trust::{Gun, TopRole};
use serde::Serialize;

use super::common::{TimeoutArgs, TrustArgs, TrustSettings, gun, repository_ref, show};
use super::held::{RootKeyArgs, delegated_keys, holds_delegated, online_keys, role_key, root_key};
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::Page;

/// The `schema` of `trust refresh --format json`.
const SCHEMA: &str = "clearance.trust.refresh/v1";

/// What was re-signed and what is served now; its JSON shape
/// (`clearance.trust.refresh/v1`) is in `docs/trust-publish-json.md`.
#[derive(Debug, Serialize)]
struct RefreshedView {
    schema: &'static str,
    repository: String,
    /// The roles this command signed (snapshot and timestamp last).
    resigned: Vec<String>,
    /// Why nothing was signed, when nothing was.
    note: Option<String>,
    /// Snapshot and timestamp as the server now serves them.
    snapshot: Option<ServedRole>,
    timestamp: Option<ServedRole>,
}

/// A role's version and expiry as served.
#[derive(Debug, Serialize)]
struct ServedRole {
    version: Version,
    expires: String,
}

impl ServedRole {
    fn of(common: &Common) -> ServedRole {
        ServedRole {
            version: common.version,
            expires: common.expires.to_string(),
        }
    }

    fn shown(role: &Option<ServedRole>) -> String {
        role.as_ref()
            .map(|r| format!("v{}, expires {}", r.version, r.expires))
            .unwrap_or_default()
    }
}

impl RefreshedView {
    fn render(&self, page: &mut Page) {
        page.field("Refreshed", &self.repository);
        match &self.note {
            Some(note) => page.field("Re-signed", note),
            None => page.field("Re-signed", self.resigned.join(", ")),
        }
        page.field("Snapshot", ServedRole::shown(&self.snapshot));
        page.field("Timestamp", ServedRole::shown(&self.timestamp));
    }
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// The image repository, e.g. registry.example.com/team/app.
    pub repository: String,
    /// Re-sign every role that expires within this many days (delegated
    /// roles too, when their keys are in the keystore).
    #[arg(long, default_value_t = 7)]
    pub within_days: u32,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub timeout: TimeoutArgs,
    #[command(flatten)]
    pub root: RootKeyArgs,
}

pub async fn run(args: RefreshArgs, format: Format) -> anyhow::Result<Exit> {
    let trust = args.trust.settings(args.timeout.timeout)?;
    let reference = repository_ref(&args.repository)?;
    let gun = gun(&reference)?;
    let publisher = trust.publisher(&gun)?;
    let mut repo = publisher.load(Bins::All).await?;
    let keystore = trust.keystore()?;
    let mut expiring = repo.expiring(args.within_days);
    // Only what this publisher can sign (review 9 #2: a delegate holds
    // only its role's key); what it cannot is named, not attempted.
    let holds = |role: TopRole| {
        (role == TopRole::Root && args.root.root_key.is_some())
            || repo
                .root
                .roles
                .get(&role)
                .is_some_and(|r| r.keyids.iter().any(|k| keystore.public(k).is_ok()))
    };
    let held: Vec<TopRole> = [TopRole::Root, TopRole::Targets]
        .into_iter()
        .filter(|r| holds(*r))
        .collect();
    let (changed, left_out) = repo.refresh_held(args.within_days, |r| held.contains(&r));
    for role in &left_out {
        // Root on a token: say how to name it (finding 14 #7).
        let token = if *role == TopRole::Root {
            "; a root key on a hardware token is named with --root-key pkcs11:token=LABEL;object=LABEL"
        } else {
            ""
        };
        crate::output::warning(format!(
            "{role} expires within {} days, but its keys are not held here ({}): skipped; whoever holds them re-signs it with `clearance trust refresh {gun}`{token}",
            args.within_days,
            keystore.dir().display()
        ));
    }
    expiring.retain(|r| !left_out.contains(r));
    // Delegated roles are re-signed by their own keys: those held here.
    let mut delegated = Vec::new();
    for role in repo.expiring_delegated(args.within_days) {
        if holds_delegated(&keystore, &repo, &role) {
            repo.resign_delegated(&role)?;
            delegated.push(role);
        } else {
            let expires = repo.delegated[&role].common.expires;
            crate::output::warning(format!(
                "{role} expires {expires}, and the keys that sign it are not in {}: whoever holds them re-signs it with `clearance trust refresh {gun}`",
                keystore.dir().display()
            ));
            expiring.retain(|r| *r != role);
        }
    }
    let server = publisher.server_signed(&repo, |k| keystore.public(k).is_ok());
    let snapshot_due = expiring.iter().any(|r| *r == TopRole::Snapshot);
    let timestamp_due = expiring.iter().any(|r| *r == TopRole::Timestamp);
    // What the publisher must sign: what is due (finding 14 #4: only that),
    // and snapshot and timestamp when what they list changed, where it
    // holds their keys (a trust service re-signs those it holds before
    // they expire, by itself: newcomer 4, 14).
    let work = changed != Changed::Nothing
        || !delegated.is_empty()
        || match server {
            ServerSigned::Neither => snapshot_due || timestamp_due,
            ServerSigned::Timestamp => snapshot_due,
            ServerSigned::SnapshotAndTimestamp => false,
        };
    // Only timestamp due: snapshot is not signed again.
    let changed = if changed == Changed::Nothing && delegated.is_empty() && !snapshot_due {
        Changed::TimestampOnly
    } else {
        changed
    };
    let mut resigned = Vec::new();
    let mut note = None;
    if work {
        // A wrong login shows before any key is unsealed.
        publisher.check_login().await?;
        let delegated = delegated
            .iter()
            .map(|role| Ok((role.clone(), delegated_keys(&keystore, &repo, role)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let root = match changed {
            Changed::RootAndTargets => Some(root_key(&args.root, &keystore, &repo, &gun)?),
            _ => None,
        };
        let targets = match changed {
            Changed::Nothing | Changed::TimestampOnly => None,
            _ => Some(role_key(&keystore, &repo, &gun, TopRole::Targets)?),
        };
        let online = match changed {
            // Only timestamp is signed: the snapshot key is not unsealed.
            Changed::TimestampOnly => OnlineKeys {
                snapshot: None,
                timestamp: (!server.signs(TopRole::Timestamp))
                    .then(|| role_key(&keystore, &repo, &gun, TopRole::Timestamp))
                    .transpose()?,
                server,
            },
            _ => online_keys(&publisher, &keystore, &repo)?,
        };
        let mut signers = RoleSigners {
            root: root.iter().map(|r| r.signer()).collect(),
            ..online.signers(targets.iter().map(|t| t as &dyn Signer).collect())
        };
        for (role, keys) in &delegated {
            signers.delegated.insert(
                role.clone(),
                keys.iter().map(|k| k as &dyn Signer).collect(),
            );
        }
        repo.name_repository(&gun); // written if root is re-signed
        let files = repo.publish(changed, &signers, false)?;
        publisher.publish_once(&files).await?;
        // Exactly what this command signed, in the order signed (snapshot
        // and timestamp last); the service signs what it holds.
        resigned = files.iter().map(|f| f.role.to_string()).collect();
    } else {
        let expired = repo.timestamp.common.expires <= UtcTime::now();
        note = Some(match server {
            // The service should have re-signed it: say so, not "nothing to
            // re-sign" (finding 14 #9).
            ServerSigned::Neither => format!(
                "nothing to re-sign: nothing expires within {} days",
                args.within_days
            ),
            _ if expired => format!(
                "nothing this publisher can sign, but the timestamp expired at {}: the trust service holds its key and re-signs it before it expires, so it has not been doing so: check that the service is running and its log",
                repo.timestamp.common.expires
            ),
            ServerSigned::SnapshotAndTimestamp => {
                "nothing to re-sign: the service holds snapshot and timestamp (and re-signs them before they expire)".to_owned()
            }
            _ => {
                "nothing to re-sign: the service holds timestamp (and re-signs it before it expires)".to_owned()
            }
        });
    }
    // What consumers are served now, as they would read it.
    let (snapshot, timestamp) = served(&trust, &gun).await?;
    let view = RefreshedView {
        schema: SCHEMA,
        repository: gun.to_string(),
        resigned,
        note,
        snapshot,
        timestamp,
    };
    show(format, &view, RefreshedView::render)?;
    Ok(Exit::Ok)
}

/// The snapshot and timestamp the server now serves, read through a
/// client from the pinned root (expired metadata shown, not refused: it is
/// what a refresh is for).
async fn served(
    trust: &TrustSettings,
    gun: &Gun,
) -> anyhow::Result<(Option<ServedRole>, Option<ServedRole>)> {
    let settings = UpdaterSettings {
        expiration: Expiration::NotEnforcedToRepublish,
        ..UpdaterSettings::default()
    };
    let mut updater = Updater::new(
        trust.client_store(gun)?,
        trust.transport()?,
        &trust.metadata_url(gun),
        settings,
    )?
    .bind_repository(gun)?;
    updater
        .refresh()
        .await
        .context("reading what the trust server now serves")?;
    let trusted = updater.trusted();
    Ok((
        trusted.snapshot().map(|s| ServedRole::of(&s.signed.common)),
        trusted
            .timestamp()
            .map(|t| ServedRole::of(&t.signed.common)),
    ))
}
