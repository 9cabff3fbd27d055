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
