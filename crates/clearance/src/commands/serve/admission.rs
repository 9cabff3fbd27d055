//! `clearance serve --admission`: the Kubernetes admission webhooks, over
//! HTTPS.
//!
//! - `POST /validate` (ValidatingWebhookConfiguration): every container a
//!   review would run — Pods, pod templates of every workload kind,
//!   `kubectl debug`'s ephemeral containers — is judged by the one decision
//!   function for the environment its namespace maps to. Anything that
//!   cannot be judged (an unreadable review, an unmapped namespace, a
//!   registry or trust server that does not answer, the time running out)
//!   is denied, and the denial says so: fail closed.
//! - `POST /mutate` (MutatingWebhookConfiguration): each image named by a
//!   tag is rewritten to `REPO:TAG@sha256:…`, the digest its trust data
//!   signs, so what runs is what was checked.
//! - `GET /healthz`.
//!
//! Evidence (trust, scan, configuration) is cached per image reference and
//! what the environment reads, for `--decision-ttl`; the decision itself
//! is recomputed for each container, since it also reads the container's
//! runtime request. Every decision is appended to the decision log.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Args;
use clearance_policy::admission::{
    self, AdmissionRequest, AdmissionResponse, ContainerRequest, PatchOperation, Workload,
};
use clearance_policy::audit::{AuditLog, AuditRecord};
use clearance_policy::decision::Outcome;
use clearance_policy::policy::Policy;
use clearance_scan::db::AdvisoryDb;

use crate::cli::RegistryArgs;
use crate::commands::check::DecisionLogArgs;
use crate::commands::db::DbArgs;
use crate::commands::evidence::{Gathered, Needs, Sources};
use crate::commands::image::ImageArgs;
use crate::commands::trust::common::OptionalTrustArgs;
use crate::commands::trust::verify::RootArgs;

/// The admission webhook's flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "Admission webhook (--admission)")]
pub struct AdmissionArgs {
    /// The policy file (YAML, docs/policy.md).
    #[arg(long, env = "CLEARANCE_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Judge a namespace's workloads by an environment: NAMESPACE=ENV
    /// (repeatable; NAMESPACE may end in `*`, as `team-*=staging`). The
    /// first that matches decides.
    #[arg(long = "namespace", value_name = "NAMESPACE=ENV", value_parser = namespace_rule)]
    pub namespaces: Vec<(String, String)>,
    /// The environment of namespaces no --namespace names; without it
    /// their workloads are denied.
    #[arg(long, value_name = "ENV")]
    pub default_env: Option<String>,
    /// How long gathered evidence (signers, scan) is reused, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub decision_ttl: u64,
    /// Longest a review may take to judge before it is denied, in seconds
    /// (below the webhook's timeoutSeconds, 10 in the printed manifests).
    #[arg(long, default_value_t = 8, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=29))]
    pub review_timeout: u64,
    #[command(flatten)]
    pub roots: RootArgs,
    #[command(flatten)]
    pub trust_client: OptionalTrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub log: DecisionLogArgs,
}

fn namespace_rule(text: &str) -> Result<(String, String), String> {
    let (ns, env) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAMESPACE=ENV"))?;
    let name = ns.strip_suffix('*').unwrap_or(ns);
    let ok = |s: &str| {
        s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !ok(name) || (name.is_empty() && ns != "*") || env.is_empty() {
        return Err(format!(
            "{text:?}: a namespace is lowercase letters, digits and '-' (optionally ending in '*'), and ENV names an environment of the policy"
        ));
    }
    Ok((ns.to_owned(), env.to_owned()))
}

/// Gathered evidence by (image reference, what was gathered), with when.
type EvidenceCache = HashMap<(String, Needs), (Instant, Arc<Gathered>)>;

/// Everything a review is judged with.
struct Webhook {
    policy: Policy,
    namespaces: Vec<(String, String)>,
    default_env: Option<String>,
    sources: Sources,
    db: Option<AdvisoryDb>,
    ttl: Duration,
    timeout: Duration,
    log: AuditLog,
    cache: std::sync::Mutex<EvidenceCache>,
    /// One gathering at a time: the trust client's store is a directory
    /// per repository, and a second request for an image being gathered
    /// then finds it cached.
    gathering: tokio::sync::Mutex<()>,
}

/// Build the webhook's router from the flags (the policy loaded and every
/// environment the namespaces name checked against it).
///
/// # Errors
///
/// No policy, an environment the policy lacks, a database or decision log
/// that cannot be opened.
pub async fn router(args: &AdmissionArgs) -> anyhow::Result<axum::Router> {
    let Some(path) = &args.policy else {
        bail!("--admission needs a policy: --policy FILE or CLEARANCE_POLICY");
    };
    let policy = crate::commands::policy::load(path)?;
    let named = args
        .namespaces
        .iter()
        .map(|(_, e)| e)
        .chain(args.default_env.iter());
    for env in named {
        if !policy.environments.contains_key(env) {
            bail!(
                "{} has no environment {env:?} (it has: {})",
                path.display(),
                policy.environment_names()
            );
        }
    }
    if args.namespaces.is_empty() && args.default_env.is_none() {
        bail!(
            "say which environment each namespace is judged by: --namespace NAMESPACE=ENV (repeatable) and/or --default-env ENV"
        );
    }
    let signs = policy.environments.values().any(|e| Needs::of(e).trust);
    if signs && args.trust_client.server.is_none() {
        bail!(
            "{} asks for signatures, and no trust server was named: pass --server URL or set CLEARANCE_TRUST_SERVER (otherwise every workload would be denied)",
            path.display()
        );
    }
    let db_path = args.db.path()?;
    let scans = policy.environments.values().any(|e| Needs::of(e).scan);
    let db = if scans {
        Some(AdvisoryDb::open(&db_path).await?)
    } else {
        None
    };
    let log_path = args.log.path()?;
    let log = AuditLog::open(&log_path)
        .with_context(|| format!("cannot open the decision log {}", log_path.display()))?;
    let sources = Sources {
        image: ImageArgs {
            image: String::new(),
            platform: None,
            skip_foreign_layers: false,
            parallel: 2,
            no_layer_store: false,
            registry: args.registry.clone(),
        },
        roots: args.roots.clone(),
        trust: args.trust_client.trust(),
        db_path,
    };
    let webhook = Arc::new(Webhook {
        policy,
        namespaces: args.namespaces.clone(),
        default_env: args.default_env.clone(),
        sources,
        db,
        ttl: Duration::from_secs(args.decision_ttl),
        timeout: Duration::from_secs(args.review_timeout),
        log,
        cache: std::sync::Mutex::new(HashMap::new()),
        gathering: tokio::sync::Mutex::new(()),
    });
    tracing::info!(log = %log_path.display(), "admission webhook ready");
    Ok(axum::Router::new()
        .route("/validate", post(validate))
        .route("/mutate", post(mutate))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(admission::MAX_REVIEW_BYTES))
        .with_state(webhook))
}

/// A review that cannot be read has no uid to answer: HTTP 400, which the
/// API server treats as the webhook failing (denied under `failurePolicy:
/// Fail`).
fn unreadable(e: &admission::ReviewError) -> Response {
    tracing::warn!(error = %e, "unreadable AdmissionReview");
    (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response()
}

fn answer(response: &AdmissionResponse) -> Response {
    Json(response.review()).into_response()
}

async fn validate(State(webhook): State<Arc<Webhook>>, body: Bytes) -> Response {
    let request = match admission::parse_review(&body) {
        Ok(r) => r,
        Err(e) => return unreadable(&e),
    };
    let uid = request.uid.clone();
    match tokio::time::timeout(webhook.timeout, webhook.validate(&request)).await {
        Ok(response) => answer(&response),
        Err(_) => answer(&AdmissionResponse::deny(
            &uid,
            500,
            &format!(
                "Clearance could not judge this in {} s, so it is denied (fail closed); try again, the evidence gathered so far is kept",
                webhook.timeout.as_secs()
            ),
        )),
    }
}

async fn mutate(State(webhook): State<Arc<Webhook>>, body: Bytes) -> Response {
    let request = match admission::parse_review(&body) {
        Ok(r) => r,
        Err(e) => return unreadable(&e),
    };
    let uid = request.uid.clone();
    match tokio::time::timeout(webhook.timeout, webhook.mutate(&request)).await {
        Ok(Ok(response)) => answer(&response),
        // Not pinned is not allowed: an error answer, which the API server
        // turns into a denial under `failurePolicy: Fail` (an allow without
        // the pin would let the validating webhook judge a tag that can
        // still move).
        Ok(Err(e)) => fail(&uid, &e),
        Err(_) => fail(
            &uid,
            &format!(
                "Clearance could not resolve the signed digests in {} s",
                webhook.timeout.as_secs()
            ),
        ),
    }
}

fn fail(uid: &str, why: &str) -> Response {
    tracing::warn!(%uid, reason = %why, "mutating webhook failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("{why}; images are not pinned, so this is refused (fail closed)\n"),
    )
        .into_response()
}

impl Webhook {
    /// The environment `namespace` maps to.
    fn environment(&self, namespace: &str) -> Option<&str> {
        self.namespaces
            .iter()
            .find(|(pattern, _)| match pattern.strip_suffix('*') {
                Some(prefix) => namespace.starts_with(prefix),
                None => pattern == namespace,
            })
            .map(|(_, env)| env.as_str())
            .or(self.default_env.as_deref())
    }

    /// The evidence of `image` for `needs`: cached, or gathered now.
    async fn evidence(&self, image: &str, needs: Needs) -> Result<Arc<Gathered>, String> {
        let key = (image.to_owned(), needs);
        let cached = |cache: &EvidenceCache| {
            cache
                .get(&key)
                .filter(|(at, _)| at.elapsed() < self.ttl)
                .map(|(_, g)| g.clone())
        };
        if let Some(g) = cached(&self.cache.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(g);
        }
        let _one = self.gathering.lock().await;
        if let Some(g) = cached(&self.cache.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(g);
        }
        let gathered = self
            .sources
            .gather(image, needs, self.db.as_ref())
            .await
            .map_err(|e| format!("{e:#}"))?;
        let gathered = Arc::new(gathered);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (at, _)| at.elapsed() < self.ttl);
        cache.insert(key, (Instant::now(), gathered.clone()));
        Ok(gathered)
    }

    async fn validate(&self, request: &AdmissionRequest) -> AdmissionResponse {
        let uid = &request.uid;
        let containers = match admission::workload(request) {
            Ok(Workload::Nothing(_)) => return AdmissionResponse::allow(uid, Vec::new()),
            Ok(Workload::Containers(c)) => c,
            Err(e) => {
                return AdmissionResponse::deny(uid, 400, &format!("Clearance denied this: {e}"));
            }
        };
        let Some(env) = self.environment(&request.namespace) else {
            return AdmissionResponse::deny(
                uid,
                403,
                &format!(
                    "Clearance denied this: namespace {:?} maps to no environment (clearance serve --namespace NAMESPACE=ENV or --default-env)",
                    request.namespace
                ),
            );
        };
        let Some(environment) = self.policy.environments.get(env) else {
            return AdmissionResponse::deny(uid, 500, "Clearance's environment vanished");
        };
        let needs = Needs::of(environment);
        let mut denials = Vec::new();
        let mut warnings = Vec::new();
        for c in &containers {
            match self.judge(request, env, needs, c).await {
                Ok((true, reasons)) => warnings.extend(reasons),
                Ok((false, reasons)) => denials.push(format!(
                    "{} {:?} ({}): {}",
                    kind_word(c),
                    c.name,
                    c.image,
                    reasons.join("; ")
                )),
                Err(e) => denials.push(format!(
                    "{} {:?} ({}) could not be judged, so it is denied (fail closed): {e}",
                    kind_word(c),
                    c.name,
                    c.image
                )),
            }
        }
        if denials.is_empty() {
            AdmissionResponse::allow(uid, warnings)
        } else {
            AdmissionResponse::deny(
                uid,
                403,
                &format!(
                    "Clearance denied this in environment {env}: {}",
                    denials.join(" | ")
                ),
            )
        }
    }

    /// One container: whether it may run, and the reasons (denials, or
    /// warnings in `warn` mode).
    async fn judge(
        &self,
        request: &AdmissionRequest,
        env: &str,
        needs: Needs,
        c: &ContainerRequest,
    ) -> Result<(bool, Vec<String>), String> {
        // Named before anything is fetched: a reference the kubelet would
        // not pull from a registry (Kubernetes image names are docker
        // references; `oci:…` is a registry host called `oci`), and a
        // registry or repository the environment does not allow.
        let reference = clearance_oci::RegistryRef::parse(&c.image)
            .map_err(|e| format!("the image reference does not parse: {e}"))?;
        let now = i64::try_from(clearance_oci::time::now_unix()).unwrap_or(i64::MAX);
        let mut early = clearance_policy::evidence::Evidence::default();
        early.image.reference = c.image.clone();
        early.image.registry = reference.registry().to_owned();
        early.image.repository = reference.name();
        let sources = clearance_policy::evaluate(&self.policy, env, &early, now)
            .map_err(|e| e.to_string())?;
        let refused: Vec<String> = sources
            .reasons
            .iter()
            .filter(|r| r.rule.starts_with("sources.") && r.outcome == Outcome::Deny)
            .map(|r| format!("{}: {}", r.rule, r.message))
            .collect();
        if !refused.is_empty() {
            let subject = self.subject(request, c);
            let record = AuditRecord::new("admission", &subject, &sources, &early, now);
            tokio::task::block_in_place(|| self.log.append(&record))
                .map_err(|e| format!("the decision log cannot be written ({e})"))?;
            return Ok((false, refused));
        }
        let docker = format!("docker://{}", reference);
        let gathered = self.evidence(&docker, needs).await?;
        let mut evidence = gathered.evidence.clone();
        evidence.request = Some(c.request.clone());
        let now = i64::try_from(clearance_oci::time::now_unix()).unwrap_or(i64::MAX);
        evidence.image.reference = c.image.clone();
        let mut decision = clearance_policy::evaluate(&self.policy, env, &evidence, now)
            .map_err(|e| e.to_string())?;
        // The kubelet pulls a reference without a digest by its tag: the
        // tag must still point at what was signed and judged.
        if reference.digest().is_none()
            && let (Some(now_at), Some(judged)) = (&gathered.tag_digest, &evidence.image.digest)
            && now_at != judged
        {
            decision.allowed = false;
            decision.reasons.push(clearance_policy::decision::Reason {
                rule: "trust.signed",
                outcome: Outcome::Deny,
                message: format!(
                    "the registry's tag now points at {now_at}, not the signed {judged} that was judged; the kubelet would pull the former"
                ),
                evidence: format!("registry tag = {now_at}"),
                fix: "run the image by its signed digest (the mutating webhook pins it), or sign what the tag points at".into(),
            });
        }
        let subject = self.subject(request, c);
        let record = AuditRecord::new("admission", &subject, &decision, &evidence, now);
        let log = &self.log;
        // Fail closed: a decision that cannot be logged is not given.
        tokio::task::block_in_place(|| log.append(&record))
            .map_err(|e| format!("the decision log cannot be written ({e})"))?;
        let reasons = decision
            .reasons
            .iter()
            .map(|r| match r.outcome {
                Outcome::Deny => format!("{}: {}", r.rule, r.message),
                Outcome::Warn => format!("{} (warn): {}", r.rule, r.message),
            })
            .collect();
        Ok((decision.allowed, reasons))
    }

    /// Pins for every tag-only image whose environment asks for a
    /// signature. `Err`: a signature that could not be looked up.
    async fn mutate(&self, request: &AdmissionRequest) -> Result<AdmissionResponse, String> {
        let uid = &request.uid;
        let Ok(Workload::Containers(containers)) = admission::workload(request) else {
            // Nothing to pin; the validating webhook names any problem.
            return Ok(AdmissionResponse::allow(uid, Vec::new()));
        };
        let signs = self
            .environment(&request.namespace)
            .and_then(|env| self.policy.environments.get(env))
            .is_some_and(|env| Needs::of(env).trust);
        if !signs {
            // No signature asked for: nothing to pin to.
            return Ok(AdmissionResponse::allow(uid, Vec::new()));
        }
        let mut ops = Vec::new();
        let needs = Needs {
            trust: true,
            scan: false,
        };
        for c in &containers {
            let Ok(reference) = clearance_oci::RegistryRef::parse(&c.image) else {
                continue;
            };
            if reference.digest().is_some() {
                continue;
            }
            let g = self
                .evidence(&format!("docker://{reference}"), needs)
                .await
                .map_err(|e| format!("the signed digest of {} could not be found: {e}", c.image))?;
            // A tag that does not verify is left for the validating
            // webhook to deny.
            if let (Some(t), Some(digest)) = (&g.evidence.trust, &g.evidence.image.digest)
                && t.verified
            {
                ops.push(PatchOperation {
                    op: "replace",
                    path: c.image_pointer.clone(),
                    value: format!("{}@{digest}", c.image),
                });
            }
        }
        Ok(AdmissionResponse::patch(uid, &ops))
    }
}

impl Webhook {
    /// Who asked for what, for the decision log: `NAMESPACE/NAME KIND
    /// CONTAINER by USER` (a controller's pod without a name yet is
    /// `NAMESPACE/(generated)`).
    fn subject(&self, request: &AdmissionRequest, c: &ContainerRequest) -> String {
        let name = if request.name.is_empty() {
            "(generated)"
        } else {
            &request.name
        };
        let mut subject = format!("{}/{name} {} {}", request.namespace, kind_word(c), c.name);
        if !request.user_info.username.is_empty() {
            subject.push_str(&format!(" by {}", request.user_info.username));
        }
        if request.dry_run == Some(true) {
            subject.push_str(" (dry run)");
        }
        subject
    }
}

fn kind_word(c: &ContainerRequest) -> &'static str {
    match c.kind {
        admission::ContainerKind::InitContainer => "init container",
        admission::ContainerKind::Container => "container",
        admission::ContainerKind::EphemeralContainer => "ephemeral container",
    }
}
