//! Several servers of one model (a vLLM or llama-server fleet): each endpoint with its
//! own circuit breaker, load (requests in flight, streams included) and health, and
//! the choice of where the next request goes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::breaker::{Admit, BreakerState, CircuitBreaker};
use super::redact_url;

/// One server of the pool.
pub(crate) struct Endpoint {
    pub base_url: String,
    /// The base URL without credentials, for messages and logs.
    pub server: String,
    pub breaker: CircuitBreaker,
    in_flight: Arc<AtomicUsize>,
    /// The last health check's verdict (true until one fails).
    healthy: AtomicBool,
}

/// Counts a request as load on its endpoint until dropped (for a stream: until its body
/// is read or dropped).
pub(crate) struct Load(Arc<AtomicUsize>);

impl Drop for Load {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Endpoint {
    pub fn new(base_url: &str, threshold: u32, cool_down: Duration) -> Endpoint {
        let base_url = base_url.trim_end_matches('/');
        Endpoint {
            base_url: base_url.to_owned(),
            server: redact_url(base_url),
            breaker: CircuitBreaker::new(threshold, cool_down),
            in_flight: Arc::default(),
            healthy: AtomicBool::new(true),
        }
    }

    pub fn load(&self) -> Load {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Load(self.in_flight.clone())
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn set_healthy(&self, yes: bool) {
        let was = self.healthy.swap(yes, Ordering::Relaxed);
        if was != yes {
            if yes {
                tracing::info!(server = %self.server, "the server is healthy again");
            } else {
                tracing::warn!(server = %self.server, "the server failed its health check");
            }
        }
    }

    /// The server's root, where `/v1` is (llama-server keeps `/health`, `/tokenize`
    /// and `/apply-template` there).
    pub fn root_url(&self) -> &str {
        self.base_url.strip_suffix("/v1").unwrap_or(&self.base_url)
    }

    pub fn health_url(&self) -> String {
        format!("{}/health", self.root_url())
    }
}

/// What one endpoint reports, for status pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    pub server: String,
    pub breaker: BreakerState,
    pub healthy: bool,
    pub in_flight: usize,
}

/// The endpoints, and the turn for ties.
pub(crate) struct Pool {
    pub endpoints: Vec<Endpoint>,
    turn: AtomicU64,
    /// Requests that moved from a failing endpoint to another.
    pub failovers: AtomicU64,
}

impl Pool {
    pub fn new(endpoints: Vec<Endpoint>) -> Pool {
        Pool {
            endpoints,
            turn: AtomicU64::new(0),
            failovers: AtomicU64::new(0),
        }
    }

    /// The endpoint for the next attempt: among those whose breaker admits a request
    /// and that are healthy (or, when none is, any whose breaker admits), the one with
    /// the fewest requests in flight; ties take turns. `avoid` (the endpoint that just
    /// failed) is passed over while another can be had. `Err` carries the shortest
    /// wait until a breaker lets a request through.
    pub fn pick(&self, avoid: Option<usize>) -> Result<usize, Duration> {
        let turn = self.turn.fetch_add(1, Ordering::Relaxed) as usize;
        let n = self.endpoints.len();
        // Checking the state, not `admit`: that would take a half-open breaker's one
        // probe from a server that may not be chosen.
        let open = |i: usize| self.endpoints[i].breaker.state() == BreakerState::Open;
        // Lower is better: avoided, unhealthy, load; the first of equals, in an order
        // that starts one further each time.
        let best = (0..n)
            .map(|k| (turn + k) % n)
            .filter(|&i| !open(i))
            .min_by_key(|&i| {
                let e = &self.endpoints[i];
                (Some(i) == avoid, !e.healthy(), e.in_flight())
            });
        let Some(i) = best else {
            // Every breaker open: the shortest wait.
            let wait = self.endpoints.iter().filter_map(|e| e.breaker.open_for());
            return Err(wait.min().unwrap_or(Duration::from_millis(100)));
        };
        match self.endpoints[i].breaker.admit() {
            Admit::Yes => Ok(i),
            Admit::No(w) => Err(w),
        }
    }

    /// The best state of any endpoint: the pool can serve while one can.
    pub fn state(&self) -> BreakerState {
        let states: Vec<BreakerState> = self.endpoints.iter().map(|e| e.breaker.state()).collect();
        if states.contains(&BreakerState::Closed) {
            BreakerState::Closed
        } else if states.contains(&BreakerState::HalfOpen) {
            BreakerState::HalfOpen
        } else {
            BreakerState::Open
        }
    }

    pub fn status(&self) -> Vec<EndpointStatus> {
        self.endpoints
            .iter()
            .map(|e| EndpointStatus {
                server: e.server.clone(),
                breaker: e.breaker.state(),
                healthy: e.healthy(),
                in_flight: e.in_flight(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: usize) -> Pool {
        Pool::new(
            (0..n)
                .map(|i| {
                    Endpoint::new(
                        &format!("http://10.0.0.{i}:8080/v1"),
                        2,
                        Duration::from_secs(60),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn the_least_loaded_endpoint_is_picked_and_ties_take_turns() {
        let p = pool(3);
        let _a = p.endpoints[0].load();
        let _b = p.endpoints[0].load();
        let _c = p.endpoints[1].load();
        assert_eq!(p.pick(None), Ok(2));
        let _d = p.endpoints[2].load();
        let _e = p.endpoints[2].load();
        assert_eq!(p.pick(None), Ok(1));
        // All equal: each gets its turn.
        let q = pool(3);
        let mut seen: Vec<usize> = (0..3).map(|_| q.pick(None).unwrap()).collect();
        seen.sort();
        assert_eq!(seen, [0, 1, 2]);
    }

    #[test]
    fn a_request_that_ends_is_no_longer_load() {
        let p = pool(2);
        {
            let _streaming = p.endpoints[0].load();
            assert_eq!(p.endpoints[0].in_flight(), 1);
        }
        assert_eq!(p.endpoints[0].in_flight(), 0);
    }

    #[test]
    fn open_breakers_unhealthy_servers_and_the_one_that_just_failed_are_passed_over() {
        let p = pool(3);
        p.endpoints[0].breaker.record_failure();
        p.endpoints[0].breaker.record_failure();
        assert_eq!(p.endpoints[0].breaker.state(), BreakerState::Open);
        p.endpoints[1].set_healthy(false);
        for _ in 0..5 {
            assert_eq!(p.pick(None), Ok(2));
        }
        // Failing over from 2: the unhealthy one is still better than retrying 2 at once.
        assert_eq!(p.pick(Some(2)), Ok(1));
        // Every breaker open: the shortest wait.
        for e in &p.endpoints[1..] {
            e.breaker.record_failure();
            e.breaker.record_failure();
        }
        assert_eq!(p.state(), BreakerState::Open);
        assert!(matches!(p.pick(None), Err(w) if w > Duration::from_secs(50)));
    }

    #[test]
    fn health_is_read_beside_v1() {
        let e = Endpoint::new("http://user:pw@h:8080/v1/", 1, Duration::from_secs(1));
        assert_eq!(e.health_url(), "http://user:pw@h:8080/health");
        assert_eq!(e.server, "http://h:8080/v1");
    }
}
