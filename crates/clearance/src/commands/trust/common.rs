//! What the trust commands share: the trust flags as given ([`TrustArgs`],
//! what clap parses) and, converted once, checked ([`TrustSettings`]: where
//! keys and trusted metadata live, the trust server and how it is reached).
//! The publish cycle itself is `clearance_trust::repository`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use clearance_oci::RegistryRef;
use clearance_oci::registry::Credential;
use clearance_trust::client::{DirStore, HttpTransport, ServerAddress, Updater, UpdaterSettings};
use clearance_trust::keystore::Keystore;
use clearance_trust::publish::{Days, Expiries};
use clearance_trust::repository::{Publisher, Remote};
use clearance_trust::schema::RoleNameError;
use clearance_trust::{Gun, RoleName, TopRole};

use crate::cli::Format;
use crate::output::Page;

/// `--timeout` for the trust commands that read no registry: how long the
/// trust server may take to connect and to answer. Those that read a
/// registry too (`sign`, `verify`) take the registry's `--timeout`, which
/// bounds the trust server the same way. The trust client does not retry
/// (`--retries` is the registry client's alone).
#[derive(Debug, Clone, Args)]
pub struct TimeoutArgs {
    /// Connect timeout and longest wait for the trust server's answer, in
    /// seconds (1 to 86400).
    #[arg(long, default_value_t = 30, value_parser = crate::cli::timeout_seconds)]
    pub timeout: u64,
}

/// The trust flags, as close to the command line as they come: read only
/// by [`TrustArgs::settings`].
#[derive(Debug, Clone, Args)]
pub struct TrustArgs {
    /// The trust server: http(s)://HOST[:PORT] of `clearance serve --trust`
    /// (or of a Notary-compatible server), or file:///DIR for a repository
    /// kept in a directory.
    #[arg(long, env = "CLEARANCE_TRUST_SERVER", value_name = "URL")]
    pub server: ServerAddress,
    #[command(flatten)]
    pub client: TrustClientArgs,
}

/// The trust flags of a command that can also do without content trust
/// (`db push --no-sign`, `db pull --insecure-skip-trust`): the server is
/// optional, and [`OptionalTrustArgs::trust`] is what a trust command takes.
#[derive(Debug, Clone, Args)]
pub struct OptionalTrustArgs {
    /// The trust server: http(s)://HOST[:PORT] of `clearance serve --trust`,
    /// or file:///DIR for a repository kept in a directory.
    #[arg(long, env = "CLEARANCE_TRUST_SERVER", value_name = "URL")]
    pub server: Option<ServerAddress>,
    #[command(flatten)]
    pub client: TrustClientArgs,
}

impl OptionalTrustArgs {
    /// The trust flags, if a server was named.
    pub fn trust(&self) -> Option<TrustArgs> {
        self.server.clone().map(|server| TrustArgs {
            server,
            client: self.client.clone(),
        })
    }
}

/// How the trust client reaches the server and where it keeps what it
/// trusts (the trust flags besides `--server`).
#[derive(Debug, Clone, Args)]
pub struct TrustClientArgs {
    /// Clearance's own directory (keys, trusted metadata).
    #[arg(long, env = "CLEARANCE_HOME")]
    pub home: Option<PathBuf>,
    /// Login for the trust server's token service, USER:PASSWORD.
    #[arg(long, env = "CLEARANCE_TRUST_CREDS", hide_env_values = true)]
    pub trust_creds: Option<String>,
    /// Extra PEM CA certificates for the trust server (registries take
    /// theirs from --ca-file; neither stands in for the other).
    #[arg(long, env = "CLEARANCE_TRUST_CA_FILE")]
    pub trust_ca_file: Option<PathBuf>,
    /// Allow plain HTTP to this trust server host (repeatable; loopback hosts
    /// always may). A login is never sent over plain HTTP off loopback.
    #[arg(long = "insecure-trust-server", value_name = "HOST[:PORT]")]
    pub insecure_trust_servers: Vec<String>,
}

/// The trust flags checked and converted, once, at the start of a command:
/// every trust command reads these, never the flags.
#[derive(Debug, Clone)]
pub struct TrustSettings {
    /// The trust service, or the directory of a file:// repository.
    pub server: ServerAddress,
    /// Clearance's own directory: `--home`, else `~/.clearance`.
    pub home: PathBuf,
    /// The login for the trust server's token service.
    pub credential: Option<Credential>,
    /// PEM CA certificates trusted for the trust server, besides the
    /// system's. Only `--trust-ca-file` sets it: the registry's `--ca-file`
    /// is the registry client's alone.
    pub trust_ca: Option<PathBuf>,
    /// Hosts allowed plain HTTP besides loopback (without a login).
    pub insecure: Vec<String>,
    /// Connect timeout and longest wait for an answer (`--timeout`).
    pub timeout: std::time::Duration,
}

impl TrustArgs {
    /// Check and convert the flags: the login is USER:PASSWORD, the home
    /// directory is known, and a `file://` repository's directory exists
    /// (a missing one is a usage error, exit 2: review 9 #9).
    pub fn settings(&self, timeout: u64) -> anyhow::Result<TrustSettings> {
        if let ServerAddress::Directory(dir) = &self.server
            && !dir.is_dir()
        {
            bail!(
                "the trust server {} names a directory that does not exist: check --server (or CLEARANCE_TRUST_SERVER); `clearance trust init` makes a new repository there",
                self.server
            );
        }
        self.settings_to_create(timeout)
    }

    /// As [`TrustArgs::settings`], for `trust init`, which may make a
    /// `file://` repository's directory.
    pub fn settings_to_create(&self, timeout: u64) -> anyhow::Result<TrustSettings> {
        let credential = self
            .client
            .trust_creds
            .as_deref()
            .map(|c| {
                // Name where the login came from (review 9 #10): the
                // variable is set once and forgotten, the flag is seen.
                let from_env = std::env::var_os("CLEARANCE_TRUST_CREDS").is_some_and(|v| v == c);
                Credential::parse_user_pass(c).with_context(|| {
                    if from_env {
                        "CLEARANCE_TRUST_CREDS (the trust server login) must be USER:PASSWORD"
                    } else {
                        "--trust-creds takes USER:PASSWORD"
                    }
                })
            })
            .transpose()?;
        Ok(TrustSettings {
            server: self.server.clone(),
            home: home_dir(self.client.home.as_deref())?,
            credential,
            trust_ca: self.client.trust_ca_file.clone(),
            insecure: self.client.insecure_trust_servers.clone(),
            timeout: std::time::Duration::from_secs(timeout),
        })
    }
}

impl TrustSettings {
    /// The keystore (`trust/private` under the home directory).
    pub fn keystore(&self) -> anyhow::Result<Keystore> {
        keystore_in(&self.home)
    }

    /// The client's trusted metadata for one repository
    /// (`trust/tuf/<quoted GUN>` under the home directory).
    pub fn client_store(&self, gun: &Gun) -> anyhow::Result<DirStore> {
        let dir = self
            .home
            .join("trust/tuf")
            .join(clearance_trust::client::quote(gun.as_str()));
        DirStore::new(&dir).with_context(|| format!("creating {}", dir.display()))
    }

    /// The URL of `gun`'s metadata on the trust server.
    pub fn metadata_url(&self, gun: &Gun) -> String {
        self.server.metadata_url(gun)
    }

    /// HTTP to the trust server, with its login and its CA.
    pub fn transport(&self) -> anyhow::Result<HttpTransport> {
        Ok(HttpTransport::allowing_http(
            self.timeout,
            self.trust_ca.as_deref(),
            self.insecure.clone(),
        )?
        .with_credential(self.credential.clone()))
    }

    /// The repository store the server names: a trust service or a
    /// file:// directory.
    pub fn store(&self) -> anyhow::Result<Remote> {
        Ok(Remote::new(&self.server, self.transport()?))
    }

    /// `gun` as its publisher edits it: the store, the root pinned here,
    /// and the lifetimes chosen at `trust init` ([`TrustSettings::lifetimes`]).
    pub fn publisher(&self, gun: &Gun) -> anyhow::Result<Publisher> {
        Ok(
            Publisher::new(self.store()?, gun.clone(), self.client_store(gun)?)
                .with_expiries(self.lifetimes(gun)?),
        )
    }

    /// Where the lifetimes chosen at `trust init` for `gun` are kept:
    /// `trust/lifetimes/<quoted GUN>.json` under the home directory.
    pub fn lifetimes_file(&self, gun: &Gun) -> PathBuf {
        self.home.join("trust/lifetimes").join(format!(
            "{}.json",
            clearance_trust::client::quote(gun.as_str())
        ))
    }

    /// The lifetimes each role is signed with: those chosen at `trust init`
    /// here, else Notary's defaults. TUF metadata records when a role
    /// expires, not when it was signed, so the lifetime chosen cannot be
    /// read back from the metadata: it is kept beside the keys.
    pub fn lifetimes(&self, gun: &Gun) -> anyhow::Result<Expiries> {
        let path = self.lifetimes_file(gun);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Expiries::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let bad = || {
            format!(
                "{} is not the lifetimes `clearance trust init` wrote ({{\"root_days\": N, \"targets_days\": N, \"snapshot_days\": N, \"timestamp_days\": N}}); fix it, or remove it to sign with the default lifetimes",
                path.display()
            )
        };
        let value: serde_json::Value = serde_json::from_slice(&text).with_context(bad)?;
        let days = |key: &str| -> anyhow::Result<Days> {
            let n = value
                .get(key)
                .and_then(serde_json::Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .with_context(bad)?;
            Days::new(n).with_context(bad)
        };
        Ok(Expiries {
            root_days: days("root_days")?,
            targets_days: days("targets_days")?,
            snapshot_days: days("snapshot_days")?,
            timestamp_days: days("timestamp_days")?,
        })
    }

    /// Keep `expiries` as `gun`'s lifetimes ([`TrustSettings::lifetimes`]).
    pub fn save_lifetimes(&self, gun: &Gun, expiries: &Expiries) -> anyhow::Result<()> {
        let path = self.lifetimes_file(gun);
        let text = serde_json::json!({
            "root_days": expiries.root_days.get(),
            "targets_days": expiries.targets_days.get(),
            "snapshot_days": expiries.snapshot_days.get(),
            "timestamp_days": expiries.timestamp_days.get(),
        });
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, format!("{text:#}\n"))
            .with_context(|| format!("writing {}", path.display()))
    }

    /// A TUF client for `gun`, starting from the trusted metadata in `store`.
    pub fn updater(&self, gun: &Gun, store: DirStore) -> anyhow::Result<Updater<HttpTransport>> {
        Ok(Updater::new(
            store,
            self.transport()?,
            &self.metadata_url(gun),
            UpdaterSettings::default(),
        )?
        .bind_repository(gun)?)
    }
}

/// Clearance's own directory: `--home`, else `~/.clearance`.
pub fn home_dir(home: Option<&Path>) -> anyhow::Result<PathBuf> {
    match home {
        Some(h) => Ok(h.to_owned()),
        None => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".clearance"))
            .context("no home directory: set CLEARANCE_HOME or pass --home"),
    }
}

/// The keystore under a home directory (`trust/private`). Key files that
/// others may read are warned about, once per command (review 9 #4).
pub fn keystore_in(home: &Path) -> anyhow::Result<Keystore> {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let dir = home.join("trust/private");
    let keystore = Keystore::open(&dir)
        .with_context(|| format!("opening the keystore at {}", dir.display()))?;
    let exposed = keystore.exposed();
    if !exposed.is_empty() && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        let files: Vec<String> = exposed
            .iter()
            .map(|(path, mode)| format!("{} (mode {mode:03o})", path.display()))
            .collect();
        crate::output::warning(format!(
            "key files that others may read: {}; they are sealed, but anyone who can read one may guess its passphrase offline: chmod 600 them",
            files.join(", ")
        ));
    }
    Ok(keystore)
}

/// The repository name (GUN) for a reference: `registry/repository`.
pub fn gun(reference: &RegistryRef) -> anyhow::Result<Gun> {
    Ok(Gun::of(reference)?)
}

/// Parses a top-level role name on the command line, listing the four as
/// its possible values (in `--help` and in the error).
pub fn top_role_parser() -> impl clap::builder::TypedValueParser<Value = TopRole> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(TopRole::ALL.map(TopRole::name))
        .try_map(|name| name.parse::<TopRole>())
}

/// Parses a role name on the command line as a checked [`RoleName`]: any
/// name a repository may hold (`RoleNameParser::ANY`), or one for a role
/// about to be made (`RoleNameParser::NEW_DELEGATION`). A
/// refused name is shown escaped (clap's own message would echo it raw,
/// control characters and all, to the terminal).
#[derive(Debug, Clone, Copy)]
pub struct RoleNameParser(fn(&str) -> Result<RoleName, RoleNameError>);

impl RoleNameParser {
    /// Any role name a repository may hold (`trust sign --role`, `trust
    /// delegate remove`): what another TUF tool named its roles too.
    pub const ANY: RoleNameParser = RoleNameParser(RoleName::new);
    /// The name of a delegation `trust delegate add` makes:
    /// [`RoleName::new_delegation`].
    pub const NEW_DELEGATION: RoleNameParser = RoleNameParser(RoleName::new_delegation);
    /// What a key is for (`trust key generate | import --role`): a
    /// top-level role, or a delegation's name as `delegate add` takes it,
    /// so no two roles share a passphrase variable (review 9 #11).
    pub const KEY_ROLE: RoleNameParser = RoleNameParser(|name| match name.parse::<TopRole>() {
        Ok(top) => Ok(top.role()),
        Err(_) => RoleName::new_delegation(name),
    });
}

impl clap::builder::TypedValueParser for RoleNameParser {
    type Value = RoleName;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<RoleName, clap::Error> {
        let name = arg.map(ToString::to_string).unwrap_or_default();
        let refuse = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for {name}: {why}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| refuse(format!("{value:?} is not UTF-8")))?;
        (self.0)(text).map_err(|e| refuse(e.to_string()))
    }
}

/// A registry reference from `IMAGE:TAG` or `docker://IMAGE:TAG`.
pub fn registry_ref(image: &str) -> anyhow::Result<RegistryRef> {
    match image.parse::<clearance_oci::ImageRef>()? {
        clearance_oci::ImageRef::Registry(r) => Ok(r),
        other => bail!("{other} is not in a registry; content trust covers registry images"),
    }
}

/// A repository named on the command line: `HOST/REPO` or
/// `docker://HOST/REPO` (as `trust verify` takes images), without a tag or
/// digest: `trust init REPO:TAG` is refused, not silently stripped (finding
/// 14 #10), and so is a layout or archive (trust covers registries).
pub fn repository_ref(text: &str) -> anyhow::Result<RegistryRef> {
    let bare = text.strip_prefix("docker://").unwrap_or(text);
    let reference = match bare.parse::<clearance_oci::ImageRef>()? {
        clearance_oci::ImageRef::Registry(_) => RegistryRef::parse(bare)?,
        other => bail!(
            "{other} is not in a registry: content trust needs a registry repository, HOST/REPO (e.g. registry.example.com/team/app)"
        ),
    };
    // Parsing reads a bare name as `:latest`: a tag is looked for as
    // written, after the last `/` (a registry's :PORT comes before it).
    let last = bare.rsplit_once('/').map_or(bare, |(_, last)| last);
    if last.contains(':') || bare.contains('@') {
        bail!(
            "{text} names an image; give a repository, not an image: HOST/REPO without :TAG or @sha256:… (the repository's trust data covers all its tags)"
        );
    }
    Ok(reference)
}

/// A command whose only output is not a result refuses `--format json`
/// (exit 2) rather than ignore it.
pub fn refuse_json(format: Format, command: &str, why: &str) -> anyhow::Result<()> {
    match format {
        Format::Table | Format::Cyclonedx | Format::Spdx | Format::Sarif => Ok(()),
        Format::Json => {
            bail!("`clearance {command}` has no JSON output ({why}); leave out --format json")
        }
    }
}

/// Print a command's result: `view` as JSON (it carries its `schema`), or
/// as a page `table` renders.
pub fn show<V: serde::Serialize>(
    format: Format,
    view: &V,
    table: impl FnOnce(&V, &mut Page),
) -> anyhow::Result<()> {
    let mut page = Page::default();
    match format {
        Format::Json => page.json(view)?,
        Format::Table | Format::Cyclonedx | Format::Spdx | Format::Sarif => table(view, &mut page),
    }
    page.emit()?;
    Ok(())
}
