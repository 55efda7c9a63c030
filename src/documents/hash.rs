//! The SHA-256 of a document; manifests and clients write it as 64 hex digits.

use std::fmt;

use sha2::{Digest, Sha256};

/// A document's SHA-256: its 32 bytes (written as 64 lowercase hex digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentHash([u8; 32]);

impl DocumentHash {
    /// The hash of `document`'s exact text (UTF-8 bytes, nothing normalised).
    pub fn of(document: &str) -> Self {
        Self(Sha256::digest(document.as_bytes()).into())
    }

    /// Reads 64 hex digits (either case); anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.as_bytes();
        if digits.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            *byte = u8::try_from(high << 4 | low).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Display for DocumentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_lowercase_hex_sha256() {
        // sha256("{ __typename }"), as `printf '%s' '{ __typename }' | sha256sum` prints it.
        assert_eq!(
            DocumentHash::of("{ __typename }").to_string(),
            "7f56e67dd21ab3f30d1ff8b7bed08893f0a0db86449836189b361dd1e56ddb4b"
        );
        let upper = "7F56E67DD21AB3F30D1FF8B7BED08893F0A0DB86449836189B361DD1E56DDB4B";
        assert_eq!(
            DocumentHash::parse(upper),
            Some(DocumentHash::of("{ __typename }"))
        );
        assert_eq!(DocumentHash::parse("abc"), None);
        assert_eq!(DocumentHash::parse(&"g".repeat(64)), None);
    }
}
