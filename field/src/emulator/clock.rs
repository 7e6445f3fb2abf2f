//! Time for the field emulator: deciseconds (ds) since a common time reference. Real time for a
//! deployment, a manual clock for tests and for a simulator that owns time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Deciseconds since the clock's time reference.
pub type Ds = u64;

/// A source of the current time, ds. Offsets of plans count from this reference.
pub trait Clock: Send + Sync {
    fn now_ds(&self) -> Ds;
}

/// A clock that only moves when told to (tests, simulator in the loop).
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicU64,
}

impl ManualClock {
    pub fn new(start_ds: Ds) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            now: AtomicU64::new(start_ds),
        })
    }
    pub fn set(&self, t_ds: Ds) {
        self.now.store(t_ds, Ordering::SeqCst);
    }
    pub fn advance(&self, d_ds: Ds) -> Ds {
        self.now.fetch_add(d_ds, Ordering::SeqCst) + d_ds
    }
}

impl Clock for ManualClock {
    fn now_ds(&self) -> Ds {
        self.now.load(Ordering::SeqCst)
    }
}

/// Wall-clock time: ds since the Unix epoch at start-up, then advancing `speedup` times faster
/// than real time (1.0 = real time), so that field controllers started together share offsets.
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
    start_ds: Ds,
    speedup: f64,
}

impl SystemClock {
    pub fn new(speedup: f64) -> Arc<SystemClock> {
        let start_ds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64 / 100)
            .unwrap_or(0);
        Arc::new(SystemClock {
            start: Instant::now(),
            start_ds,
            speedup: if speedup.is_finite() && speedup > 0.0 {
                speedup
            } else {
                1.0
            },
        })
    }
    pub fn speedup(&self) -> f64 {
        self.speedup
    }
}

impl Clock for SystemClock {
    fn now_ds(&self) -> Ds {
        let real_ds = self.start.elapsed().as_secs_f64() * 10.0;
        self.start_ds + (real_ds * self.speedup) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(5);
        assert_eq!(c.now_ds(), 5);
        assert_eq!(c.advance(10), 15);
        c.set(100);
        assert_eq!(c.now_ds(), 100);
    }

    #[test]
    fn system_clock_is_monotonic() {
        let c = SystemClock::new(10.0);
        let a = c.now_ds();
        let b = c.now_ds();
        assert!(b >= a);
    }
}
