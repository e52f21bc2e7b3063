//! What happens after a delivery attempt: delivered, retried later (exponential backoff with
//! jitter), or the subscription disabled.

use std::time::Duration;

/// How a delivery attempt ended, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx: the event is delivered, the cursor moves on.
    Delivered,
    /// Worth trying again later (5xx, 429, other 4xx, timeouts, refused connections).
    Retry,
    /// Retrying cannot help (404, 410, the host does not resolve, or it resolves to a forbidden
    /// address): the subscription is disabled at once.
    Disable,
}

impl Verdict {
    /// The verdict for a response with `status`.
    pub fn of_status(status: u16) -> Verdict {
        match status {
            200..=299 => Verdict::Delivered,
            404 | 410 => Verdict::Disable,
            _ => Verdict::Retry,
        }
    }
}

/// When to try again, and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first failure; doubles with each further failure.
    pub first: Duration,
    /// Longest single wait.
    pub cap: Duration,
    /// A subscription whose head event fails for this long is disabled.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    /// 5 s, doubling up to 6 h between attempts, for up to 3 days.
    fn default() -> RetryPolicy {
        RetryPolicy {
            first: Duration::from_secs(5),
            cap: Duration::from_secs(6 * 3600),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failures` consecutive failures (from 1), spread by `jitter` in [0, 1):
    /// between 75% and 125% of the exponential value, so receivers that come back are not hit
    /// by every subscription at once.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let base = self.first.saturating_mul(1u32 << exponent).min(self.cap);
        base.mul_f64(0.75 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    /// Whether a head event failing since `failing_for` (including this attempt) is given up.
    pub fn gives_up(&self, failing_for: Duration) -> bool {
        failing_for >= self.give_up_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_verdicts() {
        assert_eq!(Verdict::of_status(204), Verdict::Delivered);
        assert_eq!(Verdict::of_status(410), Verdict::Disable);
        assert_eq!(Verdict::of_status(404), Verdict::Disable);
        for status in [301, 400, 429, 500, 503] {
            assert_eq!(Verdict::of_status(status), Verdict::Retry, "{status}");
        }
    }

    #[test]
    fn delays_double_up_to_the_cap_with_bounded_jitter() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1, 0.5), Duration::from_secs(5));
        assert_eq!(policy.delay(3, 0.5), Duration::from_secs(20));
        assert_eq!(policy.delay(100, 0.5), Duration::from_secs(6 * 3600));
        assert_eq!(policy.delay(1, 0.0), Duration::from_millis(3750));
        assert!(policy.delay(1, 0.999) < Duration::from_millis(6250));
    }

    #[test]
    fn gives_up_after_three_days() {
        let policy = RetryPolicy::default();
        assert!(!policy.gives_up(Duration::from_secs(71 * 3600)));
        assert!(policy.gives_up(Duration::from_secs(72 * 3600)));
    }
}
