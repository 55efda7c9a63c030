//! How many WebSockets an instance holds, and how many one address may open:
//! both are counts a client controls, and every socket costs the instance a
//! file descriptor and memory for as long as the client likes. Also how the
//! instance's sockets are told it is stopping.
//!
//! Counted per instance, as what they protect (descriptors, memory) is the
//! instance's own; an address is counted as the rate limits count it (an
//! IPv6 address by its /64).

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

/// The instance's open sockets, by address.
pub struct Capacity {
    max_open: usize,
    max_per_address: usize,
    counts: Mutex<Counts>,
    stopping: watch::Sender<bool>,
}

#[derive(Default)]
struct Counts {
    open: usize,
    by_address: HashMap<String, usize>,
}

/// One admitted socket's place; dropping it frees the place.
pub struct Ticket {
    capacity: Arc<Capacity>,
    address: Option<String>,
    /// Turns true when the instance is stopping.
    pub stopping: watch::Receiver<bool>,
}

impl Capacity {
    pub fn new(max_open: usize, max_per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            max_open,
            max_per_address,
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

impl Drop for Ticket {
    fn drop(&mut self) {
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
        let capacity = Capacity::new(3, 2);
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
        let capacity = Capacity::new(10, 1);
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

    #[tokio::test]
    async fn stopping_tells_the_sockets_and_waits_for_them() {
        let capacity = Capacity::new(10, 10);
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
