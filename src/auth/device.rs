//! Device cookies, after OWASP's "Slow Down Online Guessing Attacks with
//! Device Cookies": a browser that signed in to an account carries a signed
//! proof of it, so its later sign-ins to that account are limited on their
//! own and never refused for what strangers did elsewhere.
//!
//! A cookie is `v1.<issued unix seconds>.<nonce>.<mac>`: the nonce (128
//! random bits, base64url) tells devices apart, and the MAC is HMAC-SHA256,
//! under the server's `device_cookie` key, of all that and the normalised
//! email. The email itself is not in the cookie: the sign-in names it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use ring::hmac;

use crate::db::DbPool;
use crate::db::models::server_key;

/// How long a device cookie is honoured (and kept by the browser).
pub const LIFETIME: Duration = Duration::days(365);

/// The name of the signing key in `server_keys`.
const KEY_NAME: &str = "device_cookie";
/// The format version, first in every cookie and in every signed message.
const VERSION: &str = "v1";
/// How far in the future an issue time may lie (instances' clocks differ).
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// A device that proved it signed in to an account before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The cookie's nonce: the device's name in its failure counter.
    pub nonce: String,
}

/// Why the signing key could not be loaded at start.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot load the device cookie key: no connection: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    #[error("cannot load the device cookie key: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("the stored device cookie key is not 32 bytes")]
    Length,
}

/// Issues and checks device cookies with the server's key.
#[derive(Clone)]
pub struct DeviceSigner {
    key: hmac::Key,
}

impl std::fmt::Debug for DeviceSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceSigner(..)")
    }
}

impl DeviceSigner {
    /// A signer with `secret` as its HMAC key.
    pub fn new(secret: &[u8; 32]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// The signer with the key every instance shares, made by the first
    /// instance that starts.
    pub async fn load(pool: &DbPool) -> Result<Self, KeyError> {
        let mut conn = pool.get().await?;
        let stored = server_key::get_or_insert(&mut conn, KEY_NAME, &rand::random()).await?;
        let secret: [u8; 32] = stored.try_into().map_err(|_| KeyError::Length)?;
        Ok(Self::new(&secret))
    }

    /// A fresh cookie value for a device that just signed in as `email`
    /// (normalised as sign-in normalises it).
    pub fn issue(&self, email: &str) -> String {
        self.issue_at(email, Utc::now())
    }

    fn issue_at(&self, email: &str, now: DateTime<Utc>) -> String {
        let issued = now.timestamp().to_string();
        let nonce = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        let tag = hmac::sign(&self.key, message(email, &issued, &nonce).as_bytes());
        format!(
            "{VERSION}.{issued}.{nonce}.{}",
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The device a cookie names, when this server signed it for `email`
    /// less than [`LIFETIME`] ago; None for anything else (another email,
    /// another key, a changed byte, an old or unreadable cookie).
    pub fn verify(&self, cookie: &str, email: &str) -> Option<Device> {
        self.verify_at(cookie, email, Utc::now())
    }

    fn verify_at(&self, cookie: &str, email: &str, now: DateTime<Utc>) -> Option<Device> {
        let mut parts = cookie.split('.');
        let (version, issued, nonce, tag) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != VERSION || parts.next().is_some() {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.key, message(email, issued, nonce).as_bytes(), &tag).ok()?;
        let issued = DateTime::from_timestamp(issued.parse().ok()?, 0)?;
        let fresh = issued > now - LIFETIME && issued <= now + CLOCK_SKEW;
        fresh.then(|| Device {
            nonce: nonce.to_owned(),
        })
    }
}

/// What the MAC covers. A normalised email holds no newline, and the other
/// parts are digits and base64url, so no two cookies share a message.
fn message(email: &str, issued: &str, nonce: &str) -> String {
    format!("growth-diary device cookie {VERSION}\n{email}\n{issued}\n{nonce}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(byte: u8) -> DeviceSigner {
        DeviceSigner::new(&[byte; 32])
    }

    #[test]
    fn a_cookie_proves_its_own_email_only() {
        let cookie = signer(1).issue("ada@example.com");
        let device = signer(1).verify(&cookie, "ada@example.com").unwrap();
        assert_eq!(device.nonce.len(), 22, "128 bits of base64url");
        assert_eq!(signer(1).verify(&cookie, "bob@example.com"), None);
        assert_eq!(
            signer(2).verify(&cookie, "ada@example.com"),
            None,
            "another key"
        );
        let other = signer(1).issue("ada@example.com");
        assert_ne!(
            signer(1).verify(&other, "ada@example.com").unwrap(),
            device,
            "each sign-in names a new device"
        );
    }

    #[test]
    fn a_changed_byte_or_shape_is_refused() {
        let cookie = signer(1).issue("ada@example.com");
        for at in 0..cookie.len() {
            let mut bytes = cookie.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert_eq!(
                signer(1).verify(&tampered, "ada@example.com"),
                None,
                "{tampered}"
            );
        }
        for bad in ["", "v1", "v1...", &format!("{cookie}.x"), "garbage"] {
            assert_eq!(signer(1).verify(bad, "ada@example.com"), None, "{bad}");
        }
    }

    #[test]
    fn cookies_expire_after_their_lifetime() {
        let now = Utc::now();
        let cookie = signer(1).issue_at("ada@example.com", now - LIFETIME + Duration::hours(1));
        assert!(
            signer(1)
                .verify_at(&cookie, "ada@example.com", now)
                .is_some()
        );
        let cookie = signer(1).issue_at("ada@example.com", now - LIFETIME - Duration::hours(1));
        assert_eq!(signer(1).verify_at(&cookie, "ada@example.com", now), None);
        let cookie = signer(1).issue_at("ada@example.com", now + Duration::hours(1));
        assert_eq!(
            signer(1).verify_at(&cookie, "ada@example.com", now),
            None,
            "issued in the future"
        );
    }
}
