//! Failed authentication per client address (`CRM_AUTH_FAILURE_LIMIT`): past the quota, an
//! address gets 429 for every request that needs a token, before any lookup, until it has
//! waited. IPv6 addresses count by /64, the block one subscriber usually holds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Most addresses tracked at once; past it, the oldest state is dropped (bounded memory even
/// for an attacker with many addresses).
const MAX_ADDRESSES: usize = 100_000;

/// Failures per second per address, with bursts of ten times that.
pub struct AuthFailureLimit {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Addresses over their quota, and until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    /// Whether `blocked` may be non-empty: every authenticated request checks it, and almost
    /// always nobody is blocked, so it should not take a lock shared by all requests.
    any_blocked: AtomicBool,
}

impl AuthFailureLimit {
    /// No limit.
    pub fn off() -> AuthFailureLimit {
        AuthFailureLimit { limiter: None, blocked: Mutex::default(), any_blocked: AtomicBool::new(false) }
    }

    /// At most `per_second` failed attempts per second per address on average.
    pub fn per_second(per_second: NonZeroU32) -> AuthFailureLimit {
        let burst = per_second.saturating_mul(NonZeroU32::new(10).expect("10 is not zero"));
        let limiter = RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst));
        AuthFailureLimit { limiter: Some(limiter), blocked: Mutex::default(), any_blocked: AtomicBool::new(false) }
    }

    /// `Err(seconds to wait)` while `address` is over its quota.
    pub fn check(&self, address: Option<IpAddr>) -> Result<(), u64> {
        let (Some(_), Some(address)) = (&self.limiter, address) else { return Ok(()) };
        if !self.any_blocked.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let verdict = match blocked.get(&block_of(address)).map(|until| until.saturating_duration_since(Instant::now()))
        {
            Some(wait) if !wait.is_zero() => Err(seconds(wait)),
            Some(_) => {
                blocked.remove(&block_of(address));
                Ok(())
            }
            None => Ok(()),
        };
        self.any_blocked.store(!blocked.is_empty(), Ordering::Release);
        verdict
    }

    /// Counts a failed attempt; `Err(seconds to wait)` when it used up the quota.
    pub fn failed(&self, address: Option<IpAddr>) -> Result<(), u64> {
        let (Some(limiter), Some(address)) = (&self.limiter, address) else { return Ok(()) };
        if limiter.len() >= MAX_ADDRESSES {
            limiter.retain_recent();
        }
        let key = block_of(address);
        let Err(not_until) = limiter.check_key(&key) else { return Ok(()) };
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        if blocked.len() >= MAX_ADDRESSES {
            blocked.clear();
        }
        blocked.insert(key, Instant::now() + wait);
        self.any_blocked.store(true, Ordering::Release);
        Err(seconds(wait))
    }
}

fn seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The unit an address is counted by: itself for IPv4, its /64 for IPv6.
fn block_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_over_its_quota_is_blocked_and_others_are_not() {
        let limit = AuthFailureLimit::per_second(NonZeroU32::new(1).unwrap());
        let attacker: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..10 {
            assert!(limit.failed(Some(attacker)).is_ok());
        }
        assert!(limit.failed(Some(attacker)).is_err());
        assert!(limit.check(Some(attacker)).is_err());
        assert!(limit.check(Some("192.0.2.2".parse().unwrap())).is_ok());
        assert!(limit.check(None).is_ok());
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_block() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(block_of(a), block_of(b));
        assert_ne!(block_of(a), block_of("2001:db8:1:3::1".parse().unwrap()));
    }
}
