//! `file://` URLs: a repository in a local directory.

use super::FetchError;

/// `file://` URLs: a repository in a local directory (offline use, tests).
pub(super) fn read_file(
    url: &str,
    path: &std::path::Path,
    max_len: u64,
) -> Result<Option<Vec<u8>>, FetchError> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(FetchError::Transport {
                url: url.to_owned(),
                message: e.to_string(),
            });
        }
    };
    let mut out = Vec::new();
    // One byte past the limit tells a longer file; saturating, since a
    // target's signed length may be u64::MAX (B-18).
    file.take(max_len.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| FetchError::Transport {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
    if out.len() as u64 > max_len {
        return Err(FetchError::TooLong {
            url: url.to_owned(),
            limit: max_len,
        });
    }
    Ok(Some(out))
}
