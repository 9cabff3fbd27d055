//! The public feeds `clearance db update` fetches, and where a mirror
//! keeps them.
//!
//! Each feed has an origin URL and a mirror path: a site that serves its
//! own copies (`db update --mirror https://mirror.example/advisories/`)
//! lays them out as the origins do, so `--mirror BASE` fetches
//! `BASE/osv/PyPI/all.zip`, `BASE/debian/json`, … and one rate-limited
//! origin is never a precondition of a scan.

/// One feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// The name `--only` takes and messages use (`osv:PyPI`, `debian-tracker`).
    pub name: &'static str,
    /// Where the feed is published.
    pub url: &'static str,
    /// Its path under a `--mirror` base URL.
    pub mirror_path: &'static str,
}

macro_rules! osv {
    ($eco:literal, $path:literal) => {
        Feed {
            name: concat!("osv:", $eco),
            url: concat!(
                "https://osv-vulnerabilities.storage.googleapis.com/",
                $path,
                "/all.zip"
            ),
            mirror_path: concat!("osv/", $path, "/all.zip"),
        }
    };
}

/// Every feed `db update` fetches by default: OSV's per-ecosystem
/// `all.zip` (osv.dev, "Data dumps"), the Debian security tracker's JSON,
/// CISA's KEV catalog and FIRST's EPSS scores.
pub const FEEDS: &[Feed] = &[
    osv!("PyPI", "PyPI"),
    osv!("npm", "npm"),
    osv!("crates.io", "crates.io"),
    osv!("Go", "Go"),
    osv!("Maven", "Maven"),
    osv!("RubyGems", "RubyGems"),
    osv!("Packagist", "Packagist"),
    osv!("NuGet", "NuGet"),
    osv!("Debian", "Debian"),
    osv!("Ubuntu", "Ubuntu"),
    osv!("Alpine", "Alpine"),
    osv!("Wolfi", "Wolfi"),
    osv!("Chainguard", "Chainguard"),
    osv!("AlmaLinux", "AlmaLinux"),
    osv!("Rocky Linux", "Rocky%20Linux"),
    Feed {
        name: "debian-tracker",
        url: "https://security-tracker.debian.org/tracker/data/json",
        mirror_path: "debian/json",
    },
    Feed {
        name: "kev",
        url: "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
        mirror_path: "kev/known_exploited_vulnerabilities.json",
    },
    Feed {
        name: "epss",
        url: "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz",
        mirror_path: "epss/epss_scores-current.csv.gz",
    },
];

/// The feed named `name`.
pub fn by_name(name: &str) -> Option<&'static Feed> {
    FEEDS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_names_are_unique_and_mirror_paths_relative() {
        let mut names: Vec<_> = FEEDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FEEDS.len());
        assert!(FEEDS.iter().all(|f| !f.mirror_path.starts_with('/')));
        assert_eq!(
            by_name("osv:Rocky Linux").map(|f| f.mirror_path),
            Some("osv/Rocky%20Linux/all.zip")
        );
    }
}
