//! Per-token rate limiting (`CRM_RATE_LIMIT`), off unless configured.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

/// Requests per second per token, with bursts of up to twice that.
pub struct TokenRateLimit(Option<DefaultKeyedRateLimiter<Uuid>>);

impl TokenRateLimit {
    /// No limit.
    pub fn off() -> TokenRateLimit {
        TokenRateLimit(None)
    }

    /// At most `per_second` requests per second per token on average.
    pub fn per_second(per_second: NonZeroU32) -> TokenRateLimit {
        let burst = per_second.saturating_mul(NonZeroU32::new(2).expect("2 is not zero"));
        TokenRateLimit(Some(RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))))
    }

    /// `Err(seconds to wait)` when the token has used up its quota.
    pub fn check(&self, token_id: Uuid) -> Result<(), u64> {
        let Some(limiter) = &self.0 else { return Ok(()) };
        limiter.check_key(&token_id).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}
