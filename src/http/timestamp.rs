//! Timestamps on the wire: RFC 3339, UTC, with an explicit `+00:00` offset as Zeeg's CRM shows.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// Formats a timestamp as `2025-06-01T10:00:00.123456+00:00`.
pub fn format(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// `serialize_with` helper for `DateTime<Utc>` fields.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(at))
}

/// `serialize_with` helper for optional timestamps (`null` when absent).
pub fn serialize_option<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    #[test]
    fn uses_an_explicit_utc_offset() {
        let at = chrono::Utc.with_ymd_and_hms(2025, 6, 1, 10, 0, 0).unwrap();
        assert_eq!(super::format(&at), "2025-06-01T10:00:00.000000+00:00");
    }
}
