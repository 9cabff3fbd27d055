//! `clearance serve --trust`: the trust service, with its token endpoint.
//!
//! Settings come from a TOML file (`--config`, every key optional) and are
//! overridden by flags (`config.rs`). Authentication is on unless
//! `--no-auth` asks for it off, which only a loopback address allows; plain
//! HTTP is served only on loopback or when told a TLS proxy fronts the
//! service.

pub mod admission;
mod config;
mod tls;

use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use clearance_auth::{BearerGuard, TokenIssuer, TokenKey, TokenService, Users, token_router};
use clearance_trust::server::{MasterKey, Store, TrustService};

use self::config::{AuthSettings, Authentication, DatabaseArg, Settings};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Run the trust service (TUF metadata for signed tags).
    #[arg(long)]
    pub trust: bool,
    /// Run the Kubernetes admission webhooks (validating and mutating,
    /// HTTPS; `clearance admission manifests` prints their configuration).
    #[arg(long, conflicts_with = "trust")]
    pub admission: bool,
    /// A TOML configuration file (see docs/serve.md).
    #[arg(long, env = "CLEARANCE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Metadata database: sqlite:///PATH (the default, under --data-dir) or
    /// postgres://USER:PASSWORD@HOST/DB (percent-encode / ? # @ in the password).
    #[arg(long, env = "CLEARANCE_DATABASE_URL", hide_env_values = true)]
    pub database: Option<DatabaseArg>,
    /// Where the service keeps its database, master key and token key
    /// (made mode 0700).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Users allowed to sign in: an htpasswd file of bcrypt or argon2 hashes.
    /// What they may do is set by access rules in --config.
    #[arg(long)]
    pub users: Option<PathBuf>,
    /// Serve without authentication: anyone who reaches the service may
    /// publish. Only on a loopback address, and never with --users or [auth].
    #[arg(long, conflicts_with = "users")]
    pub no_auth: bool,
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
    #[command(flatten)]
    pub admission_args: admission::AdmissionArgs,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<Exit> {
    if args.admission {
        return run_admission(&args).await;
    }
    if !args.trust {
        bail!("say what to serve: clearance serve --trust, or --admission");
    }
    let settings = Settings::new(&args)?;
    private_dir(&settings.data_dir)?;
    let store = Store::connect(&settings.database).await?;
    // Test builds only (clearance-trust's `test-hooks`): a crash mid-publish,
    // a clock standing at a set time. Production builds: nothing, the system clock.
    clearance_trust::test_hooks::arm_store(&store)?;
    let clock = clearance_trust::test_hooks::clock()?;
    let master = MasterKey::load_or_create(&settings.data_dir.join("trust-master.key"))?;
    let acceptor = match &settings.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let auth = match &settings.auth {
        Authentication::Tokens(auth) => Some((auth, token_service(auth, &settings.data_dir)?)),
        Authentication::Off => None,
    };

    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    let local = listener.local_addr()?;
    let guard = auth.as_ref().map(|(auth, tokens)| {
        let realm = auth
            .realm
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{local}/token"));
        BearerGuard::new(
            tokens.issuer.verifier(),
            auth.access.clone(),
            realm,
            auth.service.clone(),
        )
    });
    if guard.is_none() {
        tracing::warn!(
            "--no-auth: serving without authentication; anyone who can reach {local} may publish"
        );
    }
    let service =
        Arc::new(TrustService::new(store, master, settings.lifetimes, guard).with_clock(clock));
    let mut app = clearance_trust::server::router(service.clone());
    if let Some((_, tokens)) = auth {
        app = app.merge(token_router(Arc::new(tokens)));
    }

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let resigner = tokio::spawn(resign_loop(
        service.clone(),
        settings.resign_before,
        settings.resign_every,
        shutdown_rx.clone(),
    ));
    tracing::info!(%local, database = %settings.database, "trust service listening");
    if args.print_address {
        println!("listening on {local}");
    }
    eprintln!(
        "clearance trust service on {scheme}://{local} (database {})",
        settings.database
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

/// `--admission`: the webhooks, over HTTPS only (the API server calls
/// nothing else), on 127.0.0.1:8443 unless `--listen` says otherwise.
async fn run_admission(args: &ServeArgs) -> anyhow::Result<Exit> {
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        bail!(
            "--admission serves HTTPS only (the API server calls nothing else): pass --tls-cert and --tls-key, whose certificate names the webhook's Service (clearance admission manifests prints the configuration)"
        );
    };
    let acceptor = tls::acceptor(cert, key)?;
    let app = admission::router(&args.admission_args).await?;
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8443)));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let local = listener.local_addr()?;
    if args.print_address {
        println!("listening on {local}");
    }
    eprintln!("clearance admission webhooks on https://{local} (/validate, /mutate)");
    tls::serve(listener, acceptor, app, shutdown_signal()).await?;
    Ok(Exit::Ok)
}

/// The token endpoint: its users, rules and signing key. Warns about rules
/// that let nobody do anything, or anyone push.
fn token_service(auth: &AuthSettings, data_dir: &Path) -> anyhow::Result<TokenService> {
    let users = Users::load(&auth.users)?;
    for warning in auth.access.warnings(&users) {
        tracing::warn!("{warning}");
    }
    let key_path = auth
        .token_key
        .clone()
        .unwrap_or_else(|| data_dir.join("token-key.p8"));
    let key = TokenKey::load_or_create(&key_path)?;
    let issuer = TokenIssuer::new(key, "clearance", auth.service.clone(), auth.token_ttl);
    Ok(TokenService {
        users,
        rules: auth.access.clone(),
        issuer,
    })
}

/// Make the data directory (mode 0700) if missing; warn when an existing
/// one is open to group or others.
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let mode = std::fs::metadata(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            "{} is open to group or others (mode {:o}); `chmod 700` it",
            dir.display(),
            mode & 0o777
        );
    }
    Ok(())
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
