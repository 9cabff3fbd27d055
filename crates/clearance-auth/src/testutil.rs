//! Helpers shared by the unit tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("clearance-auth-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `team/*`: alice pulls and pushes, any signed-in user pulls;
/// `public/**`: anyone pulls.
pub(crate) fn sample_rules() -> crate::AccessRules {
    serde_json::from_value(serde_json::json!([
        {"repositories": "team/*", "users": ["alice"], "actions": ["pull", "push"]},
        {"repositories": "team/*", "users": ["*"], "actions": ["pull"]},
        {"repositories": "public/**", "anonymous": ["pull"]}
    ]))
    .unwrap()
}

/// Issues for service `registry.example` as `clearance`, 300 s tokens.
pub(crate) fn sample_issuer() -> crate::TokenIssuer {
    crate::TokenIssuer::new(
        crate::TokenKey::generate().unwrap(),
        "clearance",
        "registry.example",
        std::time::Duration::from_secs(300),
    )
}
