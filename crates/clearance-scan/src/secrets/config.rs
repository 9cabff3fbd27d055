//! Secrets in the image configuration: `ENV` values, and the build
//! arguments and commands its history keeps.
//!
//! The configuration is public to anyone who can pull the image, and
//! `ENV` values reach every process of every container. Build arguments
//! are not in `Env`, but BuildKit and the classic builder both record the
//! arguments a `RUN` line used in its history (`RUN |1 NPM_TOKEN=… /bin/sh
//! -c npm ci`), and `ARG NAME=default` lines with their defaults.

use super::SecretFinding;
use std::collections::HashMap;

use super::detect::{self, Hit, MAX_FINDINGS_PER_TEXT, TextFinding};
use super::files::{secret_name, secret_value};
use super::rules::{BUILD_ARG_SECRET, ENV_SECRET, RuleInfo};

/// One entry of the config's `history` (image-spec `config.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLine<'a> {
    /// `created_by`: the instruction (`RUN |1 A=b /bin/sh -c …`); empty if
    /// the entry has none.
    pub created_by: &'a str,
    /// `empty_layer`: the instruction made no layer (`ENV`, `ARG`, …).
    pub empty_layer: bool,
}

/// The secrets in an image configuration's `config.Env` and `history`
/// (image-spec `config.md`): [`scan_config`] over them.
pub fn scan_image_config(config: &oci_spec::image::ImageConfiguration) -> Vec<SecretFinding> {
    let env: Vec<String> = config
        .config()
        .as_ref()
        .and_then(|c| c.env().clone())
        .unwrap_or_default();
    let history: Vec<HistoryLine<'_>> = config
        .history()
        .iter()
        .flatten()
        .map(|h| HistoryLine {
            created_by: h.created_by().as_deref().unwrap_or(""),
            empty_layer: h.empty_layer().unwrap_or(false),
        })
        .collect();
    scan_config(&env, &history)
}

/// The secrets in a config's `Env` (`NAME=value` strings) and `history`.
///
/// Each finding's `layer` is the layer its history line made; for a line
/// that made none (`ENV`, `ARG`), the next layer made after it, or the
/// last layer if none follows (the line was part of the build that made
/// that layer's image). An `Env` value's is that of the last `ENV` line
/// setting it, else the last layer. Paths are `config:Env` and
/// `config:history[N]` (N counts every history entry, from 0); lines are
/// 1-based within the value or the `created_by` text.
pub fn scan_config(env: &[String], history: &[HistoryLine<'_>]) -> Vec<SecretFinding> {
    let layers = history_layers(history);
    let last_layer = layers.iter().copied().max().unwrap_or(0);
    // The layer of the last `ENV` line that set each name, found in one
    // pass (the config is the image's: it may hold many thousands).
    let mut set_in: HashMap<&str, usize> = HashMap::new();
    for (h, layer) in history.iter().zip(&layers) {
        for (name, _) in env_lines(h.created_by) {
            set_in.insert(name, *layer);
        }
    }
    let mut findings = Vec::new();
    for entry in env {
        let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
        let layer = set_in.get(name).copied().unwrap_or(last_layer);
        let mut named = Vec::new();
        if secret_name(name) && secret_value(value.as_bytes()) {
            named.push(Hit {
                rule: ENV_SECRET,
                span: entry.len() - value.len()..entry.len(),
            });
        }
        findings.extend(
            text_findings(entry, named)
                .into_iter()
                .map(|f| SecretFinding::new(f, layer, "config:Env".to_owned())),
        );
    }
    for (n, (h, layer)) in history.iter().zip(&layers).enumerate() {
        let path = format!("config:history[{n}]");
        findings.extend(
            text_findings(h.created_by, named_hits(h.created_by))
                .into_iter()
                .map(|f| SecretFinding::new(f, *layer, path.clone())),
        );
    }
    findings
}

/// The pattern rules' findings in `text` together with `named` ones, the
/// overlaps resolved between them.
fn text_findings(text: &str, mut named: Vec<Hit>) -> Vec<TextFinding> {
    let bytes = text.as_bytes();
    named.extend(detect::pattern_hits(bytes));
    detect::resolve(bytes, named, MAX_FINDINGS_PER_TEXT).findings
}

/// Build arguments (`|N A=b C=d /bin/sh -c …`), `ARG A=b` and `ENV A=b`
/// assignments with a secret's name, as hits on their values.
fn named_hits(line: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut push = |rule: RuleInfo, name: &str, value: std::ops::Range<usize>| {
        if secret_name(name) && secret_value(&line.as_bytes()[value.clone()]) {
            hits.push(Hit { rule, span: value });
        }
    };
    for (name, value) in build_args(line) {
        push(BUILD_ARG_SECRET, name, value);
    }
    for (name, value) in arg_lines(line) {
        push(BUILD_ARG_SECRET, name, value);
    }
    for (name, value) in env_lines(line) {
        push(ENV_SECRET, name, value);
    }
    hits
}

/// The layer of each history entry (see [`scan_config`]).
fn history_layers(history: &[HistoryLine<'_>]) -> Vec<usize> {
    let made: Vec<usize> = history
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.empty_layer)
        .map(|(i, _)| i)
        .collect();
    let last = made.len().saturating_sub(1);
    history
        .iter()
        .enumerate()
        .map(|(i, _)| made.partition_point(|&m| m < i).min(last))
        .collect()
}

/// Words of `line` after `start`, split at spaces, with their ranges.
fn words(line: &str, start: usize) -> impl Iterator<Item = (usize, &str)> {
    line[start..]
        .split(' ')
        .scan(start, |at, w| {
            let here = *at;
            *at += w.len() + 1;
            Some((here, w))
        })
        .filter(|(_, w)| !w.is_empty())
}

/// `NAME=value` → the name and the value's range in `line`.
fn pair(at: usize, word: &str) -> Option<(&str, std::ops::Range<usize>)> {
    let (name, value) = word.split_once('=')?;
    let start = at + name.len() + 1;
    Some((name, start..start + value.len()))
}

/// The `|N A=b C=d` prefix of a `RUN` line that used build arguments (the
/// classic builder writes it first, BuildKit after `RUN `).
fn build_args(line: &str) -> Vec<(&str, std::ops::Range<usize>)> {
    let start = line.strip_prefix("RUN ").map_or(0, |_| 4);
    let rest = &line[start..];
    let Some(count) = rest
        .strip_prefix('|')
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return Vec::new();
    };
    words(line, start)
        .skip(1)
        .take(count)
        .filter_map(|(at, w)| pair(at, w))
        .collect()
}

/// Assignments after a keyword (`ARG`, `ENV`), in BuildKit's form
/// (`ENV A=b`) or the classic builder's (`/bin/sh -c #(nop)  ENV A=b`).
fn keyword_lines<'a>(line: &'a str, keyword: &str) -> Vec<(&'a str, std::ops::Range<usize>)> {
    let body = line.strip_prefix("/bin/sh -c #(nop) ").unwrap_or(line);
    let Some(after) = body
        .trim_start()
        .strip_prefix(keyword)
        .and_then(|r| r.strip_prefix(' '))
    else {
        return Vec::new();
    };
    words(line, line.len() - after.len())
        .filter_map(|(at, w)| pair(at, w))
        .collect()
}

fn arg_lines(line: &str) -> Vec<(&str, std::ops::Range<usize>)> {
    keyword_lines(line, "ARG")
}

fn env_lines(line: &str) -> Vec<(&str, std::ops::Range<usize>)> {
    keyword_lines(line, "ENV")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(created_by: &str, empty_layer: bool) -> HistoryLine<'_> {
        HistoryLine {
            created_by,
            empty_layer,
        }
    }

    #[test]
    fn history_lines_map_to_the_layer_they_made_or_the_next() {
        let history = [
            h("ADD file:abc in /", false),
            h("CMD [\"bash\"]", true),
            h("ENV A=b", true),
            h("RUN apt-get update", false),
            h("LABEL x=y", true),
        ];
        assert_eq!(history_layers(&history), [0, 1, 1, 1, 1]);
        assert_eq!(history_layers(&[]), Vec::<usize>::new());
    }

    #[test]
    fn build_arguments_in_both_builders_forms() {
        let classic = "|2 NPM_TOKEN=abc123def VERSION=1 /bin/sh -c npm ci";
        let names: Vec<_> = build_args(classic)
            .into_iter()
            .map(|(n, r)| (n, &classic[r]))
            .collect();
        assert_eq!(names, [("NPM_TOKEN", "abc123def"), ("VERSION", "1")]);
        let buildkit = "RUN |1 NPM_TOKEN=abc123def /bin/sh -c npm ci # buildkit";
        let names: Vec<_> = build_args(buildkit)
            .into_iter()
            .map(|(n, r)| (n, &buildkit[r]))
            .collect();
        assert_eq!(names, [("NPM_TOKEN", "abc123def")]);
        let env = "/bin/sh -c #(nop)  ENV DB_PASSWORD=s3cr3tpw X=1";
        let names: Vec<_> = env_lines(env)
            .into_iter()
            .map(|(n, r)| (n, &env[r]))
            .collect();
        assert_eq!(names, [("DB_PASSWORD", "s3cr3tpw"), ("X", "1")]);
    }
}
