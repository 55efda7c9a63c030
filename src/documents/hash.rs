//! The SHA-256 of a document, as manifests and clients write it: 64 hex digits.

use std::fmt;

use sha2::{Digest, Sha256};

/// A document's SHA-256 in lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentHash(String);

impl DocumentHash {
    /// The hash of `document`'s exact text (UTF-8 bytes, nothing normalised).
    pub fn of(document: &str) -> Self {
        let digest = Sha256::digest(document.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
            hex.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
        }
        Self(hex)
    }

    /// Reads 64 hex digits (either case); anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(text.to_ascii_lowercase()))
    }

    /// The lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocumentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_lowercase_hex_sha256() {
        // sha256("{ __typename }"), as `printf '%s' '{ __typename }' | sha256sum` prints it.
        assert_eq!(
            DocumentHash::of("{ __typename }").as_str(),
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
