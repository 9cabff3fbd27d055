//! What a client sends the trust service's auth: bearer tokens, scopes,
//! repository names, and users files. Never panic.
#![no_main]

use std::sync::OnceLock;

use clearance_auth::{RepositoryName, Scope, TokenKey, TokenVerifier, Users};
use libfuzzer_sys::fuzz_target;

fn verifier() -> &'static TokenVerifier {
    static V: OnceLock<TokenVerifier> = OnceLock::new();
    V.get_or_init(|| {
        let key = TokenKey::generate().expect("key");
        TokenVerifier::for_key(&key, "clearance", "clearance")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = verifier().verify(s);
    let _ = Scope::parse(s);
    let _ = RepositoryName::parse(s);
    let _ = Users::parse(s);
});
