//! Ruby gems: the specification RubyGems writes for each installed gem,
//! `…/specifications/NAME-VERSION[-PLATFORM].gemspec` under a gem home
//! (`/usr/local/bundle`, `/var/lib/gems/3.1.0`, Bundler's
//! `vendor/bundle/ruby/3.2.0`), and the default gems Ruby itself carries
//! under `specifications/default/`. Debian's `ruby-*` packages put theirs
//! in `/usr/share/rubygems-integration/*/specifications/`.
//!
//! The file is Ruby that `Gem::Specification#to_ruby` generated:
//!
//! ```ruby
//! # stub: rack 2.2.8 ruby lib
//! Gem::Specification.new do |s|
//!   s.name = "rack".freeze
//!   s.version = "2.2.8"
//! ```
//!
//! It is not run: the `s.name = "…"` and `s.version = "…"` assignments of
//! a string literal are read, and where one is missing or not a literal
//! the file name (`NAME-VERSION`) supplies it. A project's own
//! hand-written `NAME.gemspec` is not under `specifications/` and is not
//! read.
//!
//! `Gemfile.lock` is not read: a lock file says what a build asked for,
//! not what is installed (`bundle install --without`, a later `gem
//! uninstall`, a lock copied into an image whose gems live elsewhere); the
//! installed gems are the specifications.

use super::{CatalogError, Cataloger, Package, PackageType, quoted};
use crate::os::Distro;

/// The gemspec cataloger.
#[derive(Debug, Clone, Copy)]
pub struct Gem;

/// Longest name or version kept.
const MAX_FIELD: usize = 256;

impl Cataloger for Gem {
    fn name(&self) -> &'static str {
        "gem"
    }

    fn wants(&self, path: &str) -> bool {
        let Some((dir, file)) = path
            .strip_suffix(".gemspec")
            .and_then(|p| p.rsplit_once('/'))
        else {
            return false;
        };
        let dir = dir.strip_suffix("/default").unwrap_or(dir);
        !file.is_empty()
            && !file.starts_with('.')
            && (dir == "specifications" || dir.ends_with("/specifications"))
    }

    fn read(
        &self,
        path: &str,
        bytes: &[u8],
        _distro: Option<&Distro>,
        warnings: &mut Vec<CatalogError>,
    ) -> Result<Vec<Package>, CatalogError> {
        let text = String::from_utf8_lossy(bytes);
        let mut name = None;
        let mut version = None;
        for line in text.lines() {
            if name.is_none() {
                name = assigned(line, "name").filter(|n| valid_name(n));
            }
            if version.is_none() {
                version = assigned(line, "version").filter(|v| valid_version(v));
            }
            if name.is_some() && version.is_some() {
                break;
            }
        }
        let stem = path
            .rsplit('/')
            .next()
            .and_then(|f| f.strip_suffix(".gemspec"))
            .unwrap_or("");
        let (name, version) = match (name, version) {
            (Some(n), Some(v)) => (n, v),
            (Some(n), None) => {
                let v = version_after(stem, &n);
                (n, v.unwrap_or_default())
            }
            (None, v) => match split_file_name(stem) {
                Some((n, file_version)) => (n.to_owned(), v.unwrap_or(file_version.to_owned())),
                None => (String::new(), String::new()),
            },
        };
        if name.is_empty() || version.is_empty() {
            warnings.push(CatalogError::Invalid {
                path: path.to_owned(),
                reason: format!(
                    "neither its s.name and s.version lines nor its file name {} give a gem name and version",
                    quoted(stem)
                ),
            });
            return Ok(Vec::new());
        }
        Ok(vec![Package::language(
            PackageType::Gem,
            name,
            version,
            path,
        )])
    }
}

/// The string literal assigned to `VAR.field` on this line (`s.name =
/// "rack".freeze` → `rack`), or `None` when the line is not such an
/// assignment or its value is not a plain literal.
fn assigned(line: &str, field: &str) -> Option<String> {
    let (lhs, rhs) = line.split_once('=')?;
    let (var, f) = lhs.trim().split_once('.')?;
    let is_ident = !var.is_empty()
        && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !var.as_bytes()[0].is_ascii_digit();
    if !is_ident || f != field {
        return None;
    }
    literal(rhs.trim_start())
}

/// A Ruby string literal at the start of `text`: `"…"` (backslash escapes
/// kept as the escaped character; an interpolation `#{` is not a literal)
/// or `'…'`.
fn literal(text: &str) -> Option<String> {
    let mut chars = text.chars();
    let quote = chars.next().filter(|c| *c == '"' || *c == '\'')?;
    let mut out = String::new();
    let mut prev_hash = false;
    while let Some(c) = chars.next() {
        match c {
            c if c == quote => return Some(out),
            '\\' => out.push(chars.next()?),
            '{' if quote == '"' && prev_hash => return None,
            c => out.push(c),
        }
        prev_hash = c == '#';
        if out.len() > MAX_FIELD {
            return None;
        }
    }
    None
}

/// RubyGems' name rule (`Gem::Specification` `VALID_NAME_PATTERN`).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FIELD
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// The shape of a `Gem::Version` as RubyGems writes it in a file name
/// (`Gem::Version::VERSION_PATTERN` without the `-` pre-release form,
/// which `to_s` writes as `.pre.`): digits, then `.`-separated
/// alphanumeric parts. Read from an `s.version` line, a `-` part is kept.
fn valid_version(version: &str) -> bool {
    let (release, pre) = version.split_once('-').unwrap_or((version, ""));
    let mut parts = release.split('.');
    parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && pre
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        && version.len() <= MAX_FIELD
}

/// The version in a file name whose gem name is known (`nokogiri` in
/// `nokogiri-1.15.4-x86_64-linux` → `1.15.4`).
fn version_after(stem: &str, name: &str) -> Option<String> {
    let rest = stem.strip_prefix(name)?.strip_prefix('-')?;
    let version = rest.split('-').next()?;
    valid_version(version).then(|| version.to_owned())
}

/// A file name's gem name and version: split at the first `-` that a
/// version follows (`net-http-0.4.1` → `net-http`, `0.4.1`;
/// `ffi-1.16.3-x86_64-linux-gnu` → `ffi`, `1.16.3`).
fn split_file_name(stem: &str) -> Option<(&str, &str)> {
    stem.match_indices('-').find_map(|(i, _)| {
        let name = &stem[..i];
        let version = stem[i + 1..].split('-').next()?;
        (valid_name(name) && valid_version(version)).then_some((name, version))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head of a specification as RubyGems 3.4 writes it.
    const RACK: &str = r#"# -*- encoding: utf-8 -*-
# stub: rack 2.2.8 ruby lib

Gem::Specification.new do |s|
  s.name = "rack".freeze
  s.version = "2.2.8"

  s.required_rubygems_version = Gem::Requirement.new(">= 0".freeze) if s.respond_to? :required_rubygems_version=
  s.require_paths = ["lib".freeze]
  s.authors = ["Leah Neukirchen".freeze]
  s.date = "2023-07-31"
  s.summary = "A modular Ruby webserver interface".freeze

  s.installed_by_version = "3.4.10" if s.respond_to? :installed_by_version

  s.specification_version = 4

  s.add_development_dependency(%q<minitest>.freeze, ["~> 5.0"])
end
"#;

    fn read(path: &str, text: &str) -> (Vec<Package>, Vec<CatalogError>) {
        let mut w = Vec::new();
        let got = Gem.read(path, text.as_bytes(), None, &mut w).unwrap();
        (got, w)
    }

    fn one(path: &str, text: &str) -> (String, String, String) {
        let (got, w) = read(path, text);
        assert!(w.is_empty(), "{w:?}");
        let [p] = got.as_slice() else {
            panic!("{got:?}")
        };
        (p.name.clone(), p.version.clone(), p.purl.clone())
    }

    #[test]
    fn specifications_under_a_gem_home_are_wanted() {
        for yes in [
            "usr/local/bundle/specifications/rack-2.2.8.gemspec",
            "usr/local/lib/ruby/gems/3.3.0/specifications/default/json-2.7.1.gemspec",
            "app/vendor/bundle/ruby/3.2.0/specifications/nokogiri-1.15.4-x86_64-linux.gemspec",
            "usr/share/rubygems-integration/all/specifications/rack-2.2.4.gemspec",
            "var/lib/gems/3.1.0/specifications/puma-6.4.0.gemspec",
        ] {
            assert!(Gem.wants(yes), "{yes}");
        }
        for no in [
            "app/rack.gemspec",
            "usr/local/bundle/gems/rack-2.2.8/rack.gemspec",
            "usr/local/bundle/specifications/.gemspec",
            "usr/local/bundle/specifications/x/y.gemspec",
            "app/Gemfile.lock",
            "specifications.gemspec",
        ] {
            assert!(!Gem.wants(no), "{no}");
        }
    }

    #[test]
    fn name_and_version_come_from_the_assignments() {
        assert_eq!(
            one("/usr/local/bundle/specifications/rack-2.2.8.gemspec", RACK),
            ("rack".into(), "2.2.8".into(), "pkg:gem/rack@2.2.8".into())
        );
        // The file name is not consulted when the assignments are there.
        assert_eq!(
            one("/s/specifications/other-9.gemspec", RACK).0,
            "rack".to_owned()
        );
        // Single quotes and a platform gem.
        let nokogiri = "Gem::Specification.new do |spec|\n  spec.name = 'nokogiri'\n  spec.version = '1.15.4'\n  spec.platform = 'x86_64-linux'\nend\n";
        assert_eq!(
            one(
                "/v/specifications/nokogiri-1.15.4-x86_64-linux.gemspec",
                nokogiri
            ),
            (
                "nokogiri".into(),
                "1.15.4".into(),
                "pkg:gem/nokogiri@1.15.4".into()
            )
        );
    }

    #[test]
    fn the_file_name_supplies_what_the_assignments_do_not() {
        // A computed version: not a literal.
        let computed = "Gem::Specification.new do |s|\n  s.name = \"net-http\"\n  s.version = NetHttp::VERSION\nend\n";
        assert_eq!(
            one("/r/specifications/default/net-http-0.4.1.gemspec", computed),
            (
                "net-http".into(),
                "0.4.1".into(),
                "pkg:gem/net-http@0.4.1".into()
            )
        );
        // Nothing but the file name; a platform after the version.
        assert_eq!(
            one(
                "/r/specifications/ffi-1.16.3-x86_64-linux-gnu.gemspec",
                "binary junk"
            ),
            ("ffi".into(), "1.16.3".into(), "pkg:gem/ffi@1.16.3".into())
        );
        // An interpolated string is not a literal either.
        let interpolated = "s.name = \"x#{1}\"\n";
        assert_eq!(
            one("/r/specifications/aws-sdk-s3-1.142.0.gemspec", interpolated),
            (
                "aws-sdk-s3".into(),
                "1.142.0".into(),
                "pkg:gem/aws-sdk-s3@1.142.0".into()
            )
        );
    }

    #[test]
    fn nothing_to_go_on_is_a_warning_naming_the_file() {
        let (got, w) = read("/r/specifications/\x1b[2J.gemspec", "s.version = \"1\"");
        assert!(got.is_empty());
        let [CatalogError::Invalid { path, reason }] = w.as_slice() else {
            panic!("{w:?}");
        };
        assert_eq!(path, "/r/specifications/\x1b[2J.gemspec");
        assert!(!reason.contains('\x1b'), "{reason}");
    }

    #[test]
    fn literals_and_assignments() {
        assert_eq!(literal(r#""a\"b".freeze"#), Some("a\"b".into()));
        assert_eq!(literal(r#"'it''s'"#), Some("it".into()));
        assert_eq!(literal(r#""open"#), None);
        assert_eq!(literal(r#""\"#), None);
        assert_eq!(literal(r##""#{x}""##), None);
        assert_eq!(literal(r##""#x""##), Some("#x".into()));
        assert_eq!(literal("x"), None);
        assert_eq!(literal(""), None);
        assert_eq!(assigned("  s.name = \"a\"", "name"), Some("a".into()));
        assert_eq!(assigned("  s.name == \"a\"", "name"), None);
        assert_eq!(assigned("  s.names = \"a\"", "name"), None);
        assert_eq!(assigned("  1s.name = \"a\"", "name"), None);
        assert_eq!(assigned("s.metadata = { \"name\" => \"a\" }", "name"), None);
        assert!(valid_version("1.0.0.pre.rc1"));
        assert!(valid_version("1.0.0-rc1"));
        assert!(!valid_version("v1.0"));
        assert!(!valid_version("1..0"));
        assert!(!valid_version(""));
        assert_eq!(split_file_name("no-version-here"), None);
        assert_eq!(split_file_name("2fa-1.0"), Some(("2fa", "1.0")));
        assert_eq!(split_file_name("x-2fa-1.0"), Some(("x-2fa", "1.0")));
    }
}
