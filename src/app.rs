//! Wiring: open the database (bundled or external), build the router, serve until shutdown.

use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::config::{Config, redact_url};
use crate::embedded_pg::{self, EmbeddedPg};
use crate::http::{self, middleware::LayerConfig, state::AppState};
use crate::server::{self, ServerLimits};
use crate::{db, shutdown};

/// Why the application could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Embedded(#[from] embedded_pg::EmbeddedError),
    #[error("cannot connect to the database at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("{0}")]
    Other(String),
}

/// The database this process uses, and the bundled cluster behind it if any.
pub struct Database {
    /// The connection pool.
    pub pool: PgPool,
    /// Where the pool connects (with the password: for the webhook engine's own pool).
    url: String,
    /// Where the pool connects, password redacted.
    pub description: String,
    embedded: Option<EmbeddedPg>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or to the bundled cluster (starting it if needed), and migrates.
    pub async fn open(config: &Config) -> Result<Database, AppError> {
        let (url, embedded) = match &config.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let options = embedded_pg::Options {
                    data_dir: config.data_dir.clone(),
                    durable: true,
                    remove_on_exit: false,
                    max_connections: 100,
                    tuning: Some(embedded_pg::Tuning::new(config.pg_shared_buffers_mb, config.pg_max_wal_size_mb)),
                };
                let pg = EmbeddedPg::ensure(&options).await?;
                (pg.url(), Some(pg))
            }
        };
        let description = match &embedded {
            Some(_) => format!("{} (bundled, data in {})", redact_url(&url), config.data_dir.display()),
            None => redact_url(&url),
        };
        let pool = db::connect_with_limits(&url, config.pool_size, &config.limits)
            .await
            .map_err(|source| AppError::Connect { url: redact_url(&url), source })?;
        db::migrate(&pool).await?;
        Ok(Database { pool, url, description, embedded })
    }

    /// Closes the pool, then stops the bundled cluster if this process started it.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(pg) = self.embedded {
            pg.stop().await;
        }
    }
}

/// Serves the API until SIGINT or SIGTERM, letting in-flight requests finish; with `demo`,
/// first seeds the demo workspace and prints how to use it.
pub async fn serve(config: &Config, demo: bool) -> Result<(), AppError> {
    let database = Database::open(config).await?;
    if demo {
        match crate::demo::seed(&database.pool).await {
            Ok(seeded) => println!("{}", crate::demo::instructions(&seeded, &format!("http://{}", config.bind))),
            Err(e) => {
                database.close().await;
                return Err(AppError::Other(format!("seeding the demo workspace failed: {e}")));
            }
        }
    }
    let layers = LayerConfig {
        cors_origins: config.cors_origins.clone(),
        request_timeout: config.request_timeout,
        body_timeout: config.body_timeout,
    };
    let feed_settings = config.feed_settings();
    let event_retention = feed_settings.retention;
    if config.webhooks.retry.give_up_after > event_retention {
        // Allowed, but a subscription retrying that long outlives its cursor and is disabled
        // (webhooks::engine) rather than given up on by the retry rule.
        tracing::warn!(
            "CRM_WEBHOOK_RETRY_HOURS is longer than CRM_EVENT_RETENTION_DAYS: a subscription failing past retention \
             is disabled, as its events may have been pruned"
        );
    }
    let state = AppState::with_feed(database.pool.clone(), feed_settings)
        .with_rate_limit(config.rate_limit)
        .with_auth_failure_limit(config.auth_failure_limit)
        .with_webhooks(config.webhooks.clone());
    let feed = state.feed.clone();
    // Its own HTTP client too: pooled receiver connections live on the runtime that opened them.
    let webhooks = crate::webhooks::Webhooks::new(state.webhooks.settings.clone());
    let engine = match crate::webhooks::runner::start(database.url.clone(), webhooks, state.feed.clone()) {
        Ok(engine) => engine,
        Err(e) => {
            database.close().await;
            return Err(AppError::Other(format!("starting the webhook engine failed: {e}")));
        }
    };
    let router = http::router(state, &layers).map_err(AppError::Other)?;
    let purger = tokio::spawn(purge_idempotency_keys(database.pool.clone()));
    let pruner = crate::feed::spawn_pruner(database.pool.clone(), event_retention);
    let listener = match TcpListener::bind(config.bind).await {
        Ok(listener) => listener,
        Err(source) => {
            database.close().await;
            return Err(AppError::Bind { addr: config.bind, source });
        }
    };
    tracing::info!(
        "listening on http://{}, database {}",
        listener.local_addr().map_err(|e| AppError::Other(e.to_string()))?,
        database.description
    );
    let limits = ServerLimits { header_timeout: config.header_timeout, max_connections: connection_cap(config) };
    // Long polls end at once on shutdown instead of holding it up for their whole wait.
    let stopping = async move {
        shutdown::signal().await;
        feed.close();
    };
    server::run(listener, router, limits, stopping).await;
    tracing::info!("shutting down");
    engine.stop(ENGINE_GRACE).await;
    purger.abort();
    pruner.abort();
    database.close().await;
    Ok(())
}

/// How long shutdown waits for webhook workers to hand their subscriptions back (so another
/// process takes them over at once); a receiver slower than this is cut short, and its event
/// is delivered again later.
const ENGINE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// `CRM_MAX_CONNECTIONS`, lowered to what the open-file limit (raised to its hard limit first)
/// leaves after the probe reserve and the descriptors the process needs besides connections.
fn connection_cap(config: &Config) -> usize {
    const OTHER_FILES: u64 = 256;
    let Some(files) = server::raise_fd_limit() else { return config.max_connections };
    let room = files.saturating_sub(OTHER_FILES + u64::from(config.pool_size) + server::HEALTH_RESERVE as u64);
    let cap = config.max_connections.min(usize::try_from(room).unwrap_or(usize::MAX)).max(1);
    if cap < config.max_connections {
        tracing::warn!(files, cap, "CRM_MAX_CONNECTIONS lowered to fit the open-file limit");
    }
    cap
}

/// Deletes Idempotency-Key responses older than 24 hours, every ten minutes. Lookups ignore
/// expired rows anyway; this only keeps the table small.
async fn purge_idempotency_keys(pool: sqlx::PgPool) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        match db::idempotency::purge_expired(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired idempotency keys deleted"),
            Err(e) => tracing::warn!(error = %e, "purging idempotency keys failed"),
        }
    }
}
