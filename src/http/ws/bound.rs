//! The most memory one WebSocket can make the instance hold, computed from
//! the limits that bound each part of it; the documentation's worst cases
//! per socket and per address, and `benches/live_costs.rs`, use it.

use crate::http::ws::message::MAX_PAYLOAD_BYTES;
use crate::http::ws::subscriptions::{MAX_ID_BYTES, MAX_KEPT_TEXT};

/// What an idle socket with no subscription holds: its task and the
/// WebSocket state (tungstenite with a 1 KiB read buffer), the TCP
/// registration (measured about 4.7 KiB with a subscription; see the live
/// benchmark), with room to spare.
const IDLE_SOCKET: usize = 8 * 1024;
/// A kept subscription's own bookkeeping besides its text: its entry in the
/// socket's list (ids, document, name and variables as boxed strings, its
/// interest and digest; the list grows by doubling), and its place under
/// its topic in the instance's routes.
const PER_SUBSCRIPTION: usize = 512;
/// A `next` message's envelope around its payload, besides the id.
const NEXT_ENVELOPE: usize = 64;

/// What the allocator (mimalloc) sets aside for `bytes`: at most a quarter more.
const fn rounded(bytes: usize) -> usize {
    bytes + bytes / 4
}

/// Bytes one socket may make the instance hold at most, with messages of at
/// most `max_message_bytes` (`WS_MAX_MESSAGE_BYTES`) and at most
/// `max_subscriptions` subscriptions (`WS_MAX_SUBSCRIPTIONS`). Memory the
/// allocator keeps after a free counts too: it is resident until reused.
pub fn socket_memory_bound(max_message_bytes: usize, max_subscriptions: usize) -> usize {
    // tungstenite's read buffer keeps the room of the largest message read,
    // and a message being assembled may sit beside it.
    let read = 2 * rounded(max_message_bytes);
    // Its write buffer keeps the capacity of the largest message written (a
    // `next` is at most MAX_PAYLOAD_BYTES of payload in its envelope), and
    // the message's text, written out for the send, is as large.
    let write = 2 * rounded(MAX_PAYLOAD_BYTES + NEXT_ENVELOPE + MAX_ID_BYTES);
    // The kept text as allocated, plus a word for each of a subscription's
    // four strings.
    let text = rounded(MAX_KEPT_TEXT) + max_subscriptions * 4 * 8;
    IDLE_SOCKET + read + write + text + max_subscriptions * PER_SUBSCRIPTION
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limits_bound_a_socket_under_a_mebibyte() {
        let bound = socket_memory_bound(65_536, 50);
        assert_eq!(
            bound,
            8 * 1024 + 2 * 81_920 + 2 * 327_920 + 20_480 + 1_600 + 25_600
        );
        assert!(bound < 1024 * 1024, "{bound}");
        // The read buffer follows the message limit.
        assert_eq!(
            socket_memory_bound(2 * 65_536, 50) - bound,
            2 * rounded(65_536)
        );
    }
}
