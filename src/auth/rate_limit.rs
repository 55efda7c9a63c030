//! Brute-force limits, counted in PostgreSQL so they hold across instances.

use std::net::IpAddr;
use std::time::Duration;

use chrono::Utc;
use diesel_async::AsyncPgConnection;

use crate::db::models::rate_limit::{self, Bucket};
use crate::error::{AppError, AppResult};

/// A limit: at most `limit` events per `window` for one subject.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub name: &'static str,
    pub limit: i32,
    pub window: Duration,
}

const MINUTE: u64 = 60;

/// Failed sign-ins per client IP (an IPv6 client counts per /64), checked
/// first: one address cannot spread guesses over many emails.
pub const SIGN_IN_PER_IP: Rule = Rule {
    name: "sign_in_ip",
    limit: 50,
    window: Duration::from_secs(15 * MINUTE),
};
/// Failed sign-ins per email from one client network (an IPv4 address, an
/// IPv6 /48): the limit a guesser meets, which leaves the owner, from their
/// own address, free to sign in.
pub const SIGN_IN_PER_EMAIL_AND_IP: Rule = Rule {
    name: "sign_in_email_ip",
    limit: 10,
    window: Duration::from_secs(15 * MINUTE),
};
/// Failed sign-ins per email from anywhere: the ceiling that still stops a
/// guesser spread over many networks (each adds at most
/// `SIGN_IN_PER_EMAIL_AND_IP.limit` to it). A device that signed in to the
/// account before is not held to it ([`SIGN_IN_PER_DEVICE`]); a completed
/// password reset clears it.
pub const SIGN_IN_PER_EMAIL: Rule = Rule {
    name: "sign_in_email",
    limit: 100,
    window: Duration::from_secs(15 * MINUTE),
};
// The ceiling must leave room for the owner after a guesser's full per-address share.
const _: () = assert!(SIGN_IN_PER_EMAIL.limit > SIGN_IN_PER_EMAIL_AND_IP.limit);
/// Failed sign-ins per email from one device cookie: the only limit a device
/// that signed in to the account before meets, until it is used up (then the
/// device counts as any client for the rest of the window).
pub const SIGN_IN_PER_DEVICE: Rule = Rule {
    name: "sign_in_device",
    limit: 10,
    window: Duration::from_secs(15 * MINUTE),
};

/// The answer when an email's sign-in limits refuse a client: the ways in
/// that still work.
pub const SIGN_IN_REFUSED: &str = "too many failed sign-ins to this account; sign in from a device \
     you signed in with before, or reset your password (requestPasswordReset: a password reset \
     always works, with the newest link it emails)";

/// Password reset requests per email address.
pub const RESET_PER_EMAIL: Rule = Rule {
    name: "reset_email",
    limit: 3,
    window: Duration::from_secs(60 * MINUTE),
};
/// Sign-ups per client IP.
pub const SIGN_UP_PER_IP: Rule = Rule {
    name: "sign_up_ip",
    limit: 300,
    window: Duration::from_secs(60 * MINUTE),
};
/// Verification emails per user.
pub const VERIFICATION_PER_USER: Rule = Rule {
    name: "verification_user",
    limit: 5,
    window: Duration::from_secs(60 * MINUTE),
};

/// Data exports per user (each reads everything the user owns).
pub const EXPORT_PER_USER: Rule = Rule {
    name: "export_user",
    limit: 10,
    window: Duration::from_secs(60 * MINUTE),
};

/// A limit whose count is a setting: its name and window are fixed here, so
/// [`LONGEST_WINDOW`] knows it.
#[derive(Debug, Clone, Copy)]
pub struct ConfigurableRule {
    pub name: &'static str,
    pub window: Duration,
}

impl ConfigurableRule {
    /// The rule with its configured limit.
    pub const fn limited_to(self, limit: i32) -> Rule {
        Rule {
            name: self.name,
            limit,
            window: self.window,
        }
    }
}

/// New posts per user (`POSTS_PER_HOUR`).
pub const POSTS_PER_USER: ConfigurableRule = ConfigurableRule {
    name: "posts_user",
    window: Duration::from_secs(60 * MINUTE),
};
/// New replies per user (`REPLIES_PER_HOUR`).
pub const REPLIES_PER_USER: ConfigurableRule = ConfigurableRule {
    name: "replies_user",
    window: Duration::from_secs(60 * MINUTE),
};
/// New goals per user (`GOALS_PER_HOUR`).
pub const GOALS_PER_USER: ConfigurableRule = ConfigurableRule {
    name: "goals_user",
    window: Duration::from_secs(60 * MINUTE),
};
/// Likes and unlikes per user (`LIKES_PER_HOUR`).
pub const LIKES_PER_USER: ConfigurableRule = ConfigurableRule {
    name: "likes_user",
    window: Duration::from_secs(60 * MINUTE),
};
/// Failed story generations given back per user and UTC day
/// (`STORY_DAILY_REFUNDS`); the subject carries the date, the window outlasts it.
pub const STORY_REFUNDS_PER_USER: ConfigurableRule = ConfigurableRule {
    name: "story_refunds_user",
    window: Duration::from_secs(24 * 60 * MINUTE),
};

/// The window of every rule; a new rule must be listed here.
const WINDOWS: &[Duration] = &[
    SIGN_IN_PER_IP.window,
    SIGN_IN_PER_EMAIL_AND_IP.window,
    SIGN_IN_PER_EMAIL.window,
    SIGN_IN_PER_DEVICE.window,
    RESET_PER_EMAIL.window,
    SIGN_UP_PER_IP.window,
    VERIFICATION_PER_USER.window,
    EXPORT_PER_USER.window,
    POSTS_PER_USER.window,
    REPLIES_PER_USER.window,
    GOALS_PER_USER.window,
    LIKES_PER_USER.window,
    STORY_REFUNDS_PER_USER.window,
];

/// The longest window of any rule (buckets older than this are garbage).
pub const LONGEST_WINDOW: Duration = longest(WINDOWS);

const fn longest(windows: &[Duration]) -> Duration {
    let mut longest = Duration::ZERO;
    let mut i = 0;
    while i < windows.len() {
        if windows[i].as_nanos() > longest.as_nanos() {
            longest = windows[i];
        }
        i += 1;
    }
    longest
}

/// The subject an IP is counted under: an IPv4 address (IPv4-mapped IPv6
/// included) as itself, an IPv6 address by its /64, the smallest network one
/// subscriber usually gets (counting single IPv6 addresses would give each
/// client 2^64 budgets).
pub fn ip_subject(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match ipnet::Ipv6Net::new(v6, 64) {
            Ok(net) => net.trunc().to_string(),
            Err(_) => v6.to_string(),
        },
    }
}

/// The network an IP is counted under where one email's failures are
/// counted per client: an IPv4 address as itself, an IPv6 address by its
/// /48, the largest block one site usually gets (a subscriber with a /56 or
/// /60 has 16 to 4,096 /64s, and would otherwise add that many shares to
/// the email's ceiling).
pub fn network_subject(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match ipnet::Ipv6Net::new(v6, 48) {
            Ok(net) => net.trunc().to_string(),
            Err(_) => v6.to_string(),
        },
    }
}

/// The subject of a per-(email, network) rule. An email's domain never holds
/// `|`, so no two pairs share a subject.
pub fn email_and_network_subject(email: &str, ip: IpAddr) -> String {
    format!("{email}|{}", network_subject(ip))
}

/// The subject of a per-(email, device) rule.
pub fn email_and_device_subject(email: &str, nonce: &str) -> String {
    format!("{email}|{nonce}")
}

impl Rule {
    fn key(&self, subject: &str) -> String {
        format!("{}:{subject}", self.name)
    }

    /// Counts one event; RATE_LIMITED when it goes over the limit.
    pub async fn hit(&self, conn: &mut AsyncPgConnection, subject: &str) -> AppResult<()> {
        let bucket = rate_limit::hit(conn, &self.key(subject), self.window).await?;
        if bucket.count > self.limit {
            Err(self.exceeded(bucket))
        } else {
            Ok(())
        }
    }

    /// Counts one event; false when it goes over the limit (for limits that
    /// change what happens instead of refusing the request).
    pub async fn try_hit(&self, conn: &mut AsyncPgConnection, subject: &str) -> AppResult<bool> {
        let bucket = rate_limit::hit(conn, &self.key(subject), self.window).await?;
        Ok(bucket.count <= self.limit)
    }

    /// Takes back one counted event (an attempt that turned out fine).
    pub async fn release(&self, conn: &mut AsyncPgConnection, subject: &str) -> AppResult<()> {
        Ok(rate_limit::release(conn, &self.key(subject)).await?)
    }

    /// Forgets the subject's count.
    pub async fn reset(&self, conn: &mut AsyncPgConnection, subject: &str) -> AppResult<()> {
        Ok(rate_limit::clear(conn, &self.key(subject)).await?)
    }

    /// Counts one event; RATE_LIMITED with `message` when it goes over the limit.
    pub async fn hit_or_say(
        &self,
        conn: &mut AsyncPgConnection,
        subject: &str,
        message: &'static str,
    ) -> AppResult<()> {
        self.hit(conn, subject).await.map_err(|err| match err {
            AppError::RateLimited {
                retry_after_secs,
                limit,
                resets_at,
                ..
            } => AppError::RateLimited {
                message: message.into(),
                retry_after_secs,
                limit,
                resets_at,
            },
            other => other,
        })
    }

    fn exceeded(&self, bucket: Bucket) -> AppError {
        crate::metrics::rate_limit_refused(self.name);
        let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX);
        let retry_after = (bucket.window_start + window - Utc::now())
            .num_seconds()
            .max(1);
        AppError::RateLimited {
            message: "too many attempts; try again later".into(),
            retry_after_secs: u64::try_from(retry_after).unwrap_or(1),
            limit: None,
            resets_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_window_covers_every_rule() {
        assert_eq!(LONGEST_WINDOW, STORY_REFUNDS_PER_USER.window);
        for rule in [
            SIGN_IN_PER_IP,
            SIGN_IN_PER_EMAIL_AND_IP,
            SIGN_IN_PER_EMAIL,
            SIGN_IN_PER_DEVICE,
            RESET_PER_EMAIL,
            SIGN_UP_PER_IP,
            VERIFICATION_PER_USER,
            EXPORT_PER_USER,
        ] {
            assert!(
                WINDOWS.contains(&rule.window) && rule.window <= LONGEST_WINDOW,
                "{} is missing from WINDOWS",
                rule.name
            );
        }
        assert_eq!(POSTS_PER_USER.limited_to(7).limit, 7);
    }

    #[test]
    fn ipv6_clients_count_per_64_and_ipv4_per_address() {
        let subject = |raw: &str| ip_subject(raw.parse().unwrap());
        assert_eq!(subject("203.0.113.7"), "203.0.113.7");
        assert_eq!(subject("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(subject("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            subject("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(subject("2001:db8:1:3::1"), subject("2001:db8:1:2::1"));
    }

    #[test]
    fn one_emails_failures_count_per_ipv6_48_and_ipv4_address() {
        let subject = |raw: &str| email_and_network_subject("a@example.com", raw.parse().unwrap());
        assert_eq!(subject("203.0.113.7"), "a@example.com|203.0.113.7");
        assert_eq!(subject("::ffff:203.0.113.7"), "a@example.com|203.0.113.7");
        assert_eq!(subject("2001:db8:1:2::1"), "a@example.com|2001:db8:1::/48");
        assert_eq!(subject("2001:db8:1:ff00::1"), subject("2001:db8:1:2::1"));
        assert_ne!(subject("2001:db8:2::1"), subject("2001:db8:1::1"));
    }
}
