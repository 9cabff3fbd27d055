//! The command-line parser: the whole tree is well-formed, and the shared
//! flags parse as documented.
#![allow(clippy::unwrap_used)]

use clap::{CommandFactory as _, Parser as _};

use super::{Cli, Command, Format};

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("clearance").chain(args.iter().copied()))
}

#[test]
fn the_command_tree_is_well_formed() {
    // Duplicate flags, bad defaults, conflicting names: clap panics here.
    Cli::command().debug_assert();
}

#[test]
fn global_flags_go_before_or_after_the_subcommand() {
    for args in [
        &["--format", "json", "inspect", "oci:x"][..],
        &["inspect", "oci:x", "--format", "json"],
    ] {
        let cli = parse(args).unwrap();
        assert_eq!(cli.global.format, Format::Json, "{args:?}");
    }
    let cli = parse(&["-vv", "inspect", "oci:x"]).unwrap();
    assert_eq!(cli.global.verbose, 2);
}

#[test]
fn inspect_has_the_documented_defaults() {
    let Command::Inspect(args) = parse(&["inspect", "alpine"]).unwrap().command else {
        panic!("not inspect");
    };
    assert_eq!(args.image, "alpine");
    assert_eq!(args.platform, None);
    assert_eq!(args.parallel, 2);
    assert_eq!(args.registry.retries, 3);
    assert_eq!(args.registry.timeout, 30);
    assert!(args.registry.insecure_registries.is_empty());
}

#[test]
fn bad_flags_are_usage_errors_that_name_the_flag() {
    let e = parse(&["--format", "yaml", "inspect", "x"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
    assert!(e.to_string().contains("--format"), "{e}");
    let e = parse(&["inspect"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    let e = parse(&["inspect", "x", "--retries", "many"]).unwrap_err();
    assert!(e.to_string().contains("--retries"), "{e}");
    for bad in ["0", "17"] {
        let e = parse(&["inspect", "x", "--parallel", bad]).unwrap_err();
        assert!(e.to_string().contains("--parallel"), "{e}");
    }
    // clap exits with 2 on usage errors, the README's code for bad flags.
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn a_docker_config_that_is_not_there_is_an_error_not_ignored() {
    let Command::Inspect(args) = parse(&[
        "inspect",
        "x",
        "--docker-config",
        "/nonexistent/config.json",
    ])
    .unwrap()
    .command
    else {
        panic!("not inspect");
    };
    let e = args.registry.settings().unwrap_err();
    assert!(e.to_string().contains("/nonexistent/config.json"), "{e}");
}

#[test]
fn the_zstd_window_limit_is_in_mib_and_bounded() {
    let Command::Inspect(args) = parse(&["inspect", "x"]).unwrap().command else {
        panic!("not inspect");
    };
    assert_eq!(args.max_zstd_window_mib, 8);
    assert!(parse(&["inspect", "x", "--max-zstd-window-mib", "0"]).is_err());
    assert!(parse(&["inspect", "x", "--max-zstd-window-mib", "128"]).is_ok());
}

// The trust flags: each parses as documented, conflicts are usage errors,
// and the flags become settings once (issue 8 point 6).

use crate::commands::trust::DelegateCommand;
use crate::commands::trust::TrustCommand;
use clearance_trust::publish::{Days, Expiries};
use clearance_trust::{RoleName, TopRole};

const SERVER: &str = "http://127.0.0.1:4443";

fn trust(args: &[&str]) -> Result<TrustCommand, clap::Error> {
    let mut all = vec!["trust"];
    all.extend_from_slice(args);
    all.extend(["--server", SERVER]);
    match parse(&all)?.command {
        Command::Trust(command) => Ok(command),
        other => panic!("not trust: {other:?}"),
    }
}

#[test]
fn trust_init_has_the_documented_defaults_and_takes_the_shared_root_key_flags() {
    let TrustCommand::Init(args) = trust(&["init", "r.example/team/app"]).unwrap() else {
        panic!("not init");
    };
    let defaults = Expiries::default();
    assert_eq!(args.root_expires_days, defaults.root_days);
    assert_eq!(args.targets_expires_days, defaults.targets_days);
    assert_eq!(args.snapshot_expires_days, defaults.snapshot_days);
    assert_eq!(args.timestamp_expires_days, defaults.timestamp_days);
    assert!(!args.server_snapshot && args.root.root_key.is_none());

    let TrustCommand::Init(args) = trust(&[
        "init",
        "r.example/team/app",
        "--root-key",
        "pkcs11:token=clearance",
        "--pkcs11-module",
        "/usr/lib/softhsm/libsofthsm2.so",
        "--timestamp-expires-days",
        "2",
    ])
    .unwrap() else {
        panic!("not init");
    };
    assert_eq!(
        args.root.root_key.as_deref(),
        Some("pkcs11:token=clearance")
    );
    assert_eq!(args.timestamp_expires_days, "2".parse::<Days>().unwrap());
    assert!(trust(&["init", "r/a", "--root-expires-days", "-1"]).is_err());
    for bad in ["0", "36501", "many"] {
        let e = trust(&["init", "r/a", "--root-expires-days", bad]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
        assert!(e.to_string().contains("--root-expires-days"), "{e}");
    }
}

#[test]
fn trust_roles_on_the_command_line_are_checked_role_names() {
    let TrustCommand::Rotate(args) = trust(&["rotate", "r/a", "snapshot"]).unwrap() else {
        panic!("not rotate");
    };
    assert_eq!(args.role, TopRole::Snapshot);
    let e = trust(&["rotate", "r/a", "releases"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
    assert!(
        e.to_string()
            .contains("possible values: root, timestamp, snapshot, targets"),
        "{e}"
    );

    let TrustCommand::Sign(args) =
        trust(&["sign", "r/a:v1", "--role", "targets/releases"]).unwrap()
    else {
        panic!("not sign");
    };
    assert_eq!(args.role, Some(RoleName::new("targets/releases").unwrap()));
    for bad in ["..", ""] {
        let e = trust(&["sign", "r/a:v1", "--role", bad]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad:?}");
    }
    let e = trust(&[
        "delegate",
        "add",
        "r/a",
        "x\u{1b}[2J",
        "--key",
        "k",
        "--paths",
        "*",
    ])
    .unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
    // The refusal names the value escaped, never raw (review B-10).
    let shown = e.to_string();
    assert!(
        !shown.contains('\u{1b}') && shown.contains("x\\u{1b}[2J"),
        "{shown}"
    );
}

#[test]
fn trust_delegate_add_splits_paths_and_needs_keys_and_paths() {
    let TrustCommand::Delegate(DelegateCommand::Add(args)) = trust(&[
        "delegate", "add", "r/a", "releases", "--key", "k1", "--key", "k2", "--paths", "v*,rc-*",
    ])
    .unwrap() else {
        panic!("not delegate add");
    };
    assert_eq!(args.paths, ["v*", "rc-*"]);
    assert_eq!(args.keys, ["k1", "k2"]);
    assert_eq!((args.threshold, args.terminating), (1, false));
    for missing in [
        &["delegate", "add", "r/a", "releases", "--paths", "v*"][..],
        &["delegate", "add", "r/a", "releases", "--key", "k1"],
    ] {
        let e = trust(missing).unwrap_err();
        assert_eq!(
            e.kind(),
            clap::error::ErrorKind::MissingRequiredArgument,
            "{missing:?}"
        );
    }
}

#[test]
fn trust_verify_repin_needs_a_root_and_the_trust_server_must_be_well_formed() {
    let e = trust(&["verify", "r/a:v1", "--repin"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    assert!(e.to_string().contains("--root"), "{e}");
    let TrustCommand::Verify(args) = trust(&["verify", "r/a:v1"]).unwrap() else {
        panic!("not verify");
    };
    assert!(!args.roots.repin && !args.roots.trust_on_first_use && args.roots.root.is_none());
    let e = parse(&["trust", "verify", "r/a:v1", "--server", "127.0.0.1:4443"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
    assert!(
        e.to_string()
            .contains("did you mean http://127.0.0.1:4443?"),
        "{e}"
    );
    assert_eq!(e.exit_code(), 2);
}

/// Review A.1 (3): `trust verify` passed the registry's `--ca-file` as the
/// trust server's CA, overriding `--trust-ca-file`. The settings keep the
/// two apart: the trust server's CA is `--trust-ca-file` alone.
#[test]
fn a1_3_the_registry_ca_is_never_the_trust_servers_ca() {
    let TrustCommand::Verify(args) = trust(&[
        "verify",
        "r/a:v1",
        "--ca-file",
        "/etc/registry-ca.pem",
        "--trust-ca-file",
        "/etc/trust-ca.pem",
    ])
    .unwrap() else {
        panic!("not verify");
    };
    let settings = args.trust.settings(30).unwrap();
    assert_eq!(
        settings.trust_ca.as_deref(),
        Some(std::path::Path::new("/etc/trust-ca.pem"))
    );
    let registry = args.registry.settings().unwrap();
    assert_eq!(
        registry.registry.extra_ca_file.as_deref(),
        Some(std::path::Path::new("/etc/registry-ca.pem"))
    );
    // Only the registry's CA given: the trust server gets none of it.
    let TrustCommand::Verify(args) =
        trust(&["verify", "r/a:v1", "--ca-file", "/etc/registry-ca.pem"]).unwrap()
    else {
        panic!("not verify");
    };
    assert_eq!(args.trust.settings(30).unwrap().trust_ca, None);
}

#[test]
fn trust_settings_check_the_login_once() {
    let TrustCommand::Sign(args) = trust(&[
        "sign",
        "r/a:v1",
        "--trust-creds",
        "alice:s3cret",
        "--home",
        "/h",
    ])
    .unwrap() else {
        panic!("not sign");
    };
    let settings = args.trust.settings(30).unwrap();
    assert_eq!(settings.home, std::path::Path::new("/h"));
    assert!(settings.credential.is_some());
    assert!(!format!("{settings:?}").contains("s3cret"));
    let TrustCommand::Sign(args) =
        trust(&["sign", "r/a:v1", "--trust-creds", "no-colon-here"]).unwrap()
    else {
        panic!("not sign");
    };
    let e = args.trust.settings(30).unwrap_err();
    assert!(
        format!("{e:#}").contains("--trust-creds takes USER:PASSWORD"),
        "{e:#}"
    );
    assert!(!format!("{e:#}").contains("no-colon-here"), "{e:#}");
}

/// newuser D5: `--timeout 0` was taken as about a second; it is refused,
/// as is a timeout so long that deadline arithmetic would overflow.
#[test]
fn zero_timeout_is_a_usage_error() {
    for bad in ["0", "86401", "18446744073709551615", "1.5"] {
        let e = parse(&["inspect", "x", "--timeout", bad]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
        assert!(e.to_string().contains("--timeout"), "{e}");
    }
    for good in ["1", "86400"] {
        assert!(
            parse(&["inspect", "x", "--timeout", good]).is_ok(),
            "{good}"
        );
    }
}

/// newuser D6: `--insecure-registry http://x` never matched a host, so it
/// allowed nothing; a scheme, path or anything but HOST[:PORT] is refused.
#[test]
fn insecure_registry_with_a_scheme_or_path_is_a_usage_error() {
    for bad in [
        "http://build-cache.lan:5000",
        "build-cache.lan:5000/v2",
        "user@host",
        "",
    ] {
        let e = parse(&["inspect", "x", "--insecure-registry", bad]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
        let shown = e.to_string();
        assert!(
            shown.contains("--insecure-registry") && shown.contains("HOST[:PORT]"),
            "{shown}"
        );
    }
    for good in ["build-cache.lan:5000", "10.0.0.7", "[::1]:5000", "registry"] {
        let Command::Inspect(args) = parse(&["inspect", "x", "--insecure-registry", good])
            .unwrap()
            .command
        else {
            panic!("not inspect");
        };
        assert_eq!(args.registry.insecure_registries, [good]);
    }
}
