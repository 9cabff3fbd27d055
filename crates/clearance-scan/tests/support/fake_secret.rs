//! Fake secrets for tests, made at run time from a seeded generator, so
//! that no secret-shaped literal is in the repository (push protection and
//! secret scanners have nothing to flag). Used by clearance-scan's secrets
//! tests and the binary's scan tests.
#![allow(dead_code, clippy::unwrap_used)]

pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const HEX: &[u8] = b"0123456789abcdef";
pub const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `len` characters of `alphabet`, from a seeded xorshift: the same on
/// every run, different for each seed.
pub fn random(seed: u64, len: usize, alphabet: &[u8]) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(alphabet[(x % alphabet.len() as u64) as usize])
        })
        .collect()
}

/// A GitHub personal access token's shape (`ghp_` and 36 characters).
pub fn github_pat(seed: u64) -> String {
    ["ghp", "_", &random(seed, 36, ALNUM)].concat()
}

/// An npm access token's shape (`npm_` and 36 characters).
pub fn npm_token(seed: u64) -> String {
    ["npm", "_", &random(seed, 36, ALNUM)].concat()
}
