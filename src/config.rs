//! Configuration from environment variables only; `Debug` never shows a password.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::domain::limits::Limits;

/// Log output format (`CRM_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured when stderr is a terminal.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Everything the server reads from its environment.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: use this server instead of the bundled cluster.
    pub database_url: Option<String>,
    /// `CRM_DATA_DIR`: where the bundled cluster lives (default `./.crm-data`).
    pub data_dir: PathBuf,
    /// `CRM_BIND`: listen address (default `127.0.0.1:8080`).
    pub bind: SocketAddr,
    /// `CRM_CORS_ORIGINS`: comma-separated origins allowed to call from a browser (none by default).
    pub cors_origins: Vec<String>,
    /// `CRM_LOG_FORMAT`: `pretty` (default) or `json`.
    pub log_format: LogFormat,
    /// `CRM_PG_SHARED_BUFFERS_MB`, `CRM_PG_MAX_WAL_SIZE_MB`: sizes of the bundled cluster;
    /// unset, `embedded_pg::Tuning` chooses.
    pub pg_shared_buffers_mb: Option<u32>,
    pub pg_max_wal_size_mb: Option<u32>,
    /// `CRM_DB_POOL_SIZE`: maximum database connections (default 16).
    pub pool_size: u32,
    /// `CRM_REQUEST_TIMEOUT_SECS`: a request running longer is answered with 503 (default 30).
    pub request_timeout: Duration,
    /// `CRM_RATE_LIMIT`: requests per second per token, bursts of twice that (unset or 0: off).
    pub rate_limit: Option<std::num::NonZeroU32>,
    /// `CRM_AUTH_FAILURE_LIMIT`: failed authentications per second per client address, bursts
    /// of ten times that (default 10; 0: off).
    pub auth_failure_limit: Option<std::num::NonZeroU32>,
    /// `CRM_HEADER_TIMEOUT_SECS`: time to send a request's headers, counted from when the
    /// connection starts waiting for them, so also the idle keep-alive timeout (default 10).
    pub header_timeout: Duration,
    /// `CRM_BODY_TIMEOUT_SECS`: time to send a request body; slower is a 408 (default 10).
    pub body_timeout: Duration,
    /// `CRM_MAX_CONNECTIONS`: open connections served (default 10,000), plus a few for probes.
    pub max_connections: usize,
    /// `CRM_MAX_OBJECTS`, `CRM_MAX_ATTRIBUTES_PER_OBJECT`, `CRM_MAX_OPTIONS_PER_ATTRIBUTE`,
    /// `CRM_MAX_IDEMPOTENCY_KEYS`: per-organization limits.
    pub limits: Limits,
    /// `CRM_WEBHOOK_ALLOW_HTTP`, `CRM_WEBHOOK_ALLOW_PRIVATE`, `CRM_WEBHOOK_RETRY_HOURS`,
    /// `CRM_WEBHOOK_CONCURRENCY`: how webhooks are checked and delivered.
    pub webhooks: crate::webhooks::Settings,
    /// `CRM_EVENT_RETENTION_DAYS`: how long the change feed keeps events (default 30).
    pub event_retention_days: u32,
    /// `CRM_FEED_MAX_WAITERS`: most `GET /v2/changes?wait=` requests waiting at once (default 1000).
    pub feed_max_waiters: u32,
}

/// A variable is set to something we cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    var: &'static str,
    message: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let bind = get("CRM_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        Ok(Config {
            database_url: get("DATABASE_URL"),
            data_dir: get("CRM_DATA_DIR").unwrap_or_else(|| "./.crm-data".into()).into(),
            bind: bind.trim().parse().map_err(|_| ConfigError {
                var: "CRM_BIND",
                message: format!("'{bind}' is not an address like 127.0.0.1:8080"),
            })?,
            cors_origins: get("CRM_CORS_ORIGINS")
                .map(|v| v.split(',').map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect())
                .unwrap_or_default(),
            log_format: match get("CRM_LOG_FORMAT").as_deref().map(str::trim) {
                None | Some("pretty") => LogFormat::Pretty,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(ConfigError {
                        var: "CRM_LOG_FORMAT",
                        message: format!("'{other}' is not pretty or json"),
                    });
                }
            },
            pg_shared_buffers_mb: optional_number(
                get("CRM_PG_SHARED_BUFFERS_MB"),
                "CRM_PG_SHARED_BUFFERS_MB",
                16..=1_048_576,
            )?,
            pg_max_wal_size_mb: optional_number(
                get("CRM_PG_MAX_WAL_SIZE_MB"),
                "CRM_PG_MAX_WAL_SIZE_MB",
                64..=1_048_576,
            )?,
            pool_size: number(get("CRM_DB_POOL_SIZE"), "CRM_DB_POOL_SIZE", 16, 1..=1000)?,
            request_timeout: Duration::from_secs(
                number(get("CRM_REQUEST_TIMEOUT_SECS"), "CRM_REQUEST_TIMEOUT_SECS", 30, 1..=3600)?.into(),
            ),
            rate_limit: std::num::NonZeroU32::new(number(get("CRM_RATE_LIMIT"), "CRM_RATE_LIMIT", 0, 0..=1_000_000)?),
            auth_failure_limit: std::num::NonZeroU32::new(number(
                get("CRM_AUTH_FAILURE_LIMIT"),
                "CRM_AUTH_FAILURE_LIMIT",
                10,
                0..=1_000_000,
            )?),
            header_timeout: seconds(get("CRM_HEADER_TIMEOUT_SECS"), "CRM_HEADER_TIMEOUT_SECS", 10)?,
            body_timeout: seconds(get("CRM_BODY_TIMEOUT_SECS"), "CRM_BODY_TIMEOUT_SECS", 10)?,
            max_connections: number(get("CRM_MAX_CONNECTIONS"), "CRM_MAX_CONNECTIONS", 10_000, 1..=1_000_000)? as usize,
            limits: limits(&get)?,
            webhooks: webhooks(&get)?,
            event_retention_days: number(get("CRM_EVENT_RETENTION_DAYS"), "CRM_EVENT_RETENTION_DAYS", 30, 1..=3650)?,
            feed_max_waiters: number(get("CRM_FEED_MAX_WAITERS"), "CRM_FEED_MAX_WAITERS", 1000, 1..=100_000)?,
        })
    }

    /// The change feed's limits. A long poll ends a second before the request timeout would.
    pub fn feed_settings(&self) -> crate::feed::FeedSettings {
        crate::feed::FeedSettings {
            retention: Duration::from_secs(u64::from(self.event_retention_days) * 86_400),
            max_wait: Duration::from_secs(60).min(self.request_timeout.saturating_sub(Duration::from_secs(1))),
            max_waiters: self.feed_max_waiters as usize,
            page_bytes: crate::feed::PAGE_BYTES,
        }
    }

    /// The database this process will use, fit for logs.
    pub fn database_description(&self) -> String {
        match &self.database_url {
            Some(url) => redact_url(url),
            None => format!("bundled PostgreSQL in {}", self.data_dir.display()),
        }
    }
}

fn limits(get: &impl Fn(&str) -> Option<String>) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    let limit = |var: &'static str, default: u32| number(get(var), var, default, 1..=1_000_000);
    Ok(Limits {
        objects: limit("CRM_MAX_OBJECTS", d.objects)?,
        attributes_per_object: limit("CRM_MAX_ATTRIBUTES_PER_OBJECT", d.attributes_per_object)?,
        options_per_attribute: limit("CRM_MAX_OPTIONS_PER_ATTRIBUTE", d.options_per_attribute)?,
        idempotency_keys: limit("CRM_MAX_IDEMPOTENCY_KEYS", d.idempotency_keys)?,
    })
}

fn seconds(raw: Option<String>, var: &'static str, default: u32) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(number(raw, var, default, 1..=3600)?.into()))
}

fn webhooks(get: &impl Fn(&str) -> Option<String>) -> Result<crate::webhooks::Settings, ConfigError> {
    let mut settings = crate::webhooks::Settings {
        allow_http: flag(get("CRM_WEBHOOK_ALLOW_HTTP"), "CRM_WEBHOOK_ALLOW_HTTP")?,
        allow_private: flag(get("CRM_WEBHOOK_ALLOW_PRIVATE"), "CRM_WEBHOOK_ALLOW_PRIVATE")?,
        ..Default::default()
    };
    let hours = number(get("CRM_WEBHOOK_RETRY_HOURS"), "CRM_WEBHOOK_RETRY_HOURS", 72, 1..=720)?;
    settings.retry.give_up_after = Duration::from_secs(u64::from(hours) * 3600);
    settings.concurrency = number(get("CRM_WEBHOOK_CONCURRENCY"), "CRM_WEBHOOK_CONCURRENCY", 32, 1..=1000)? as usize;
    Ok(settings)
}

fn flag(raw: Option<String>, var: &'static str) -> Result<bool, ConfigError> {
    match raw.as_deref().map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(ConfigError { var, message: format!("'{other}' is not true or false") }),
    }
}

/// `number` without a default: unset stays `None`.
fn optional_number(
    raw: Option<String>,
    var: &'static str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u32>, ConfigError> {
    raw.map(|raw| number(Some(raw), var, *range.start(), range)).transpose()
}

fn number(
    raw: Option<String>,
    var: &'static str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.trim().parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError {
            var,
            message: format!("'{raw}' is not a whole number from {} to {}", range.start(), range.end()),
        }),
    }
}

/// Replaces the password of a connection URL with `***`; unparsable URLs are hidden entirely.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<unparsable DATABASE_URL>".into(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database_description())
            .field("bind", &self.bind)
            .field("cors_origins", &self.cors_origins)
            .field("log_format", &self.log_format)
            .field("pool_size", &self.pool_size)
            .field("request_timeout", &self.request_timeout)
            .field("rate_limit", &self.rate_limit)
            .field("auth_failure_limit", &self.auth_failure_limit)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("max_connections", &self.max_connections)
            .field("limits", &self.limits)
            .field("webhooks", &self.webhooks)
            .field("event_retention_days", &self.event_retention_days)
            .field("feed_max_waiters", &self.feed_max_waiters)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_need_no_environment() {
        let c = config(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./.crm-data"));
        assert!(c.database_url.is_none() && c.cors_origins.is_empty());
        assert_eq!((c.pool_size, c.log_format), (16, LogFormat::Pretty));
        assert!(c.rate_limit.is_none());
        assert_eq!((c.header_timeout, c.body_timeout), (Duration::from_secs(10), Duration::from_secs(10)));
        assert_eq!(c.max_connections, 10_000);
        assert_eq!(c.limits, Limits::default());
        assert!(!c.webhooks.allow_http && !c.webhooks.allow_private);
        assert_eq!(c.webhooks.retry.give_up_after, Duration::from_secs(72 * 3600));
        let feed = c.feed_settings();
        assert_eq!((feed.retention.as_secs(), feed.max_wait.as_secs(), feed.max_waiters), (30 * 86_400, 29, 1000));
    }

    #[test]
    fn webhook_switches_are_booleans() {
        let c = config(&[("CRM_WEBHOOK_ALLOW_HTTP", "true"), ("CRM_WEBHOOK_ALLOW_PRIVATE", "1")]).unwrap();
        assert!(c.webhooks.allow_http && c.webhooks.allow_private);
        assert!(config(&[("CRM_WEBHOOK_ALLOW_PRIVATE", "yes please")]).is_err());
    }

    #[test]
    fn debug_and_description_redact_the_password() {
        let c = config(&[("DATABASE_URL", "postgres://crm:s3cret@db:5432/crm")]).unwrap();
        let shown = format!("{c:?} {}", c.database_description());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://crm:***@db:5432/crm"), "{shown}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("CRM_BIND", "localhost"),
            ("CRM_LOG_FORMAT", "xml"),
            ("CRM_DB_POOL_SIZE", "0"),
            ("CRM_PG_SHARED_BUFFERS_MB", "8"),
            ("CRM_PG_MAX_WAL_SIZE_MB", "1"),
        ] {
            let err = config(&[(var, value)]).unwrap_err().to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }

    #[test]
    fn shared_buffers_are_derived_unless_set() {
        assert_eq!(config(&[]).unwrap().pg_shared_buffers_mb, None);
        assert_eq!(config(&[]).unwrap().pg_max_wal_size_mb, None);
        assert_eq!(config(&[("CRM_PG_SHARED_BUFFERS_MB", "2048")]).unwrap().pg_shared_buffers_mb, Some(2048));
    }

    #[test]
    fn cors_origins_are_split_and_trimmed() {
        let c = config(&[("CRM_CORS_ORIGINS", "https://a.example, https://b.example,")]).unwrap();
        assert_eq!(c.cors_origins, vec!["https://a.example", "https://b.example"]);
    }
}
