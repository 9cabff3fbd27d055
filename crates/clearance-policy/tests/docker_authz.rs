//! Docker authorization plugin requests: read as the daemon (20.10.24)
//! sends them, bodies that did not reach the plugin refused, and container
//! and exec creates read as Go's `encoding/json` reads them.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use clearance_policy::docker_authz::{
    self, Action, AuthzError, DaemonSettings, FORWARDED_BODY_LIMIT, MAX_PLUGIN_REQUEST_BYTES,
};

/// A request as the daemon forwards it: `body` JSON, with its length and
/// type in the headers.
fn forwarded(method: &str, uri: &str, body: &str) -> Vec<u8> {
    serde_json::json!({
        "RequestMethod": method,
        "RequestUri": uri,
        "RequestBody": base64::engine::general_purpose::STANDARD.encode(body),
        "RequestHeaders": {"Content-Type": "application/json", "Content-Length": body.len().to_string(), "User-Agent": "Docker-Client/20.10.24"}
    })
    .to_string()
    .into_bytes()
}

fn action(method: &str, uri: &str, body: &str) -> Result<Action, String> {
    let request = docker_authz::parse_request(&forwarded(method, uri, body)).unwrap();
    docker_authz::classify(&request, DaemonSettings::default())
}

fn created(body: &str) -> (String, clearance_policy::evidence::RuntimeRequest) {
    match action("POST", "/v1.41/containers/create?name=x", body).unwrap() {
        Action::CreateContainer { image, request } => (image, request),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_create_is_read_with_every_way_it_can_escalate() {
    let (image, r) = created(
        r#"{"Image":"registry.internal:5000/team/app:1.4","User":"0","HostConfig":{
            "Privileged":true,"PidMode":"host","NetworkMode":"container:abc","UsernsMode":"host",
            "CapAdd":["net_admin","CAP_SYS_PTRACE"],"SecurityOpt":["seccomp=unconfined","no-new-privileges"],
            "Binds":["//var/run/./docker.sock:/s","data:/data","/srv/x/../etc:/e:ro"],
            "Mounts":[{"Type":"bind","Source":"/","Target":"/host"},
                      {"Type":"volume","Source":"v","Target":"/v","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/root"}}}},
                      {"Type":"tmpfs","Target":"/t"}],
            "Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}],
            "MaskedPaths":[]}}"#,
    );
    assert_eq!(image, "registry.internal:5000/team/app:1.4");
    assert_eq!(r.user.as_deref(), Some("0"));
    assert!(r.privileged);
    // Privileged can always gain privileges.
    assert!(!r.no_new_privileges);
    assert_eq!(r.host_namespaces, ["network (joins container:abc)", "pid"]);
    assert!(!r.user_namespace);
    assert_eq!(r.capabilities_added, ["NET_ADMIN", "SYS_PTRACE"]);
    assert_eq!(
        r.host_paths,
        ["/", "/dev/sda", "/root", "/srv/etc", "/var/run/docker.sock"]
    );
    assert_eq!(
        r.unconfined,
        ["seccomp=unconfined", "MaskedPaths: [] (unmasks /proc)"]
    );
}

#[test]
fn keys_match_as_go_matches_them_and_ambiguity_is_refused() {
    // Lower case, top level (API < 1.25), the long s and a string CapAdd.
    let (_, r) = created(
        r#"{"image":"a","privileged":true,"BINDS":["/:/h"],"Capadd":"ALL","ſecurityOpt":["no-new-privileges:true"]}"#,
    );
    assert!(r.privileged);
    assert_eq!(r.host_paths, ["/"]);
    assert_eq!(r.capabilities_added, ["ALL"]);
    // The Kelvin sign is Go's k.
    let (_, r) = created(
        "{\"Image\":\"a\",\"HostConfig\":{\"PidMode\":\"host\",\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/etc\"}]},\"\u{212A}ey\":1}",
    );
    assert_eq!(r.host_namespaces, ["pid"]);
    assert_eq!(r.host_paths, ["/etc"]);
    // Two spellings of one field: which the daemon takes is not this
    // parser's to guess.
    for body in [
        r#"{"Image":"a","HostConfig":{"Privileged":false,"privileged":true}}"#,
        r#"{"Image":"a","Image":"b","image":"c"}"#,
        "{\"Image\":\"a\",\"HostConfig\":{\"Binds\":[],\"Bind\u{17F}\":[\"/:/h\"]}}",
    ] {
        let e = action("POST", "/containers/create", body).unwrap_err();
        assert!(e.contains("two keys name the field"), "{body}: {e}");
    }
    // A null is Go's zero value; a wrong type is refused.
    let (_, r) = created(r#"{"Image":"a","HostConfig":{"Privileged":null}}"#);
    assert!(!r.privileged);
    let e = action(
        "POST",
        "/containers/create",
        r#"{"Image":"a","HostConfig":{"Privileged":"true"}}"#,
    )
    .unwrap_err();
    assert!(
        e.contains("body.HostConfig.privileged: not a boolean"),
        "{e}"
    );
    let e = action("POST", "/containers/create", r#"{"HostConfig":{}}"#).unwrap_err();
    assert!(e.contains("body.Image: missing"), "{e}");
}

#[test]
fn a_body_that_did_not_reach_the_plugin_is_denied() {
    let body = r#"{"Image":"a","HostConfig":{"Privileged":true}}"#;
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&forwarded("POST", "/v1.41/containers/create", body)).unwrap();
        f(&mut v);
        let request = docker_authz::parse_request(v.to_string().as_bytes()).unwrap();
        docker_authz::classify(&request, DaemonSettings::default()).unwrap_err()
    };
    // CVE-2024-41110: chunked, so no Content-Length and no body.
    let e = with(&|v| {
        v.as_object_mut().unwrap().remove("RequestBody");
        v["RequestHeaders"]
            .as_object_mut()
            .unwrap()
            .remove("Content-Length");
    });
    assert!(
        e.contains("no Content-Length") && e.contains("CVE-2024-41110"),
        "{e}"
    );
    // CVE-2026-34040: 1 MiB or more, body skipped.
    let e = with(&|v| {
        v.as_object_mut().unwrap().remove("RequestBody");
        v["RequestHeaders"]["Content-Length"] = FORWARDED_BODY_LIMIT.to_string().into();
    });
    assert!(e.contains("1048576 bytes or more"), "{e}");
    // Not JSON, so not forwarded.
    let e = with(&|v| v["RequestHeaders"]["Content-Type"] = "text/plain".into());
    assert!(e.contains("Content-Type is text/plain"), "{e}");
    // A body shorter than declared.
    let e = with(&|v| v["RequestHeaders"]["Content-Length"] = "4096".into());
    assert!(e.contains("not the 4096"), "{e}");
    // No body at all though the length says one.
    let e = with(&|v| {
        v.as_object_mut().unwrap().remove("RequestBody");
    });
    assert!(e.contains("forwarded no body"), "{e}");
    // The same for exec.
    let request = docker_authz::parse_request(
        &serde_json::json!({"RequestMethod": "POST", "RequestUri": "/containers/abc/exec"})
            .to_string()
            .into_bytes(),
    )
    .unwrap();
    assert!(docker_authz::classify(&request, DaemonSettings::default()).is_err());
}

#[test]
fn paths_are_routed_as_the_daemon_routes_them() {
    // Percent-encoding and the version prefix do not hide a create.
    assert!(matches!(
        action(
            "POST",
            "/v1.41/containers/cr%65ate?name=x",
            r#"{"Image":"a"}"#
        )
        .unwrap(),
        Action::CreateContainer { .. }
    ));
    assert!(matches!(
        action("post", "/containers/create", r#"{"Image":"a"}"#).unwrap(),
        Action::CreateContainer { .. }
    ));
    match action(
        "POST",
        "/v1.41/containers/abc/exec",
        r#"{"Privileged":true,"User":"root","Cmd":["sh"]}"#,
    )
    .unwrap()
    {
        Action::Exec { container, request } => {
            assert_eq!(container, "abc");
            assert!(request.privileged);
            assert_eq!(request.user.as_deref(), Some("root"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        action("GET", "/v1.41/containers/json?all=1", "").unwrap(),
        Action::Other {
            method: "GET".into(),
            path: "/containers/json".into()
        }
    );
    // A start on API < 1.24 could carry a HostConfig: only a bodiless one.
    let start = |uri: &str, length: Option<&str>| {
        let mut v =
            serde_json::json!({"RequestMethod": "POST", "RequestUri": uri, "RequestHeaders": {}});
        if let Some(l) = length {
            v["RequestHeaders"]["Content-Length"] = l.into();
        }
        let request = docker_authz::parse_request(v.to_string().as_bytes()).unwrap();
        docker_authz::classify(&request, DaemonSettings::default())
    };
    assert!(
        start("/v1.23/containers/abc/start", None)
            .unwrap_err()
            .contains("chunked")
    );
    assert!(start("/v1.23/containers/abc/start", Some("0")).is_ok());
    assert!(start("/v1.41/containers/abc/start", None).is_ok());
    // With userns-remap, a container gets its own user namespace unless it asks for the host's.
    let request =
        docker_authz::parse_request(&forwarded("POST", "/containers/create", r#"{"Image":"a"}"#))
            .unwrap();
    let remap = DaemonSettings { userns_remap: true };
    let Action::CreateContainer { request: r, .. } =
        docker_authz::classify(&request, remap).unwrap()
    else {
        panic!()
    };
    assert!(r.user_namespace);
    let request = docker_authz::parse_request(&forwarded(
        "POST",
        "/containers/create",
        r#"{"Image":"a","HostConfig":{"UsernsMode":"host"}}"#,
    ))
    .unwrap();
    let Action::CreateContainer { request: r, .. } =
        docker_authz::classify(&request, remap).unwrap()
    else {
        panic!()
    };
    assert!(!r.user_namespace);
}

#[test]
fn unreadable_plugin_requests_are_errors() {
    assert_eq!(
        docker_authz::parse_request(&vec![b' '; MAX_PLUGIN_REQUEST_BYTES + 1]).unwrap_err(),
        AuthzError::TooLarge(MAX_PLUGIN_REQUEST_BYTES + 1)
    );
    for bad in [
        &b"[]"[..],
        br#"{"RequestBody":"%%%"}"#,
        br#"{"RequestHeaders":{"A":1}}"#,
        br#"{"RequestUri":1}"#,
        br#"{"RequestUri":"/a","requesturi":"/b"}"#,
    ] {
        assert!(
            matches!(
                docker_authz::parse_request(bad),
                Err(AuthzError::Malformed(_))
            ),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}
