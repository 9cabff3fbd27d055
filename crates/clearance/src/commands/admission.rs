//! `clearance admission manifests`: the ValidatingWebhookConfiguration and
//! MutatingWebhookConfiguration (admissionregistration.k8s.io/v1) that
//! send every container a cluster would run to `clearance serve
//! --admission`: Pods and `pods/ephemeralcontainers` (`kubectl debug`),
//! and every workload kind with a pod template; `failurePolicy: Fail`, so
//! a webhook that cannot answer denies; the CA that signed the webhook's
//! certificate as `caBundle`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use clap::{Args, Subcommand};

use crate::exit::Exit;

#[derive(Debug, Subcommand)]
pub enum AdmissionCommand {
    /// Print the webhook configurations (YAML) for `kubectl apply -f -`.
    Manifests(ManifestsArgs),
}

#[derive(Debug, Args)]
pub struct ManifestsArgs {
    /// The PEM CA certificate that signed the webhook's TLS certificate
    /// (--tls-cert of `clearance serve --admission`); it becomes caBundle.
    #[arg(long, value_name = "FILE")]
    pub ca_file: PathBuf,
    /// The Service in front of the webhook: NAMESPACE/NAME[:PORT]
    /// (port 443 by default).
    #[arg(long, value_name = "NAMESPACE/NAME[:PORT]", conflicts_with = "url")]
    pub service: Option<String>,
    /// Or the webhook's URL, https://HOST[:PORT], for a webhook outside
    /// the cluster.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Namespaces never sent to the webhook (repeatable) [default:
    /// kube-system and the Service's namespace, so that the webhook itself
    /// can always start].
    #[arg(long = "exempt-namespace", value_name = "NAMESPACE")]
    pub exempt: Vec<String>,
}

pub async fn run(command: AdmissionCommand) -> anyhow::Result<Exit> {
    match command {
        AdmissionCommand::Manifests(args) => {
            let text = manifests(&args)?;
            let mut out = std::io::stdout().lock();
            // A reader that stops early (`| head`) is not an error.
            match std::io::Write::write_all(&mut out, text.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(e).context("writing the manifests");
                }
                _ => {}
            }
            Ok(Exit::Ok)
        }
    }
}

/// A DNS-1123 label: what namespaces and Service names are.
fn label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The `clientConfig` without its caBundle, and the namespace to exempt.
fn client_config(args: &ManifestsArgs, path: &str) -> anyhow::Result<(String, Option<String>)> {
    match (&args.service, &args.url) {
        (Some(service), _) => {
            let (namespace, rest) = service
                .split_once('/')
                .with_context(|| format!("--service {service:?} is not NAMESPACE/NAME[:PORT]"))?;
            let (name, port) = match rest.split_once(':') {
                Some((name, port)) => (
                    name,
                    port.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .with_context(|| {
                            format!("--service {service:?}: {port:?} is not a port")
                        })?,
                ),
                None => (rest, 443),
            };
            if !label(namespace) || !label(name) {
                bail!(
                    "--service {service:?}: the namespace and name are DNS labels (lowercase letters, digits, '-')"
                );
            }
            Ok((
                format!(
                    "      service:\n        namespace: {namespace}\n        name: {name}\n        path: {path}\n        port: {port}\n"
                ),
                Some(namespace.to_owned()),
            ))
        }
        (None, Some(url)) => {
            let parsed = url::Url::parse(url).with_context(|| format!("--url {url:?}"))?;
            if parsed.scheme() != "https" || parsed.host_str().is_none() {
                bail!(
                    "--url {url:?}: the API server calls webhooks over HTTPS only: give https://HOST[:PORT]"
                );
            }
            if parsed.path() != "/" || parsed.query().is_some() || !parsed.username().is_empty() {
                bail!(
                    "--url {url:?}: give the webhook's base, https://HOST[:PORT], without a path, query or login (the manifests add /validate and /mutate)"
                );
            }
            let base = parsed.as_str().trim_end_matches('/');
            Ok((format!("      url: \"{base}{path}\"\n"), None))
        }
        (None, None) => bail!(
            "say where the webhook is: --service NAMESPACE/NAME[:PORT] (in the cluster) or --url https://HOST[:PORT]"
        ),
    }
}

const RULES: &str = r#"    rules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates"]
        scope: Namespaced
      - apiGroups: ["apps"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["deployments", "statefulsets", "daemonsets", "replicasets"]
        scope: Namespaced
      - apiGroups: ["batch"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["jobs", "cronjobs"]
        scope: Namespaced
"#;

/// Both configurations as one YAML stream.
fn manifests(args: &ManifestsArgs) -> anyhow::Result<String> {
    let pem = std::fs::read(&args.ca_file)
        .with_context(|| format!("cannot read --ca-file {}", args.ca_file.display()))?;
    if pem.len() > 1 << 20 || !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----")
    {
        bail!(
            "--ca-file {} is not a PEM CA certificate (-----BEGIN CERTIFICATE-----)",
            args.ca_file.display()
        );
    }
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(&pem);
    let (validate, own) = client_config(args, "/validate")?;
    let (mutate, _) = client_config(args, "/mutate")?;
    let mut exempt = args.exempt.clone();
    if exempt.is_empty() {
        exempt.push("kube-system".to_owned());
        exempt.extend(own);
    }
    for ns in &exempt {
        if !label(ns) {
            bail!("--exempt-namespace {ns:?} is not a namespace name");
        }
    }
    let exempt = exempt
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let common = |client: &str| {
        format!(
            "    admissionReviewVersions: [\"v1\"]\n    sideEffects: None\n    failurePolicy: Fail\n    matchPolicy: Equivalent\n    timeoutSeconds: 10\n    clientConfig:\n{client}      caBundle: {ca_bundle}\n    namespaceSelector:\n      matchExpressions:\n        - key: kubernetes.io/metadata.name\n          operator: NotIn\n          values: [{exempt}]\n{RULES}"
        )
    };
    Ok(format!(
        "# clearance admission manifests: every container a workload would run is sent to
# clearance serve --admission; failurePolicy Fail denies whatever it cannot answer.
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: clearance
webhooks:
  - name: pin.images.clearance.dev
    reinvocationPolicy: IfNeeded
{}---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: clearance
webhooks:
  - name: validate.images.clearance.dev
{}",
        common(&mutate),
        common(&validate)
    ))
}
