//! What the trust commands share: where keys and trusted metadata live, and
//! the trust server (the publish cycle itself is `clearance_trust::
//! repository`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use clearance_oci::RegistryRef;
use clearance_oci::registry::Credential;
use clearance_trust::client::{DirStore, HttpTransport, ServerAddress, Updater, UpdaterSettings};
use clearance_trust::keystore::Keystore;
use clearance_trust::repository::{Publisher, Remote};
use clearance_trust::{Gun, TopRole};

/// Where trust data lives.
#[derive(Debug, Clone, Args)]
pub struct TrustArgs {
    /// The trust server: http(s)://HOST[:PORT] of `clearance serve --trust`
    /// (or of a Notary-compatible server), or file:///DIR for a repository
    /// kept in a directory.
    #[arg(long, env = "CLEARANCE_TRUST_SERVER", value_name = "URL")]
    pub server: ServerAddress,
    /// Clearance's own directory (keys, trusted metadata).
    #[arg(long, env = "CLEARANCE_HOME")]
    pub home: Option<PathBuf>,
    /// Login for the trust server's token service, USER:PASSWORD.
    #[arg(long, env = "CLEARANCE_TRUST_CREDS", hide_env_values = true)]
    pub trust_creds: Option<String>,
    /// Extra PEM CA certificates for the trust server.
    #[arg(long, env = "CLEARANCE_TRUST_CA_FILE")]
    pub trust_ca_file: Option<PathBuf>,
    /// Allow plain HTTP to this trust server host (repeatable; loopback hosts
    /// always may). A login is never sent over plain HTTP off loopback.
    #[arg(long = "insecure-trust-server", value_name = "HOST[:PORT]")]
    pub insecure_trust_servers: Vec<String>,
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

/// The keystore under a home directory (`trust/private`).
pub fn keystore_in(home: Option<&Path>) -> anyhow::Result<Keystore> {
    let dir = home_dir(home)?.join("trust/private");
    Keystore::open(&dir).with_context(|| format!("opening the keystore at {}", dir.display()))
}

impl TrustArgs {
    pub fn home(&self) -> anyhow::Result<PathBuf> {
        home_dir(self.home.as_deref())
    }

    pub fn keystore(&self) -> anyhow::Result<Keystore> {
        keystore_in(self.home.as_deref())
    }

    /// The client's trusted metadata for one repository.
    pub fn client_store(&self, gun: &Gun) -> anyhow::Result<DirStore> {
        let dir = self
            .home()?
            .join("trust/tuf")
            .join(clearance_trust::client::quote(gun.as_str()));
        DirStore::new(&dir).with_context(|| format!("creating {}", dir.display()))
    }

    pub fn metadata_url(&self, gun: &Gun) -> String {
        self.server.metadata_url(gun)
    }

    /// HTTP to the trust server, with its login and CA.
    pub fn transport(&self, extra_ca: Option<&std::path::Path>) -> anyhow::Result<HttpTransport> {
        let credential = match &self.trust_creds {
            Some(c) => {
                Some(Credential::parse_user_pass(c).context("--trust-creds takes USER:PASSWORD")?)
            }
            None => None,
        };
        let ca = extra_ca.or(self.trust_ca_file.as_deref());
        Ok(HttpTransport::allowing_http(
            std::time::Duration::from_secs(30),
            ca,
            self.insecure_trust_servers.clone(),
        )?
        .with_credential(credential))
    }

    /// The repository store the server names: a trust service or a
    /// file:// directory.
    pub fn store(&self) -> anyhow::Result<Remote> {
        Ok(Remote::new(&self.server, self.transport(None)?))
    }

    /// `gun` as its publisher edits it: the store, and the root pinned here.
    pub fn publisher(&self, gun: &Gun) -> anyhow::Result<Publisher> {
        Ok(Publisher::new(
            self.store()?,
            gun.clone(),
            self.client_store(gun)?,
        ))
    }

    /// A TUF client for `gun`, starting from the trusted metadata in `store`.
    pub fn updater(
        &self,
        gun: &Gun,
        store: DirStore,
        extra_ca: Option<&std::path::Path>,
    ) -> anyhow::Result<Updater<HttpTransport>> {
        Ok(Updater::new(
            store,
            self.transport(extra_ca)?,
            &self.metadata_url(gun),
            UpdaterSettings::default(),
        )?
        .bind_repository(gun)?)
    }
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

/// A registry reference from `IMAGE:TAG` or `docker://IMAGE:TAG`.
pub fn registry_ref(image: &str) -> anyhow::Result<RegistryRef> {
    match image.parse::<clearance_oci::ImageRef>()? {
        clearance_oci::ImageRef::Registry(r) => Ok(r),
        other => bail!("{other} is not in a registry; content trust covers registry images"),
    }
}
