//! Docker Engine authorization plugins (`AuthZPlugin.AuthZReq`): read the
//! request the daemon forwards, refuse one whose body did not reach the
//! plugin (CVE-2024-41110: a chunked body; CVE-2026-34040: a body of 1 MiB
//! or more, still skipped by Debian's `docker.io` 20.10.24), and turn
//! container create and exec create into the image to judge and the
//! [`RuntimeRequest`] the policy reads.
//!
//! The daemon decodes JSON with Go's `encoding/json`, so this reads it the
//! same way where that matters for security: keys match case-insensitively
//! (with Go's folding of `ſ` to `s` and the Kelvin sign to `k`), and a body
//! with two keys that fold to one field is refused rather than guessed at
//! (Go takes the last, in an order this parser does not keep);
//! `HostConfig` fields are read at the top level too (API < 1.25 clients
//! send them there); `CapAdd` may be a string or a list.
//!
//! Pure: no I/O. Shapes from moby `pkg/authorization/api.go` (v20.10.24),
//! `api/types/container`.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::evidence::RuntimeRequest;

/// Largest plugin request read (bytes): the daemon forwards bodies under
/// 1 MiB, base64 makes them a third larger, and headers come beside.
pub const MAX_PLUGIN_REQUEST_BYTES: usize = 2 << 20;

/// The daemon (20.10 to 29.3.0) forwards a body only when it is shorter
/// than this many bytes; a longer one is skipped silently.
pub const FORWARDED_BODY_LIMIT: u64 = 1 << 20;

/// `AuthZPlugin.AuthZReq` as the daemon sends it (keys as Go writes them:
/// `RequestUri`, `RequestHeaders`; every key omitted when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthzRequest {
    /// The TLS client's certificate CN (empty over the unix socket).
    pub user: String,
    /// `POST`, `GET`, …
    pub method: String,
    /// The raw request URI: path and query, percent-encoding kept.
    pub uri: String,
    /// The body as forwarded; `None` when the daemon sent none.
    pub body: Option<Vec<u8>>,
    /// Headers by lower-cased name (the daemon keeps the last of each).
    pub headers: BTreeMap<String, String>,
}

/// Why a plugin request could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthzError {
    /// Over [`MAX_PLUGIN_REQUEST_BYTES`].
    #[error("the authorization request is {0} bytes; at most {MAX_PLUGIN_REQUEST_BYTES} are read")]
    TooLarge(usize),
    /// Not JSON of the request's shape; names the field.
    #[error("the authorization request is not valid: {0}")]
    Malformed(String),
}

/// Go's key folding for `encoding/json` (go1.19 `fold.go`): ASCII letters
/// without case, `ſ` (U+017F) as `s`, the Kelvin sign (U+212A) as `k`.
pub fn go_fold(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '\u{17F}' => 's',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// An object's fields by folded key; two keys that fold alike are refused.
fn folded<'a>(
    object: &'a Map<String, Value>,
    at: &str,
) -> Result<BTreeMap<String, &'a Value>, String> {
    let mut out = BTreeMap::new();
    for (key, value) in object {
        if out.insert(go_fold(key), value).is_some() {
            return Err(format!(
                "{at}: two keys name the field {key:?} (Go matches keys without case, so which one the daemon uses is not clear); denied"
            ));
        }
    }
    Ok(out)
}

/// Read a plugin request.
///
/// # Errors
///
/// [`AuthzError`]: too large, not JSON, a field of the wrong type, a body
/// that is not base64. The plugin answers them with a denial.
pub fn parse_request(bytes: &[u8]) -> Result<AuthzRequest, AuthzError> {
    if bytes.len() > MAX_PLUGIN_REQUEST_BYTES {
        return Err(AuthzError::TooLarge(bytes.len()));
    }
    let bad = AuthzError::Malformed;
    let value: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let Value::Object(object) = &value else {
        return Err(bad("not a JSON object".into()));
    };
    let fields = folded(object, "request").map_err(bad)?;
    let text = |name: &str| -> Result<String, AuthzError> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(bad(format!("{name} is not a string"))),
        }
    };
    let body = match fields.get("requestbody") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| bad(format!("RequestBody is not base64: {e}")))?,
        ),
        Some(_) => return Err(bad("RequestBody is not a string".into())),
    };
    let mut headers = BTreeMap::new();
    match fields.get("requestheaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                let Value::String(v) = v else {
                    return Err(bad(format!("RequestHeaders[{k:?}] is not a string")));
                };
                headers.insert(k.to_ascii_lowercase(), v.clone());
            }
        }
        Some(_) => return Err(bad("RequestHeaders is not an object".into())),
    }
    Ok(AuthzRequest {
        user: text("user")?,
        method: text("requestmethod")?,
        uri: text("requesturi")?,
        body,
        headers,
    })
}

/// What a request asks the daemon to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `POST /containers/create`: run `image` this way.
    CreateContainer {
        /// `Image` as written.
        image: String,
        /// How it asks to run.
        request: RuntimeRequest,
    },
    /// `POST /containers/{id}/exec`: a process in a running container.
    Exec {
        /// The container named.
        container: String,
        /// How it asks to run (privileged, user).
        request: RuntimeRequest,
    },
    /// Anything else: judged by the allow list. `path` is decoded and
    /// without its `/vX.Y` prefix.
    Other {
        /// The HTTP method.
        method: String,
        /// The path as the daemon routes it (`/containers/abc/start`).
        path: String,
    },
}

/// The path as the daemon routes it: the URI's path, percent-decoded,
/// without an API version prefix; and that version, when given.
///
/// # Errors
///
/// A path that does not decode to UTF-8 or is not absolute.
pub fn route(uri: &str) -> Result<(String, Option<(u32, u32)>), String> {
    let raw = uri.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| format!("the path {raw:?} does not decode to UTF-8"))?;
    if !decoded.starts_with('/') {
        return Err(format!("the path {raw:?} is not absolute"));
    }
    let mut segments = decoded[1..].splitn(2, '/');
    let first = segments.next().unwrap_or_default();
    let version = first
        .strip_prefix('v')
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .map(|v| {
            let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
            (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
        });
    let path = match version {
        Some(_) => format!("/{}", segments.next().unwrap_or_default()),
        None => decoded.into_owned(),
    };
    Ok((path, version))
}

/// Settings of the daemon the plugin serves, which the request alone does
/// not show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaemonSettings {
    /// The daemon runs with `--userns-remap`: containers get their own
    /// user namespace unless `UsernsMode` is `host`.
    pub userns_remap: bool,
}

/// What `request` asks the daemon to do. Container create and exec create
/// must carry their whole body; a start that could carry a HostConfig
/// (API < 1.24) must carry none.
///
/// # Errors
///
/// The denial's message: a body that did not reach the plugin (the
/// bypass of CVE-2024-41110 and CVE-2026-34040), a body that is not the
/// JSON the daemon would read, or two keys that name one field.
pub fn classify(request: &AuthzRequest, daemon: DaemonSettings) -> Result<Action, String> {
    let (path, version) = route(&request.uri)?;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = request.method.to_ascii_uppercase();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["containers", "create"]) => {
            let body = whole_body(request)?;
            create(&body, daemon)
        }
        ("POST", ["containers", id, "exec"]) => {
            let body = whole_body(request)?;
            exec(&body, id)
        }
        ("POST", ["containers", _, "start"]) => {
            // API < 1.24 applies a HostConfig sent with start; later ones
            // refuse a body. Without a version the daemon's own applies.
            let legacy = version.is_some_and(|v| v < (1, 24));
            if legacy && request.headers.get("content-length").map(String::as_str) != Some("0") {
                return Err(format!(
                    "a start on API {} may carry a HostConfig, and this one's body cannot be seen (Content-Length {}); denied: start containers with API 1.24 or later",
                    version.map(|(a, b)| format!("{a}.{b}")).unwrap_or_default(),
                    request
                        .headers
                        .get("content-length")
                        .map_or("absent: chunked", String::as_str)
                ));
            }
            Ok(Action::Other { method, path })
        }
        _ => Ok(Action::Other { method, path }),
    }
}

/// The body of a request whose body decides: present, JSON, and as long as
/// the daemon was told.
fn whole_body(request: &AuthzRequest) -> Result<Vec<u8>, String> {
    let why = "so what it asks for cannot be judged; denied (this is how CVE-2024-41110 and CVE-2026-34040 got past authorization plugins)";
    let length = request.headers.get("content-length");
    let Some(length) = length else {
        return Err(format!(
            "the request has no Content-Length (a chunked body, which the daemon does not show plugins), {why}"
        ));
    };
    let length: u64 = length
        .trim()
        .parse()
        .map_err(|_| format!("the request's Content-Length {length:?} is not a number, {why}"))?;
    if length >= FORWARDED_BODY_LIMIT {
        return Err(format!(
            "the request's body is {length} bytes, and the daemon does not show plugins bodies of {FORWARDED_BODY_LIMIT} bytes or more, {why}"
        ));
    }
    let content_type = request.headers.get("content-type").map(|c| {
        c.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    if content_type.as_deref() != Some("application/json") {
        return Err(format!(
            "the request's Content-Type is {}, not application/json, and the daemon shows plugins JSON bodies only, {why}",
            content_type.as_deref().unwrap_or("absent")
        ));
    }
    let Some(body) = &request.body else {
        return Err(format!(
            "the daemon forwarded no body for a request that needs one, {why}"
        ));
    };
    if body.len() as u64 != length {
        return Err(format!(
            "the forwarded body is {} bytes, not the {length} the request declared, {why}",
            body.len()
        ));
    }
    Ok(body.clone())
}

/// A JSON object's value for a folded key; `null` is absent (Go leaves
/// the field at its zero value).
fn get<'a>(fields: &BTreeMap<String, &'a Value>, key: &str) -> Option<&'a Value> {
    fields.get(key).copied().filter(|v| !v.is_null())
}

fn string(
    fields: &BTreeMap<String, &Value>,
    key: &str,
    at: &str,
) -> Result<Option<String>, String> {
    match get(fields, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!(
            "{at}.{key}: not a string (the daemon would refuse it too)"
        )),
    }
}

fn boolean(fields: &BTreeMap<String, &Value>, key: &str, at: &str) -> Result<bool, String> {
    match get(fields, key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!(
            "{at}.{key}: not a boolean (the daemon would refuse it too)"
        )),
    }
}

/// A list of strings, or (Docker's `StrSlice`) one string.
fn strings(fields: &BTreeMap<String, &Value>, key: &str, at: &str) -> Result<Vec<String>, String> {
    match get(fields, key) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(format!("{at}.{key}: an item is not a string")),
            })
            .collect(),
        Some(_) => Err(format!("{at}.{key}: not a list of strings")),
    }
}

fn object<'a>(
    fields: &BTreeMap<String, &'a Value>,
    key: &str,
    at: &str,
) -> Result<Option<BTreeMap<String, &'a Value>>, String> {
    match get(fields, key) {
        None => Ok(None),
        Some(Value::Object(o)) => folded(o, &format!("{at}.{key}")).map(Some),
        Some(_) => Err(format!("{at}.{key}: not an object")),
    }
}

/// A host path made plain (`//etc/./x/..` → `/etc`), as the daemon's
/// mount code cleans it before use (Go's `path.Clean` for an absolute
/// path).
pub fn clean(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    format!("/{}", out.join("/"))
}

fn create(body: &[u8], daemon: DaemonSettings) -> Result<Action, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the container's configuration is not JSON: {e}"))?;
    let Value::Object(top) = &value else {
        return Err("the container's configuration is not a JSON object".into());
    };
    let top = folded(top, "body")?;
    let image = string(&top, "image", "body")?
        .filter(|i| !i.is_empty())
        .ok_or("body.Image: missing; a container needs an image")?;
    let user = string(&top, "user", "body")?.filter(|u| !u.is_empty());
    // HostConfig fields count wherever the daemon may read them: in
    // HostConfig, and at the top level (API < 1.25's place for them).
    let inner = object(&top, "hostconfig", "body")?;
    let mut places = vec![(&top, "body")];
    if let Some(inner) = &inner {
        places.push((inner, "body.HostConfig"));
    }
    let mut request = RuntimeRequest {
        user,
        ..RuntimeRequest::default()
    };
    let mut userns_host = false;
    let mut no_new_privileges = None;
    for (fields, at) in places {
        request.privileged |= boolean(fields, "privileged", at)?;
        for (key, name) in [
            ("pidmode", "pid"),
            ("ipcmode", "ipc"),
            ("networkmode", "network"),
            ("utsmode", "uts"),
            ("cgroupnsmode", "cgroup"),
        ] {
            match string(fields, key, at)?.as_deref() {
                Some("host") => request.host_namespaces.push(name.to_owned()),
                // Another container's namespace may be the host's.
                Some(other) if other.starts_with("container:") => request
                    .host_namespaces
                    .push(format!("{name} (joins {other})")),
                _ => {}
            }
        }
        if string(fields, "usernsmode", at)?.as_deref() == Some("host") {
            userns_host = true;
        }
        for cap in strings(fields, "capadd", at)? {
            let upper = cap.trim().to_ascii_uppercase();
            let name = upper.strip_prefix("CAP_").unwrap_or(&upper);
            request.capabilities_added.push(name.to_owned());
        }
        for opt in strings(fields, "securityopt", at)? {
            let (key, value) = opt
                .split_once('=')
                .or_else(|| opt.split_once(':'))
                .unwrap_or((opt.as_str(), ""));
            match (key, value) {
                ("no-new-privileges", "") => no_new_privileges = Some(true),
                ("no-new-privileges", v) => {
                    no_new_privileges =
                        Some(matches!(v, "1" | "t" | "T" | "TRUE" | "true" | "True"));
                }
                ("seccomp" | "apparmor", "unconfined") | ("label", "disable") | ("disable", "") => {
                    request.unconfined.push(opt.clone());
                }
                _ => {}
            }
        }
        if let Some(Value::Array(paths)) = get(fields, "maskedpaths")
            && paths.is_empty()
        {
            request
                .unconfined
                .push("MaskedPaths: [] (unmasks /proc)".into());
        }
        for rule in strings(fields, "devicecgrouprules", at)? {
            request.unconfined.push(format!("DeviceCgroupRules {rule}"));
        }
        for bind in strings(fields, "binds", at)? {
            let source = bind.split(':').next().unwrap_or_default();
            if source.starts_with('/') {
                request.host_paths.push(clean(source));
            }
        }
        if let Some(Value::Array(mounts)) = get(fields, "mounts") {
            for (i, m) in mounts.iter().enumerate() {
                let Value::Object(m) = m else {
                    return Err(format!("{at}.Mounts[{i}]: not an object"));
                };
                let m = folded(m, &format!("{at}.Mounts[{i}]"))?;
                let kind = string(&m, "type", at)?.unwrap_or_default();
                let source = string(&m, "source", at)?.unwrap_or_default();
                match kind.as_str() {
                    "bind" | "npipe" => request.host_paths.push(clean(&source)),
                    // The local driver's `o: bind` mounts a host directory.
                    "volume" => {
                        let options = object(&m, "volumeoptions", at)?
                            .and_then(|v| object(&v, "driverconfig", at).ok().flatten())
                            .and_then(|d| object(&d, "options", at).ok().flatten());
                        if let Some(device) =
                            options.and_then(|o| string(&o, "device", at).ok().flatten())
                        {
                            request.host_paths.push(clean(&device));
                        }
                    }
                    _ => {}
                }
            }
        }
        for from in strings(fields, "volumesfrom", at)? {
            request
                .host_paths
                .push(format!("the mounts of container {from}"));
        }
        if let Some(Value::Array(devices)) = get(fields, "devices") {
            for d in devices {
                if let Value::Object(d) = d {
                    let d = folded(d, &format!("{at}.Devices"))?;
                    if let Some(p) = string(&d, "pathonhost", at)? {
                        request.host_paths.push(clean(&p));
                    }
                }
            }
        }
    }
    request.user_namespace = daemon.userns_remap && !userns_host;
    request.no_new_privileges = !request.privileged && no_new_privileges == Some(true);
    request.host_namespaces.sort();
    request.host_namespaces.dedup();
    request.host_paths.sort();
    request.host_paths.dedup();
    Ok(Action::CreateContainer { image, request })
}

fn exec(body: &[u8], container: &str) -> Result<Action, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the exec configuration is not JSON: {e}"))?;
    let Value::Object(top) = &value else {
        return Err("the exec configuration is not a JSON object".into());
    };
    let top = folded(top, "body")?;
    let request = RuntimeRequest {
        user: string(&top, "user", "body")?.filter(|u| !u.is_empty()),
        privileged: boolean(&top, "privileged", "body")?,
        ..RuntimeRequest::default()
    };
    Ok(Action::Exec {
        container: container.to_owned(),
        request,
    })
}

/// The plugin's answer (`{"Allow", "Msg", "Err"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthzResponse {
    /// Whether the daemon goes on.
    #[serde(rename = "Allow")]
    pub allow: bool,
    /// Shown to the client after "authorization denied by plugin NAME: ".
    #[serde(rename = "Msg", skip_serializing_if = "String::is_empty")]
    pub msg: String,
    /// A failure of the plugin itself.
    #[serde(rename = "Err", skip_serializing_if = "String::is_empty")]
    pub err: String,
}
