//! FIRST's EPSS scores (`epss_scores-YYYY-MM-DD.csv.gz`, also
//! `epss_scores-current.csv.gz`): a comment line
//! `#model_version:v2023.03.01,score_date:2024-11-29T00:00:00+0000`, a
//! header `cve,epss,percentile`, then one line per CVE.

use std::io::BufRead;

use crate::advisory::{EpssScore, bounded, is_cve};

/// Most lines read (the real file has about 270,000).
pub const MAX_LINES: usize = 5_000_000;

/// The scores read.
#[derive(Debug, Default)]
pub struct Scores {
    /// `model_version` from the comment line.
    pub model_version: Option<String>,
    /// `score_date` from the comment line.
    pub score_date: Option<String>,
    /// CVE id and score.
    pub scores: Vec<(String, EpssScore)>,
}

/// Why the file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EpssError {
    /// A line that is not `CVE,probability,percentile`.
    #[error("line {line}: {reason}")]
    Invalid {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Reading failed (a broken gzip stream).
    #[error("reading the EPSS file: {0}")]
    Io(#[from] std::io::Error),
    /// Over [`MAX_LINES`].
    #[error("more than {MAX_LINES} lines")]
    TooLarge,
}

/// Read EPSS CSV (already decompressed) from a reader.
///
/// # Errors
///
/// [`EpssError`] naming the line that is wrong.
pub fn parse(reader: impl BufRead) -> Result<Scores, EpssError> {
    let mut out = Scores::default();
    let mut header_seen = false;
    for (i, line) in reader.lines().enumerate() {
        let number = i + 1;
        if number > MAX_LINES {
            return Err(EpssError::TooLarge);
        }
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            for part in comment.split(',') {
                match part.split_once(':') {
                    Some(("model_version", v)) => out.model_version = Some(bounded(v, 64)),
                    Some(("score_date", v)) => out.score_date = Some(bounded(v, 64)),
                    _ => {}
                }
            }
            continue;
        }
        if !header_seen {
            if line != "cve,epss,percentile" {
                return Err(EpssError::Invalid {
                    line: number,
                    reason: "expected the header cve,epss,percentile".into(),
                });
            }
            header_seen = true;
            continue;
        }
        let invalid = |reason: &str| EpssError::Invalid {
            line: number,
            reason: reason.to_owned(),
        };
        let mut fields = line.split(',');
        let (Some(cve), Some(p), Some(pct), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(invalid("expected three fields"));
        };
        if !is_cve(cve) {
            return Err(invalid("the first field is not a CVE id"));
        }
        let parse = |s: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|v| (0.0..=1.0).contains(v))
                .ok_or_else(|| invalid("a score is not a number from 0 to 1"))
        };
        out.scores.push((
            cve.to_owned(),
            EpssScore {
                probability: parse(p)?,
                percentile: parse(pct)?,
            },
        ));
    }
    if !header_seen {
        return Err(EpssError::Invalid {
            line: 1,
            reason: "no cve,epss,percentile header".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_model_are_read() {
        let csv = "#model_version:v2023.03.01,score_date:2024-11-29T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.97565,0.99998\nCVE-1999-0001,0.0109,0.84\n";
        let s = parse(csv.as_bytes()).unwrap();
        assert_eq!(s.model_version.as_deref(), Some("v2023.03.01"));
        assert_eq!(s.scores.len(), 2);
        assert!((s.scores[0].1.probability - 0.97565).abs() < 1e-9);
    }

    #[test]
    fn bad_lines_are_named() {
        let err = parse("cve,epss,percentile\nCVE-2021-44228,2,0.5\n".as_bytes()).unwrap_err();
        assert!(matches!(err, EpssError::Invalid { line: 2, .. }));
        assert!(matches!(
            parse("a,b\n".as_bytes()),
            Err(EpssError::Invalid { line: 1, .. })
        ));
    }
}
