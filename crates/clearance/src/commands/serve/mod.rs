//! `clearance serve --trust`: the trust service, with its token endpoint.
//!
//! Settings come from a TOML file (`--config`, every key optional) and are
//! overridden by flags. Without a users file the service runs without
//! authentication, which it allows only on a loopback address; and it
//! serves plain HTTP only on loopback or when told it sits behind a TLS proxy.

mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use clearance_auth::{
    AccessRules, BearerGuard, TokenIssuer, TokenKey, TokenService, Users, token_router,
};
use clearance_trust::server::{Lifetimes, MasterKey, Store, TrustService, redact};
use serde::Deserialize;

use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Run the trust service (TUF metadata for signed tags).
    #[arg(long)]
    pub trust: bool,
    /// A TOML configuration file (see docs/serve.md).
    #[arg(long, env = "CLEARANCE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Metadata database: sqlite:///PATH (the default, under --data-dir) or
    /// postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "CLEARANCE_DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
    /// Where the service keeps its database, master key and token key.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Users allowed to sign in: an htpasswd file of bcrypt or argon2 hashes.
    #[arg(long)]
    pub users: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (leaf first).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address because a TLS proxy in
    /// front of the service terminates TLS.
    #[arg(long)]
    pub plain_http_behind_proxy: bool,
    /// Print the address once listening, as `listening on ADDR` on stdout.
    #[arg(long, hide = true)]
    pub print_address: bool,
}

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    trust: TrustConfig,
    #[serde(default)]
    auth: AuthConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustConfig {
    listen: Option<SocketAddr>,
    database: Option<String>,
    data_dir: Option<PathBuf>,
    /// How long the timestamps the service signs last ("14d", "12h", "90s").
    timestamp_expiry: Option<String>,
    /// How long the snapshots the service signs last.
    snapshot_expiry: Option<String>,
    /// Re-sign a timestamp when it has less than this left.
    resign_before: Option<String>,
    /// How often to look for timestamps to re-sign.
    resign_interval: Option<String>,
    /// HTTPS: a PEM certificate chain and its key.
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    /// Where plain HTTP is allowed (without tls_cert).
    #[serde(default)]
    plain_http: PlainHttp,
}

/// Where the service may speak plain HTTP: passwords and tokens cross it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum PlainHttp {
    #[default]
    LoopbackOnly,
    /// A TLS proxy in front terminates TLS; any address.
    BehindProxy,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthConfig {
    users: Option<PathBuf>,
    /// The ES256 key that signs tokens (PKCS#8, made when missing).
    token_key: Option<PathBuf>,
    /// How long tokens last.
    token_ttl: Option<String>,
    /// The token endpoint URL clients are sent to (default: this server's /token).
    realm: Option<String>,
    /// The service name in tokens.
    service: Option<String>,
    #[serde(default)]
    access: AccessRules,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<Exit> {
    if !args.trust {
        bail!("say what to serve: clearance serve --trust");
    }
    let config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str::<Config>(&text)
                .with_context(|| format!("{} is not a valid configuration", path.display()))?
        }
        None => Config::default(),
    };
    let listen = args
        .listen
        .or(config.trust.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4443)));
    let data_dir = match args.data_dir.clone().or(config.trust.data_dir.clone()) {
        Some(d) => d,
        None => default_data_dir()?,
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let database = args
        .database
        .clone()
        .or(config.trust.database.clone())
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("trust.db").display()));
    let store = Store::open(&database).await?;
    let master = MasterKey::load_or_create(&data_dir.join("trust-master.key"))?;
    let lifetimes = Lifetimes {
        timestamp_secs: seconds(config.trust.timestamp_expiry.as_deref(), 14 * 86_400)?,
        snapshot_secs: seconds(config.trust.snapshot_expiry.as_deref(), 3 * 365 * 86_400)?,
    };
    let resign_before = seconds(
        config.trust.resign_before.as_deref(),
        lifetimes.timestamp_secs / 2,
    )?;
    let resign_every = seconds(config.trust.resign_interval.as_deref(), 3600)?;
    let acceptor = match (
        args.tls_cert.as_ref().or(config.trust.tls_cert.as_ref()),
        args.tls_key.as_ref().or(config.trust.tls_key.as_ref()),
    ) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        (None, None) => None,
        _ => bail!("HTTPS needs both tls_cert and tls_key"),
    };
    let plain_http = if args.plain_http_behind_proxy {
        PlainHttp::BehindProxy
    } else {
        config.trust.plain_http
    };
    if acceptor.is_none() && !listen.ip().is_loopback() && plain_http != PlainHttp::BehindProxy {
        bail!(
            "serving plain HTTP on {listen} is refused (logins and tokens would cross the network in clear): \
             pass --tls-cert and --tls-key, or --plain-http-behind-proxy if a TLS proxy fronts the service, or listen on 127.0.0.1"
        );
    }
    let scheme = if acceptor.is_some() { "https" } else { "http" };

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let local = listener.local_addr()?;
    let users_file = args.users.clone().or(config.auth.users.clone());
    let (guard, tokens) = match &users_file {
        Some(path) => {
            let realm = format!("{scheme}://{local}/token");
            let (guard, tokens) = auth(&config.auth, path, &data_dir, realm)?;
            (Some(guard), Some(tokens))
        }
        None if local.ip().is_loopback() => {
            tracing::warn!("no users file: serving without authentication (loopback only)");
            (None, None)
        }
        None => bail!(
            "serving on {local} without authentication is refused; pass --users FILE (an htpasswd file), or listen on 127.0.0.1"
        ),
    };
    let service = Arc::new(TrustService::new(store, master, lifetimes, guard));
    let mut app = clearance_trust::server::router(service.clone());
    if let Some(tokens) = tokens {
        app = app.merge(token_router(Arc::new(tokens)));
    }

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let resigner = tokio::spawn(resign_loop(
        service.clone(),
        resign_before,
        Duration::from_secs(resign_every.max(1) as u64),
        shutdown_rx.clone(),
    ));
    tracing::info!(%local, database = %redact(&database), "trust service listening");
    if args.print_address {
        println!("listening on {local}");
    }
    eprintln!(
        "clearance trust service on {scheme}://{local} (database {})",
        redact(&database)
    );
    let mut stop = shutdown_rx.clone();
    let shutdown = async move {
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = stop.changed() => {}
        }
    };
    match acceptor {
        Some(acceptor) => tls::serve(listener, acceptor, app, shutdown).await?,
        None => axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving")?,
    }
    let _ = shutdown_tx.send(true);
    let _ = resigner.await;
    Ok(Exit::Ok)
}

/// The guard for the service's routes and the token endpoint beside them.
fn auth(
    config: &AuthConfig,
    users: &Path,
    data_dir: &Path,
    default_realm: String,
) -> anyhow::Result<(BearerGuard, TokenService)> {
    let users = Users::load(users)?;
    let key_path = config
        .token_key
        .clone()
        .unwrap_or_else(|| data_dir.join("token-key.p8"));
    let key = TokenKey::load_or_create(&key_path)?;
    let service = config.service.clone().unwrap_or_else(|| "clearance".into());
    let realm = config.realm.clone().unwrap_or(default_realm);
    let ttl = Duration::from_secs(seconds(config.token_ttl.as_deref(), 300)? as u64);
    let issuer = TokenIssuer::new(key, "clearance", service.clone(), ttl);
    let guard = BearerGuard::new(issuer.verifier(), config.access.clone(), realm, service);
    let tokens = TokenService {
        users,
        rules: config.access.clone(),
        issuer,
    };
    Ok((guard, tokens))
}

/// Re-sign timestamps before they expire, until shutdown.
async fn resign_loop(
    service: Arc<TrustService>,
    before: i64,
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match service.resign_due(before).await {
            Ok(done) if !done.is_empty() => tracing::info!(?done, "re-signed timestamps"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "looking for timestamps to re-sign"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("CLEARANCE_HOME") {
        return Ok(PathBuf::from(home).join("serve"));
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".clearance/serve"))
        .context("no home directory: pass --data-dir")
}

/// "14d", "12h", "30m", "90s" or plain seconds.
fn seconds(text: Option<&str>, default: i64) -> anyhow::Result<i64> {
    let Some(text) = text else {
        return Ok(default);
    };
    let t = text.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, "s"),
    };
    let n: i64 = number
        .parse()
        .with_context(|| format!("{text:?} is not a duration like 14d, 12h, 30m or 90s"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("{text:?} is not a duration like 14d, 12h, 30m or 90s"),
    };
    n.checked_mul(scale)
        .filter(|s| *s > 0)
        .with_context(|| format!("{text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_with_units() {
        assert_eq!(super::seconds(Some("14d"), 0).unwrap(), 14 * 86_400);
        assert_eq!(super::seconds(Some("90"), 0).unwrap(), 90);
        assert_eq!(super::seconds(None, 7).unwrap(), 7);
        assert!(super::seconds(Some("3w"), 0).is_err());
        assert!(super::seconds(Some("0s"), 0).is_err());
    }
}
