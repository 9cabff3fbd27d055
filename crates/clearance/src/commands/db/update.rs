//! `clearance db update`: fetch the public feeds with conditional
//! requests and import what changed.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use clearance_scan::advisory::feeds::{self, Feed};
use clearance_scan::advisory::source::{self, MAX_SOURCE_BYTES};
use clearance_scan::db::{AdvisoryDb, Validators};
use futures_util::StreamExt as _;
use serde::Serialize;

use super::UpdateArgs;
use crate::cli::Format;
use crate::exit::Exit;
use crate::output::{self, Page, ToText as _, bad, dim, good};

#[derive(Debug, Serialize)]
struct Outcome {
    feed: &'static str,
    url: String,
    /// `updated`, `unchanged` (304) or `failed`.
    result: &'static str,
    sources: Vec<String>,
    advisories: usize,
    records: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct UpdateReport {
    schema: &'static str,
    database: std::path::PathBuf,
    feeds: Vec<Outcome>,
}

enum Fetched {
    NotModified,
    Body {
        file: tempfile::NamedTempFile,
        validators: Validators,
    },
}

pub async fn run(args: UpdateArgs, format: Format) -> anyhow::Result<Exit> {
    let chosen: Vec<&'static Feed> = if args.only.is_empty() {
        feeds::FEEDS.iter().collect()
    } else {
        args.only
            .iter()
            .map(|name| {
                feeds::by_name(name.trim()).with_context(|| {
                    format!(
                        "--only {name:?} is not a feed; the feeds are: {}",
                        feeds::FEEDS
                            .iter()
                            .map(|f| f.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let tls = clearance_oci::registry::tls::client_config(args.ca_file.as_deref())?;
    let timeout = Duration::from_secs(args.timeout);
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .user_agent(concat!("clearance/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(timeout)
        .read_timeout(timeout)
        // A redirect may not step down to plain HTTP off loopback: the rule
        // for the first URL holds for every hop.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("more than 10 redirects")
            } else if plain_http_refused(attempt.url()) {
                let to = attempt.url().to_string();
                attempt.error(format!(
                    "refused a redirect to {to}: plain HTTP is allowed only on loopback"
                ))
            } else {
                attempt.follow()
            }
        }))
        .build()
        .context("building the HTTP client")?;
    // Every URL before the database is opened: nothing between opening
    // and closing it may return early (a pool left open leaves -wal/-shm
    // files).
    let feeds: Vec<(&'static Feed, url::Url)> = chosen
        .into_iter()
        .map(|feed| {
            let url = match &args.mirror {
                Some(base) => base
                    .join(feed.mirror_path)
                    .with_context(|| format!("--mirror {base}: joining {}", feed.mirror_path))?,
                None => url::Url::parse(feed.url)?,
            };
            Ok((feed, url))
        })
        .collect::<anyhow::Result<_>>()?;
    let path = args.db.path()?;
    let db = super::create(&path).await?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    let mut outcomes = Vec::new();
    for (feed, url) in feeds {
        let mut outcome = Outcome {
            feed: feed.name,
            url: url.to_string(),
            result: "failed",
            sources: Vec::new(),
            advisories: 0,
            records: 0,
            error: None,
        };
        let deadline = Duration::from_secs(args.feed_deadline);
        let result = tokio::time::timeout(deadline, update_one(&client, &db, feed, &url, &dir))
            .await
            .unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "did not finish within {} seconds (--feed-deadline); a partial download is not imported",
                    args.feed_deadline
                ))
            });
        match result {
            Ok(None) => outcome.result = "unchanged",
            Ok(Some(stored)) => {
                outcome.result = "updated";
                for (name, advisories, records) in stored {
                    outcome.sources.push(name);
                    outcome.advisories += advisories;
                    outcome.records += records;
                }
            }
            Err(e) => outcome.error = Some(format!("{e:#}")),
        }
        outcomes.push(outcome);
    }
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| {
            o.error
                .as_ref()
                .map(|e| format!("{} ({}): {e}", o.feed, o.url))
        })
        .collect();
    db.close().await;
    let report = UpdateReport {
        schema: "clearance.db-update/v1",
        database: path,
        feeds: outcomes,
    };
    let mut page = Page::default();
    match format {
        Format::Json => page.json(&report)?,
        Format::Table | Format::Cyclonedx | Format::Spdx | Format::Sarif => {
            page.field("Database", report.database.display().to_string());
            let mut t = output::table(&["Feed", "Result", "Advisories", "Records", "From"]);
            for o in &report.feeds {
                let result = match o.result {
                    "updated" => good("updated"),
                    "unchanged" => dim("unchanged"),
                    _ => bad("failed"),
                };
                t.row([
                    o.feed.to_text(),
                    result,
                    o.advisories.to_text(),
                    o.records.to_text(),
                    output::truncate(&o.url, 70).to_text(),
                ]);
            }
            page.line(t);
        }
    }
    page.emit()?;
    if !failed.is_empty() {
        anyhow::bail!(
            "{} of the feeds failed: {}; the database keeps their previous data{}",
            failed.len(),
            failed.join("; "),
            if args.mirror.is_none() {
                " (a site mirror can serve them: --mirror)"
            } else {
                ""
            }
        );
    }
    Ok(Exit::Ok)
}

/// Fetch one feed and import it: `None` when the feed answered 304 Not
/// Modified, else each source stored with its advisory and record counts.
async fn update_one(
    client: &reqwest::Client,
    db: &AdvisoryDb,
    feed: &'static Feed,
    url: &url::Url,
    dir: &Path,
) -> anyhow::Result<Option<Vec<(String, usize, usize)>>> {
    let previous = db.validators(feed.name).await?;
    match fetch(client, feed, url, &previous, dir).await? {
        Fetched::NotModified => {
            db.record_feed(feed.name, url.as_str(), &previous).await?;
            Ok(None)
        }
        Fetched::Body { file, validators } => {
            let path = file.path().to_owned();
            let fallback = feed
                .name
                .strip_prefix("osv:")
                .unwrap_or(feed.name)
                .to_owned();
            let mut imports =
                tokio::task::spawn_blocking(move || source::read_path_named(&path, &fallback))
                    .await?
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            // A feed gives its own source and nothing else: records of
            // another ecosystem (a mirror that serves the wrong file) would
            // replace another source's data.
            if let Some(other) = imports.iter().find(|i| i.name != feed.name) {
                anyhow::bail!(
                    "the download holds {} records, not {}; the mirror may serve the wrong file",
                    other.name,
                    feed.name
                );
            }
            let before = db.status().await?;
            let mut stored = Vec::new();
            for mut import in imports.drain(..) {
                import.origin = url.to_string();
                super::warn_if_shrinking(&before, &import);
                let summary = db.import(&import).await?;
                stored.push((import.name, summary.advisories, summary.affected));
            }
            db.record_feed(feed.name, url.as_str(), &validators).await?;
            drop(file);
            Ok(Some(stored))
        }
    }
}

/// Whether `url` is one a feed may not be fetched from: anything but
/// HTTPS, except plain HTTP to a loopback host.
fn plain_http_refused(url: &url::Url) -> bool {
    let loopback = url.host().is_some_and(|h| match h {
        url::Host::Domain(d) => d == "localhost",
        url::Host::Ipv4(a) => a.is_loopback(),
        url::Host::Ipv6(a) => a.is_loopback(),
    });
    !(url.scheme() == "https" || (url.scheme() == "http" && loopback))
}

/// GET `url` with the previous validators; the body goes to a temporary
/// file beside the database, at most [`MAX_SOURCE_BYTES`].
async fn fetch(
    client: &reqwest::Client,
    feed: &'static Feed,
    url: &url::Url,
    previous: &Validators,
    dir: &Path,
) -> anyhow::Result<Fetched> {
    let loopback = url.host().is_some_and(|h| match h {
        url::Host::Domain(d) => d == "localhost",
        url::Host::Ipv4(a) => a.is_loopback(),
        url::Host::Ipv6(a) => a.is_loopback(),
    });
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        other => anyhow::bail!(
            "{other}:// is refused for advisory feeds (a man in the middle could hide vulnerabilities); use https (plain http only on loopback)"
        ),
    }
    let mut request = client.get(url.clone());
    if let Some(etag) = &previous.etag {
        request = request.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    if let Some(modified) = &previous.last_modified {
        request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
    }
    let response = request.send().await.context("connecting")?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        anyhow::bail!("HTTP {status}");
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .filter(|v| v.len() <= 1024)
            .map(str::to_owned)
    };
    let validators = Validators {
        etag: header(reqwest::header::ETAG),
        last_modified: header(reqwest::header::LAST_MODIFIED),
    };
    let length = response.content_length();
    if length.is_some_and(|l| l > MAX_SOURCE_BYTES) {
        anyhow::bail!(
            "the feed is {} bytes, over the {MAX_SOURCE_BYTES}-byte limit",
            length.unwrap_or(0)
        );
    }
    let extension = feed
        .mirror_path
        .rsplit_once('.')
        .map_or(String::new(), |(_, ext)| format!(".{ext}"));
    let mut file = tempfile::Builder::new()
        .prefix(".feed-")
        .suffix(&extension)
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let bar = match length {
        Some(total) => output::byte_progress(total, feed.name),
        None => output::spinner(feed.name),
    };
    let mut written: u64 = 0;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("reading the body")?;
        written += chunk.len() as u64;
        if written > MAX_SOURCE_BYTES {
            bar.finish_and_clear();
            anyhow::bail!("the feed is over the {MAX_SOURCE_BYTES}-byte limit");
        }
        file.write_all(&chunk).context("writing the download")?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    file.flush()?;
    Ok(Fetched::Body { file, validators })
}

#[cfg(test)]
mod tests {
    use super::plain_http_refused;

    #[test]
    fn plain_http_is_refused_off_loopback_at_every_hop() {
        let refused = |u: &str| plain_http_refused(&url::Url::parse(u).unwrap());
        assert!(!refused(
            "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
        ));
        assert!(!refused("http://127.0.0.1:8080/kev.json"));
        assert!(!refused("http://[::1]/x"));
        assert!(!refused("http://localhost/x"));
        assert!(refused("http://10.255.255.1/x"));
        assert!(refused("http://mirror.example/x"));
        assert!(refused("ftp://127.0.0.1/x"));
    }
}
