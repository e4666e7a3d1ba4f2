//! Pacing for DashScope's account limits and the waits between attempts.
//!
//! Invariant: every request of one kind made by one backend goes through its [`Pacer`], so
//! however many jobs run at once, requests are let go at least `1.1 s / rate` apart and never
//! more than `rate` within any 1.1 s, counted at the moments they are let go (a caller whose task
//! runs late cannot bunch up with the punctual ones): the 2 task submissions per second and the
//! 20 queries per second of an account are never exceeded by this process.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Task submissions per second allowed to an account (wan2.2, wanx2.1).
pub const SUBMITS_PER_SECOND: u32 = 2;
/// Task queries per second allowed to an account.
pub const QUERIES_PER_SECOND: u32 = 20;

/// The waits and time limits of one backend. [`Timing::default`] is what DashScope asks of its
/// clients; a program that drives previs against a stand-in for DashScope (on loopback, say)
/// can shorten them with [`super::from_config_with`]. The account's rate limits are not part of
/// it: they hold whatever the timing.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Waits before the status queries of one task, in order; the last one repeats. A resumed
    /// task is asked at once.
    pub poll: Vec<Duration>,
    /// The first wait after a failed attempt (a submission DashScope did not take, a status it
    /// did not give, a download that broke); each further failure doubles it.
    pub backoff: Duration,
    /// How long a create request may take before its fate is unknown.
    pub submit_timeout: Duration,
    /// How long a status, cancel or list request may take.
    pub query_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll: POLL_SCHEDULE.to_vec(),
            backoff: Duration::from_secs(1),
            submit_timeout: super::client::SUBMIT_TIMEOUT,
            query_timeout: super::client::QUERY_TIMEOUT,
        }
    }
}

impl Timing {
    /// Wait before status query `n` (0-based) of a task.
    pub fn poll_delay(&self, n: u32) -> Duration {
        let i = (n as usize).min(self.poll.len().saturating_sub(1));
        self.poll.get(i).copied().unwrap_or(POLL_SCHEDULE[4])
    }

    /// Refuses timings under which no request could finish or failures would be retried in a
    /// tight loop (the pacing still holds); the message names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.submit_timeout.is_zero() || self.query_timeout.is_zero() {
            return Err("timing: request timeouts must be longer than zero; give submit_timeout and query_timeout a few seconds".into());
        }
        if self.backoff.is_zero() {
            return Err(
                "timing: backoff must be longer than zero; give it at least a few milliseconds"
                    .into(),
            );
        }
        Ok(())
    }
}

/// Spaces requests evenly and caps how many start in any window. A turn is taken only when
/// its caller is actually running, so the record is of real start times.
#[derive(Debug)]
pub struct Pacer {
    rate: usize,
    gap: Duration,
    window: Duration,
    /// Start times within the last window, oldest first.
    started: Mutex<VecDeque<Instant>>,
}

impl Pacer {
    /// At most `rate` starts in any second; a 10 % margin covers the time between a start here
    /// and the request's arrival there.
    pub fn per_second(rate: u32) -> Self {
        let rate = rate.max(1);
        let gap = Duration::from_secs(1) / rate;
        Self {
            rate: rate as usize,
            gap: gap + gap / 10,
            window: Duration::from_millis(1100),
            started: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits for this caller's turn; false when `cancel` fired first (no turn is taken).
    pub async fn wait(&self, cancel: &CancellationToken) -> bool {
        loop {
            let at = {
                // The record holds only instants: a panic elsewhere cannot leave it inconsistent.
                let mut started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                while started
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    started.pop_front();
                }
                let after_last = started.back().map(|t| *t + self.gap);
                let after_window = started
                    .len()
                    .checked_sub(self.rate)
                    .and_then(|i| started.get(i))
                    .map(|t| *t + self.window);
                match after_last.max(after_window) {
                    Some(at) if at > now => at,
                    _ => {
                        started.push_back(now);
                        return true;
                    }
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return false,
                () = tokio::time::sleep_until(at) => {}
            }
        }
    }
}

/// Sleeps unless canceled; false when canceled.
pub async fn pause(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = cancel.cancelled() => false,
        () = tokio::time::sleep(d) => true,
    }
}

/// Wait before attempt `n + 1` after `n` failures: `unit` (a second by default), then twice as
/// long with every failure, capped at a minute, with ±20 % jitter so that jobs throttled together
/// do not come back together; a server's `Retry-After` is honoured when longer.
pub fn backoff(unit: Duration, failures: u32, retry_after: Option<Duration>) -> Duration {
    let base = unit
        .saturating_mul(1u32 << failures.saturating_sub(1).min(6))
        .min(MAX_WAIT);
    let jitter = 0.8 + 0.4 * fastrand::f64();
    let d = base.mul_f64(jitter).min(MAX_WAIT);
    match retry_after {
        Some(r) => d.max(r.min(MAX_WAIT)),
        None => d,
    }
}

/// The longest single wait between attempts.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// Waits before the status queries of a task, by default: quick at first, since short clips
/// finish in a minute or two, then every 12 s (DashScope recommends 10–15 s).
pub const POLL_SCHEDULE: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(12),
];

/// `Retry-After: 3` (seconds; HTTP dates are not worth honouring for minute-long limits).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: u64 = v.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_WAIT * 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pacer_spaces_concurrent_callers() {
        let pacer = std::sync::Arc::new(Pacer::per_second(2));
        let t0 = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..5 {
            let p = pacer.clone();
            handles.push(tokio::spawn(async move {
                assert!(p.wait(&CancellationToken::new()).await);
                Instant::now()
            }));
        }
        let mut at = Vec::new();
        for h in handles {
            at.push(h.await.unwrap().duration_since(t0));
        }
        at.sort();
        for w in at.windows(3) {
            assert!(w[2] - w[0] >= Duration::from_secs(1), "{at:?}");
        }
        assert!(at[4] <= Duration::from_millis(2200), "{at:?}");
    }

    /// Most instants within any one second.
    fn busiest_second(at: &mut [Instant]) -> usize {
        at.sort();
        let mut best = 0;
        let mut first = 0;
        for last in 0..at.len() {
            while at[last].duration_since(at[first]) >= Duration::from_secs(1) {
                first += 1;
            }
            best = best.max(last - first + 1);
        }
        best
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_that_runs_late_does_not_bunch_up_with_the_next_ones() {
        let pacer = std::sync::Arc::new(Pacer::per_second(20));
        let cancel = CancellationToken::new();
        assert!(pacer.wait(&cancel).await);
        let mut at = vec![Instant::now()];
        // Asks for a turn, then its task is not run again for 120 ms.
        let late = {
            let (p, c) = (pacer.clone(), cancel.clone());
            tokio::spawn(async move {
                let mut turn = Box::pin(p.wait(&c));
                std::future::poll_fn(|cx| {
                    assert!(turn.as_mut().poll(cx).is_pending());
                    std::task::Poll::Ready(())
                })
                .await;
                tokio::time::sleep(Duration::from_millis(120)).await;
                assert!(turn.await);
                Instant::now()
            })
        };
        tokio::task::yield_now().await;
        let mut punctual = Vec::new();
        for _ in 0..40 {
            let (p, c) = (pacer.clone(), cancel.clone());
            punctual.push(tokio::spawn(async move {
                assert!(p.wait(&c).await);
                Instant::now()
            }));
        }
        at.push(late.await.unwrap());
        for h in punctual {
            at.push(h.await.unwrap());
        }
        let n = busiest_second(&mut at);
        assert!(n <= 20, "{n} starts in one second: {at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_canceled_wait_returns_false() {
        let pacer = Pacer::per_second(1);
        let c = CancellationToken::new();
        assert!(pacer.wait(&c).await);
        c.cancel();
        assert!(!pacer.wait(&c).await);
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let unit = Duration::from_secs(1);
        for n in 1..20 {
            let d = backoff(unit, n, None);
            assert!(d <= MAX_WAIT, "{n}: {d:?}");
        }
        assert!(backoff(unit, 1, None) <= Duration::from_millis(1200));
        assert!(backoff(unit, 3, None) >= Duration::from_millis(3200));
        assert_eq!(
            backoff(unit, 1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(backoff(unit, 1, Some(Duration::from_secs(900))), MAX_WAIT);
        let schedule: Vec<u64> = (0..7)
            .map(|n| Timing::default().poll_delay(n).as_secs())
            .collect();
        assert_eq!(schedule, [1, 2, 4, 8, 12, 12, 12]);
        let empty = Timing {
            poll: Vec::new(),
            ..Timing::default()
        };
        assert_eq!(empty.poll_delay(0), Duration::from_secs(12));
        // A shorter unit shortens previs's own waits, never the server's.
        let ms = Duration::from_millis(10);
        assert!(backoff(ms, 2, None) <= Duration::from_millis(24));
        assert_eq!(
            backoff(ms, 2, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
