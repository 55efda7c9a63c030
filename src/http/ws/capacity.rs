//! How many WebSockets an instance holds, how many one address may open, and
//! how many anonymous subscriptions one address's sockets hold together:
//! all are counts a client controls, and every socket costs the instance a
//! file descriptor and memory for as long as the client likes, every
//! subscription a run for each event it wants. Also how the instance's
//! sockets are told it is stopping.
//!
//! Counted per instance, as what they protect (descriptors, memory, the
//! instance's share of the database work of its deliveries) is the
//! instance's own; an address is counted as the rate limits count it (an
//! IPv6 address by its /64). Signed-in subscriptions are counted per socket
//! and per user instead (`sockets`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use crate::auth::rate_limit::ip_subject;

/// Why an upgrade is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("this server holds as many WebSockets as it allows ({0}); try again later")]
    Full(usize),
    #[error("too many open WebSockets from this address (at most {0} per server)")]
    Address(usize),
    #[error("this server is stopping; connect again")]
    Stopping,
}

/// An address's anonymous sockets hold as many subscriptions as it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "too many anonymous subscriptions from this address (at most {0} per server, across its WebSockets); sign in, or complete some first"
)]
pub struct TooManyAnonymous(pub usize);

/// The instance's open sockets, by address.
pub struct Capacity {
    max_open: usize,
    max_per_address: usize,
    max_anonymous_subscriptions: usize,
    counts: Mutex<Counts>,
    stopping: watch::Sender<bool>,
}

#[derive(Default)]
struct Counts {
    open: usize,
    by_address: HashMap<String, usize>,
    /// Anonymous subscriptions, by address (only addresses that hold some).
    anonymous: HashMap<String, usize>,
}

/// One admitted socket's place; dropping it frees the place.
pub struct Ticket {
    capacity: Arc<Capacity>,
    address: Option<String>,
    /// Anonymous subscriptions this socket holds of its address's share.
    anonymous: usize,
    /// Turns true when the instance is stopping.
    pub stopping: watch::Receiver<bool>,
}

impl Capacity {
    /// Room for `max_open` sockets, `max_per_address` from one address, and
    /// `max_anonymous_subscriptions` anonymous subscriptions from one address.
    pub fn new(
        max_open: usize,
        max_per_address: usize,
        max_anonymous_subscriptions: usize,
    ) -> Arc<Self> {
        Arc::new(Self {
            max_open,
            max_per_address,
            max_anonymous_subscriptions,
            counts: Mutex::new(Counts::default()),
            stopping: watch::Sender::new(false),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Plain counters: a panic elsewhere cannot leave them inconsistent.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a socket from `ip`, unless the instance or the address is at its limit.
    pub fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<Ticket, Refused> {
        if *self.stopping.borrow() {
            return Err(Refused::Stopping);
        }
        let address = ip.map(ip_subject);
        let mut counts = self.counts();
        if counts.open >= self.max_open {
            return Err(Refused::Full(self.max_open));
        }
        if let Some(address) = &address {
            let from_address = counts.by_address.entry(address.clone()).or_default();
            if *from_address >= self.max_per_address {
                return Err(Refused::Address(self.max_per_address));
            }
            *from_address += 1;
        }
        counts.open += 1;
        Ok(Ticket {
            capacity: self.clone(),
            address,
            anonymous: 0,
            stopping: self.stopping.subscribe(),
        })
    }

    /// How many sockets are open.
    pub fn open(&self) -> usize {
        self.counts().open
    }

    /// Tells every socket to close (1001, going away) and waits until they
    /// have, for at most `grace`; refuses new ones from now on.
    pub async fn close_all(&self, grace: Duration) {
        self.stopping.send_replace(true);
        let deadline = tokio::time::Instant::now() + grace;
        while self.open() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.open();
        if left > 0 {
            tracing::warn!(
                sockets = left,
                "WebSockets still open after the close grace period"
            );
        }
    }
}

impl Ticket {
    /// Makes this socket hold `held` anonymous subscriptions of its
    /// address's share: more only while the address has room (else nothing
    /// changes), fewer always.
    pub fn hold_anonymous(&mut self, held: usize) -> Result<(), TooManyAnonymous> {
        let Some(address) = &self.address else {
            return Ok(());
        };
        if held == self.anonymous {
            return Ok(());
        }
        let max = self.capacity.max_anonymous_subscriptions;
        let mut counts = self.capacity.counts();
        let total = counts.anonymous.get(address).copied().unwrap_or(0);
        let total = total.saturating_sub(self.anonymous);
        if held > self.anonymous && total + held > max {
            return Err(TooManyAnonymous(max));
        }
        if total + held == 0 {
            counts.anonymous.remove(address);
        } else {
            counts.anonymous.insert(address.clone(), total + held);
        }
        self.anonymous = held;
        Ok(())
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let _ = self.hold_anonymous(0);
        let mut counts = self.capacity.counts();
        counts.open = counts.open.saturating_sub(1);
        if let Some(address) = &self.address
            && let Some(from_address) = counts.by_address.get_mut(address)
        {
            *from_address = from_address.saturating_sub(1);
            if *from_address == 0 {
                counts.by_address.remove(address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_and_each_address_have_their_limits() {
        let capacity = Capacity::new(3, 2, 10);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = capacity.admit(Some(a)).unwrap();
        let _second = capacity.admit(Some(a)).unwrap();
        assert_eq!(capacity.admit(Some(a)).err(), Some(Refused::Address(2)));
        let _third = capacity.admit(Some(b)).unwrap();
        assert_eq!(capacity.admit(Some(b)).err(), Some(Refused::Full(3)));
        drop(first);
        assert_eq!(capacity.open(), 2);
        assert!(
            capacity.admit(Some(a)).is_ok(),
            "a closed socket frees its place"
        );
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let capacity = Capacity::new(10, 1, 10);
        let _one = capacity
            .admit(Some("2001:db8::1".parse().unwrap()))
            .unwrap();
        assert_eq!(
            capacity.admit(Some("2001:db8::2:3".parse().unwrap())).err(),
            Some(Refused::Address(1))
        );
        assert!(
            capacity
                .admit(Some("2001:db8:0:1::1".parse().unwrap()))
                .is_ok()
        );
    }

    #[test]
    fn an_address_holds_its_anonymous_subscriptions_across_sockets() {
        let capacity = Capacity::new(10, 10, 3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let mut one = capacity.admit(Some(a)).unwrap();
        let mut two = capacity.admit(Some(a)).unwrap();
        let mut other = capacity.admit(Some("192.0.2.2".parse().unwrap())).unwrap();
        one.hold_anonymous(2).unwrap();
        assert_eq!(two.hold_anonymous(2), Err(TooManyAnonymous(3)));
        two.hold_anonymous(1).unwrap();
        other.hold_anonymous(3).unwrap();
        one.hold_anonymous(1).unwrap();
        two.hold_anonymous(2).unwrap();
        drop(two);
        one.hold_anonymous(3).unwrap();
        drop(one);
        assert!(!capacity.counts().anonymous.contains_key("192.0.2.1"));
    }

    #[tokio::test]
    async fn stopping_tells_the_sockets_and_waits_for_them() {
        let capacity = Capacity::new(10, 10, 10);
        let mut ticket = capacity.admit(None).unwrap();
        let closing = tokio::spawn({
            let capacity = capacity.clone();
            async move { capacity.close_all(Duration::from_secs(5)).await }
        });
        ticket
            .stopping
            .wait_for(|stopping| *stopping)
            .await
            .unwrap();
        assert_eq!(capacity.admit(None).err(), Some(Refused::Stopping));
        drop(ticket);
        closing.await.unwrap();
        assert_eq!(capacity.open(), 0);
    }
}
