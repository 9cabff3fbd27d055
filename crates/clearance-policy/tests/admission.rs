//! AdmissionReview v1 in, containers and answers out: fixtures shaped as
//! the API server sends them (tests/data/admission), for a Pod, a
//! Deployment, a CronJob and `kubectl debug`'s ephemeral container, and
//! every way a review can be wrong named by its field.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use clearance_policy::admission::{
    self, AdmissionResponse, ContainerKind, MAX_CONTAINERS, MAX_REVIEW_BYTES, PatchOperation,
    ReviewError, Workload,
};
use clearance_policy::date::Date;
use clearance_policy::evidence::{ConfigEvidence, Evidence};
use clearance_policy::{evaluate, policy};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/admission")
            .join(name),
    )
    .unwrap()
}

fn containers(name: &str) -> Vec<admission::ContainerRequest> {
    let request = admission::parse_review(&fixture(name)).unwrap();
    match admission::workload(&request).unwrap() {
        Workload::Containers(c) => c,
        Workload::Nothing(why) => panic!("{why}"),
    }
}

#[test]
fn every_container_of_a_pod_is_found_with_how_it_asks_to_run() {
    let request = admission::parse_review(&fixture("pod-create.json")).unwrap();
    assert_eq!(request.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert_eq!(request.namespace, "production");
    assert_eq!(request.user_info.username, "alice");
    let c = containers("pod-create.json");
    let seen: Vec<(ContainerKind, &str, &str)> = c
        .iter()
        .map(|c| (c.kind, c.name.as_str(), c.image_pointer.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                ContainerKind::InitContainer,
                "migrate",
                "/spec/initContainers/0/image"
            ),
            (ContainerKind::Container, "app", "/spec/containers/0/image"),
            (
                ContainerKind::Container,
                "sidecar",
                "/spec/containers/1/image"
            ),
        ]
    );
    // The init container overrides the pod's user with root.
    assert_eq!(c[0].request.user.as_deref(), Some("0"));
    assert!(!c[0].request.run_as_non_root);
    // The app inherits the pod's.
    assert_eq!(c[1].request.user.as_deref(), Some("1000"));
    assert!(c[1].request.run_as_non_root);
    assert!(c[1].request.no_new_privileges);
    assert_eq!(c[1].request.capabilities_added, ["NET_BIND_SERVICE"]);
    // Pod-wide: the host's PID namespace and the Docker socket.
    for x in &c {
        assert_eq!(x.request.host_namespaces, ["pid"]);
        assert_eq!(x.request.host_paths, ["/var/run/docker.sock"]);
        assert!(!x.request.user_namespace);
    }
    // Privileged can always escalate, whatever allowPrivilegeEscalation says.
    assert!(c[2].request.privileged);
    assert!(!c[2].request.no_new_privileges);
}

#[test]
fn pod_templates_are_found_in_every_workload_kind() {
    let c = containers("deployment-create.json");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].image_pointer, "/spec/template/spec/containers/0/image");
    assert!(c[0].request.user_namespace, "hostUsers: false");
    let c = containers("cronjob-create.json");
    assert_eq!(
        c[0].image_pointer,
        "/spec/jobTemplate/spec/template/spec/containers/0/image"
    );
    assert_eq!(c[0].request.user.as_deref(), Some("65534"));
    // The same template under each kind that has one.
    let template = serde_json::json!({"spec": {"containers": [{"name": "a", "image": "x:1"}]}});
    for (group, kind, pointer) in [
        ("apps", "StatefulSet", "/spec/template/spec"),
        ("apps", "DaemonSet", "/spec/template/spec"),
        ("apps", "ReplicaSet", "/spec/template/spec"),
        ("batch", "Job", "/spec/template/spec"),
        ("", "ReplicationController", "/spec/template/spec"),
        ("", "PodTemplate", "/template/spec"),
    ] {
        let object = if kind == "PodTemplate" {
            serde_json::json!({"template": template})
        } else {
            serde_json::json!({"spec": {"template": template}})
        };
        let review = serde_json::json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u", "kind": {"group": group, "version": "v1", "kind": kind},
                        "operation": "CREATE", "object": object}
        });
        let request = admission::parse_review(review.to_string().as_bytes()).unwrap();
        let Workload::Containers(c) = admission::workload(&request).unwrap() else {
            panic!("{kind}");
        };
        assert_eq!(
            c[0].image_pointer,
            format!("{pointer}/containers/0/image"),
            "{kind}"
        );
    }
}

#[test]
fn kubectl_debug_is_judged_by_its_ephemeral_container_alone() {
    let c = containers("pod-ephemeralcontainers-update.json");
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].kind, ContainerKind::EphemeralContainer);
    assert_eq!(c[0].image, "docker.io/library/busybox:latest");
    assert_eq!(c[0].image_pointer, "/spec/ephemeralContainers/0/image");
    assert!(c[0].request.privileged);
    // And the policy refuses it: privileged, not signed, not pinned.
    let text = "version: 1\nenvironments:\n  production:\n    trust: {signed: required, pinned: required}\n    runtime: {privileged: deny}\n";
    let policy = policy::load(text, "p.yaml", Date::parse("2026-12-01").unwrap()).unwrap();
    let evidence = Evidence {
        request: Some(c[0].request.clone()),
        config: Some(ConfigEvidence::default()),
        ..Evidence::default()
    };
    let decision = evaluate(&policy, "production", &evidence, 1_796_083_200).unwrap();
    let rules: Vec<&str> = decision.reasons.iter().map(|r| r.rule).collect();
    assert_eq!(
        rules,
        ["trust.pinned", "trust.signed", "runtime.privileged"]
    );
}

#[test]
fn deletes_run_nothing() {
    let review = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "operation": "DELETE", "object": null, "oldObject": {"spec": {}}}
    });
    let request = admission::parse_review(review.to_string().as_bytes()).unwrap();
    assert!(matches!(
        admission::workload(&request).unwrap(),
        Workload::Nothing(_)
    ));
}

fn error_of(review: &serde_json::Value) -> String {
    let bytes = review.to_string();
    match admission::parse_review(bytes.as_bytes()) {
        Err(e) => e.to_string(),
        Ok(request) => admission::workload(&request).unwrap_err().to_string(),
    }
}

#[test]
fn a_wrong_review_is_refused_naming_the_field() {
    let pod = |spec: serde_json::Value| {
        serde_json::json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                        "operation": "CREATE", "object": {"spec": spec}}
        })
    };
    let mut v1beta1 = pod(serde_json::json!({}));
    v1beta1["apiVersion"] = "admission.k8s.io/v1beta1".into();
    let mut no_uid = pod(serde_json::json!({}));
    no_uid["request"]["uid"] = "".into();
    let mut service = pod(serde_json::json!({}));
    service["request"]["kind"]["kind"] = "Service".into();
    let mut status = pod(serde_json::json!({"containers": [{"name": "a", "image": "x"}]}));
    status["request"]["subResource"] = "status".into();
    let mut no_object = pod(serde_json::json!({}));
    no_object["request"]["object"] = serde_json::Value::Null;
    let mut patch = pod(serde_json::json!({}));
    patch["request"]["operation"] = "PATCH".into();
    for (review, says) in [
        (
            v1beta1,
            "apiVersion: \"admission.k8s.io/v1beta1\" is not admission.k8s.io/v1",
        ),
        (no_uid, "request.uid: must be 1 to 128 characters"),
        (
            service,
            "request.kind: v1/Service (core) is not a kind Clearance finds containers in",
        ),
        (
            status,
            "request.subResource: \"status\" is not one Clearance judges",
        ),
        (no_object, "request.object: is missing"),
        (patch, "request.operation: \"PATCH\" is not CREATE"),
        (
            pod(serde_json::json!({"containers": [{"name": "a", "image": "x"}, {"name": "b"}]})),
            "request.object.spec.containers.1.image: is missing or empty",
        ),
        (
            pod(
                serde_json::json!({"containers": [{"name": "a", "image": "x", "securityContext": {"privileged": "true"}}]}),
            ),
            "request.object.spec: invalid type: string \"true\", expected a boolean",
        ),
        (
            pod(serde_json::json!({"hostNetwork": 1, "containers": []})),
            "request.object.spec: invalid type: integer `1`, expected a boolean",
        ),
        (
            pod(
                serde_json::json!({"containers": vec![serde_json::json!({"name": "a", "image": "x"}); MAX_CONTAINERS + 1]}),
            ),
            "has 257 containers; at most 256 are judged",
        ),
    ] {
        let error = error_of(&review);
        assert!(error.contains(says), "{error}\nshould say: {says}");
    }
    assert!(matches!(
        admission::parse_review(b"{\"apiVersion\": "),
        Err(ReviewError::Malformed(_))
    ));
    let big = vec![b' '; MAX_REVIEW_BYTES + 1];
    assert_eq!(
        admission::parse_review(&big).unwrap_err(),
        ReviewError::TooLarge(MAX_REVIEW_BYTES + 1)
    );
}

#[test]
fn answers_are_admission_reviews_with_the_uid_and_a_base64_patch() {
    let denied = AdmissionResponse::deny("u-1", 403, &"é".repeat(5000)).review();
    assert_eq!(denied["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(denied["kind"], "AdmissionReview");
    assert_eq!(denied["response"]["uid"], "u-1");
    assert_eq!(denied["response"]["allowed"], false);
    assert_eq!(denied["response"]["status"]["code"], 403);
    let message = denied["response"]["status"]["message"].as_str().unwrap();
    assert!(message.len() <= admission::MAX_MESSAGE_BYTES && message.ends_with('…'));
    assert!(denied["response"].get("patch").is_none());

    let ops = [PatchOperation {
        op: "replace",
        path: "/spec/containers/0/image".into(),
        value: "registry.internal:5000/team/app:1.4@sha256:00".into(),
    }];
    let patched = AdmissionResponse::patch("u-2", &ops).review();
    assert_eq!(patched["response"]["allowed"], true);
    assert_eq!(patched["response"]["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(patched["response"]["patch"].as_str().unwrap())
        .unwrap();
    let patch: serde_json::Value = serde_json::from_slice(&patch).unwrap();
    assert_eq!(
        patch,
        serde_json::json!([{"op": "replace", "path": "/spec/containers/0/image",
                            "value": "registry.internal:5000/team/app:1.4@sha256:00"}])
    );
    let plain = AdmissionResponse::patch("u-3", &[]).review();
    assert!(plain["response"].get("patchType").is_none());
    let warned = AdmissionResponse::allow("u-4", vec!["w".repeat(300); 20]).review();
    let warnings = warned["response"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 16);
    assert!(warnings[0].as_str().unwrap().len() <= 256);
}

#[test]
fn host_namespaces_are_read_as_kubernetes_spells_them() {
    let mut review: serde_json::Value =
        serde_json::from_slice(&fixture("pod-create.json")).unwrap();
    let spec = &mut review["request"]["object"]["spec"];
    spec["hostIPC"] = true.into();
    spec["hostNetwork"] = true.into();
    let request = admission::parse_review(review.to_string().as_bytes()).unwrap();
    let Workload::Containers(c) = admission::workload(&request).unwrap() else {
        panic!("no containers");
    };
    assert_eq!(c[0].request.host_namespaces, ["pid", "ipc", "network"]);
}

#[test]
fn confinement_turned_off_is_denied_as_privileged_is() {
    let mut review: serde_json::Value =
        serde_json::from_slice(&fixture("deployment-create.json")).unwrap();
    let spec = &mut review["request"]["object"]["spec"]["template"]["spec"];
    spec["securityContext"] = serde_json::json!({"seccompProfile": {"type": "Unconfined"}});
    spec["containers"][0]["securityContext"] =
        serde_json::json!({"procMount": "Unmasked", "appArmorProfile": {"type": "Unconfined"}});
    let request = admission::parse_review(review.to_string().as_bytes()).unwrap();
    let Workload::Containers(c) = admission::workload(&request).unwrap() else {
        panic!("no containers");
    };
    assert_eq!(
        c[0].request.unconfined,
        [
            "seccompProfile Unconfined",
            "appArmorProfile Unconfined",
            "procMount Unmasked"
        ]
    );
    let text = "version: 1\nenvironments:\n  production:\n    runtime: {privileged: deny}\n";
    let policy = policy::load(text, "p.yaml", Date::parse("2026-12-01").unwrap()).unwrap();
    let evidence = Evidence {
        request: Some(c[0].request.clone()),
        ..Evidence::default()
    };
    let decision = evaluate(&policy, "production", &evidence, 1_796_083_200).unwrap();
    assert_eq!(decision.reasons.len(), 1, "{decision:?}");
    assert_eq!(decision.reasons[0].rule, "runtime.privileged");
    assert!(
        decision.reasons[0].message.contains("procMount Unmasked"),
        "{decision:?}"
    );
}
