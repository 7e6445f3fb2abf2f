//! Limits of one emulated Modbus TCP port, so that no client (or flood of clients) can take the
//! port from the others: a connection cap, an idle timeout, a deadline for a started frame, a
//! per-connection request rate, and counters of every limit that was hit. `docs/modbus.md`
//! ("Server limits") documents them and their defaults.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The limits of one listening port.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerLimits {
    /// Connections open at once on the port; one over it is closed as soon as it is accepted.
    pub max_connections: usize,
    /// A connection with no complete request for this long is closed.
    pub idle_timeout: Duration,
    /// Once the first byte of a frame arrived, the whole frame must arrive within this; a
    /// response must also be written within it (a client that never reads cannot hold a task).
    pub frame_timeout: Duration,
    /// Sustained requests per second allowed on one connection (token bucket refill);
    /// `f64::INFINITY` turns the rate limit off.
    pub rate_per_s: f64,
    /// Requests one connection may send at once above the sustained rate (bucket size).
    pub rate_burst: u32,
    /// Pause of the accept loop after an accept error (e.g. out of file descriptors), so that
    /// it does not spin while the process has none left.
    pub accept_backoff: Duration,
}

impl Default for ServerLimits {
    /// The idle timeout is above the central's longest poll period (`greenwave run --poll-ms`
    /// goes up to 60 s), so a polled connection is never idle-closed; a central plan push
    /// passes the rate limit untouched (tested in `tests/field_bounds.rs`).
    fn default() -> ServerLimits {
        ServerLimits {
            max_connections: 64,
            idle_timeout: Duration::from_secs(120),
            frame_timeout: Duration::from_secs(5),
            rate_per_s: 200.0,
            rate_burst: 400,
            accept_backoff: Duration::from_millis(50),
        }
    }
}

impl ServerLimits {
    /// The defaults without the rate limit: for a server whose only client is the same
    /// process over loopback (tests, benches, the closed loop), which polls as fast as it can.
    pub fn in_process() -> ServerLimits {
        ServerLimits {
            rate_per_s: f64::INFINITY,
            ..ServerLimits::default()
        }
    }
}

/// What the limits did on one port, since it started.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub accepted: AtomicU64,
    /// Closed at once: the port already had `max_connections` open.
    pub refused_over_limit: AtomicU64,
    pub closed_idle: AtomicU64,
    pub closed_frame_timeout: AtomicU64,
    /// Closed for a malformed MBAP header (protocol id or length out of range).
    pub closed_malformed: AtomicU64,
    /// Requests answered "server device busy" (exception 6) by the rate limit.
    pub rate_limited: AtomicU64,
    /// Accept calls that failed (descriptor exhaustion, aborted handshakes…).
    pub accept_errors: AtomicU64,
    /// TLS ports: handshakes that failed (no, untrusted or expired client certificate, not
    /// TLS at all) or did not complete within the frame timeout.
    pub tls_handshake_failed: AtomicU64,
    /// TLS ports: requests answered exception 01 because the certificate's role may not
    /// send them (a write from a `monitor`).
    pub refused_unauthorized: AtomicU64,
}

impl ServerStats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A token bucket: `burst` tokens, refilled at `rate_per_s`; one request takes one token.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    tokens: f64,
    burst: f64,
    rate_per_s: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate_per_s: f64, burst: u32, now: Instant) -> TokenBucket {
        // a bucket of size 0 would refuse everything; a NaN or negative rate never refills
        let burst = f64::from(burst.max(1));
        let rate_per_s = if rate_per_s > 0.0 && !rate_per_s.is_nan() {
            rate_per_s
        } else {
            0.0
        };
        TokenBucket {
            tokens: burst,
            burst,
            rate_per_s,
            last: now,
        }
    }

    /// Take one token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        // no limit (an infinite rate times a zero interval would be NaN below)
        if self.rate_per_s == f64::INFINITY {
            return true;
        }
        let dt_s = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt_s * self.rate_per_s).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_the_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 3, t0);
        assert!((0..3).all(|_| b.take(t0)));
        assert!(!b.take(t0));
        // 10 per second: one token back after 100 ms, not before
        assert!(!b.take(t0 + Duration::from_millis(50)));
        assert!(b.take(t0 + Duration::from_millis(150)));
        assert!(!b.take(t0 + Duration::from_millis(150)));
    }

    #[test]
    fn infinite_rate_is_no_limit() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(f64::INFINITY, 1, t0);
        assert!((0..10_000).all(|_| b.take(t0)));
    }

    #[test]
    fn bucket_with_nonsense_rate_never_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(f64::NAN, 0, t0);
        assert!(b.take(t0));
        assert!(!b.take(t0 + Duration::from_secs(100)));
    }
}
