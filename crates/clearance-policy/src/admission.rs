//! Kubernetes admission (`admission.k8s.io/v1` AdmissionReview): read a
//! review the API server sends, find every container it would run — in a
//! Pod, in any workload's pod template, and the ephemeral containers
//! `kubectl debug` adds through the `pods/ephemeralcontainers`
//! subresource — and turn each into the image to judge and the
//! [`RuntimeRequest`] the policy reads; then write the answer: allowed,
//! denied with the reasons, or (mutating) a JSONPatch that pins each image
//! to its signed digest.
//!
//! Pure: no I/O, no clock. Every failure to read a review is a
//! [`ReviewError`] that names the field, and the webhook answers it with a
//! denial (fail closed), never an allow.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::evidence::RuntimeRequest;

/// Largest review read (bytes): the API server's own request limit is
/// 3 MiB, and a review carries the object and the old object.
pub const MAX_REVIEW_BYTES: usize = 7 << 20;

/// Most containers judged in one review (a Pod allows far fewer in
/// practice; a review with more is refused, not judged in part).
pub const MAX_CONTAINERS: usize = 256;

/// The review's `apiVersion`.
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// Why a review could not be read; each names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// Over [`MAX_REVIEW_BYTES`].
    #[error("the AdmissionReview is {0} bytes; at most {MAX_REVIEW_BYTES} are read")]
    TooLarge(usize),
    /// Not JSON, or not of the review's shape.
    #[error("the AdmissionReview is not valid: {0}")]
    Malformed(String),
    /// A field has the wrong value.
    #[error("{field}: {problem}")]
    Field {
        /// Where (`request.object.spec.containers[0].image`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

fn field(field: impl Into<String>, problem: impl Into<String>) -> ReviewError {
    ReviewError::Field {
        field: field.into(),
        problem: problem.into(),
    }
}

/// An AdmissionReview as the API server sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawReview {
    api_version: Option<String>,
    kind: Option<String>,
    request: Option<AdmissionRequest>,
}

/// `GroupVersionKind` / `GroupVersionResource` as the review writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupVersionKind {
    /// `""` for the core group, `apps`, `batch`.
    #[serde(default)]
    pub group: String,
    /// `v1`.
    #[serde(default)]
    pub version: String,
    /// `Pod`, `Deployment`, …
    #[serde(default)]
    pub kind: String,
}

/// The resource a review is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupVersionResource {
    /// `""` for the core group.
    #[serde(default)]
    pub group: String,
    /// `v1`.
    #[serde(default)]
    pub version: String,
    /// `pods`, `deployments`, …
    #[serde(default)]
    pub resource: String,
}

/// Who asked (`userInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserInfo {
    /// The user name (`system:serviceaccount:ns:name`, `alice`).
    #[serde(default)]
    pub username: String,
}

/// `request` of an AdmissionReview (admission.k8s.io/v1 `AdmissionRequest`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    /// Echoed in the response.
    pub uid: String,
    /// The object's kind.
    pub kind: GroupVersionKind,
    /// The resource.
    #[serde(default)]
    pub resource: GroupVersionResource,
    /// `ephemeralcontainers` for `kubectl debug`; empty for the object
    /// itself.
    #[serde(default)]
    pub sub_resource: String,
    /// The object's name (may be empty on CREATE with `generateName`).
    #[serde(default)]
    pub name: String,
    /// Its namespace (empty for cluster-scoped objects).
    #[serde(default)]
    pub namespace: String,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    pub operation: String,
    /// Who asked.
    #[serde(default)]
    pub user_info: UserInfo,
    /// The object as it would be stored (absent for DELETE).
    #[serde(default)]
    pub object: Option<Value>,
    /// Whether nothing will be stored.
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// Read an AdmissionReview: at most [`MAX_REVIEW_BYTES`], `apiVersion`
/// `admission.k8s.io/v1`, `kind` `AdmissionReview`, a `request` with a
/// `uid`.
///
/// # Errors
///
/// [`ReviewError`] naming what was wrong. Without a `uid` there is no one
/// to answer: the webhook answers HTTP 400.
pub fn parse_review(bytes: &[u8]) -> Result<AdmissionRequest, ReviewError> {
    if bytes.len() > MAX_REVIEW_BYTES {
        return Err(ReviewError::TooLarge(bytes.len()));
    }
    let raw: RawReview =
        serde_json::from_slice(bytes).map_err(|e| ReviewError::Malformed(e.to_string()))?;
    if raw.api_version.as_deref() != Some(API_VERSION) {
        return Err(field(
            "apiVersion",
            format!(
                "{:?} is not {API_VERSION} (list only v1 in the webhook's admissionReviewVersions)",
                raw.api_version.unwrap_or_default()
            ),
        ));
    }
    if raw.kind.as_deref() != Some("AdmissionReview") {
        return Err(field("kind", "is not AdmissionReview"));
    }
    let request = raw.request.ok_or_else(|| field("request", "is missing"))?;
    if request.uid.is_empty() || request.uid.len() > 128 {
        return Err(field("request.uid", "must be 1 to 128 characters"));
    }
    Ok(request)
}

/// Which list of a pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ContainerKind {
    /// `initContainers`.
    InitContainer,
    /// `containers`.
    Container,
    /// `ephemeralContainers` (`kubectl debug`).
    EphemeralContainer,
}

impl ContainerKind {
    /// The pod spec field that lists them.
    pub fn field(self) -> &'static str {
        match self {
            ContainerKind::InitContainer => "initContainers",
            ContainerKind::Container => "containers",
            ContainerKind::EphemeralContainer => "ephemeralContainers",
        }
    }
}

/// One container a review would run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerRequest {
    /// Which list it is in.
    pub kind: ContainerKind,
    /// Its name.
    pub name: String,
    /// Its image, as written.
    pub image: String,
    /// The JSON pointer of its `image` in the object
    /// (`/spec/template/spec/containers/0/image`), for a patch.
    pub image_pointer: String,
    /// How it asks to run.
    pub request: RuntimeRequest,
}

/// What a review asks to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workload {
    /// Nothing runs (a DELETE, a CONNECT): allowed without judging.
    Nothing(String),
    /// These containers, to be judged one by one.
    Containers(Vec<ContainerRequest>),
}

/// Where the pod spec is in each kind the webhook is registered for.
fn spec_pointer(kind: &GroupVersionKind) -> Option<&'static str> {
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Pod") => Some("/spec"),
        ("", "PodTemplate") => Some("/template/spec"),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("batch", "Job")
        | ("", "ReplicationController") => Some("/spec/template/spec"),
        ("batch", "CronJob") => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// The containers `request` would run. On the `ephemeralcontainers`
/// subresource only the ephemeral containers are judged (the others
/// cannot change there); otherwise every container of every list.
///
/// # Errors
///
/// A kind Clearance does not know where to find containers in, a pod spec
/// missing or of the wrong shape, a container without an image, more than
/// [`MAX_CONTAINERS`]: each names the field. The webhook denies them.
pub fn workload(request: &AdmissionRequest) -> Result<Workload, ReviewError> {
    match request.operation.as_str() {
        "CREATE" | "UPDATE" => {}
        "DELETE" | "CONNECT" => {
            return Ok(Workload::Nothing(format!(
                "{} runs no container",
                request.operation
            )));
        }
        other => {
            return Err(field(
                "request.operation",
                format!("{other:?} is not CREATE, UPDATE, DELETE or CONNECT"),
            ));
        }
    }
    let Some(pointer) = spec_pointer(&request.kind) else {
        let group = if request.kind.group.is_empty() {
            "core".to_owned()
        } else {
            request.kind.group.clone()
        };
        return Err(field(
            "request.kind",
            format!(
                "{}/{} ({group}) is not a kind Clearance finds containers in (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, PodTemplate, Job, CronJob); narrow the webhook's rules to them",
                request.kind.version, request.kind.kind
            ),
        ));
    };
    let object = request
        .object
        .as_ref()
        .ok_or_else(|| field("request.object", "is missing"))?;
    let place = |p: &str| format!("request.object{}", p.replace('/', "."));
    let spec_value = object
        .pointer(pointer)
        .ok_or_else(|| field(place(pointer), "is missing"))?;
    let spec: PodSpec = serde_json::from_value(spec_value.clone())
        .map_err(|e| field(place(pointer), e.to_string()))?;
    let ephemeral_only = request.sub_resource == "ephemeralcontainers";
    if !request.sub_resource.is_empty() && !ephemeral_only {
        return Err(field(
            "request.subResource",
            format!(
                "{:?} is not one Clearance judges (only ephemeralcontainers, or the object itself)",
                request.sub_resource
            ),
        ));
    }
    let lists: Vec<(ContainerKind, &Vec<Container>)> = if ephemeral_only {
        vec![(
            ContainerKind::EphemeralContainer,
            &spec.ephemeral_containers,
        )]
    } else {
        vec![
            (ContainerKind::InitContainer, &spec.init_containers),
            (ContainerKind::Container, &spec.containers),
            (
                ContainerKind::EphemeralContainer,
                &spec.ephemeral_containers,
            ),
        ]
    };
    let total: usize = lists.iter().map(|(_, l)| l.len()).sum();
    if total > MAX_CONTAINERS {
        return Err(field(
            place(pointer),
            format!("has {total} containers; at most {MAX_CONTAINERS} are judged"),
        ));
    }
    let host_paths: Vec<String> = spec
        .volumes
        .iter()
        .filter_map(|v| v.host_path.as_ref().map(|h| h.path.clone()))
        .collect();
    let mut host_namespaces = Vec::new();
    for (on, name) in [
        (spec.host_pid, "pid"),
        (spec.host_ipc, "ipc"),
        (spec.host_network, "network"),
    ] {
        if on == Some(true) {
            host_namespaces.push(name.to_owned());
        }
    }
    let pod_context = spec.security_context.clone().unwrap_or_default();
    let mut out = Vec::new();
    for (kind, list) in lists {
        for (i, c) in list.iter().enumerate() {
            let at = format!("{pointer}/{}/{i}", kind.field());
            let image = c
                .image
                .clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| field(place(&format!("{at}/image")), "is missing or empty"))?;
            let ctx = c.security_context.clone().unwrap_or_default();
            let privileged = ctx.privileged == Some(true);
            out.push(ContainerRequest {
                kind,
                name: c.name.clone(),
                image,
                image_pointer: format!("{at}/image"),
                request: RuntimeRequest {
                    user: ctx
                        .run_as_user
                        .or(pod_context.run_as_user)
                        .map(|u| u.to_string()),
                    run_as_non_root: ctx
                        .run_as_non_root
                        .or(pod_context.run_as_non_root)
                        .unwrap_or(false),
                    user_namespace: spec.host_users == Some(false),
                    privileged,
                    // Privileged containers can always gain privileges.
                    no_new_privileges: !privileged && ctx.allow_privilege_escalation == Some(false),
                    host_namespaces: host_namespaces.clone(),
                    host_paths: host_paths.clone(),
                    unconfined: unconfined(&ctx, &pod_context),
                    capabilities_added: ctx.capabilities.map(|c| c.add).unwrap_or_default(),
                },
            });
        }
    }
    Ok(Workload::Containers(out))
}

/// Confinement the container turns off: an `Unconfined` seccomp or
/// AppArmor profile (the container's, else the pod's), `procMount:
/// Unmasked`.
fn unconfined(ctx: &SecurityContext, pod: &PodSecurityContext) -> Vec<String> {
    let mut out = Vec::new();
    let seccomp = ctx
        .seccomp_profile
        .as_ref()
        .or(pod.seccomp_profile.as_ref());
    if seccomp.is_some_and(|p| p.kind == "Unconfined") {
        out.push("seccompProfile Unconfined".to_owned());
    }
    let apparmor = ctx
        .app_armor_profile
        .as_ref()
        .or(pod.app_armor_profile.as_ref());
    if apparmor.is_some_and(|p| p.kind == "Unconfined") {
        out.push("appArmorProfile Unconfined".to_owned());
    }
    if ctx.proc_mount.as_deref() == Some("Unmasked") {
        out.push("procMount Unmasked".to_owned());
    }
    out
}

/// The parts of a PodSpec a decision reads; other fields are ignored, and
/// a read field of the wrong type is an error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    #[serde(default)]
    containers: Vec<Container>,
    #[serde(default)]
    init_containers: Vec<Container>,
    #[serde(default)]
    ephemeral_containers: Vec<Container>,
    #[serde(default)]
    volumes: Vec<Volume>,
    // Kubernetes spells these two in capitals; camelCase would read
    // `hostPid` and miss them (a host namespace let through).
    #[serde(rename = "hostPID")]
    host_pid: Option<bool>,
    #[serde(rename = "hostIPC")]
    host_ipc: Option<bool>,
    host_network: Option<bool>,
    host_users: Option<bool>,
    security_context: Option<PodSecurityContext>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    #[serde(default)]
    name: String,
    image: Option<String>,
    security_context: Option<SecurityContext>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSecurityContext {
    run_as_user: Option<i64>,
    run_as_non_root: Option<bool>,
    seccomp_profile: Option<Profile>,
    app_armor_profile: Option<Profile>,
}

/// `seccompProfile`, `appArmorProfile`: `type` is `RuntimeDefault`,
/// `Localhost` or `Unconfined`.
#[derive(Debug, Clone, Default, Deserialize)]
struct Profile {
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecurityContext {
    privileged: Option<bool>,
    allow_privilege_escalation: Option<bool>,
    run_as_user: Option<i64>,
    run_as_non_root: Option<bool>,
    capabilities: Option<Capabilities>,
    seccomp_profile: Option<Profile>,
    app_armor_profile: Option<Profile>,
    proc_mount: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Capabilities {
    #[serde(default)]
    add: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    host_path: Option<HostPath>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct HostPath {
    #[serde(default)]
    path: String,
}

/// One RFC 6902 operation of a mutating answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchOperation {
    /// Always `replace`: only existing `image` fields are rewritten.
    pub op: &'static str,
    /// The JSON pointer ([`ContainerRequest::image_pointer`]).
    pub path: String,
    /// The new image (`REPO:TAG@sha256:…`).
    pub value: String,
}

/// The answer to a review (`response` of an AdmissionReview).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// The request's uid.
    pub uid: String,
    /// Whether it may go on.
    pub allowed: bool,
    /// Why not (code 403) or why it could not be judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// `JSONPatch` when there is a patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// The RFC 6902 patch, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Shown to the user by kubectl (at most 16, each at most 256
    /// characters here).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `metav1.Status` as a denial carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// HTTP-like code (403 denied, 400 unreadable, 500 could not judge).
    pub code: u16,
    /// What kubectl prints.
    pub message: String,
}

/// Longest denial message (bytes): the API server puts it in an event and
/// an error; a long list of reasons is cut with "…".
pub const MAX_MESSAGE_BYTES: usize = 4096;

fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl AdmissionResponse {
    /// Allowed, with `warnings` (clipped to 16 of 256 characters).
    pub fn allow(uid: &str, warnings: Vec<String>) -> AdmissionResponse {
        AdmissionResponse {
            uid: uid.to_owned(),
            allowed: true,
            status: None,
            patch_type: None,
            patch: None,
            warnings: warnings.iter().take(16).map(|w| clip(w, 256)).collect(),
        }
    }

    /// Denied with `code` and `message` (clipped to
    /// [`MAX_MESSAGE_BYTES`]).
    pub fn deny(uid: &str, code: u16, message: &str) -> AdmissionResponse {
        AdmissionResponse {
            uid: uid.to_owned(),
            allowed: false,
            status: Some(Status {
                code,
                message: clip(message, MAX_MESSAGE_BYTES),
            }),
            patch_type: None,
            patch: None,
            warnings: Vec::new(),
        }
    }

    /// Allowed with `operations` applied (none: a plain allow).
    pub fn patch(uid: &str, operations: &[PatchOperation]) -> AdmissionResponse {
        let mut response = AdmissionResponse::allow(uid, Vec::new());
        if !operations.is_empty() {
            let json = serde_json::to_vec(operations).unwrap_or_default();
            response.patch_type = Some("JSONPatch");
            response.patch = Some(base64::engine::general_purpose::STANDARD.encode(json));
        }
        response
    }

    /// The whole AdmissionReview to send back.
    pub fn review(&self) -> Value {
        serde_json::json!({
            "apiVersion": API_VERSION,
            "kind": "AdmissionReview",
            "response": self,
        })
    }
}
