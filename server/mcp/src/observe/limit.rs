//! A fair share for every client: a token bucket per client (an MCP session over HTTP,
//! the one peer over stdio). A client past its rate gets a clear, retryable refusal at
//! once instead of queueing behind the blocking-work permits, so one flooding agent
//! cannot push every other client's calls back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How many calls a client may make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained calls per second.
    pub per_second: f64,
    /// Calls that may come at once after a quiet spell.
    pub burst: f64,
}

impl Default for RateLimit {
    /// 20 calls a second, bursts of 40: far above what an agent needs (a search is a
    /// few milliseconds of its thinking), far below what a loop gone wrong sends.
    fn default() -> RateLimit {
        RateLimit {
            per_second: 20.0,
            burst: 40.0,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets are forgotten after this long unused, so clients that come and go do not
/// grow memory.
const FORGET_AFTER: Duration = Duration::from_secs(600);

pub(crate) struct RateLimiter {
    limit: Option<RateLimit>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `None`: no limit.
    pub(crate) fn new(limit: Option<RateLimit>) -> RateLimiter {
        RateLimiter {
            limit: limit.filter(|l| l.per_second > 0.0),
            buckets: Mutex::default(),
        }
    }

    /// Takes one call from `client`'s bucket; `Err(wait)` when it is empty: the time
    /// until one call is allowed again.
    pub(crate) fn check(&self, client: &str, now: Instant) -> Result<(), Duration> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let burst = limit.burst.max(1.0);
        let mut buckets = self.buckets.lock();
        if buckets.len() > 4096 {
            buckets.retain(|_, b| now.saturating_duration_since(b.at) < FORGET_AFTER);
        }
        let b = buckets.entry(client.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * limit.per_second).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / limit.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_calls_come_at_the_sustained_rate() {
        let l = RateLimiter::new(Some(RateLimit {
            per_second: 10.0,
            burst: 5.0,
        }));
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(l.check("a", t0).is_ok());
        }
        let wait = l.check("a", t0).unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100));
        // Another client is untouched by the first one's flood.
        assert!(l.check("b", t0).is_ok());
        // After the wait, one more call passes; not two.
        let later = t0 + Duration::from_millis(100);
        assert!(l.check("a", later).is_ok());
        assert!(l.check("a", later).is_err());
    }

    #[test]
    fn no_limit_refuses_nothing() {
        let l = RateLimiter::new(None);
        let t0 = Instant::now();
        assert!((0..10_000).all(|_| l.check("a", t0).is_ok()));
    }
}
