//! The secret detector on arbitrary text, under each credential file's
//! name, and over the config's `Env` and history: never panic, keep the
//! finding cap, and never show more of a secret than its mask allows.
#![no_main]

use clearance_scan::secrets::{HistoryLine, MAX_FINDINGS_PER_TEXT, scan_config, scan_text};
use libfuzzer_sys::fuzz_target;

/// The first byte picks the name the text is scanned under: a plain file,
/// or one the credential parsers read.
const PATHS: [&str; 8] = [
    "/app/settings.py",
    "/root/.npmrc",
    "/root/.pypirc",
    "/root/.docker/config.json",
    "/root/.git-credentials",
    "/root/.netrc",
    "/app/.env",
    "/root/.ssh/id_rsa",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let path = PATHS[usize::from(selector) % PATHS.len()];
    let found = scan_text(path, text);
    assert!(found.len() <= MAX_FINDINGS_PER_TEXT);
    for f in &found {
        let masked = f.masked.as_str();
        assert!(masked.ends_with("****") && masked.len() <= 8, "{masked:?}");
        assert!(f.line >= 1);
    }
    if let Ok(s) = std::str::from_utf8(text) {
        let lines: Vec<&str> = s.lines().collect();
        let env: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        let history: Vec<HistoryLine<'_>> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| HistoryLine {
                created_by: l,
                empty_layer: i % 2 == 1,
            })
            .collect();
        for f in scan_config(&env, &history) {
            assert!(f.masked.as_str().len() <= 8);
        }
    }
});
