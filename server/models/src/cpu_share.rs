//! How many threads llama.cpp should decode with now: no more than the cores that other
//! work leaves free, up to the configured count.
//!
//! ggml's threads meet at a barrier after every operation of a decode, so each step lasts
//! as long as its slowest thread. When another process keeps a core busy, the scheduler
//! keeps parking one of our threads and the others wait for it at every barrier; one
//! thread fewer leaves that process its core and loses nothing. Measured here (2 cores,
//! MiniLM on anyhow's sources through the engine's bench example, one `yes` running,
//! passive waits, 3 interleaved runs): 2 threads 1,216-1,278 tokens/s, adapting
//! 1,238-1,312; with libgomp's default ~1 ms spin, 2 threads fell to 962-1,024. On an
//! idle machine 2 threads are ~1.8× faster than 1, so the count follows the load both
//! ways.
//!
//! The load is read from the kernel after each decode: the tasks runnable system-wide
//! (`/proc/loadavg`) minus our own embedding threads that are runnable (they all carry the
//! embedder thread's name, which OpenMP's threads inherit). A moving average over a few
//! seconds and a minimum time between changes keep a compiler's bursts or a short-lived
//! process from making the count flap: each change rebuilds the llama.cpp context.

use std::time::{Duration, Instant};

/// How quickly the average follows the load.
const TIME_CONSTANT: Duration = Duration::from_secs(2);
/// The least time between two changes, and before the first.
const DWELL: Duration = Duration::from_secs(3);
/// A core counts as free when others leave at least this much of it.
const FREE_ENOUGH: f64 = 0.7;

/// Chooses the thread count from readings of the other runnable tasks.
#[derive(Debug)]
pub(crate) struct ThreadGovernor {
    configured: usize,
    cpus: usize,
    current: usize,
    others: Option<f64>,
    last_reading: Option<Instant>,
    last_change: Instant,
}

impl ThreadGovernor {
    /// `configured` threads at most, on a machine of `cpus` online CPUs.
    pub(crate) fn new(configured: usize, cpus: usize, now: Instant) -> ThreadGovernor {
        let configured = configured.max(1);
        ThreadGovernor {
            configured,
            cpus: cpus.max(1),
            current: configured,
            others: None,
            last_reading: None,
            last_change: now,
        }
    }

    pub(crate) fn current(&self) -> usize {
        self.current
    }

    /// The average count of other runnable tasks, once there is a reading.
    pub(crate) fn others(&self) -> Option<f64> {
        self.others
    }

    /// Feeds one reading of the runnable tasks that are not our decoding threads.
    pub(crate) fn observe(&mut self, others: f64, now: Instant) {
        let others = others.max(0.0);
        self.others = Some(match (self.others, self.last_reading) {
            (Some(avg), Some(then)) => {
                let dt = now.saturating_duration_since(then).as_secs_f64();
                let weight = 1.0 - (-dt / TIME_CONSTANT.as_secs_f64()).exp();
                avg + weight * (others - avg)
            }
            _ => others,
        });
        self.last_reading = Some(now);
    }

    /// The count to switch to now, if it should change; [`Self::switched`] records it.
    pub(crate) fn decide(&self, now: Instant) -> Option<usize> {
        let others = self.others?;
        if now.saturating_duration_since(self.last_change) < DWELL {
            return None;
        }
        let free = self.cpus as f64 - others;
        let target = ((free + 1.0 - FREE_ENOUGH).floor().max(1.0) as usize).min(self.configured);
        (target != self.current).then_some(target)
    }

    /// Records the count decodes use from `now` (the old one again if a switch failed:
    /// the next try waits the dwell time too).
    pub(crate) fn switched(&mut self, threads: usize, now: Instant) {
        self.current = threads;
        self.last_change = now;
    }
}

/// Online CPUs of the whole machine (not the cgroup's share): what `/proc/loadavg`'s
/// runnable count is measured against.
pub(crate) fn online_cpus() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| parse_cpu_list(&s))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The tasks runnable now that are not this process's threads named `own_name`; `None`
/// where the kernel does not say (not Linux).
pub(crate) fn runnable_others(own_name: &str) -> Option<f64> {
    let loadavg = std::fs::read_to_string("/proc/loadavg").ok()?;
    let runnable = parse_runnable(&loadavg)?;
    Some(runnable.saturating_sub(own_runnable(own_name)) as f64)
}

/// `4/812` in `0.52 0.58 0.59 4/812 12345`: tasks runnable now.
fn parse_runnable(loadavg: &str) -> Option<usize> {
    loadavg
        .split_whitespace()
        .nth(3)?
        .split('/')
        .next()?
        .parse()
        .ok()
}

/// `0-3,8-11` → 8.
fn parse_cpu_list(list: &str) -> Option<usize> {
    let mut n = 0;
    for part in list.trim().split(',') {
        n += match part.split_once('-') {
            Some((a, b)) => b.parse::<usize>().ok()?.checked_sub(a.parse().ok()?)? + 1,
            None => {
                part.parse::<usize>().ok()?;
                1
            }
        };
    }
    (n > 0).then_some(n)
}

/// This process's threads named `name` that are runnable (state `R`).
fn own_runnable(name: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        .filter(|stat| task_state(stat) == Some(('R', name)))
        .count()
}

/// The state and name in a `/proc/*/task/*/stat` line: `12 (scry-embedder) R 1 …` (the
/// name may hold spaces and parentheses, so it ends at the last `)`).
fn task_state(stat: &str) -> Option<(char, &str)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    let state = stat.get(close + 1..)?.trim_start().chars().next()?;
    Some((state, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(g: &mut ThreadGovernor, start: Instant, others: f64, from_s: f64, to_s: f64) {
        let mut t = from_s;
        while t <= to_s {
            let now = start + Duration::from_secs_f64(t);
            g.observe(others, now);
            if let Some(n) = g.decide(now) {
                g.switched(n, now);
            }
            t += 0.1;
        }
    }

    #[test]
    fn an_idle_machine_keeps_every_configured_thread() {
        let start = Instant::now();
        let mut g = ThreadGovernor::new(2, 2, start);
        run(&mut g, start, 0.0, 0.0, 30.0);
        assert_eq!(g.current(), 2);
        // A shell or two flickering in and out is not load.
        run(&mut g, start, 0.25, 30.0, 60.0);
        assert_eq!(g.current(), 2);
    }

    #[test]
    fn one_busy_core_of_two_leaves_one_thread_and_it_comes_back() {
        let start = Instant::now();
        let mut g = ThreadGovernor::new(2, 2, start);
        run(&mut g, start, 1.0, 0.0, 10.0);
        assert_eq!(g.current(), 1);
        run(&mut g, start, 0.0, 10.0, 25.0);
        assert_eq!(g.current(), 2);
    }

    #[test]
    fn a_short_burst_does_not_change_the_count() {
        let start = Instant::now();
        let mut g = ThreadGovernor::new(2, 2, start);
        run(&mut g, start, 0.0, 0.0, 10.0);
        run(&mut g, start, 1.0, 10.0, 11.0);
        run(&mut g, start, 0.0, 11.1, 20.0);
        assert_eq!(g.current(), 2);
    }

    #[test]
    fn never_more_than_configured_nor_fewer_than_one() {
        let start = Instant::now();
        let mut g = ThreadGovernor::new(4, 16, start);
        run(&mut g, start, 0.0, 0.0, 10.0);
        assert_eq!(g.current(), 4);
        run(&mut g, start, 40.0, 10.0, 30.0);
        assert_eq!(g.current(), 1);
        // Many cores with a little load: still the configured count.
        run(&mut g, start, 9.0, 30.0, 60.0);
        assert_eq!(g.current(), 4);
    }

    #[test]
    fn changes_wait_for_the_dwell_time() {
        let start = Instant::now();
        let mut g = ThreadGovernor::new(2, 2, start);
        let early = start + Duration::from_millis(500);
        g.observe(2.0, early);
        assert_eq!(g.decide(early), None);
        let later = start + DWELL;
        g.observe(2.0, later);
        assert_eq!(g.decide(later), Some(1));
        g.switched(1, later);
        g.observe(0.0, later + Duration::from_secs(60));
        assert_eq!(g.decide(later + Duration::from_secs(1)), None);
    }

    #[test]
    fn proc_files_parse() {
        assert_eq!(parse_runnable("0.52 0.58 0.59 4/812 12345\n"), Some(4));
        assert_eq!(parse_runnable("garbage"), None);
        assert_eq!(parse_cpu_list("0-3,8-11\n"), Some(8));
        assert_eq!(parse_cpu_list("0\n"), Some(1));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(
            task_state("12 (scry (x) y) R 1 2 3"),
            Some(('R', "scry (x) y"))
        );
        assert_eq!(task_state("12 (idle) S 1"), Some(('S', "idle")));
    }

    #[test]
    fn this_thread_counts_itself_as_runnable() {
        if !std::path::Path::new("/proc/loadavg").exists() {
            return;
        }
        let name = "scry-cpu-probe";
        let seen = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || own_runnable(name))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(seen, 1, "the reading thread is running while it reads");
        assert!(online_cpus() >= 1);
        assert!(runnable_others("no-such-thread").is_some());
    }
}
