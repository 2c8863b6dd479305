//! A circuit breaker: after N consecutive failures a server is left alone for a cool-down,
//! then one probe request decides whether it is back.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    /// Failing fast until the instant passes.
    Open,
    /// One probe is allowed through.
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    probe_in_flight: bool,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cool_down: Duration,
    inner: Mutex<Inner>,
}

/// Permission to send one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// Open: try again after this long.
    No(Duration),
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        CircuitBreaker {
            threshold: threshold.max(1),
            cool_down,
            inner: Mutex::new(Inner {
                consecutive_failures: 0,
                open_until: None,
                probe_in_flight: false,
            }),
        }
    }

    pub fn state(&self) -> BreakerState {
        let inner = self.inner.lock();
        match inner.open_until {
            None => BreakerState::Closed,
            Some(t) if Instant::now() < t => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// How long it stays open; `None` when it is not open.
    pub fn open_for(&self) -> Option<Duration> {
        let inner = self.inner.lock();
        inner
            .open_until
            .and_then(|t| t.checked_duration_since(Instant::now()))
    }

    pub fn admit(&self) -> Admit {
        let mut inner = self.inner.lock();
        match inner.open_until {
            None => Admit::Yes,
            Some(t) => {
                let now = Instant::now();
                if now < t {
                    Admit::No(t - now)
                } else if inner.probe_in_flight {
                    Admit::No(Duration::from_millis(100))
                } else {
                    inner.probe_in_flight = true;
                    Admit::Yes
                }
            }
        }
    }

    pub fn record_success(&self) {
        let mut inner = self.inner.lock();
        inner.consecutive_failures = 0;
        inner.open_until = None;
        inner.probe_in_flight = false;
    }

    pub fn record_failure(&self) {
        let mut inner = self.inner.lock();
        inner.consecutive_failures += 1;
        if inner.probe_in_flight || inner.consecutive_failures >= self.threshold {
            if inner.open_until.is_none() || inner.probe_in_flight {
                tracing::warn!(
                    failures = inner.consecutive_failures,
                    cool_down_ms = self.cool_down.as_millis() as u64,
                    "circuit breaker open"
                );
            }
            inner.open_until = Some(Instant::now() + self.cool_down);
        }
        inner.probe_in_flight = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_probes_after_cool_down() {
        let b = CircuitBreaker::new(3, Duration::from_millis(50));
        for _ in 0..2 {
            assert_eq!(b.admit(), Admit::Yes);
            b.record_failure();
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert!(matches!(b.admit(), Admit::No(_)));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.admit(), Admit::Yes, "one probe goes through");
        assert!(
            matches!(b.admit(), Admit::No(_)),
            "only one probe at a time"
        );
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open, "a failed probe reopens");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.admit(), Admit::Yes);
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
    }
}
