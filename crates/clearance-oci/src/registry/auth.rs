//! Credentials (flags, environment, `~/.docker/config.json`) and parsing of
//! `WWW-Authenticate` challenges.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;

/// A registry login. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (Docker's `identitytoken`).
    IdentityToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "Basic({username}, ****)"),
            Credential::IdentityToken(_) => write!(f, "IdentityToken(****)"),
        }
    }
}

impl Credential {
    /// `USER:PASSWORD`, as skopeo's `--creds` takes it.
    pub fn parse_user_pass(s: &str) -> Option<Credential> {
        let (username, password) = s.split_once(':')?;
        (!username.is_empty()).then(|| Credential::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }

    pub fn basic_header(&self) -> Option<String> {
        match self {
            Credential::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Credential::IdentityToken(_) => None,
        }
    }
}

/// Logins from a Docker `config.json`: `auths`, and the credential helpers
/// named by `credHelpers` (per registry) and `credsStore` (for all).
#[derive(Debug, Clone, Default)]
pub struct DockerConfig {
    auths: HashMap<String, Credential>,
    creds_store: Option<String>,
    cred_helpers: HashMap<String, String>,
}

#[derive(serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
}

#[derive(serde::Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

const MAX_CONFIG_FILE: u64 = 1 << 20;

impl DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
            return Some(PathBuf::from(dir).join("config.json"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
    }

    /// Load a config file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<DockerConfig, String> {
        use std::io::Read;
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(DockerConfig::default());
            }
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        };
        let mut bytes = Vec::new();
        file.take(MAX_CONFIG_FILE)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let parsed: ConfigFile = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
        let mut auths = HashMap::new();
        for (key, entry) in parsed.auths {
            let credential = if let Some(token) = entry.identitytoken.filter(|t| !t.is_empty()) {
                Some(Credential::IdentityToken(token))
            } else if let Some(auth) = entry.auth.filter(|a| !a.is_empty()) {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .map_err(|_| format!("{}: auth for {key:?} is not base64", path.display()))?;
                let text = String::from_utf8(decoded)
                    .map_err(|_| format!("{}: auth for {key:?} is not UTF-8", path.display()))?;
                Credential::parse_user_pass(&text)
            } else {
                match (entry.username, entry.password) {
                    (Some(username), Some(password)) => {
                        Some(Credential::Basic { username, password })
                    }
                    _ => None,
                }
            };
            if let Some(c) = credential {
                auths.insert(normalise_key(&key), c);
            }
        }
        let cred_helpers = parsed
            .cred_helpers
            .into_iter()
            .map(|(k, v)| (normalise_key(&k), v))
            .collect();
        Ok(DockerConfig {
            auths,
            creds_store: parsed.creds_store.filter(|s| !s.is_empty()),
            cred_helpers,
        })
    }

    /// The login for a registry as users name it (`docker.io`, `host:port`).
    /// A configured credential helper is asked first, as Docker does; it is
    /// a program the user installed, run as `docker-credential-NAME get`.
    pub fn get(&self, registry: &str) -> Result<Option<Credential>, String> {
        let helper = self
            .cred_helpers
            .get(registry)
            .or(self.creds_store.as_ref());
        if let Some(helper) = helper {
            let server = if registry == "docker.io" {
                "https://index.docker.io/v1/"
            } else {
                registry
            };
            if let Some(found) = run_helper(helper, server)? {
                return Ok(Some(found));
            }
        }
        Ok(self.auths.get(registry).cloned())
    }
}

const MAX_HELPER_OUTPUT: u64 = 64 << 10;

/// `docker-credential-NAME get` with the server on stdin; `None` when the
/// helper knows no login for it.
fn run_helper(name: &str, server: &str) -> Result<Option<Credential>, String> {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(format!(
            "credential helper name {name:?} is not a plain name"
        ));
    }
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("running {program} (named in the docker config): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let mut out = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        stdout
            .take(MAX_HELPER_OUTPUT)
            .read_to_end(&mut out)
            .map_err(|e| format!("reading from {program}: {e}"))?;
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {program}: {e}"))?;
    if !status.success() {
        // Docker's helpers say "credentials not found in native keychain".
        if String::from_utf8_lossy(&out).contains("credentials not found") {
            return Ok(None);
        }
        return Err(format!("{program} get failed for {server} ({status})"));
    }
    #[derive(serde::Deserialize)]
    struct HelperOutput {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let parsed: HelperOutput = serde_json::from_slice(&out)
        .map_err(|e| format!("{program} printed something that is not a login: {e}"))?;
    Ok(match (parsed.username.as_str(), parsed.secret) {
        (_, secret) if secret.is_empty() => None,
        ("<token>", secret) => Some(Credential::IdentityToken(secret)),
        (user, secret) => Some(Credential::Basic {
            username: user.to_owned(),
            password: secret,
        }),
    })
}

/// `https://index.docker.io/v1/` → `docker.io`; `https://host:5000/` → `host:5000`.
fn normalise_key(key: &str) -> String {
    let host = key
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("");
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_owned(),
        h => h.to_owned(),
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parse `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    Some(Challenge::Bearer {
        realm: params.get("realm")?.clone(),
        service: params.get("service").cloned(),
        scope: params.get("scope").cloned(),
    })
}

fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if key.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_owned();
        }
        out.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenges_with_quoted_commas() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.example.com/token".into(),
                service: Some("registry.example.com".into()),
                scope: Some("repository:a/b:pull,push".into()),
            }
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
    }

    #[test]
    fn reads_docker_config_auths_and_hides_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNzOndpdGg6Y29sb25z"},
               "localhost:5000":{"identitytoken":"tok"},"empty.example":{}}}"#,
        )
        .unwrap();
        let config = DockerConfig::load(&path).unwrap();
        assert_eq!(
            config.get("docker.io").unwrap(),
            Some(Credential::Basic {
                username: "user".into(),
                password: "pass:with:colons".into()
            })
        );
        assert_eq!(
            config.get("localhost:5000").unwrap(),
            Some(Credential::IdentityToken("tok".into()))
        );
        assert_eq!(config.get("empty.example").unwrap(), None);
        assert!(!format!("{:?}", config).contains("pass:with"));
        assert!(
            DockerConfig::load(&dir.path().join("missing.json"))
                .unwrap()
                .get("x")
                .unwrap()
                .is_none()
        );
        std::fs::write(&path, r#"{"credHelpers":{"h.example":"../../bin/sh"}}"#).unwrap();
        let err = DockerConfig::load(&path)
            .unwrap()
            .get("h.example")
            .unwrap_err();
        assert!(err.contains("not a plain name"), "{err}");
        std::fs::write(&path, "{").unwrap();
        assert!(
            DockerConfig::load(&path)
                .unwrap_err()
                .contains("not valid JSON")
        );
    }
}
