//! Configuration and attack-surface checks over real layer streams and
//! configs parsed by oci-spec: the user, `ADD` of a URL, exposed ports,
//! setuid files and whiteouts (plain, opaque, re-added), world-writable
//! directories and files on `PATH`, the base/own split, the summary, and
//! the caps.
#![allow(clippy::unwrap_used)]

mod support;

use clearance_oci::layer::{
    EntryKind, ImagePath, LayerEntry, LayerLimits, LayerVisitor, read_layer,
};
use clearance_scan::advisory::Severity;
use clearance_scan::config::{
    self, Check, ConfigError, ConfigReport, ImageFacts, LayerListing, MAX_ENTRIES_PER_LAYER,
    MAX_FINDINGS_PER_CHECK, Origin, TextPlace,
};
use oci_spec::image::ImageConfiguration;
use serde_json::json;
use support::{Entry as E, layer};

/// A whiteout entry hiding `path` (`dir/.wh.name`).
fn whiteout(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.wh.{name}"),
        None => format!(".wh.{path}"),
    }
}

fn listings(layers: &[Vec<u8>]) -> Vec<LayerListing> {
    layers
        .iter()
        .map(|tar| {
            let mut listing = LayerListing::default();
            read_layer(&tar[..], &LayerLimits::default(), None, &mut listing).unwrap();
            listing
        })
        .collect()
}

/// A config with `config` as its `config` and `history` as its history.
fn image_config(config: serde_json::Value, history: serde_json::Value) -> ImageConfiguration {
    let doc = json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": [] },
        "config": config,
        "history": history,
    });
    ImageConfiguration::from_reader(doc.to_string().as_bytes()).unwrap()
}

/// A non-root config with no history.
fn plain() -> ImageConfiguration {
    image_config(json!({ "User": "10001" }), json!([]))
}

fn run(config: &ImageConfiguration, layers: &[Vec<u8>], base: Option<usize>) -> ConfigReport {
    config::check(
        config,
        listings(layers),
        ImageFacts {
            packages: 0,
            base_layers: base,
        },
    )
    .unwrap()
}

/// The findings of `check`: (path or value, layer, origin).
fn of(report: &ConfigReport, check: Check) -> Vec<(String, Option<usize>, Origin)> {
    report
        .findings
        .iter()
        .filter(|f| f.id == check)
        .map(|f| {
            let what = f.evidence.path.clone().or(f.evidence.value.clone());
            (what.unwrap(), f.evidence.layer, f.origin)
        })
        .collect()
}

fn paths(report: &ConfigReport, check: Check) -> Vec<String> {
    of(report, check).into_iter().map(|(p, ..)| p).collect()
}

#[test]
fn runs_as_root_when_user_is_unset_root_or_uid_0() {
    let empty = layer(&[]);
    for user in [
        None,
        Some(""),
        Some("root"),
        Some("0"),
        Some("0:0"),
        Some("root:staff"),
    ] {
        let c = match user {
            Some(u) => json!({ "User": u }),
            None => json!({}),
        };
        let report = run(
            &image_config(c, json!([])),
            std::slice::from_ref(&empty),
            None,
        );
        let found: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.id == Check::RunsAsRoot)
            .collect();
        assert_eq!(found.len(), 1, "user {user:?}");
        assert_eq!(found[0].severity, Severity::Medium);
        let value = found[0].evidence.value.as_deref().unwrap();
        match user {
            None | Some("") => assert_eq!(value, "USER not set (runs as root)"),
            Some(u) => assert_eq!(value, format!("USER {u}")),
        }
    }
    for user in ["10001", "app", "1000:0", "app:root", "00010"] {
        let report = run(
            &image_config(json!({ "User": user }), json!([])),
            std::slice::from_ref(&empty),
            None,
        );
        assert!(of(&report, Check::RunsAsRoot).is_empty(), "user {user}");
    }
}

#[test]
fn runs_as_root_names_the_user_line_and_its_origin() {
    let history = json!([
        { "created_by": "/bin/sh -c #(nop) ADD file:0a1b in / " },
        { "created_by": "/bin/sh -c #(nop)  USER nobody", "empty_layer": true },
        { "created_by": "RUN /bin/sh -c make # buildkit" },
        { "created_by": "USER root", "comment": "buildkit.dockerfile.v0", "empty_layer": true },
    ]);
    let config = image_config(json!({ "User": "root" }), history);
    let layers = [layer(&[]), layer(&[])];
    let report = run(&config, &layers, Some(1));
    let f = &report.findings[0];
    assert_eq!(f.id, Check::RunsAsRoot);
    assert_eq!(f.origin, Origin::Own);
    assert_eq!(f.evidence.history.as_deref(), Some("USER root"));

    // Unset, with the base known: the fix is the image's own.
    let config = image_config(json!({}), json!([]));
    assert_eq!(
        run(&config, &layers, Some(1)).findings[0].origin,
        Origin::Own
    );
    assert_eq!(
        run(&config, &layers, None).findings[0].origin,
        Origin::Unknown
    );
}

#[test]
fn add_from_a_url_in_history_is_reported_with_its_layer() {
    let history = json!([
        { "created_by": "/bin/sh -c #(nop) ADD file:d4b7 in / " },
        { "created_by": "/bin/sh -c #(nop)  CMD [\"bash\"]", "empty_layer": true },
        { "created_by": "ADD https://example.com/tool.tgz /opt/ # buildkit" },
        { "created_by": "ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/b.tgz /b/ # buildkit" },
        { "created_by": "COPY https-notes.txt /notes # buildkit" },
    ]);
    let config = image_config(json!({ "User": "app" }), history);
    let layers = [layer(&[]), layer(&[]), layer(&[]), layer(&[])];
    let report = run(&config, &layers, Some(1));
    assert_eq!(
        of(&report, Check::AddFromUrl),
        [("https://example.com/tool.tgz".into(), Some(1), Origin::Own)]
    );
    let f = &report.findings[0];
    assert_eq!(
        f.evidence.history.as_deref(),
        Some("ADD https://example.com/tool.tgz /opt/ # buildkit")
    );
    assert_eq!(f.severity, Severity::Medium);
}

#[test]
fn ssh_telnet_and_risky_ports_exposed() {
    let ports = json!({ "22/tcp": {}, "23": {}, "8080/tcp": {}, "22/udp": {}, "2375/tcp": {}, "5000-5999/tcp": {} });
    let config = image_config(json!({ "User": "app", "ExposedPorts": ports }), json!([]));
    let report = run(&config, &[layer(&[])], None);
    let mut seen: Vec<(Check, String, Severity)> = report
        .findings
        .iter()
        .map(|f| (f.id, f.evidence.value.clone().unwrap(), f.severity))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                Check::SshPortExposed,
                "22/tcp (ssh)".into(),
                Severity::Medium
            ),
            (
                Check::TelnetPortExposed,
                "23 (telnet)".into(),
                Severity::High
            ),
            (
                Check::RiskyPortExposed,
                "2375/tcp (docker-api)".into(),
                Severity::High
            ),
            (
                Check::RiskyPortExposed,
                "5000-5999/tcp (vnc)".into(),
                Severity::Medium
            ),
        ]
    );
}

#[test]
fn an_exposed_port_takes_the_origin_of_the_line_that_exposed_it() {
    let history = json!([
        { "created_by": "/bin/sh -c #(nop)  EXPOSE 2375", "empty_layer": true },
        { "created_by": "/bin/sh -c #(nop) ADD file:0a1b in / " },
        { "created_by": "EXPOSE map[22/tcp:{}]", "empty_layer": true },
        { "created_by": "RUN /bin/sh -c apt-get install -y telnetd # buildkit" },
        { "created_by": "EXPOSE map[23/tcp:{}]", "empty_layer": true },
    ]);
    let ports = json!({ "22/tcp": {}, "23/tcp": {}, "2375/tcp": {} });
    let config = image_config(json!({ "User": "app", "ExposedPorts": ports }), history);
    let report = run(&config, &[layer(&[]), layer(&[])], Some(1));
    let origin = |check| of(&report, check)[0].2;
    // Before the base's last layer: the base's. Between it and the first
    // own layer: either. After: the image's own.
    assert_eq!(origin(Check::RiskyPortExposed), Origin::Base);
    assert_eq!(origin(Check::SshPortExposed), Origin::Unknown);
    assert_eq!(origin(Check::TelnetPortExposed), Origin::Own);
    assert_eq!(
        report.findings[0].evidence.history.as_deref(),
        Some("EXPOSE map[23/tcp:{}]")
    );
}

#[test]
fn setuid_file_a_later_layer_deleted_is_not_reported() {
    let base = layer(&[
        E::DirMode("usr/", 0o755),
        E::DirMode("usr/bin/", 0o755),
        E::FileMode("usr/bin/passwd", 0o4755, b"passwd"),
    ]);
    let own = layer(&[
        E::FileMode("usr/local/bin/tool", 0o4755, b"tool"),
        E::FileMode("usr/local/bin/gone", 0o4755, b"gone"),
        E::FileMode("usr/local/bin/plain", 0o755, b"plain"),
    ]);
    let cleanup = layer(&[E::FileMode(&whiteout("usr/local/bin/gone"), 0o644, b"")]);
    let report = run(&plain(), &[base, own, cleanup], None);
    assert_eq!(
        of(&report, Check::SetuidFile),
        [
            ("/usr/bin/passwd".into(), Some(0), Origin::Unknown),
            ("/usr/local/bin/tool".into(), Some(1), Origin::Unknown),
        ]
    );
    assert_eq!(report.surface.setuid_files, 2);
    let f = report
        .findings
        .iter()
        .find(|f| f.id == Check::SetuidFile)
        .unwrap();
    assert_eq!(f.evidence.value.as_deref(), Some("mode 4755 uid 0"));
    assert_eq!(f.severity, Severity::Low);
}

#[test]
fn opaque_whiteout_removes_a_setuid_file_and_later_layers_re_add() {
    let base = layer(&[
        E::DirMode("opt/app/", 0o755),
        E::FileMode("opt/app/bin/helper", 0o4755, b"h"),
        E::FileMode("opt/app/bin/again", 0o4755, b"a"),
        E::FileMode("opt/keep", 0o2755, b"k"),
    ]);
    // The opaque whiteout comes after the layer's own file in the archive:
    // whiteouts act on lower layers only, so the file stays.
    let own = layer(&[
        E::FileMode("opt/app/bin/fresh", 0o4711, b"f"),
        E::FileMode("opt/app/.wh..wh..opq", 0o644, b""),
    ]);
    let re_add = layer(&[E::FileMode("opt/app/bin/again", 0o4755, b"again")]);
    let report = run(&plain(), &[base, own, re_add], None);
    assert_eq!(
        of(&report, Check::SetuidFile),
        [
            ("/opt/app/bin/fresh".into(), Some(1), Origin::Unknown),
            ("/opt/app/bin/again".into(), Some(2), Origin::Unknown),
        ]
    );
    assert_eq!(paths(&report, Check::SetgidFile), ["/opt/keep"]);
}

#[test]
fn whiteout_and_re_add_in_one_layer_keeps_the_new_file() {
    let base = layer(&[E::FileMode("usr/bin/su", 0o4755, b"old")]);
    // A file and a whiteout of the same path in one layer: the whiteout
    // hides only the lower layer's file.
    let own = layer(&[
        E::FileMode("usr/bin/su", 0o4755, b"new"),
        E::FileMode(&whiteout("usr/bin/su"), 0o644, b""),
    ]);
    let report = run(&plain(), &[base, own], None);
    assert_eq!(
        of(&report, Check::SetuidFile),
        [("/usr/bin/su".into(), Some(1), Origin::Unknown)]
    );
    assert_eq!(report.surface.size_bytes, 3);
}

#[test]
fn hard_link_to_a_setuid_file_is_setuid_and_adds_no_size() {
    let l = layer(&[
        E::FileMode("usr/bin/newuidmap", 0o4755, b"12345"),
        E::Hardlink("usr/sbin/newuidmap", "usr/bin/newuidmap"),
    ]);
    let report = run(&plain(), &[l], None);
    assert_eq!(
        paths(&report, Check::SetuidFile),
        ["/usr/bin/newuidmap", "/usr/sbin/newuidmap"]
    );
    assert_eq!((report.surface.files, report.surface.size_bytes), (2, 5));
}

#[test]
fn world_writable_dirs_on_path_and_elsewhere() {
    let l = layer(&[
        E::DirMode("usr/", 0o755),
        E::DirMode("usr/local/bin/", 0o777),
        E::DirMode("usr/bin/", 0o755),
        E::FileMode("usr/bin/editable", 0o757, b"x"),
        E::FileMode("usr/bin/fine", 0o755, b"x"),
        E::Link("usr/bin/via-link", "../share/tool"),
        E::FileMode("usr/share/tool", 0o666, b"x"),
        // Not directly on PATH; and the one after it still is.
        E::FileMode("usr/bin/nested/inner", 0o666, b"x"),
        E::FileMode("usr/bin/z-after", 0o666, b"x"),
        E::DirMode("tmp/", 0o1777),
        E::DirMode("var/cache/app/", 0o777),
        E::DirMode("var/shared/", 0o1777),
    ]);
    let report = run(&plain(), &[l], None);
    assert_eq!(
        paths(&report, Check::WorldWritableDirOnPath),
        ["/usr/local/bin"]
    );
    assert_eq!(
        paths(&report, Check::WorldWritableFileOnPath),
        ["/usr/bin/editable", "/usr/bin/via-link", "/usr/bin/z-after"]
    );
    // /tmp and /var/shared are sticky: fine. /usr/local/bin is reported
    // once, as on PATH.
    assert_eq!(paths(&report, Check::WorldWritableDir), ["/var/cache/app"]);
    let severity = |c| report.findings.iter().find(|f| f.id == c).unwrap().severity;
    assert_eq!(severity(Check::WorldWritableDirOnPath), Severity::High);
    assert_eq!(severity(Check::WorldWritableDir), Severity::Low);
}

#[test]
fn a_sticky_world_writable_dir_on_path_is_still_reported() {
    let l = layer(&[E::DirMode("usr/local/bin/", 0o1777)]);
    let report = run(&plain(), &[l], None);
    assert_eq!(
        paths(&report, Check::WorldWritableDirOnPath),
        ["/usr/local/bin"]
    );
}

#[test]
fn path_comes_from_the_config_and_its_links_are_followed() {
    let l = layer(&[
        E::DirMode("opt/tools/", 0o777),
        E::DirMode("app/", 0o755),
        E::Link("app/bin", "../opt/tools"),
        // On the default PATH, but not on this image's.
        E::DirMode("usr/local/bin/", 0o777),
    ]);
    let config = image_config(
        json!({ "User": "app", "Env": ["PATH=/app/bin:relative:/usr/bin"] }),
        json!([]),
    );
    let report = run(&config, &[l], None);
    assert_eq!(
        paths(&report, Check::WorldWritableDirOnPath),
        ["/opt/tools"]
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.id == Check::WorldWritableDirOnPath)
        .unwrap();
    assert_eq!(
        f.evidence.value.as_deref(),
        Some("mode 0777, on PATH as /app/bin")
    );
    assert_eq!(paths(&report, Check::WorldWritableDir), ["/usr/local/bin"]);
}

#[test]
fn a_later_layer_fixing_the_mode_clears_the_finding() {
    let base = layer(&[
        E::DirMode("var/cache/app/", 0o777),
        E::FileMode("usr/bin/x", 0o4755, b""),
    ]);
    let fix = layer(&[
        E::DirMode("var/cache/app/", 0o755),
        E::FileMode("usr/bin/x", 0o755, b""),
    ]);
    let report = run(&plain(), &[base, fix], None);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn findings_split_into_base_and_own_layers() {
    let history = json!([
        { "created_by": "/bin/sh -c #(nop) ADD file:0a1b in / " },
        { "created_by": "COPY tool /usr/local/bin/tool # buildkit" },
    ]);
    let config = image_config(json!({ "User": "app" }), history);
    let base = layer(&[E::FileMode("usr/bin/passwd", 0o4755, b"p")]);
    let own = layer(&[E::FileMode("usr/local/bin/tool", 0o4755, b"t")]);
    let layers = [base, own];

    let report = run(&config, &layers, Some(1));
    assert_eq!(
        of(&report, Check::SetuidFile),
        [
            ("/usr/bin/passwd".into(), Some(0), Origin::Base),
            ("/usr/local/bin/tool".into(), Some(1), Origin::Own),
        ]
    );
    assert_eq!(report.by_origin.get(&Origin::Base), Some(&1));
    assert_eq!(report.by_origin.get(&Origin::Own), Some(&1));
    let own: Vec<_> = report.from_origin(Origin::Own).collect();
    assert_eq!(
        own[0].evidence.history.as_deref(),
        Some("COPY tool /usr/local/bin/tool # buildkit")
    );

    let unknown = run(&config, &layers, None);
    assert!(unknown.findings.iter().all(|f| f.origin == Origin::Unknown));

    let err = config::check(
        &config,
        listings(&layers),
        ImageFacts {
            packages: 0,
            base_layers: Some(3),
        },
    )
    .unwrap_err();
    assert_eq!(err, ConfigError::BaseLongerThanImage { base: 3, layers: 2 });
}

#[test]
fn surface_counts_what_the_final_image_holds() {
    let base = layer(&[
        E::DirMode("usr/", 0o755),
        E::DirMode("usr/bin/", 0o755),
        E::Link("bin", "usr/bin"),
        E::FileMode("usr/bin/bash", 0o755, &[0; 100]),
        E::Link("usr/bin/sh", "bash"),
        E::FileMode("usr/bin/apt-get", 0o755, &[0; 50]),
        E::FileMode("usr/bin/dpkg", 0o755, &[0; 30]),
        E::FileMode("usr/bin/pip3", 0o644, &[0; 7]),
        E::FileMode("usr/bin/zsh", 0o755, &[0; 40]),
        E::FileMode("usr/bin/passwd", 0o4755, &[0; 20]),
    ]);
    let own = layer(&[
        E::FileMode(&whiteout("usr/bin/apt-get"), 0o644, b""),
        E::FileMode(&whiteout("usr/bin/zsh"), 0o644, b""),
        E::FileMode("usr/bin/dpkg", 0o755, &[0; 10]),
    ]);
    let config = image_config(json!({ "User": "app" }), json!([]));
    let report = config::check(
        &config,
        listings(&[base, own]),
        ImageFacts {
            packages: 42,
            base_layers: None,
        },
    )
    .unwrap();
    let s = &report.surface;
    let tools = |t: &[config::Tool]| -> Vec<(&str, String, usize)> {
        t.iter()
            .map(|t| (t.name, t.path.clone(), t.layer))
            .collect()
    };
    assert_eq!(
        tools(&s.shells),
        [
            ("sh", "/usr/bin/sh".into(), 0),
            ("bash", "/usr/bin/bash".into(), 0)
        ]
    );
    // apt-get was deleted, pip3 is not executable.
    assert_eq!(
        tools(&s.package_managers),
        [("dpkg", "/usr/bin/dpkg".into(), 1)]
    );
    assert_eq!(s.packages, 42);
    assert_eq!(s.setuid_files, 1);
    // bash 100 + dpkg 10 (the new one) + pip3 7 + passwd 20.
    assert_eq!((s.files, s.size_bytes), (4, 137));
    assert_eq!((s.symlinks, s.directories), (2, 2));
    assert_eq!(s.untracked.entries, 0);
}

#[test]
fn findings_per_check_are_capped_and_counted() {
    let names: Vec<String> = (0..MAX_FINDINGS_PER_CHECK + 5)
        .map(|i| format!("usr/bin/s{i:04}"))
        .collect();
    let entries: Vec<E<'_>> = names.iter().map(|n| E::FileMode(n, 0o4755, b"")).collect();
    let report = run(&plain(), &[layer(&entries)], None);
    assert_eq!(of(&report, Check::SetuidFile).len(), MAX_FINDINGS_PER_CHECK);
    assert_eq!(report.not_shown.get(&Check::SetuidFile), Some(&5));
    assert_eq!(report.surface.setuid_files, 1_005);
    // The first ones, in path order.
    assert_eq!(paths(&report, Check::SetuidFile)[0], "/usr/bin/s0000");
}

#[test]
fn report_serialises_ids_severities_and_origins() {
    let config = image_config(json!({ "User": "root" }), json!([]));
    let report = run(
        &config,
        &[layer(&[E::FileMode("bin/su", 0o4755, b"")])],
        Some(0),
    );
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(
        v["findings"][0],
        json!({
            "id": "CLR-CFG-001",
            "name": "runs-as-root",
            "severity": "medium",
            "title": "the container runs as root",
            "fix": "add `USER 10001` (any non-root uid) to the Dockerfile, after the steps that need root",
            "origin": "unknown",
            "evidence": { "value": "USER root" }
        })
    );
    assert_eq!(v["findings"][1]["id"], "CLR-CFG-010");
    assert_eq!(v["findings"][1]["origin"], "own");
    assert_eq!(v["findings"][1]["evidence"]["path"], "/bin/su");
    assert_eq!(v["by_origin"], json!({ "own": 1, "unknown": 1 }));
    assert_eq!(v["surface"]["setuid_files"], 1);
}

#[test]
fn every_check_has_a_distinct_id_and_a_documented_entry() {
    let doc = include_str!("../../../docs/config-checks.md");
    let mut ids: Vec<&str> = Check::ALL.iter().map(|c| c.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), Check::ALL.len());
    for c in Check::ALL {
        assert!(
            doc.contains(&format!("`{}`", c.id())),
            "{} not documented",
            c.id()
        );
        assert!(
            doc.contains(&format!("`{}`", c.name())),
            "{} not documented",
            c.name()
        );
    }
}

#[test]
fn secret_candidates_hand_env_and_history_to_the_secrets_scanner() {
    let history = json!([
        { "created_by": "/bin/sh -c #(nop) ADD file:0a1b in / " },
        { "created_by": "ENV API_TOKEN=abc", "empty_layer": true },
        { "created_by": "RUN |1 NPM_TOKEN=xyz /bin/sh -c npm ci # buildkit" },
    ]);
    let config = image_config(
        json!({ "Env": ["PATH=/usr/bin", "API_TOKEN=abc"] }),
        history,
    );
    let texts = config::secret_candidates(&config, 2, Some(1));
    let token = texts
        .iter()
        .find(|t| matches!(&t.place, TextPlace::Env { name } if name == "API_TOKEN"))
        .unwrap();
    assert_eq!(token.text, "abc");
    assert_eq!(token.origin, Origin::Unknown);
    let run_line = texts
        .iter()
        .find(|t| {
            t.place
                == TextPlace::History {
                    index: 2,
                    layer: Some(1),
                }
        })
        .unwrap();
    assert!(run_line.text.contains("NPM_TOKEN=xyz"));
    assert_eq!(run_line.origin, Origin::Own);
}

#[test]
fn a_file_laid_over_a_directory_hides_what_it_held() {
    let base = layer(&[
        E::DirMode("opt/app/", 0o777),
        E::FileMode("opt/app/helper", 0o4755, b"helper"),
    ]);
    let own = layer(&[E::Link("opt/app", "/srv/app")]);
    let report = run(&plain(), &[base, own], None);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!((report.surface.files, report.surface.symlinks), (0, 1));
}

#[test]
fn a_full_listing_still_keeps_setuid_files_and_whiteouts() {
    let base = layer(&[
        E::FileMode("usr/bin/victim", 0o4755, b"v"),
        E::FileMode("usr/bin/kept", 0o755, b"k"),
    ]);
    let mut base_listing = LayerListing::default();
    read_layer(&base[..], &LayerLimits::default(), None, &mut base_listing).unwrap();
    // A layer with more entries than a listing keeps, fed to the visitor
    // directly (a tar of them would be hundreds of MiB).
    let mut big = LayerListing::default();
    let file = |path: &str, mode: u32, size: u64, kind: EntryKind| LayerEntry {
        path: ImagePath::normalise(path).0,
        kind,
        size,
        mode,
        uid: 0,
        gid: 0,
    };
    for i in 0..MAX_ENTRIES_PER_LAYER + 10 {
        big.entry(file(&format!("data/{i}"), 0o644, 1, EntryKind::File), None);
    }
    big.entry(file("usr/bin/late", 0o4755, 1, EntryKind::File), None);
    big.entry(file("usr/bin/victim", 0o644, 0, EntryKind::Whiteout), None);
    big.entry(file("usr/bin/kept", 0o644, 0, EntryKind::Whiteout), None);
    assert_eq!(big.entries(), MAX_ENTRIES_PER_LAYER + 3);
    assert_eq!(big.untracked().entries, 10);

    let report = config::check(&plain(), vec![base_listing, big], ImageFacts::default()).unwrap();
    assert_eq!(paths(&report, Check::SetuidFile), ["/usr/bin/late"]);
    let s = &report.surface;
    assert_eq!(s.untracked.files, 10);
    // The tracked data files, the untracked ones counted as visible, and
    // /usr/bin/late; both base files were whited out.
    assert_eq!(s.files, MAX_ENTRIES_PER_LAYER as u64 + 10 + 1);
    assert_eq!(s.size_bytes, MAX_ENTRIES_PER_LAYER as u64 + 10 + 1);
}

#[test]
fn a_stored_listing_checks_like_the_layer_it_came_from() {
    let base = layer(&[
        E::DirMode("usr/local/bin/", 0o777),
        E::FileMode("usr/bin/passwd", 0o4755, b"passwd"),
        E::Link("bin", "usr/bin"),
        E::FileMode("usr/bin/sh", 0o755, b"sh"),
    ]);
    let own = layer(&[
        E::FileMode(&whiteout("usr/bin/passwd"), 0o644, b""),
        E::FileMode("opt/.wh..wh..opq", 0o644, b""),
    ]);
    let layers = [base, own];
    let direct = run(&plain(), &layers, Some(1));
    let stored: Vec<LayerListing> = listings(&layers)
        .iter()
        .map(|l| {
            let json = serde_json::to_string(&l.to_stored()).unwrap();
            LayerListing::from_stored(serde_json::from_str(&json).unwrap())
        })
        .collect();
    let again = config::check(
        &plain(),
        stored,
        ImageFacts {
            packages: 0,
            base_layers: Some(1),
        },
    )
    .unwrap();
    assert_eq!(again, direct);
    assert_eq!(
        paths(&again, Check::WorldWritableDirOnPath),
        ["/usr/local/bin"]
    );
    assert!(paths(&again, Check::SetuidFile).is_empty());

    // A hostile stored path stays inside the image.
    let hostile = config::StoredListing {
        entries: vec![(
            "../../etc/x".into(),
            config::StoredKind::File,
            1,
            0o104755,
            0,
        )],
        ..Default::default()
    };
    let report = config::check(
        &plain(),
        vec![LayerListing::from_stored(hostile)],
        ImageFacts::default(),
    )
    .unwrap();
    let f = report
        .findings
        .iter()
        .find(|f| f.id == Check::SetuidFile)
        .unwrap();
    assert_eq!(f.evidence.path.as_deref(), Some("/etc/x"));
    assert_eq!(f.evidence.value.as_deref(), Some("mode 4755 uid 0"));
}
