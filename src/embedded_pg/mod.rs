//! The bundled, private PostgreSQL cluster used when `DATABASE_URL` is unset.
//!
//! Layout of the data directory: `pg/` (the cluster), `password` (0600, the generated
//! password of the `crm` superuser), `port` (where it listens), `postgres.log`, `.lock`.
//! The process that starts the cluster owns it and stops it on exit; other `crm-api`
//! processes (the CLI while `serve` runs) find it running and only connect.

mod binaries;
mod memory;
mod process;
mod settings;

use std::fs::{self, File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rand::RngCore;
use sqlx::{Connection, PgConnection};

pub use binaries::{Binaries, NOT_FOUND_HELP};
use process::{RunAs, Watchdog};
pub use settings::Tuning;
use settings::{server_settings, supports_lz4};

// Literal in `create_database` too: sqlx only runs static SQL strings.
const DATABASE: &str = "crm";
const SUPERUSER: &str = "crm";
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to run the bundled cluster.
#[derive(Debug, Clone)]
pub struct Options {
    /// `CRM_DATA_DIR`.
    pub data_dir: PathBuf,
    /// Keep fsync and synchronous commit on (off only for throwaway test clusters).
    pub durable: bool,
    /// Delete the data directory when the cluster stops (test clusters).
    pub remove_on_exit: bool,
    /// `max_connections` of a cluster we start.
    pub max_connections: u32,
    /// Memory and WAL settings for a server under load; `None` keeps PostgreSQL's defaults
    /// (small throwaway test clusters).
    pub tuning: Option<Tuning>,
}

/// Why the bundled cluster could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("{NOT_FOUND_HELP}")]
    BinariesNotFound,
    #[error("{0}")]
    Setup(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedError {
    let context = context.into();
    move |source| EmbeddedError::Io { context, source }
}

/// A running bundled cluster; stops it on [`EmbeddedPg::stop`] if this process started it.
pub struct EmbeddedPg {
    /// `postgres://crm:<password>@127.0.0.1:<port>`, without a database.
    server: String,
    owned: Option<Owned>,
}

struct Owned {
    postmaster: Child,
    watchdog: Watchdog,
    remove: Option<PathBuf>,
}

impl EmbeddedPg {
    /// Creates the cluster if needed and starts it unless another process already runs it.
    pub async fn ensure(options: &Options) -> Result<EmbeddedPg, EmbeddedError> {
        let run_as = RunAs::detect().map_err(EmbeddedError::Setup)?;
        fs::create_dir_all(&options.data_dir).map_err(io_err("creating CRM_DATA_DIR"))?;
        let data_dir = fs::canonicalize(&options.data_dir).map_err(io_err("resolving CRM_DATA_DIR"))?;
        for opened in run_as.open_ancestors(&data_dir).map_err(io_err("opening parent directories"))? {
            tracing::warn!(directory = %opened, "made searchable (o+x) so the postgres user can reach CRM_DATA_DIR");
        }
        // Serialises initdb and start-up between crm-api processes sharing the directory.
        let lock = File::create(data_dir.join(".lock")).map_err(io_err("creating the lock file"))?;
        lock.lock().map_err(io_err("locking CRM_DATA_DIR"))?;

        let cluster = data_dir.join("pg");
        let password = password(&data_dir)?;
        if !cluster.join("PG_VERSION").exists() {
            init_cluster(run_as, &data_dir, &cluster, &password, options.durable)?;
        }
        let (port, mut owned) = match running_port(&cluster) {
            Some(port) => (port, None),
            None => {
                let (port, owned) = start(run_as, &data_dir, &cluster, options)?;
                (port, Some(owned))
            }
        };
        let server = format!("postgres://{SUPERUSER}:{password}@127.0.0.1:{port}");
        let postmaster = owned.as_mut().map(|o| &mut o.postmaster);
        wait_until_accepting(&format!("{server}/postgres"), port, postmaster, &data_dir).await?;
        create_database(&format!("{server}/postgres")).await?;
        drop(lock);
        Ok(EmbeddedPg { server, owned })
    }

    /// The connection string of the `crm` database.
    pub fn url(&self) -> String {
        self.database_url(DATABASE)
    }

    /// The connection string of another database on the same cluster.
    pub fn database_url(&self, database: &str) -> String {
        format!("{}/{database}", self.server)
    }

    /// Stops the cluster if we started it, once other crm-api processes using it (a CLI command
    /// run while `serve` was up) have finished, or after 10 seconds; waits for the shutdown.
    pub async fn stop(self) {
        if self.owned.is_some() {
            wait_for_other_clients(&self.database_url("postgres")).await;
        }
        let _ = tokio::task::spawn_blocking(move || self.stop_now()).await;
    }

    fn stop_now(self) {
        if let Some(mut owned) = self.owned {
            owned.watchdog.disarm();
            process::stop_postmaster(&mut owned.postmaster, Duration::from_secs(30));
            if let Some(dir) = owned.remove {
                let _ = fs::remove_dir_all(dir);
            }
        }
    }
}

fn password(data_dir: &Path) -> Result<String, EmbeddedError> {
    let path = data_dir.join("password");
    if let Ok(existing) = fs::read_to_string(&path) {
        return Ok(existing.trim().to_owned());
    }
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let password = hex::encode(bytes);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, password.as_bytes()))
        .map_err(io_err("writing the password file"))?;
    Ok(password)
}

fn init_cluster(
    run_as: RunAs,
    data_dir: &Path,
    cluster: &Path,
    password: &str,
    durable: bool,
) -> Result<(), EmbeddedError> {
    let bins = Binaries::find(None).ok_or(EmbeddedError::BinariesNotFound)?;
    // A directory without PG_VERSION is what a failed initdb leaves behind.
    if cluster.exists() {
        fs::remove_dir_all(cluster).map_err(io_err("removing a half-initialised cluster"))?;
    }
    fs::create_dir(cluster).map_err(io_err("creating the cluster directory"))?;
    fs::set_permissions(cluster, fs::Permissions::from_mode(0o700)).map_err(io_err("chmod cluster"))?;
    run_as.hand_over(cluster).map_err(io_err("handing the cluster to postgres"))?;
    let pwfile = data_dir.join("initdb.pw");
    fs::write(&pwfile, password).map_err(io_err("writing initdb's password file"))?;
    run_as.hand_over(&pwfile).map_err(io_err("handing initdb's password file over"))?;

    let mut cmd = run_as.command(&bins.initdb);
    cmd.arg("-D").arg(cluster).args(["-U", SUPERUSER, "-E", "UTF8", "--no-locale"]);
    cmd.arg(format!("--pwfile={}", pwfile.display())).arg("--auth=scram-sha-256");
    if !durable {
        cmd.arg("--no-sync");
    }
    tracing::info!(cluster = %cluster.display(), "initialising the bundled PostgreSQL cluster");
    let output = cmd.output().map_err(io_err(format!("running {}", bins.initdb.display())));
    let _ = fs::remove_file(&pwfile);
    let output = output?;
    if !output.status.success() {
        return Err(EmbeddedError::Setup(format!("initdb failed: {}", String::from_utf8_lossy(&output.stderr).trim())));
    }
    Ok(())
}

/// The port of a postmaster already serving this cluster, from its `postmaster.pid`.
fn running_port(cluster: &Path) -> Option<u16> {
    let pidfile = fs::read_to_string(cluster.join("postmaster.pid")).ok()?;
    let mut lines = pidfile.lines();
    let pid: i32 = lines.next()?.trim().parse().ok()?;
    let port: u16 = lines.nth(2)?.trim().parse().ok()?;
    process::is_alive(pid).then_some(port)
}

fn start(run_as: RunAs, data_dir: &Path, cluster: &Path, options: &Options) -> Result<(u16, Owned), EmbeddedError> {
    let major = fs::read_to_string(cluster.join("PG_VERSION")).ok();
    let bins = Binaries::find(major.as_deref().map(str::trim)).ok_or(EmbeddedError::BinariesNotFound)?;
    let port = match recorded_port(data_dir) {
        Some(port) => port,
        None => free_port().map_err(io_err("finding a free port"))?,
    };
    let log_path = data_dir.join("postgres.log");
    let log = OpenOptions::new().create(true).append(true).open(&log_path).map_err(io_err("opening postgres.log"))?;
    let log_err = log.try_clone().map_err(io_err("opening postgres.log"))?;

    let lz4 = options.tuning.is_some() && supports_lz4(run_as, &bins.postgres, cluster);
    let mut cmd = run_as.command(&bins.postgres);
    cmd.arg("-D").arg(cluster).arg("-p").arg(port.to_string());
    for setting in server_settings(options, lz4) {
        cmd.arg("-c").arg(setting);
    }
    // Its own process group: Ctrl-C in a terminal reaches only crm-api, which then drains
    // HTTP requests before stopping the database they need.
    cmd.stdin(Stdio::null()).stdout(log).stderr(log_err).process_group(0);
    let postmaster = cmd.spawn().map_err(io_err(format!("starting {}", bins.postgres.display())))?;
    fs::write(data_dir.join("port"), format!("{port}\n")).map_err(io_err("writing the port file"))?;
    let remove = options.remove_on_exit.then(|| data_dir.to_path_buf());
    let watchdog = Watchdog::spawn(postmaster.id(), remove.as_deref()).map_err(io_err("starting the watchdog"))?;
    tracing::info!(port, cluster = %cluster.display(), "started the bundled PostgreSQL");
    Ok((port, Owned { postmaster, watchdog, remove }))
}

/// The port the cluster used last time, if it is free: clients keep working across restarts.
fn recorded_port(data_dir: &Path) -> Option<u16> {
    let port: u16 = fs::read_to_string(data_dir.join("port")).ok()?.trim().parse().ok()?;
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).ok().map(|_| port)
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

async fn wait_for_other_clients(admin_url: &str) {
    let Ok(mut conn) = PgConnection::connect(admin_url).await else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let others: Result<i64, _> = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where application_name = 'crm-api' and pid <> pg_backend_pid()",
        )
        .fetch_one(&mut conn)
        .await;
        if !matches!(others, Ok(n) if n > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = conn.close().await;
}

async fn wait_until_accepting(
    admin_url: &str,
    port: u16,
    mut postmaster: Option<&mut Child>,
    data_dir: &Path,
) -> Result<(), EmbeddedError> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(Ok(Some(status))) = postmaster.as_mut().map(|p| p.try_wait()) {
            let log = fs::read_to_string(data_dir.join("postgres.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            return Err(EmbeddedError::Setup(format!(
                "the bundled PostgreSQL exited during start-up ({status}): {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            )));
        }
        let reachable = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok();
        let attempt = if reachable { Some(PgConnection::connect(admin_url).await) } else { None };
        match attempt {
            Some(Ok(conn)) => {
                let _ = conn.close().await;
                return Ok(());
            }
            _ if Instant::now() > deadline => {
                return Err(EmbeddedError::Setup(format!(
                    "the bundled PostgreSQL did not accept connections on port {port} within \
                     {START_TIMEOUT:?}; see postgres.log in CRM_DATA_DIR"
                )));
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn create_database(admin_url: &str) -> Result<(), EmbeddedError> {
    let setup = |e: sqlx::Error| EmbeddedError::Setup(format!("preparing the '{DATABASE}' database: {e}"));
    let mut conn = PgConnection::connect(admin_url).await.map_err(setup)?;
    let exists: bool = sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
        .bind(DATABASE)
        .fetch_one(&mut conn)
        .await
        .map_err(setup)?;
    if !exists {
        sqlx::query("create database crm").execute(&mut conn).await.map_err(setup)?;
    }
    conn.close().await.map_err(setup)
}
