//! Encryption at rest for provider tokens: AES-256-GCM with a random nonce,
//! stored as base64url(nonce || ciphertext).

use aes_gcm::aead::{Aead, KeyInit, OsRng, rand_core::RngCore};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::config::EncryptionKey;

/// Seals secrets with one key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl SecretBox {
    /// A box for `key`.
    pub fn new(key: &EncryptionKey) -> Self {
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key.0)),
        }
    }

    /// Encrypts `plaintext`.
    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut sealed = nonce.to_vec();
        sealed.extend(ciphertext);
        URL_SAFE_NO_PAD.encode(sealed)
    }

    /// Decrypts what [`Self::seal`] made; `None` when it was tampered with or another key sealed it.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plaintext = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .ok()?;
        String::from_utf8(plaintext).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_with_the_key_only() {
        let sealed_box = SecretBox::new(&EncryptionKey([7; 32]));
        let sealed = sealed_box.seal("gho_secret");
        assert!(!sealed.contains("gho_secret"));
        assert_ne!(
            sealed,
            sealed_box.seal("gho_secret"),
            "a fresh nonce each time"
        );
        assert_eq!(sealed_box.open(&sealed).as_deref(), Some("gho_secret"));
        assert_eq!(SecretBox::new(&EncryptionKey([8; 32])).open(&sealed), None);
        assert_eq!(sealed_box.open("garbage"), None);
    }
}
