//! The configuration file (`--config`, every key optional) and the flags
//! that override it, checked and turned into the [`Settings`] the service
//! runs with. Every value is checked, used or not; and authentication is
//! switched off only by `--no-auth`, never by a missing users file.

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clearance_auth::AccessRules;
use clearance_trust::server::{DatabaseUrl, Lifetimes, redact};
use serde::Deserialize;

use super::ServeArgs;

/// How long tokens last unless `token_ttl` says otherwise.
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(300);

/// A database URL as the user gave it, shown only through [`redact`] (it
/// may hold a password). Checked into a [`DatabaseUrl`] by [`Settings`]:
/// not by clap, whose errors quote the value.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseArg(String);

impl FromStr for DatabaseArg {
    type Err = Infallible;

    fn from_str(text: &str) -> Result<DatabaseArg, Infallible> {
        Ok(DatabaseArg(text.to_owned()))
    }
}

impl fmt::Debug for DatabaseArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", redact(&self.0))
    }
}

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    trust: TrustConfig,
    /// Present (even empty) means authentication is meant: never switched off.
    auth: Option<AuthConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustConfig {
    listen: Option<SocketAddr>,
    database: Option<DatabaseArg>,
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

/// What the service runs with, every value checked.
#[derive(Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    pub lifetimes: Lifetimes,
    /// Re-sign a timestamp with less than this many seconds left.
    pub resign_before: i64,
    pub resign_every: Duration,
    /// HTTPS: the certificate chain and its key.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub auth: Authentication,
}

/// Who may do what.
#[derive(Debug)]
pub enum Authentication {
    /// Tokens from the service's endpoint, for the users of a users file,
    /// granting what the access rules say.
    Tokens(AuthSettings),
    /// Anyone may do anything: asked for with `--no-auth`, loopback only.
    Off,
}

/// The token scheme's settings.
#[derive(Debug)]
pub struct AuthSettings {
    /// The htpasswd file.
    pub users: PathBuf,
    /// The key that signs tokens (default: `token-key.p8` in the data directory).
    pub token_key: Option<PathBuf>,
    /// How long a token lasts (the verifier allows 60 s of clock skew past it).
    pub token_ttl: Duration,
    /// The token endpoint clients are sent to (default: this server's /token).
    pub realm: Option<String>,
    /// The service name tokens are issued for.
    pub service: String,
    pub access: AccessRules,
}

impl Settings {
    /// Read `--config` (if any) and apply the flags over it.
    pub fn new(args: &ServeArgs) -> anyhow::Result<Settings> {
        let (config, source) = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let config = toml::from_str::<Config>(&text)
                    .map_err(|e| config_error(&path.display().to_string(), &text, &e))?;
                (config, path.display().to_string())
            }
            None => (Config::default(), String::new()),
        };
        let trust = config.trust;
        let listen = args
            .listen
            .or(trust.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4443)));
        let data_dir = match args.data_dir.clone().or(trust.data_dir) {
            Some(d) => d,
            None => default_data_dir()?,
        };
        let database = match args.database.as_ref().or(trust.database.as_ref()) {
            Some(DatabaseArg(text)) => DatabaseUrl::parse(text)?,
            None => {
                DatabaseUrl::parse(&format!("sqlite://{}", data_dir.join("trust.db").display()))?
            }
        };
        // Each value's error names its key (finding 14 #8).
        let lifetimes = Lifetimes {
            timestamp_secs: seconds(trust.timestamp_expiry.as_deref(), 14 * 86_400)
                .map_err(|e| keyed(&source, "timestamp_expiry", e))?,
            snapshot_secs: seconds(trust.snapshot_expiry.as_deref(), 3 * 365 * 86_400)
                .map_err(|e| keyed(&source, "snapshot_expiry", e))?,
        };
        let resign_before = seconds(trust.resign_before.as_deref(), lifetimes.timestamp_secs / 2)
            .map_err(|e| keyed(&source, "resign_before", e))?;
        let resign_every = seconds(trust.resign_interval.as_deref(), 3600)
            .map_err(|e| keyed(&source, "resign_interval", e))?;
        let tls = match (
            args.tls_cert.clone().or(trust.tls_cert),
            args.tls_key.clone().or(trust.tls_key),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => bail!("HTTPS needs both tls_cert and tls_key"),
        };
        let plain_http = if args.plain_http_behind_proxy {
            PlainHttp::BehindProxy
        } else {
            trust.plain_http
        };
        if tls.is_none() && !listen.ip().is_loopback() && plain_http != PlainHttp::BehindProxy {
            bail!(
                "serving plain HTTP on {listen} is refused (logins and tokens would cross the network in clear): \
                 pass --tls-cert and --tls-key, or --plain-http-behind-proxy if a TLS proxy fronts the service, or listen on 127.0.0.1"
            );
        }
        let auth = authentication(args, config.auth, &source, listen)?;
        Ok(Settings {
            listen,
            data_dir,
            database,
            lifetimes,
            resign_before,
            resign_every: Duration::from_secs(resign_every.max(1).unsigned_abs()),
            tls,
            auth,
        })
    }
}

/// `--users` or `[auth]` (every value of which is checked first) gives
/// tokens; `--no-auth` alone gives none, on loopback only; anything else is
/// an error that says which of the two to pass.
fn authentication(
    args: &ServeArgs,
    config: Option<AuthConfig>,
    source: &str,
    listen: SocketAddr,
) -> anyhow::Result<Authentication> {
    let has_section = config.is_some();
    let config = config.unwrap_or_default();
    let checked = AuthSettings {
        users: PathBuf::new(),
        token_key: config.token_key,
        token_ttl: Duration::from_secs(
            seconds(
                config.token_ttl.as_deref(),
                DEFAULT_TOKEN_TTL.as_secs() as i64,
            )
            .context("auth.token_ttl")?
            .unsigned_abs(),
        ),
        realm: config.realm.map(|r| check_realm(&r)).transpose()?,
        service: check_service(config.service.as_deref().unwrap_or("clearance"))?,
        access: config.access,
    };
    let users = args.users.clone().or(config.users);
    match (users, args.no_auth) {
        (Some(users), false) => Ok(Authentication::Tokens(AuthSettings { users, ..checked })),
        (Some(_), true) => bail!(
            "--no-auth, but {source} names a users file in [auth]: remove [auth] to serve without authentication, or drop --no-auth"
        ),
        (None, true) if has_section => bail!(
            "--no-auth, but {source} has an [auth] section: remove it to serve without authentication, or drop --no-auth and set auth.users"
        ),
        (None, true) if !listen.ip().is_loopback() => bail!(
            "serving on {listen} without authentication is refused; pass --users FILE (an htpasswd file), or listen on 127.0.0.1"
        ),
        (None, true) => Ok(Authentication::Off),
        (None, false) if has_section => bail!(
            "{source} has an [auth] section but no users file, and [auth] never switches authentication off: \
             set auth.users (or pass --users FILE, an htpasswd file)"
        ),
        (None, false) => bail!(
            "no users file: pass --users FILE (an htpasswd file; see docs/serve.md for the access rules that go with it), \
             or --no-auth to serve without authentication on a loopback address"
        ),
    }
}

/// The token endpoint's public URL: absolute http(s), as clients must reach it.
fn check_realm(realm: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(realm)
        .with_context(|| format!("auth.realm {realm:?} is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("auth.realm {realm:?} is not an http:// or https:// URL");
    }
    if url.password().is_some() || !url.username().is_empty() {
        bail!("auth.realm must not hold a login");
    }
    // Clients send their login to the realm; they refuse plain HTTP off
    // loopback, so such a realm only breaks sign-in.
    // The same rule clients apply (clearance_oci's `http_allowed`).
    let host = url.host_str().unwrap_or_default();
    if url.scheme() == "http" && !clearance_oci::registry::http_allowed(host, &[]) {
        bail!(
            "auth.realm {realm:?} is plain HTTP off loopback: clients never send a login there; use https://"
        );
    }
    Ok(realm.to_owned())
}

/// The service name tokens carry (and clients send back): visible ASCII.
fn check_service(service: &str) -> anyhow::Result<String> {
    if service.is_empty() || !service.bytes().all(|b| b.is_ascii_graphic()) || service.len() > 255 {
        bail!("auth.service {service:?} must be 1 to 255 visible ASCII characters (no spaces)");
    }
    Ok(service.to_owned())
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("CLEARANCE_HOME") {
        return Ok(PathBuf::from(home).join("serve"));
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".clearance/serve"))
        .context("no home directory: pass --data-dir")
}

/// A value of `[trust]` refused, as one line naming the file and the key.
fn keyed(source: &str, key: &str, e: anyhow::Error) -> anyhow::Error {
    anyhow::anyhow!("{source}: [trust] {key}: {e:#}")
}

/// A configuration file that does not parse, as one line: the file, the
/// line, and toml's message without its source excerpt (printed on one
/// line, the excerpt's line breaks would show as `\n`).
fn config_error(file: &str, text: &str, e: &toml::de::Error) -> anyhow::Error {
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match e.span() {
        Some(span) => {
            let before = text.as_bytes().get(..span.start).unwrap_or(text.as_bytes());
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            anyhow::anyhow!("{file} line {line}: {message}")
        }
        None => anyhow::anyhow!("{file}: {message}"),
    }
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
    n.checked_mul(scale).filter(|s| *s > 0).with_context(|| {
        format!("{text:?} is out of range: give a duration above zero, like 14d, 12h, 30m or 90s")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_http_realm_is_refused_off_loopback_as_clients_refuse_it() {
        for ok in [
            "https://trust.example.com/token",
            "http://127.0.0.1:4443/token",
            "http://[::1]:4443/token",
            "http://LOCALHOST/token",
        ] {
            assert_eq!(check_realm(ok).unwrap(), ok);
        }
        for refused in ["http://trust.example.com/token", "http://10.0.0.1/token"] {
            let e = check_realm(refused).unwrap_err().to_string();
            assert!(e.contains("plain HTTP off loopback"), "{e}");
        }
    }

    #[test]
    fn durations_read_with_units() {
        assert_eq!(seconds(Some("14d"), 0).unwrap(), 14 * 86_400);
        assert_eq!(seconds(Some("90"), 0).unwrap(), 90);
        assert_eq!(seconds(None, 7).unwrap(), 7);
        assert!(seconds(Some("3w"), 0).is_err());
        assert!(seconds(Some("0s"), 0).is_err());
    }

    #[test]
    fn realms_and_service_names_are_checked() {
        assert!(check_realm("https://trust.example.com/token").is_ok());
        assert!(check_realm("trust.example.com/token").is_err());
        assert!(check_realm("ftp://trust.example.com/token").is_err());
        assert!(check_realm("https://u:p@trust.example.com/token").is_err());
        assert!(check_realm("http://evil.example/token").is_err());
        assert!(check_realm("http://127.0.0.1:4443/token").is_ok());
        assert!(check_realm("http://[::1]:4443/token").is_ok());
        assert!(check_service("clearance").is_ok());
        assert!(check_service("").is_err());
        assert!(check_service("a b").is_err());
    }

    #[test]
    fn b5_a_database_argument_debugs_without_its_password() {
        let arg = DatabaseArg::from_str("postgres://app:s3cret@db/trust?password=s3cret").unwrap();
        let shown = format!("{arg:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("app:***@db"), "{shown}");
    }
}
