//! Secret tokens (sessions, email verification, password reset): 256 random
//! bits handed out as base64url; only their SHA-256 is ever stored. Tokens
//! from elsewhere (the Next.js app's, imported) must be long enough to be
//! unguessable, and a token presented to the API is held to the same rule.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Shortest token accepted: 128 bits written in hex, the weakest encoding in
/// use. This server's own are 43 characters (256 bits in base64url); NextAuth
/// made its sessions UUIDs (36) and its verification tokens 64 hex digits.
pub const MIN_LENGTH: usize = 32;

/// Whether `token` is long enough to be a token at all (characters, as
/// PostgreSQL's `char_length` counts them); a shorter one is never looked up.
pub fn is_acceptable(token: &str) -> bool {
    token.chars().count() >= MIN_LENGTH
}

/// A fresh token and its SHA-256.
pub fn generate() -> (String, [u8; 32]) {
    let bytes: [u8; 32] = rand::random();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let digest = sha256(&token);
    (token, digest)
}

/// The SHA-256 under which a token is stored.
pub fn sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_base64url_and_distinct() {
        let (a, hash_a) = generate();
        let (b, _) = generate();
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a, b);
        assert_eq!(sha256(&a), hash_a);
        assert!(is_acceptable(&a));
    }

    #[test]
    fn short_tokens_are_not_tokens() {
        assert!(!is_acceptable("a"));
        assert!(!is_acceptable(&"x".repeat(MIN_LENGTH - 1)));
        assert!(is_acceptable(&"x".repeat(MIN_LENGTH)));
        assert!(
            is_acceptable("8f14e45f-ceea-467f-a0e6-3b7c1e0f9d2a"),
            "a UUID"
        );
    }
}
