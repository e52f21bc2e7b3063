//! Webhook subscriptions: what a subscription may say (callback URL, event types, verification
//! token, name) and which addresses a delivery may never reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::event::EventType;
use super::problem::Problem;

/// The wildcard for every CRM event type.
pub const ALL_EVENTS: &str = "crm.*";
/// Longest accepted callback URL.
pub const MAX_URL_LEN: usize = 2048;
/// Longest `name`.
pub const MAX_NAME_LEN: usize = 255;
/// Longest `description`.
pub const MAX_DESCRIPTION_LEN: usize = 1000;
/// Most entries of `events` in one request.
pub const MAX_EVENTS: usize = 50;
/// Subscriptions one organization may have.
pub const MAX_SUBSCRIPTIONS: i64 = 100;

/// A callback URL that passed the static rules (scheme, host, no credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackUrl(url::Url);

impl CallbackUrl {
    /// Parses `raw`: `https`, or `http` when `allow_http`; a host; no user name or password.
    /// Whether the host's addresses may be reached is checked separately, after resolution.
    pub fn parse(raw: &str, allow_http: bool) -> Result<CallbackUrl, String> {
        if raw.len() > MAX_URL_LEN {
            return Err(format!("must be at most {MAX_URL_LEN} characters"));
        }
        let url = url::Url::parse(raw).map_err(|e| format!("is not an absolute URL ({e})"))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => return Err("must use https (this server does not allow http callbacks)".into()),
            other => return Err(format!("must use https, not '{other}'")),
        }
        if url.host().is_none() {
            return Err("must name a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain a user name or password; use 'token' to authenticate".into());
        }
        Ok(CallbackUrl(url))
    }

    /// The parsed URL.
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The address literal in the URL, if the host is one (no resolution needed then).
    pub fn ip_literal(&self) -> Option<IpAddr> {
        match self.0.host()? {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(_) => None,
        }
    }

    /// The URL as stored and shown.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Whether an address lies in a range a callback may never reach unless the operator allows
/// private addresses: loopback, private, shared (CGNAT), link-local (where cloud metadata
/// services live), unique-local, multicast, unspecified, reserved, and IPv6 forms that embed
/// such an IPv4 address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0                              // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT; Alibaba's metadata)
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19))  // benchmarking
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return forbidden_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local, includes AWS's fd00:ec2::254
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || segments[0] == 0x2001 && segments[1] == 0x0db8 // documentation
        || segments[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible (deprecated)
}

/// Parses the `events` of a request: each a known type or `crm.*`, at least one; duplicates
/// collapse, order is kept. Problems point into `pointer` (e.g. `/events`).
pub fn parse_events(raw: &[String], pointer: &str) -> Result<Vec<String>, Vec<Problem>> {
    if raw.is_empty() {
        return Err(vec![Problem::new(pointer, "required", "name at least one event type, or crm.* for all")]);
    }
    if raw.len() > MAX_EVENTS {
        return Err(vec![Problem::new(pointer, "too_many", format!("name at most {MAX_EVENTS} event types"))]);
    }
    let mut problems = Vec::new();
    let mut events: Vec<String> = Vec::new();
    for (i, event) in raw.iter().enumerate() {
        if event != ALL_EVENTS && EventType::parse(event).is_none() {
            let names = EventType::ALL.map(EventType::as_str).join(", ");
            let message = format!("unknown event type '{event}'; expected crm.* or one of {names}");
            problems.push(Problem::new(format!("{pointer}/{i}"), "invalid_value", message));
        } else if !events.contains(event) {
            events.push(event.clone());
        }
    }
    if problems.is_empty() { Ok(events) } else { Err(problems) }
}

/// Whether a subscription to `events` receives an event of type `event_type`.
pub fn subscribes_to(events: &[String], event_type: &str) -> bool {
    events.iter().any(|e| e == ALL_EVENTS || e == event_type)
}

/// The event types a subscription receives, for filtering the feed: `None` means all.
pub fn type_filter(events: &[String]) -> Option<Vec<String>> {
    (!events.iter().any(|e| e == ALL_EVENTS)).then(|| events.to_vec())
}

/// Checks a verification token as Zeeg does: trimmed, 8–1,000 printable non-space ASCII.
pub fn parse_token(raw: &str) -> Result<String, String> {
    let token = raw.trim();
    if !(8..=1000).contains(&token.len()) {
        return Err("must be 8 to 1,000 characters".into());
    }
    if !token.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err("must contain only printable ASCII characters without spaces".into());
    }
    Ok(token.to_owned())
}

/// Checks a free-text field (`name`, `description`) against its length limit in characters.
pub fn check_text(value: &str, max: usize) -> Result<(), String> {
    if value.chars().count() > max { Err(format!("must be at most {max} characters")) } else { Ok(()) }
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
