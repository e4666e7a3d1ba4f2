//! Pacing for DashScope's account limits and the waits between attempts.
//!
//! Invariant: every request of one kind made by one backend goes through its [`Pacer`], so
//! however many jobs run at once, requests start at least `1 s / rate` apart: the 2 task
//! submissions per second and the 20 queries per second of an account are never exceeded by
//! this process.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Task submissions per second allowed to an account (wan2.2, wanx2.1).
pub const SUBMITS_PER_SECOND: u32 = 2;
/// Task queries per second allowed to an account.
pub const QUERIES_PER_SECOND: u32 = 20;

/// Spaces requests evenly: each caller gets the next free start time.
#[derive(Debug)]
pub struct Pacer {
    gap: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// At most `rate` starts in any second (a small margin covers clock jitter between here and
    /// the server).
    pub fn per_second(rate: u32) -> Self {
        let gap = Duration::from_secs(1) / rate.max(1);
        Self {
            gap: gap + gap / 20,
            next: Mutex::new(None),
        }
    }

    /// Waits for this caller's turn; false when `cancel` fired first (the turn is given up).
    pub async fn wait(&self, cancel: &CancellationToken) -> bool {
        let now = Instant::now();
        let at = match self.next.lock() {
            Ok(mut next) => {
                let at = next.map_or(now, |n| n.max(now));
                *next = Some(at + self.gap);
                at
            }
            // A panic elsewhere poisoned the lock: pace conservatively instead of failing.
            Err(_) => now + self.gap,
        };
        tokio::select! {
            () = cancel.cancelled() => false,
            () = tokio::time::sleep_until(at) => true,
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

/// Wait before attempt `n + 1` after `n` failures: 1, 2, 4, 8 … s, capped at a minute, with
/// ±20 % jitter so that jobs throttled together do not come back together; a server's
/// `Retry-After` is honoured when longer.
pub fn backoff(failures: u32, retry_after: Option<Duration>) -> Duration {
    let base = Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(MAX_WAIT);
    let jitter = 0.8 + 0.4 * fastrand::f64();
    let d = base.mul_f64(jitter).min(MAX_WAIT);
    match retry_after {
        Some(r) => d.max(r.min(MAX_WAIT)),
        None => d,
    }
}

/// The longest single wait between attempts.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// Wait before status query `n` (0-based) of a task: quick at first, since short clips finish
/// in a minute or two, then every 12 s (DashScope recommends 10–15 s).
pub fn poll_delay(n: u32) -> Duration {
    const QUICK: [u64; 4] = [1, 2, 4, 8];
    Duration::from_secs(QUICK.get(n as usize).copied().unwrap_or(12))
}

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
        assert!(at[4] < Duration::from_millis(2200), "{at:?}");
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
        for n in 1..20 {
            let d = backoff(n, None);
            assert!(d <= MAX_WAIT, "{n}: {d:?}");
        }
        assert!(backoff(1, None) <= Duration::from_millis(1200));
        assert!(backoff(3, None) >= Duration::from_millis(3200));
        assert_eq!(
            backoff(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(backoff(1, Some(Duration::from_secs(900))), MAX_WAIT);
        let schedule: Vec<u64> = (0..6).map(|n| poll_delay(n).as_secs()).collect();
        assert_eq!(schedule, [1, 2, 4, 8, 12, 12]);
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
