//! OSV affected ranges (`affected[].ranges[]`) and version lists
//! (`affected[].versions`), and whether a version falls in them.
//!
//! Evaluation follows the OSV schema's "Evaluation" section
//! (<https://ossf.github.io/osv-schema/#evaluation>): a version is affected
//! when it is in `versions`, or when, for some range before its limits, the
//! events sorted by the ecosystem's own order leave it "vulnerable".
//!
//! - `ECOSYSTEM` ranges are read in the package ecosystem's order
//!   ([`crate::version`]).
//! - `SEMVER` ranges are read in the package ecosystem's order too: for npm,
//!   crates.io and Go that is SemVer 2.0 §11 precedence, as the schema asks;
//!   elsewhere SEMVER ranges carry plain release numbers, on which the
//!   ecosystem's order agrees with SemVer.
//! - `GIT` ranges (commit hashes) cannot be evaluated without the repository's
//!   commit graph and are skipped, as are range types this code does not know;
//!   the schema requires a `versions` list beside GIT ranges, which is used.
//!
//! Only the fields evaluation needs are kept (`type`, `events`); `repo` and
//! `database_specific` are dropped when deserialising.

use std::cmp::Ordering;

use serde::Deserialize;

use crate::version::{Ecosystem, Version, VersionError};

/// Most events one range may have; real records have a handful.
pub const MAX_EVENTS: usize = 1024;
/// Most ranges one `affected` entry may have.
pub const MAX_RANGES: usize = 1024;
/// Most entries in one `affected[].versions` list (real lists reach a few
/// thousand).
pub const MAX_VERSIONS: usize = 100_000;

/// One `affected[].ranges[]` object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Range {
    /// `type`: how the event versions are read.
    #[serde(rename = "type")]
    pub kind: RangeKind,
    /// `events`: the range's timeline, in any order.
    pub events: Vec<Event>,
}

/// `affected[].ranges[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RangeKind {
    /// SemVer 2.0 versions without a `v`.
    Semver,
    /// The ecosystem's own versions.
    Ecosystem,
    /// Git commit hashes; skipped by [`is_affected`].
    Git,
    /// A type this code does not know; skipped by [`is_affected`].
    #[serde(other)]
    Unknown,
}

/// One `affected[].ranges[].events[]` object: exactly one of its four keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The first affected version; `"0"` sorts before every version.
    Introduced(String),
    /// The first version with the fix (not affected).
    Fixed(String),
    /// The last affected version (versions above it are not affected).
    LastAffected(String),
    /// An upper limit; a value containing `*` is infinity.
    Limit(String),
}

impl Event {
    fn name(&self) -> &'static str {
        match self {
            Event::Introduced(_) => "introduced",
            Event::Fixed(_) => "fixed",
            Event::LastAffected(_) => "last_affected",
            Event::Limit(_) => "limit",
        }
    }

    fn text(&self) -> &str {
        match self {
            Event::Introduced(t) | Event::Fixed(t) | Event::LastAffected(t) | Event::Limit(t) => t,
        }
    }
}

/// Errors from evaluating ranges.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RangeError {
    /// A list is longer than this code accepts.
    #[error("{what} has {count} entries, more than the {max} accepted")]
    TooMany {
        /// Which list: `ranges`, `events` or `versions`.
        what: &'static str,
        /// Its length.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An event's version is not a version of the package's ecosystem, so the
    /// range cannot be evaluated.
    #[error("{event} event: {source}")]
    EventVersion {
        /// The event's key (`introduced`, `fixed`, `last_affected`, `limit`).
        event: &'static str,
        /// Why its version did not parse.
        source: VersionError,
    },
}

/// A parsed event bound.
#[derive(Debug)]
enum Bound {
    /// `introduced: "0"`: before every version.
    Zero,
    /// `limit` containing `*`: after every version.
    Infinity,
    At(Version),
}

#[derive(Debug)]
struct Parsed {
    kind: Kind,
    bound: Bound,
}

/// Event kinds; at equal versions `introduced` sorts first, so a version that
/// is both introduced and fixed is not affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

/// Whether `version` is affected by an `affected[]` entry with these `ranges`
/// and `versions` (OSV "Evaluation": `IncludedInVersions(v, versions) ||
/// IncludedInRanges(v, ranges)`).
///
/// A `versions` entry matches when it is the same text as `version`; in an
/// entry without `ECOSYSTEM`/`SEMVER` ranges also when it parses in
/// `version`'s ecosystem and compares equal (PyPI `1.0` = `1.0.0`; see
/// [`Prepared`]); entries that do not parse only match as text, so one
/// malformed entry does not spoil the list.
///
/// # Errors
/// [`RangeError::TooMany`] when `ranges`, a range's `events` or `versions`
/// exceed [`MAX_RANGES`], [`MAX_EVENTS`], [`MAX_VERSIONS`];
/// [`RangeError::EventVersion`] when an event of an `ECOSYSTEM` or `SEMVER`
/// range does not parse in `version`'s ecosystem.
pub fn is_affected(
    version: &Version,
    ranges: &[Range],
    versions: &[String],
) -> Result<bool, RangeError> {
    let list: crate::advisory::VersionList = versions.iter().collect();
    let mut prepared = Prepared::new(version.ecosystem(), ranges, &list)?;
    if !prepared.unparsed.is_empty() {
        return Err(prepared.unparsed.swap_remove(0));
    }
    Ok(prepared.contains(version))
}

/// An `affected[]` entry's ranges and versions parsed once in one
/// ecosystem, to test many versions against (a record applies to every
/// installed version of its package; parsing its events once per record
/// instead of once per package is most of the matcher's time).
#[derive(Debug)]
pub struct Prepared<'a> {
    ranges: Vec<Vec<Parsed>>,
    /// `versions` as written, for exact matches.
    listed: std::collections::HashSet<&'a str>,
    /// `versions` parsed, only for an entry without `ECOSYSTEM`/`SEMVER`
    /// ranges (GIT-only records): there the list is all there is, and
    /// `1.0` must find `1.0.0`. Beside ranges the list is generated from
    /// them (osv.dev expands ranges into `versions`), so the ranges decide
    /// and the list is matched as text only: parsing every listed version
    /// of every record was most of the matcher's time.
    parsed_versions: Vec<Version>,
    /// Events whose version did not parse in the ecosystem. The range was
    /// widened rather than dropped (an `introduced` taken as `0`, a
    /// `fixed`, `last_affected` or `limit` left out), so a package it
    /// may cover is reported, not silently passed.
    pub unparsed: Vec<RangeError>,
}

impl<'a> Prepared<'a> {
    /// Parse `ranges` (`ECOSYSTEM` and `SEMVER` ones; others are skipped)
    /// and `versions` in `ecosystem`. An event that does not parse widens
    /// its range and is kept in [`Prepared::unparsed`].
    ///
    /// # Errors
    /// [`RangeError::TooMany`], as [`is_affected`].
    pub fn new(
        ecosystem: Ecosystem,
        ranges: &[Range],
        versions: &'a crate::advisory::VersionList,
    ) -> Result<Prepared<'a>, RangeError> {
        check_len("ranges", ranges.len(), MAX_RANGES)?;
        check_len("versions", versions.len(), MAX_VERSIONS)?;
        let mut parsed = Vec::with_capacity(ranges.len());
        let mut unparsed = Vec::new();
        for range in ranges {
            check_len("events", range.events.len(), MAX_EVENTS)?;
            match range.kind {
                RangeKind::Ecosystem | RangeKind::Semver => {}
                RangeKind::Git | RangeKind::Unknown => continue,
            }
            let mut events = Vec::with_capacity(range.events.len());
            for event in &range.events {
                match parse_event(ecosystem, event) {
                    Ok(p) => events.push(p),
                    Err(e) => {
                        // Widen, never narrow: a start that cannot be read
                        // is the beginning; an end that cannot be read is
                        // no end.
                        if matches!(event, Event::Introduced(_)) {
                            events.push(Parsed {
                                kind: Kind::Introduced,
                                bound: Bound::Zero,
                            });
                        }
                        unparsed.push(e);
                    }
                }
            }
            parsed.push(events);
        }
        let parsed_versions = if parsed.is_empty() {
            versions
                .iter()
                .filter_map(|listed| Version::parse(ecosystem, listed).ok())
                .collect()
        } else {
            Vec::new()
        };
        Ok(Prepared {
            ranges: parsed,
            listed: versions.iter().collect(),
            parsed_versions,
            unparsed,
        })
    }

    /// Whether `version` is affected (OSV "Evaluation"). `version` must be
    /// of the ecosystem this was prepared in; another compares as never
    /// affected.
    pub fn contains(&self, version: &Version) -> bool {
        self.listed.contains(version.as_str())
            || self
                .parsed_versions
                .iter()
                .any(|l| version.compare(l).is_ok_and(|o| o == Ordering::Equal))
            || self
                .ranges
                .iter()
                .any(|events| included_in_range(version, events))
    }

    /// The lowest `fixed` event above `version`, as written.
    pub fn lowest_fix_above(&self, version: &Version) -> Option<&Version> {
        self.ranges
            .iter()
            .flatten()
            .filter(|p| p.kind == Kind::Fixed)
            .filter_map(|p| match &p.bound {
                Bound::At(fix) => Some(fix),
                _ => None,
            })
            .filter(|fix| fix.compare(version).is_ok_and(|o| o == Ordering::Greater))
            .min_by(|a, b| a.compare(b).unwrap_or(Ordering::Equal))
    }
}

fn check_len(what: &'static str, count: usize, max: usize) -> Result<(), RangeError> {
    if count > max {
        return Err(RangeError::TooMany { what, count, max });
    }
    Ok(())
}

fn included_in_range(v: &Version, parsed: &[Parsed]) -> bool {
    // BeforeLimits: "if no limit events in range.events, return true; for evt
    // in range.events: if evt.limit is present and v < evt.limit, return true"
    let mut limits = parsed.iter().filter(|p| p.kind == Kind::Limit).peekable();
    if limits.peek().is_some() && !limits.any(|p| cmp_bound(v, &p.bound) == Ordering::Less) {
        return false;
    }
    // "for evt in sorted(range.events): if evt.introduced is present && v >=
    // evt.introduced: vulnerable = true; else if evt.fixed is present && v >=
    // evt.fixed: vulnerable = false; else if evt.last_affected is present &&
    // v > evt.last_affected: vulnerable = false"
    //
    // The walk's answer is set by the last event, in sorted order, whose
    // condition holds; so take the greatest such event instead of sorting.
    // (A sort would also panic on an order that is not total, and one
    // ecosystem's order from a hostile record need not be.) At equal versions
    // `introduced` sorts before `fixed`/`last_affected`, so the fix wins.
    let mut last: Option<&Parsed> = None;
    for event in parsed {
        let ord = cmp_bound(v, &event.bound);
        let fires = match event.kind {
            Kind::Introduced | Kind::Fixed => ord != Ordering::Less,
            Kind::LastAffected => ord == Ordering::Greater,
            Kind::Limit => false,
        };
        if fires
            && last.is_none_or(|l| {
                cmp_bounds(&event.bound, &l.bound).then(event.kind.cmp(&l.kind))
                    == Ordering::Greater
            })
        {
            last = Some(event);
        }
    }
    last.is_some_and(|l| l.kind == Kind::Introduced)
}

fn parse_event(ecosystem: Ecosystem, event: &Event) -> Result<Parsed, RangeError> {
    let text = event.text();
    let (kind, bound) = match event {
        Event::Introduced(_) if text == "0" => (Kind::Introduced, Bound::Zero),
        Event::Limit(_) if text.contains('*') => (Kind::Limit, Bound::Infinity),
        Event::Introduced(_) => (Kind::Introduced, at(ecosystem, event)?),
        Event::Fixed(_) => (Kind::Fixed, at(ecosystem, event)?),
        Event::LastAffected(_) => (Kind::LastAffected, at(ecosystem, event)?),
        Event::Limit(_) => (Kind::Limit, at(ecosystem, event)?),
    };
    Ok(Parsed { kind, bound })
}

fn at(ecosystem: Ecosystem, event: &Event) -> Result<Bound, RangeError> {
    Version::parse(ecosystem, event.text())
        .map(Bound::At)
        .map_err(|source| RangeError::EventVersion {
            event: event.name(),
            source,
        })
}

/// `v` against a bound. Every bound was parsed in `v`'s ecosystem, so
/// `compare` cannot refuse; were it to, the bound would count as equal.
fn cmp_bound(v: &Version, bound: &Bound) -> Ordering {
    match bound {
        Bound::Zero => Ordering::Greater,
        Bound::Infinity => Ordering::Less,
        Bound::At(b) => v.compare(b).unwrap_or(Ordering::Equal),
    }
}

fn cmp_bounds(a: &Bound, b: &Bound) -> Ordering {
    match (a, b) {
        (Bound::Zero, Bound::Zero) | (Bound::Infinity, Bound::Infinity) => Ordering::Equal,
        (Bound::Zero, _) | (_, Bound::Infinity) => Ordering::Less,
        (_, Bound::Zero) | (Bound::Infinity, _) => Ordering::Greater,
        (Bound::At(x), Bound::At(y)) => x.compare(y).unwrap_or(Ordering::Equal),
    }
}
