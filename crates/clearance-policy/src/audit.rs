//! The audit trail: every decision, from any enforcement point, appended as
//! one JSON line (`clearance.audit/v1`) with its time, environment, image
//! digest, outcome, reasons and the digests of the evidence it rested on.
//!
//! [`AuditLog`] appends (one `write` per line on a file opened for
//! appending, so lines from several processes do not interleave on a local
//! file system); [`read`] reads a log back, bounded per line, skipping and
//! counting lines it cannot read rather than failing on a log a crash cut.

use std::io::{BufRead, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::decision::{Decision, Outcome};
use crate::evidence::Evidence;

/// The JSON shape's name.
pub const SCHEMA: &str = "clearance.audit/v1";

/// Longest line [`read`] accepts (1 MiB); a longer one is skipped.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One decision as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// [`SCHEMA`].
    pub schema: String,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// The same instant in Unix seconds, for filtering.
    pub unix_time: i64,
    /// Which enforcement point decided (`check`, `admission`,
    /// `docker-authz`).
    pub point: String,
    /// Who or what asked, when the point knows (`namespace/pod`, a Docker
    /// API path); empty for `clearance check`.
    #[serde(default)]
    pub subject: String,
    /// The environment judged against.
    pub environment: String,
    /// The image reference as asked for.
    pub reference: String,
    /// The digest judged, when known (`sha256:…`).
    pub digest: Option<String>,
    /// Whether it was allowed.
    pub allowed: bool,
    /// `enforce` or `warn`.
    pub mode: String,
    /// Each reason (deny, or warn in `warn` mode).
    pub reasons: Vec<AuditReason>,
    /// The advisory ids of the exceptions applied.
    #[serde(default)]
    pub exceptions_applied: Vec<String>,
    /// SHA-256 digests of the evidence parts (their JSON as
    /// `clearance.decision/v1` prints it), so a record can be tied to the
    /// evidence without storing it.
    pub evidence: EvidenceDigests,
}

/// A reason as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReason {
    /// The rule (`trust.roles`).
    pub rule: String,
    /// `deny` or `warn`.
    pub outcome: String,
    /// What was wrong.
    pub message: String,
}

/// `sha256:…` of each evidence part's JSON; `None` for a part not gathered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceDigests {
    /// All of it.
    pub all: String,
    /// The trust result.
    pub trust: Option<String>,
    /// The scan evidence.
    pub scan: Option<String>,
    /// The image configuration evidence.
    pub config: Option<String>,
    /// The runtime request.
    pub request: Option<String>,
}

fn digest_of<T: Serialize>(value: &T) -> String {
    // Serializing these plain structs cannot fail; were it to, the digest
    // of nothing is still a digest, never a panic.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    clearance_oci::Digest::sha256_of(&bytes).to_string()
}

impl EvidenceDigests {
    /// The digests of `evidence`'s parts.
    pub fn of(evidence: &Evidence) -> EvidenceDigests {
        EvidenceDigests {
            all: digest_of(evidence),
            trust: evidence.trust.as_ref().map(digest_of),
            scan: evidence.scan.as_ref().map(digest_of),
            config: evidence.config.as_ref().map(digest_of),
            request: evidence.request.as_ref().map(digest_of),
        }
    }
}

impl AuditRecord {
    /// The record of `decision`, made by `point` for `subject` at Unix
    /// time `now` on `evidence`.
    pub fn new(
        point: &str,
        subject: &str,
        decision: &Decision,
        evidence: &Evidence,
        now: i64,
    ) -> AuditRecord {
        AuditRecord {
            schema: SCHEMA.to_owned(),
            time: clearance_oci::time::rfc3339_signed(now),
            unix_time: now,
            point: point.to_owned(),
            subject: subject.to_owned(),
            environment: decision.environment.clone(),
            reference: decision.reference.clone(),
            digest: decision.digest.clone(),
            allowed: decision.allowed,
            mode: decision.mode.name().to_owned(),
            reasons: decision
                .reasons
                .iter()
                .map(|r| AuditReason {
                    rule: r.rule.to_owned(),
                    outcome: match r.outcome {
                        Outcome::Deny => "deny",
                        Outcome::Warn => "warn",
                    }
                    .to_owned(),
                    message: r.message.clone(),
                })
                .collect(),
            exceptions_applied: decision
                .exceptions
                .iter()
                .filter(|e| e.state == "applied")
                .map(|e| e.id.clone())
                .collect(),
            evidence: EvidenceDigests::of(evidence),
        }
    }
}

/// An append-only decision log file, shared by the threads of one
/// process. Appends are group-committed: whoever finds no write under way
/// writes every line queued so far with one `write` and one `fsync`, and
/// each appender returns once its own line is on disk; so concurrent
/// decisions share a sync instead of queueing for one each.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: std::fs::File,
    state: Mutex<Queue>,
    synced: std::sync::Condvar,
}

/// Lines waiting to be written, and how far writing has got.
#[derive(Debug, Default)]
struct Queue {
    /// Lines queued and not yet handed to a writer.
    pending: Vec<u8>,
    /// Lines queued so far.
    queued: u64,
    /// Lines written and synced, or failed (see `failed`).
    done: u64,
    /// A writer is at work.
    writing: bool,
    /// Batches that failed (the last 64): first and last line, and why.
    failed: Vec<(u64, u64, String)>,
}

fn lock(m: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AuditLog {
    /// Open (create, mode 0600 on Unix) `path` for appending; its directory
    /// is made when missing.
    ///
    /// # Errors
    ///
    /// The directory or file cannot be made or opened.
    pub fn open(path: &Path) -> std::io::Result<AuditLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options.open(path)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file,
            state: Mutex::new(Queue::default()),
            synced: std::sync::Condvar::new(),
        })
    }

    /// Where it writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append `record` as one line; returns once it is on disk
    /// (`fdatasync`). Blocks: call it from a blocking context.
    ///
    /// # Errors
    ///
    /// The write or the sync of the batch holding this line failed (disk
    /// full, file removed from under a mount).
    pub fn append(&self, record: &AuditRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut q = lock(&self.state);
        q.pending.extend_from_slice(&line);
        q.queued += 1;
        let mine = q.queued;
        loop {
            if q.done >= mine {
                return match q
                    .failed
                    .iter()
                    .find(|(from, through, _)| (*from..=*through).contains(&mine))
                {
                    Some((_, _, why)) => Err(std::io::Error::other(why.clone())),
                    None => Ok(()),
                };
            }
            if q.writing {
                q = self
                    .synced
                    .wait(q)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            // Write everything queued so far, outside the lock.
            q.writing = true;
            let batch = std::mem::take(&mut q.pending);
            let (from, through) = (q.done + 1, q.queued);
            drop(q);
            let result = (&self.file)
                .write_all(&batch)
                .and_then(|()| self.file.sync_data());
            q = lock(&self.state);
            q.writing = false;
            q.done = through;
            if let Err(e) = result {
                if q.failed.len() == 64 {
                    q.failed.remove(0);
                }
                q.failed.push((from, through, e.to_string()));
            }
            self.synced.notify_all();
        }
    }
}

/// What [`read`] gave: the records, and how many lines it skipped.
#[derive(Debug, Default)]
pub struct ReadLog {
    /// The records, in file order.
    pub records: Vec<AuditRecord>,
    /// Lines that were not records (cut by a crash, too long, another
    /// schema), by 1-based line number (the first 20).
    pub skipped: Vec<u64>,
    /// How many lines were skipped in all.
    pub skipped_count: u64,
}

/// Read every record of the log at `path` that `keep` accepts. A line over
/// [`MAX_LINE_BYTES`] or that is not a `clearance.audit/v1` record is
/// skipped and counted, never an error.
///
/// # Errors
///
/// The file cannot be opened or read.
pub fn read(path: &Path, mut keep: impl FnMut(&AuditRecord) -> bool) -> std::io::Result<ReadLog> {
    let file = std::fs::File::open(path)?;
    let mut reader = std::io::BufReader::new(file);
    let mut out = ReadLog::default();
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        number += 1;
        let whole = line.last() == Some(&b'\n');
        if !whole && line.len() > MAX_LINE_BYTES {
            // Skip the rest of the over-long line.
            let mut sink = Vec::new();
            loop {
                sink.clear();
                let n = (&mut reader)
                    .take(MAX_LINE_BYTES as u64)
                    .read_until(b'\n', &mut sink)?;
                if n == 0 || sink.last() == Some(&b'\n') {
                    break;
                }
            }
            skip(&mut out, number);
            continue;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<AuditRecord>(text) {
            Ok(record) if record.schema == SCHEMA => {
                if keep(&record) {
                    out.records.push(record);
                }
            }
            _ => skip(&mut out, number),
        }
    }
    Ok(out)
}

fn skip(out: &mut ReadLog, number: u64) {
    out.skipped_count += 1;
    if out.skipped.len() < 20 {
        out.skipped.push(number);
    }
}
