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
    /// The file it was read from, for messages.
    path: Option<PathBuf>,
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

/// Why a Docker credential helper gave no login. Each names the helper
/// (`docker-credential-NAME`) and the config entry that chose it.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error("credential helper name {name:?} ({named_by}) is not a plain name")]
    NotPlainName { name: String, named_by: String },
    #[error(
        "running {program} ({named_by}): {source}; install it on PATH, or remove it from the \
         docker config"
    )]
    Spawn {
        program: String,
        named_by: String,
        source: std::io::Error,
    },
    /// The helper ran past the registry timeout and was killed.
    #[error(
        "{program} ({named_by}) did not answer `get` for {server} within {} s and was stopped; \
         check that `echo {server} | {program} get` prints a login at once (a locked keychain \
         or a prompt waiting for someone stops it), raise --timeout, or pass --creds \
         USER:PASSWORD",
        after.as_secs()
    )]
    TimedOut {
        program: String,
        named_by: String,
        server: String,
        after: std::time::Duration,
    },
    #[error(
        "{program} ({named_by}) printed more than {limit} bytes for {server}, more than any \
         login; check what `echo {server} | {program} get` prints"
    )]
    OutputTooLarge {
        program: String,
        named_by: String,
        server: String,
        limit: u64,
    },
    #[error(
        "{program} ({named_by}) `get` failed for {server} ({status}); check what \
         `echo {server} | {program} get` says"
    )]
    Failed {
        program: String,
        named_by: String,
        server: String,
        status: std::process::ExitStatus,
    },
    #[error("{program} ({named_by}) printed something that is not a login: {message}")]
    NotALogin {
        program: String,
        named_by: String,
        message: String,
    },
    #[error("talking to {program} ({named_by}): {source}")]
    Io {
        program: String,
        named_by: String,
        source: std::io::Error,
    },
}

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
            path: Some(path.to_owned()),
            auths,
            creds_store: parsed.creds_store.filter(|s| !s.is_empty()),
            cred_helpers,
        })
    }

    /// The login for a registry as users name it (`docker.io`, `host:port`).
    /// A configured credential helper is asked first, as Docker does; it is
    /// a program the user installed, run as `docker-credential-NAME get`,
    /// and stopped (killed) if it has not answered within `limit`.
    pub async fn get(
        &self,
        registry: &str,
        limit: std::time::Duration,
    ) -> Result<Option<Credential>, HelperError> {
        let in_file = match &self.path {
            Some(p) => format!(" in {}", p.display()),
            None => String::new(),
        };
        let helper = match (self.cred_helpers.get(registry), &self.creds_store) {
            (Some(name), _) => Some((name, format!("credHelpers[{registry:?}]{in_file}"))),
            (None, Some(name)) => Some((name, format!("credsStore{in_file}"))),
            (None, None) => None,
        };
        if let Some((name, named_by)) = helper {
            let server = if registry == "docker.io" {
                "https://index.docker.io/v1/"
            } else {
                registry
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(HelperError::NotPlainName {
                    name: name.clone(),
                    named_by,
                });
            }
            let helper = Helper {
                program: format!("docker-credential-{name}").into(),
                named_by,
            };
            if let Some(found) = helper.get(server, limit).await? {
                return Ok(Some(found));
            }
        }
        Ok(self.auths.get(registry).cloned())
    }
}

/// Most bytes a helper may print: a login is far smaller.
const MAX_HELPER_OUTPUT: u64 = 64 << 10;

/// A credential helper program and the config entry that named it.
struct Helper {
    /// `docker-credential-NAME`, looked up on `PATH` (or a path, in tests).
    program: std::ffi::OsString,
    named_by: String,
}

impl Helper {
    /// `docker-credential-NAME get` with the server on stdin; `None` when
    /// the helper knows no login for it. The whole run (writing, reading up
    /// to [`MAX_HELPER_OUTPUT`] bytes, exiting) must end within `limit`, or
    /// the helper is killed.
    async fn get(
        &self,
        server: &str,
        limit: std::time::Duration,
    ) -> Result<Option<Credential>, HelperError> {
        use std::process::Stdio;
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let program = self.program.to_string_lossy().into_owned();
        let named_by = self.named_by.clone();
        let io_err = |source| HelperError::Io {
            program: program.clone(),
            named_by: named_by.clone(),
            source,
        };
        let mut child = tokio::process::Command::new(&self.program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| HelperError::Spawn {
                program: program.clone(),
                named_by: named_by.clone(),
                source,
            })?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let run = async {
            if let Some(mut stdin) = stdin {
                // A helper that exits without reading its input is fine.
                let _ = stdin.write_all(server.as_bytes()).await;
            }
            let mut out = Vec::new();
            if let Some(stdout) = stdout {
                stdout
                    .take(MAX_HELPER_OUTPUT + 1)
                    .read_to_end(&mut out)
                    .await?;
            }
            Ok::<_, std::io::Error>((out, child.wait().await?))
        };
        let (out, status) = match tokio::time::timeout(limit, run).await {
            Ok(done) => done.map_err(io_err)?,
            Err(_) => {
                // Stop it rather than leave it waiting on a pipe no one reads.
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(HelperError::TimedOut {
                    program,
                    named_by,
                    server: server.to_owned(),
                    after: limit,
                });
            }
        };
        if out.len() as u64 > MAX_HELPER_OUTPUT {
            return Err(HelperError::OutputTooLarge {
                program,
                named_by,
                server: server.to_owned(),
                limit: MAX_HELPER_OUTPUT,
            });
        }
        if !status.success() {
            // Docker's helpers say "credentials not found in native keychain".
            if String::from_utf8_lossy(&out).contains("credentials not found") {
                return Ok(None);
            }
            return Err(HelperError::Failed {
                program,
                named_by,
                server: server.to_owned(),
                status,
            });
        }
        #[derive(serde::Deserialize)]
        struct HelperOutput {
            #[serde(rename = "Username", default)]
            username: String,
            #[serde(rename = "Secret", default)]
            secret: String,
        }
        let parsed: HelperOutput =
            serde_json::from_slice(&out).map_err(|e| HelperError::NotALogin {
                program,
                named_by,
                message: e.to_string(),
            })?;
        Ok(match (parsed.username.as_str(), parsed.secret) {
            (_, secret) if secret.is_empty() => None,
            ("<token>", secret) => Some(Credential::IdentityToken(secret)),
            (user, secret) => Some(Credential::Basic {
                username: user.to_owned(),
                password: secret,
            }),
        })
    }
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

    const LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

    #[tokio::test]
    async fn reads_docker_config_auths_and_hides_secrets() {
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
            config.get("docker.io", LIMIT).await.unwrap(),
            Some(Credential::Basic {
                username: "user".into(),
                password: "pass:with:colons".into()
            })
        );
        assert_eq!(
            config.get("localhost:5000", LIMIT).await.unwrap(),
            Some(Credential::IdentityToken("tok".into()))
        );
        assert_eq!(config.get("empty.example", LIMIT).await.unwrap(), None);
        assert!(!format!("{:?}", config).contains("pass:with"));
        assert!(
            DockerConfig::load(&dir.path().join("missing.json"))
                .unwrap()
                .get("x", LIMIT)
                .await
                .unwrap()
                .is_none()
        );
        std::fs::write(&path, r#"{"credHelpers":{"h.example":"../../bin/sh"}}"#).unwrap();
        let err = DockerConfig::load(&path)
            .unwrap()
            .get("h.example", LIMIT)
            .await
            .unwrap_err();
        assert!(matches!(err, HelperError::NotPlainName { .. }), "{err}");
        std::fs::write(&path, "{").unwrap();
        assert!(
            DockerConfig::load(&path)
                .unwrap_err()
                .contains("not valid JSON")
        );
    }

    /// A helper script written into `dir`.
    fn helper(dir: &Path, body: &str) -> Helper {
        use std::os::unix::fs::PermissionsExt as _;
        let program = dir.join("docker-credential-test");
        std::fs::write(&program, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        Helper {
            program: program.into_os_string(),
            named_by: "credsStore".into(),
        }
    }

    /// A helper that never answers (it waits, as on a prompt no one sees)
    /// is killed at the limit, and the error names it and the server.
    #[tokio::test]
    async fn credential_helper_that_never_answers_is_stopped_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        // Not `exec`: the shell's child keeps the output pipe open after
        // the shell itself is killed, so reading to the end would hang.
        let h = helper(dir.path(), "sleep 30");
        let limit = std::time::Duration::from_secs(1);
        let started = std::time::Instant::now();
        let err = h.get("registry.example", limit).await.unwrap_err();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        match err {
            HelperError::TimedOut {
                program,
                server,
                after,
                ..
            } => {
                assert!(program.ends_with("docker-credential-test"), "{program}");
                assert_eq!((server.as_str(), after), ("registry.example", limit));
            }
            other => panic!("expected TimedOut, got {other}"),
        }
    }

    /// A helper that prints without end is cut off at the output bound.
    #[tokio::test]
    async fn credential_helper_printing_without_end_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let h = helper(dir.path(), "cat >/dev/null; yes '{\"Secret\":\"x\"}'");
        let err = h.get("registry.example", LIMIT).await.unwrap_err();
        assert!(
            matches!(err, HelperError::OutputTooLarge { limit, .. } if limit == MAX_HELPER_OUTPUT),
            "{err}"
        );
    }

    #[tokio::test]
    async fn credential_helper_answers_and_says_when_it_knows_no_login() {
        let dir = tempfile::tempdir().unwrap();
        let h = helper(
            dir.path(),
            r#"read server; printf '{"Username":"u","Secret":"%s"}' "$server""#,
        );
        assert_eq!(
            h.get("registry.example", LIMIT).await.unwrap(),
            Some(Credential::Basic {
                username: "u".into(),
                password: "registry.example".into()
            })
        );
        let h = helper(
            dir.path(),
            "echo 'credentials not found in native keychain'; exit 1",
        );
        assert_eq!(h.get("registry.example", LIMIT).await.unwrap(), None);
        let h = helper(dir.path(), "exit 4");
        assert!(matches!(
            h.get("registry.example", LIMIT).await.unwrap_err(),
            HelperError::Failed { .. }
        ));
    }
}
