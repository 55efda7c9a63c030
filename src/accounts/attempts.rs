//! The counters a password attempt runs against, and which of them a device
//! cookie lets the attempt skip.

use diesel_async::AsyncPgConnection;

use crate::auth::device::Device;
use crate::auth::rate_limit::{
    self, SIGN_IN_PER_DEVICE, SIGN_IN_PER_EMAIL, SIGN_IN_PER_EMAIL_AND_IP, SIGN_IN_PER_IP,
    SIGN_IN_REFUSED,
};
use crate::db::models::audit_event::Origin;
use crate::error::AppResult;
use crate::services::Services;

/// One password attempt on one email, from one client.
pub struct Attempt<'a> {
    email: &'a str,
    origin: &'a Origin,
    /// The device cookie's device, when the client sent one signed for this email.
    device: Option<Device>,
}

/// How an attempt was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Against its device's own limit only.
    Device,
    /// Against the client's IP, the email from its network, and the email's ceiling.
    Client,
}

impl<'a> Attempt<'a> {
    /// An attempt on `email` (normalised) from `origin`, with the raw device
    /// cookie the client sent, if any. A cookie that this server did not sign
    /// for this email is ignored.
    pub fn new(
        services: &Services,
        email: &'a str,
        origin: &'a Origin,
        device_cookie: Option<&str>,
    ) -> Self {
        let device = device_cookie.and_then(|cookie| services.devices.verify(cookie, email));
        Self {
            email,
            origin,
            device,
        }
    }

    fn device_subject(&self) -> Option<String> {
        self.device
            .as_ref()
            .map(|device| rate_limit::email_and_device_subject(self.email, &device.nonce))
    }

    /// Counts the attempt before the password is checked, so parallel guesses
    /// cannot slip past a limit; RATE_LIMITED once a limit is used up.
    ///
    /// A device that signed in to this email before meets only its own limit:
    /// strangers' failures never refuse it. Once it has used that up, it is
    /// counted as any client for the rest of the window. Any client meets the
    /// IP's limit first, then the email's from its network, then the email's
    /// ceiling: a guesser spends their own network's budget long before the
    /// ceiling, and once guessers spread over many networks reach it, the
    /// answer names the ways in that still work.
    pub async fn begin(&self, conn: &mut AsyncPgConnection) -> AppResult<Counted> {
        if let Some(subject) = self.device_subject()
            && SIGN_IN_PER_DEVICE.try_hit(conn, &subject).await?
        {
            return Ok(Counted::Device);
        }
        if let Some(ip) = self.origin.ip {
            SIGN_IN_PER_IP
                .hit(conn, &rate_limit::ip_subject(ip))
                .await?;
            SIGN_IN_PER_EMAIL_AND_IP
                .hit_or_say(
                    conn,
                    &rate_limit::email_and_network_subject(self.email, ip),
                    SIGN_IN_REFUSED,
                )
                .await?;
        }
        SIGN_IN_PER_EMAIL
            .hit_or_say(conn, self.email, SIGN_IN_REFUSED)
            .await?;
        Ok(Counted::Client)
    }

    /// A right password: only failures count, so the attempt is taken back,
    /// and the failures of this email from this device, or from this network,
    /// are forgotten (the owner proved themselves there). Failures from
    /// elsewhere stay counted.
    pub async fn succeeded(&self, conn: &mut AsyncPgConnection, counted: Counted) -> AppResult<()> {
        if let Some(subject) = self.device_subject() {
            SIGN_IN_PER_DEVICE.reset(conn, &subject).await?;
        }
        if counted == Counted::Device {
            return Ok(());
        }
        if let Some(ip) = self.origin.ip {
            SIGN_IN_PER_IP
                .release(conn, &rate_limit::ip_subject(ip))
                .await?;
            SIGN_IN_PER_EMAIL_AND_IP
                .reset(conn, &rate_limit::email_and_network_subject(self.email, ip))
                .await?;
        }
        SIGN_IN_PER_EMAIL.release(conn, self.email).await
    }
}

/// Forgets an email's failures from everywhere and from `origin`'s network:
/// its owner just proved the address with a password reset, so the ceiling
/// that strangers' guesses filled no longer stands between them and a
/// password sign-in.
pub async fn forget_failures(
    conn: &mut AsyncPgConnection,
    email: &str,
    origin: &Origin,
) -> AppResult<()> {
    if let Some(ip) = origin.ip {
        SIGN_IN_PER_EMAIL_AND_IP
            .reset(conn, &rate_limit::email_and_network_subject(email, ip))
            .await?;
    }
    SIGN_IN_PER_EMAIL.reset(conn, email).await
}
