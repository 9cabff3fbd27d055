//! Version order per ecosystem, OSV range evaluation, and property tests.
//!
//! Every expected ordering in the tables was checked by hand against the
//! ecosystem's own tool on this machine (not at test time): `dpkg
//! --compare-versions`, rpm 4.18's `rpm.vercmp`, Python `packaging` 26.4,
//! Maven 3.8.7's `ComparableVersion`, Ruby's `Gem::Version`, PHP's
//! `version_compare` over Composer-normalised text. apk cases follow apk-tools
//! 3 (the implementation also agrees with all 736 ordering lines of its
//! `test/unit/version.data`, checked by hand); Go, npm and NuGet cases come
//! from their specifications.

#![allow(clippy::unwrap_used)]

use std::cmp::Ordering::{self, Equal, Greater, Less};

use clearance_scan::osv::range::{Event, Range, RangeError, RangeKind, is_affected};
use clearance_scan::version::{Ecosystem, MAX_VERSION_LEN, Version, VersionError};
use proptest::prelude::*;

fn v(e: Ecosystem, s: &str) -> Version {
    match Version::parse(e, s) {
        Ok(v) => v,
        Err(err) => panic!("{err}"),
    }
}

fn check(e: Ecosystem, cases: &[(&str, Ordering, &str)]) {
    for (a, want, b) in cases {
        let got = v(e, a).compare(&v(e, b)).unwrap();
        assert_eq!(got, *want, "{e}: {a} vs {b}");
        let back = v(e, b).compare(&v(e, a)).unwrap();
        assert_eq!(back, want.reverse(), "{e}: {b} vs {a}");
    }
}

fn refuses(e: Ecosystem, texts: &[&str]) {
    for t in texts {
        assert!(
            matches!(Version::parse(e, t), Err(VersionError::Invalid { .. })),
            "{e} accepted {t:?}"
        );
    }
}

#[test]
fn dpkg_order() {
    check(
        Ecosystem::Debian,
        &[
            ("1.0~rc1", Less, "1.0"),
            ("1:0.9", Greater, "2.0"),
            ("1.0~~", Less, "1.0~"),
            ("1.0~", Less, "1.0"),
            ("1.0", Less, "1.0+b1"),
            ("1.0-1", Less, "1.0-1+deb12u1"),
            ("1.0.0-1~bpo12+1", Less, "1.0.0-1"),
            ("1.0", Less, "1.0a"),
            ("1.0a", Less, "1.0+"),
            ("1.0", Equal, "1.0-0"),
            ("1.01", Equal, "1.1"),
            ("0:1.0", Equal, "1.0"),
            ("10:0.1", Greater, "2:1.0"),
            ("7.88.1-10+deb12u5", Less, "7.88.1-10+deb12u12"),
            ("1.99999999999999999999999999", Greater, "1.1"),
            ("2.36-9+deb12u4", Less, "2.36-9+deb12u10"),
            ("1.2.3-1ubuntu0.1", Greater, "1.2.3-1"),
            ("1.0-a", Greater, "1.0-1"),
            ("3.0.11-1~deb12u2", Less, "3.0.11-1"),
        ],
    );
    refuses(
        Ecosystem::Debian,
        &[
            "",
            "a:1.0",
            ":1.0",
            "1.0-",
            "1.0 1",
            "1.0_1",
            "1.0-1:2",
            "99999999999:1",
        ],
    );
}

#[test]
fn rpm_order() {
    check(
        Ecosystem::AlmaLinux,
        &[
            ("1.0a", Greater, "1.0"),
            ("1.0~rc1", Less, "1.0"),
            ("1.0^git1", Greater, "1.0"),
            ("1.0^git1", Less, "1.0.1"),
            ("1.0~rc1^git1", Greater, "1.0~rc1"),
            ("1.0^git1~pre", Less, "1.0^git1"),
            ("1.a", Less, "1.1"),
            ("1:1.0-1", Greater, "2.0-1"),
            ("1.0-1.el9", Less, "1.0-1.el9_1"),
            ("001", Equal, "1"),
            ("1.0", Equal, "1_0"),
            ("5.5p1", Less, "5.5p10"),
            ("1.0", Less, "1.0.0"),
            ("3.0.7-25.el9_3", Less, "3.0.7-27.el9"),
            ("0:3.0.7-25.el9", Equal, "3.0.7-25.el9"),
            ("1.99999999999999999999", Greater, "1.2"),
        ],
    );
    refuses(
        Ecosystem::RockyLinux,
        &["", "a:1.0", "1.0-", "1.0 1", "1:2:3"],
    );
}

#[test]
fn apk_order() {
    check(
        Ecosystem::Alpine,
        &[
            ("1.2.3_rc1", Less, "1.2.3"),
            ("1.2.3_alpha", Less, "1.2.3_beta"),
            ("1.2.3_beta", Less, "1.2.3_pre"),
            ("1.2.3_pre", Less, "1.2.3_rc"),
            ("1.2.3", Less, "1.2.3_cvs"),
            ("1.2.3_cvs", Less, "1.2.3_svn"),
            ("1.2.3_svn", Less, "1.2.3_git"),
            ("1.2.3_git", Less, "1.2.3_hg"),
            ("1.2.3_hg", Less, "1.2.3_p"),
            ("1.2.3_p1", Less, "1.2.3_p2"),
            ("1.2.3", Less, "1.2.3-r1"),
            ("1.2.3-r1", Less, "1.2.3-r10"),
            ("1.2.3-r9", Less, "1.2.3-r10"),
            ("1.2.3", Less, "1.2.3a"),
            ("1.2.3a", Less, "1.2.3b"),
            ("1.2.3a", Less, "1.2.4"),
            ("1.2.3_p1", Less, "1.2.3.1"),
            ("1.2.3_rc1", Less, "1.2.3-r0"),
            ("1.2.3_alpha1", Less, "1.2.3_alpha2"),
            ("1.2.3_alpha", Less, "1.2.3_alpha1"),
            ("1.2", Less, "1.2.0"),
            ("1.10", Greater, "1.9"),
            ("1.05", Less, "1.5"),
            ("1.0", Less, "1.00"),
            ("1.0.1", Less, "1.06"),
            ("8.2.0015", Less, "8.2.002"),
            ("006", Greater, "1.0.0"),
            ("1.0~1234", Less, "1.0~2345"),
            ("1.0~1234-r1", Greater, "1.0~1234-r0"),
            ("0.1.0_alpha_pre2", Less, "0.1.0_alpha"),
            ("2.12r-r4", Less, "2.12r-r5"),
            ("3.0.8-r0", Less, "3.0.12-r0"),
            ("1.2.3_rc1_p2", Greater, "1.2.3_rc1"),
            ("1.2.3_rc1_p2", Less, "1.2.3"),
            ("1.99999999999999999999999", Greater, "1.2"),
        ],
    );
    refuses(
        Ecosystem::Wolfi,
        &[
            "",
            "a1",
            "1.",
            "1.2-r",
            "1.2-x",
            "1.2_foo",
            "1.2A",
            "1.2ab",
            "1.2a1",
            "1.2_alphabet",
            "1.2_post1",
            "1.2~",
            "1.2~xyz",
            "1.2-r1-r2",
            "1.2-r1_p1",
            "1.2-r1~ab",
        ],
    );
}

#[test]
fn pep440_order() {
    check(
        Ecosystem::PyPI,
        &[
            ("1.0rc1", Less, "1.0"),
            ("1.0", Less, "1.0.post1"),
            ("1.0.dev0", Less, "1.0a1"),
            ("1.0a1.dev1", Less, "1.0a1"),
            ("1.0+local", Greater, "1.0"),
            ("1.0+abc.5", Less, "1.0+abc.10"),
            ("1.0.post1.dev1", Less, "1.0.post1"),
            ("1!0.1", Greater, "2.0"),
            ("1.0", Equal, "1.0.0"),
            ("1.0c1", Equal, "1.0rc1"),
            ("1.0-1", Equal, "1.0.post1"),
            ("1.0+local", Less, "1.0.1"),
            ("v1.0", Equal, "1.0"),
            ("1.0.0-RC1", Equal, "1.0rc1"),
        ],
    );
    refuses(Ecosystem::PyPI, &["", "1.0.0.x", "banana", "1.0+"]);
}

#[test]
fn crates_io_order() {
    check(
        Ecosystem::CratesIo,
        &[
            ("1.0.0-alpha", Less, "1.0.0-alpha.1"),
            ("1.0.0-alpha.1", Less, "1.0.0-alpha.beta"),
            ("1.0.0-beta.2", Less, "1.0.0-beta.11"),
            ("1.0.0-rc.1", Less, "1.0.0"),
            ("1.0.0+build.1", Equal, "1.0.0"),
            ("0.10.0", Greater, "0.9.9"),
        ],
    );
    refuses(
        Ecosystem::CratesIo,
        &["", "v1.0.0", "1.0", "1.0.0-beta.01", "1.0.0.1"],
    );
}

#[test]
fn go_pseudo_versions() {
    check(
        Ecosystem::Go,
        &[
            ("v0.0.0-20210101000000-abcdef123456", Less, "v0.0.1"),
            (
                "v0.0.0-20210101000000-abcdef123456",
                Less,
                "v0.0.0-20220101000000-123456abcdef",
            ),
            ("v1.2.3", Less, "v1.2.4-0.20210101000000-abcdef123456"),
            ("v1.2.4-0.20210101000000-abcdef123456", Less, "v1.2.4"),
            (
                "v1.2.3-pre.0.20210101000000-abcdef123456",
                Greater,
                "v1.2.3-pre",
            ),
            ("v2.0.0+incompatible", Equal, "v2.0.0"),
            ("v1.21.0", Greater, "v1.9.0"),
            ("1.2.3", Equal, "v1.2.3"),
        ],
    );
    refuses(Ecosystem::Go, &["", "v1.2", "go1.21", "vv1.2.3"]);
    use clearance_scan::version::go::toolchain_to_semver;
    assert_eq!(toolchain_to_semver("go1.21.3").as_deref(), Some("1.21.3"));
    assert_eq!(toolchain_to_semver("go1.21").as_deref(), Some("1.21.0"));
    assert_eq!(
        toolchain_to_semver("go1.21rc2").as_deref(),
        Some("1.21.0-rc.2")
    );
    assert_eq!(
        toolchain_to_semver("go1.20beta1").as_deref(),
        Some("1.20.0-beta.1")
    );
    assert_eq!(toolchain_to_semver("devel +abc"), None);
}

#[test]
fn npm_loose_and_no_silent_truncation() {
    check(
        Ecosystem::Npm,
        &[
            ("v1.2.3", Equal, "1.2.3"),
            ("=1.2.3", Equal, "1.2.3"),
            ("1.2.3-beta.01", Equal, "1.2.3-beta.1"),
            ("1.2.3beta", Equal, "1.2.3-beta"),
            ("1.2.3-beta.2", Less, "1.2.3-beta.11"),
            ("1.2.3-beta", Less, "1.2.3"),
            ("1.2.3+build", Equal, "1.2.3"),
        ],
    );
    // nodejs-semver 7 accepts each of these by dropping a part.
    refuses(
        Ecosystem::Npm,
        &[
            "1.0.0.1",
            "1.2.3 garbage",
            "1.2.3-a..b",
            "1.2.3-",
            "1.2.3-ü",
            "1.2",
            "1.2.3.4-beta",
            "9007199254740992.0.0",
        ],
    );
}

#[test]
fn maven_qualifiers() {
    check(
        Ecosystem::Maven,
        &[
            ("1.0-SNAPSHOT", Less, "1.0"),
            ("1.0.RELEASE", Equal, "1.0"),
            ("1.0.Final", Equal, "1.0"),
            ("1.0", Equal, "1.0-ga"),
            ("1.0-alpha", Less, "1.0-beta"),
            ("1.0-beta", Less, "1.0-milestone"),
            ("1.0-milestone", Less, "1.0-rc"),
            ("1.0-rc", Equal, "1.0-cr"),
            ("1.0-rc", Less, "1.0-snapshot"),
            ("1.0", Less, "1.0-sp"),
            ("1.0-sp", Less, "1.0-foo"),
            ("1.0-a1", Equal, "1.0-alpha-1"),
            ("1", Equal, "1.0.0"),
            ("2.17.0", Greater, "2.9.10.8"),
            ("1.0-jre", Greater, "1.0"),
            ("31.1-jre", Greater, "31.1-android"),
            ("1.0.0.Beta1", Less, "1.0.0.CR1"),
            ("1.0-1", Greater, "1.0"),
            ("1-alpha", Less, "1"),
            ("1", Less, "1.sp"),
            ("1.sp", Greater, "1-alpha"),
            ("1.0.RC2", Less, "1.0-RC3"),
            ("1.0-RC3", Less, "1.0.1"),
            ("1-1", Less, "1.1"),
            ("1.99999999999999999999999", Greater, "1.2"),
        ],
    );
    refuses(Ecosystem::Maven, &["", "1.0 beta", "1.0\u{e9}"]);
}

#[test]
fn rubygems_order() {
    check(
        Ecosystem::RubyGems,
        &[
            ("1.0.0.pre", Less, "1.0.0"),
            ("1.0.0-alpha1", Equal, "1.0.0.pre.alpha1"),
            ("1.0.a", Less, "1.0"),
            ("1.0.0.b1", Less, "1.0.0.rc1"),
            ("1.0", Equal, "1"),
            ("1.0.0.1", Greater, "1.0.0"),
            ("1.0.0a", Less, "1.0.0"),
            ("1.99999999999", Greater, "1.1"),
            (" 1.2 ", Equal, "1.2"),
        ],
    );
    refuses(
        Ecosystem::RubyGems,
        &["", "a1", "1..2", "1.0-", "1.0 2", "1_0"],
    );
}

#[test]
fn nuget_order() {
    check(
        Ecosystem::NuGet,
        &[
            ("1.0", Equal, "1.0.0.0"),
            ("1.0.0.1", Greater, "1.0.0"),
            ("1.0.0-ALPHA", Equal, "1.0.0-alpha"),
            ("1.0.0-alpha", Less, "1.0.0"),
            ("1.0.0-alpha.2", Less, "1.0.0-alpha.10"),
            ("1.0.0-2", Less, "1.0.0-alpha"),
            ("1.0.0+build", Equal, "1.0.0"),
            ("1.01", Equal, "1.1"),
            ("1.0.0-alpha", Less, "1.0.0-alpha.1"),
        ],
    );
    refuses(
        Ecosystem::NuGet,
        &["", "1.0.0.0.0", "1.0-", "v1.0", "2147483648.0", "1.0+"],
    );
}

#[test]
fn composer_order() {
    check(
        Ecosystem::Packagist,
        &[
            ("1.0.0-alpha", Less, "1.0.0-beta2"),
            ("1.0.0-beta2", Less, "1.0.0-RC1"),
            ("1.0.0-RC1", Less, "1.0.0"),
            ("1.0.0", Less, "1.0.0-p1"),
            ("1.0.0", Less, "1.0.0-patch1"),
            ("v1.2", Equal, "1.2.0.0"),
            ("1.0.0-dev", Less, "1.0.0-alpha1"),
            ("1.0.0-b1", Equal, "1.0.0-beta1"),
            ("2.0.0-rc.1", Equal, "2.0.0RC1"),
            ("1.0.0+build", Equal, "1.0.0"),
            ("1.10.0", Greater, "1.9.9"),
            ("1.0.0.1", Greater, "1.0.0"),
            ("2023.01.01", Less, "2023.01.02"),
            ("1.0.0-beta1-dev", Less, "1.0.0-beta1"),
        ],
    );
    refuses(
        Ecosystem::Packagist,
        &["", "dev-main", "master", "1.x-dev", "banana", "1.0.0-gamma"],
    );
}

#[test]
fn cross_ecosystem_compare_is_refused() {
    let deb = v(Ecosystem::Debian, "1.0");
    let ubu = v(Ecosystem::Ubuntu, "1.0");
    assert_eq!(
        deb.compare(&ubu),
        Err(VersionError::CrossEcosystem {
            left: Ecosystem::Debian,
            right: Ecosystem::Ubuntu
        })
    );
}

#[test]
fn long_input_is_refused_before_parsing() {
    let long = "1".repeat(MAX_VERSION_LEN + 1);
    for e in Ecosystem::ALL {
        assert!(
            matches!(Version::parse(e, &long), Err(VersionError::TooLong { len, .. }) if len == MAX_VERSION_LEN + 1)
        );
    }
}

#[test]
fn parse_error_names_the_ecosystem_and_escapes_the_text() {
    let err = Version::parse(Ecosystem::Debian, "1.0\n-\u{1b}[31m").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("Debian version \"1.0\\n-\\u{1b}[31m\""),
        "{msg}"
    );
    assert!(!msg.contains('\u{1b}'));
}

#[test]
fn osv_ecosystem_names() {
    for e in Ecosystem::ALL {
        assert_eq!(Ecosystem::from_osv(e.osv_name()), Ok(e));
    }
    assert_eq!(Ecosystem::from_osv("Debian:12"), Ok(Ecosystem::Debian));
    assert_eq!(Ecosystem::from_osv("Alpine:v3.19"), Ok(Ecosystem::Alpine));
    assert_eq!(
        Ecosystem::from_osv("Ubuntu:22.04:LTS"),
        Ok(Ecosystem::Ubuntu)
    );
    assert_eq!(
        Ecosystem::from_osv("Red Hat:enterprise_linux:9::appstream"),
        Ok(Ecosystem::RedHat)
    );
    assert!(matches!(
        Ecosystem::from_osv("Hex"),
        Err(VersionError::UnknownEcosystem { .. })
    ));
    assert!(matches!(
        Ecosystem::from_osv("debian"),
        Err(VersionError::UnknownEcosystem { .. })
    ));
    assert_eq!(
        clearance_scan::version::split_osv_ecosystem("Alpine:v3.19"),
        ("Alpine", Some("v3.19"))
    );
}

// ---- OSV ranges -------------------------------------------------------------

fn ranges(json: &str) -> Vec<Range> {
    serde_json::from_str(json).unwrap()
}

fn affected(e: Ecosystem, version: &str, r: &[Range], versions: &[&str]) -> bool {
    let versions: Vec<String> = versions.iter().map(|s| (*s).to_owned()).collect();
    is_affected(&v(e, version), r, &versions).unwrap()
}

#[test]
fn osv_spec_examples() {
    // "Unfixed vulnerability example": every version.
    let r = ranges(r#"[{"type":"SEMVER","events":[{"introduced":"0"}]}]"#);
    assert!(affected(Ecosystem::CratesIo, "0.0.1", &r, &[]));
    assert!(affected(Ecosystem::CratesIo, "99.0.0", &r, &[]));
    // "Fixed vulnerability example": everything before 1.0.2.
    let r = ranges(r#"[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.2"}]}]"#);
    assert!(affected(Ecosystem::CratesIo, "1.0.1", &r, &[]));
    assert!(affected(Ecosystem::CratesIo, "1.0.2-rc.1", &r, &[]));
    assert!(!affected(Ecosystem::CratesIo, "1.0.2", &r, &[]));
    // "Multiple range example": [1.0.0, 1.0.2) and [3.0.0, 3.2.5).
    let r = ranges(
        r#"[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.0.2"},{"introduced":"3.0.0"},{"fixed":"3.2.5"}]}]"#,
    );
    for (ver, want) in [
        ("0.9.0", false),
        ("1.0.0", true),
        ("1.0.1", true),
        ("1.0.2", false),
        ("2.5.0", false),
        ("3.0.0", true),
        ("3.2.4", true),
        ("3.2.5", false),
        ("4.0.0", false),
    ] {
        assert_eq!(affected(Ecosystem::Npm, ver, &r, &[]), want, "{ver}");
    }
    // "last_affected vs fixed example": 2.1.214 itself is affected.
    let r = ranges(
        r#"[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"last_affected":"2.1.214"}]}]"#,
    );
    assert!(affected(Ecosystem::Maven, "2.1.214", &r, &[]));
    assert!(!affected(Ecosystem::Maven, "2.1.215", &r, &[]));
}

#[test]
fn osv_events_are_sorted_by_the_ecosystem_order() {
    // Listed in reverse; dpkg order puts every 1:… above every 0:….
    let r = ranges(
        r#"[{"type":"ECOSYSTEM","events":[{"fixed":"1:0.5-1"},{"introduced":"1:0.1-1"},{"fixed":"2.5-1"},{"introduced":"2.0-1"}]}]"#,
    );
    for (ver, want) in [
        ("1.0-1", false),
        ("2.1-1", true),
        ("3.0-1", false),
        ("1:0.2-1", true),
        ("1:0.5-1", false),
    ] {
        assert_eq!(affected(Ecosystem::Debian, ver, &r, &[]), want, "{ver}");
    }
    // A Debian backport below the fix is still affected; the fix's own
    // security update is not.
    let r = ranges(
        r#"[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"7.88.1-10+deb12u5"}]}]"#,
    );
    assert!(affected(Ecosystem::Debian, "7.88.1-10+deb12u4", &r, &[]));
    assert!(!affected(Ecosystem::Debian, "7.88.1-10+deb12u12", &r, &[]));
}

#[test]
fn osv_several_ranges_and_limits() {
    let r = ranges(
        r#"[{"type":"ECOSYSTEM","events":[{"introduced":"1.0"},{"fixed":"1.5"}]},
            {"type":"ECOSYSTEM","events":[{"introduced":"2.0"},{"limit":"2.3"}]},
            {"type":"GIT","repo":"https://example.invalid/r","events":[{"introduced":"abc"},{"fixed":"def"}]}]"#,
    );
    for (ver, want) in [
        ("0.9", false),
        ("1.2", true),
        ("1.5", false),
        ("2.1", true),
        ("2.3", false),
        ("9", false),
    ] {
        assert_eq!(affected(Ecosystem::PyPI, ver, &r, &[]), want, "{ver}");
    }
    let r = ranges(r#"[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"limit":"*"}]}]"#);
    assert!(affected(Ecosystem::PyPI, "100", &r, &[]));
}

#[test]
fn osv_same_version_introduced_and_fixed_is_not_affected() {
    let r = ranges(r#"[{"type":"ECOSYSTEM","events":[{"fixed":"1.0"},{"introduced":"1.0"}]}]"#);
    assert!(!affected(Ecosystem::PyPI, "1.0", &r, &[]));
}

#[test]
fn osv_versions_list_only() {
    let none: Vec<Range> = Vec::new();
    assert!(affected(
        Ecosystem::PyPI,
        "1.0.0",
        &none,
        &["0.9", "1.0", "not a version"]
    ));
    assert!(!affected(
        Ecosystem::PyPI,
        "1.0.1",
        &none,
        &["0.9", "1.0", "not a version"]
    ));
    // GIT ranges are skipped; the list still applies.
    let git = ranges(
        r#"[{"type":"GIT","repo":"https://example.invalid/r","events":[{"introduced":"0"}]}]"#,
    );
    assert!(!affected(Ecosystem::Go, "1.2.3", &git, &[]));
    assert!(affected(Ecosystem::Go, "1.2.3", &git, &["v1.2.3"]));
}

#[test]
fn osv_bad_event_version_is_an_error_naming_the_event() {
    let r =
        ranges(r#"[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"not-semver"}]}]"#);
    let err = is_affected(&v(Ecosystem::CratesIo, "1.0.0"), &r, &[]).unwrap_err();
    assert!(
        matches!(err, RangeError::EventVersion { event: "fixed", .. }),
        "{err}"
    );
}

#[test]
fn osv_event_with_two_keys_or_unknown_type() {
    assert!(
        serde_json::from_str::<Vec<Range>>(
            r#"[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]"#
        )
        .is_err()
    );
    let r =
        ranges(r#"[{"type":"FUTURE","events":[{"introduced":"0"}],"database_specific":{"x":1}}]"#);
    assert_eq!(r[0].kind, RangeKind::Unknown);
    assert!(!affected(Ecosystem::CratesIo, "1.0.0", &r, &[]));
}

#[test]
fn osv_counts_are_bounded() {
    let many = vec![Range {
        kind: RangeKind::Ecosystem,
        events: vec![Event::Introduced("0".into()); 1025],
    }];
    assert!(matches!(
        is_affected(&v(Ecosystem::PyPI, "1.0"), &many, &[]),
        Err(RangeError::TooMany { what: "events", .. })
    ));
}

// ---- properties -------------------------------------------------------------

/// Version-like strings built from the pieces each ecosystem's grammar uses,
/// so most of them parse.
fn version_text(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        0_u32..12,
        proptest::collection::vec((proptest::sample::select(pieces), 0_u32..12), 0..5),
    )
        .prop_map(|(first, rest)| {
            let mut s = first.to_string();
            for (piece, n) in rest {
                s.push_str(piece);
                if !piece.ends_with(|c: char| c.is_ascii_alphabetic()) || n % 2 == 0 {
                    s.push_str(&n.to_string());
                }
            }
            s
        })
}

fn pieces(e: Ecosystem) -> &'static [&'static str] {
    match e {
        Ecosystem::Debian | Ecosystem::Ubuntu => &[".", "~", "+", "-", "a", "~rc", "+deb", ":"],
        Ecosystem::AlmaLinux
        | Ecosystem::RockyLinux
        | Ecosystem::RedHat
        | Ecosystem::OpenSuse
        | Ecosystem::Suse => &[".", "~", "^", "-", "a", "_", "el", ":"],
        Ecosystem::Alpine | Ecosystem::Wolfi | Ecosystem::Chainguard => {
            &[".", "_alpha", "_rc", "_p", "_git", "-r", "a", ".0"]
        }
        Ecosystem::PyPI => &[".", "a", "rc", ".post", ".dev", "+local.", "!"],
        Ecosystem::CratesIo | Ecosystem::Go | Ecosystem::Npm => &[".", "-alpha.", "-", "+b."],
        Ecosystem::Maven => &[
            ".",
            "-",
            "-alpha",
            ".sp",
            "-SNAPSHOT",
            ".Final",
            "-rc",
            "a",
            "-foo",
            ".0",
        ],
        Ecosystem::RubyGems => &[".", "-", ".pre", "a", ".rc", ".0"],
        Ecosystem::NuGet => &[".", "-alpha.", "-BETA.", "+m."],
        _ => &[".", "-beta", "-RC", "-p", "-dev", "-alpha", "+b"],
    }
}

fn check_order(e: Ecosystem, a: &str, b: &str, c: &str) -> Result<(), TestCaseError> {
    let (Ok(a), Ok(b), Ok(c)) = (
        Version::parse(e, a),
        Version::parse(e, b),
        Version::parse(e, c),
    ) else {
        return Ok(());
    };
    let ab = a.compare(&b).unwrap();
    let bc = b.compare(&c).unwrap();
    let ac = a.compare(&c).unwrap();
    prop_assert_eq!(
        b.compare(&a).unwrap(),
        ab.reverse(),
        "antisymmetry {} {}",
        a,
        b
    );
    prop_assert_eq!(a.compare(&a).unwrap(), Equal);
    if ab != Greater && bc != Greater {
        prop_assert_ne!(ac, Greater, "transitivity {} <= {} <= {}", a, b, c);
    }
    if ab == Equal && bc == Equal {
        prop_assert_eq!(ac, Equal);
    }
    // Display round-trips: the printed text parses to an equal version.
    let again = Version::parse(e, &a.to_string()).unwrap();
    prop_assert_eq!(again.compare(&a).unwrap(), Equal);
    Ok(())
}

macro_rules! order_properties {
    ($($name:ident => $eco:expr),* $(,)?) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]
            $(
                #[test]
                fn $name(
                    a in version_text(pieces($eco)),
                    b in version_text(pieces($eco)),
                    c in version_text(pieces($eco)),
                ) {
                    check_order($eco, &a, &b, &c)?;
                }
            )*
        }
    };
}

order_properties! {
    dpkg_is_a_total_order => Ecosystem::Debian,
    rpm_is_a_total_order => Ecosystem::AlmaLinux,
    apk_is_a_total_order => Ecosystem::Alpine,
    pep440_is_a_total_order => Ecosystem::PyPI,
    semver_is_a_total_order => Ecosystem::CratesIo,
    go_is_a_total_order => Ecosystem::Go,
    npm_is_a_total_order => Ecosystem::Npm,
    maven_is_a_total_order => Ecosystem::Maven,
    rubygems_is_a_total_order => Ecosystem::RubyGems,
    nuget_is_a_total_order => Ecosystem::NuGet,
    composer_is_a_total_order => Ecosystem::Packagist,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(idx in 0..Ecosystem::ALL.len(), a in "\\PC{0,40}", b in "\\PC{0,40}") {
        let e = Ecosystem::ALL[idx];
        if let (Ok(a), Ok(b)) = (Version::parse(e, &a), Version::parse(e, &b)) {
            let _ = a.compare(&b);
        }
    }
}
