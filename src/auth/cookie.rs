//! The server's cookies (the session, the device cookie, the OAuth state):
//! HttpOnly, SameSite=Lax, and `Secure` with the `__Host-` prefix when the
//! server is reached over https.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Utc};
use cookie::{Cookie, SameSite};

/// How the session cookie is named and flagged.
#[derive(Debug, Clone)]
pub struct CookieSettings {
    secure: bool,
}

impl CookieSettings {
    /// Settings for a server whose public URL is `public_url`.
    pub fn for_public_url(public_url: &url::Url) -> Self {
        Self {
            secure: public_url.scheme() == "https",
        }
    }

    /// The cookie's name.
    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-growth_diary_session"
        } else {
            "growth_diary_session"
        }
    }

    /// `Set-Cookie` for a new session.
    pub fn set(&self, token: &str, expires: DateTime<Utc>) -> HeaderValue {
        let max_age = (expires - Utc::now()).num_seconds().max(0);
        let cookie = self
            .base(self.name(), token.to_owned())
            .max_age(cookie::time::Duration::seconds(max_age))
            .build();
        header_value(&cookie)
    }

    /// `Set-Cookie` that removes the cookie.
    pub fn clear(&self) -> HeaderValue {
        let cookie = self
            .base(self.name(), String::new())
            .max_age(cookie::time::Duration::ZERO)
            .build();
        header_value(&cookie)
    }

    /// The session token the request's cookie carries, if any.
    pub fn read<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        read_cookie(headers, self.name())
    }

    /// The name of the device cookie (see [`crate::auth::device`]).
    pub fn device_name(&self) -> &'static str {
        if self.secure {
            "__Host-growth_diary_device"
        } else {
            "growth_diary_device"
        }
    }

    /// `Set-Cookie` for a device cookie; it outlives sessions and sign-outs.
    pub fn set_device(&self, value: &str) -> HeaderValue {
        let max_age = crate::auth::device::LIFETIME.num_seconds();
        let cookie = self
            .base(self.device_name(), value.to_owned())
            .max_age(cookie::time::Duration::seconds(max_age))
            .build();
        header_value(&cookie)
    }

    /// The device cookie the request carries, if any.
    pub fn read_device<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        read_cookie(headers, self.device_name())
    }

    /// The name of the cookie that binds an OAuth sign-in to its browser.
    pub fn oauth_name(&self) -> &'static str {
        if self.secure {
            "__Host-growth_diary_oauth"
        } else {
            "growth_diary_oauth"
        }
    }

    /// `Set-Cookie` binding an OAuth state to this browser for 10 minutes.
    pub fn set_oauth_state(&self, state: &str) -> HeaderValue {
        let cookie = self
            .base(self.oauth_name(), state.to_owned())
            .max_age(cookie::time::Duration::minutes(10))
            .build();
        header_value(&cookie)
    }

    /// `Set-Cookie` that removes the OAuth state cookie.
    pub fn clear_oauth_state(&self) -> HeaderValue {
        let cookie = self
            .base(self.oauth_name(), String::new())
            .max_age(cookie::time::Duration::ZERO)
            .build();
        header_value(&cookie)
    }

    /// The OAuth state the browser carries, if any.
    pub fn read_oauth_state<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        read_cookie(headers, self.oauth_name())
    }

    /// A cookie with the flags every cookie of this server carries.
    fn base(&self, name: &'static str, value: String) -> cookie::CookieBuilder<'static> {
        Cookie::build((name, value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .path("/")
    }
}

fn read_cookie<'a>(headers: &'a HeaderMap, wanted: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string())
        .expect("a cookie of base64url text is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_cookies_are_secure_and_host_prefixed() {
        let settings =
            CookieSettings::for_public_url(&"https://diary.example.com".parse().unwrap());
        let value = settings.set("tok", Utc::now() + chrono::Duration::days(30));
        let value = value.to_str().unwrap();
        assert!(
            value.starts_with("__Host-growth_diary_session=tok"),
            "{value}"
        );
        for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(value.contains(flag), "{value} lacks {flag}");
        }
    }

    #[test]
    fn http_cookies_are_not_secure_and_are_read_back() {
        let settings = CookieSettings::for_public_url(&"http://localhost:8000".parse().unwrap());
        assert!(
            !settings
                .set("tok", Utc::now())
                .to_str()
                .unwrap()
                .contains("Secure")
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; growth_diary_session=tok123"),
        );
        assert_eq!(settings.read(&headers), Some("tok123"));
    }

    #[test]
    fn device_cookies_are_flagged_as_the_session_cookie_and_last_a_year() {
        let settings =
            CookieSettings::for_public_url(&"https://diary.example.com".parse().unwrap());
        let value = settings.set_device("v1.1.n.m");
        let value = value.to_str().unwrap();
        assert!(
            value.starts_with("__Host-growth_diary_device=v1.1.n.m"),
            "{value}"
        );
        for flag in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=31536000",
        ] {
            assert!(value.contains(flag), "{value} lacks {flag}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-growth_diary_device=v1.2.x.y"),
        );
        assert_eq!(settings.read_device(&headers), Some("v1.2.x.y"));
        assert_eq!(settings.read(&headers), None);
    }
}
