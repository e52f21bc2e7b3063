//! The settings a cluster we start runs with, on PostgreSQL's command line (so they win over
//! `ALTER SYSTEM` and `postgresql.conf`).

use std::path::Path;
use std::process::Stdio;

use super::Options;
use super::memory;
use super::process::RunAs;

/// Of `max_wal_size`, MB. Under sustained writes PostgreSQL's 1 GB forced a checkpoint every
/// 2.5 s, and after each one the first change to every page logs the whole page: 1.6 full-page
/// images per link change, 6 GB of WAL in 30 s of bench/run's batch load on a grown database.
/// With 4 GB and lz4: 2 GB of WAL in those 30 s and 15-20% more batches per second (README,
/// "Performance").
const MAX_WAL_SIZE_MB: u32 = 4096;

/// What the bundled cluster is given beyond PostgreSQL's defaults, which are sized for a laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// `shared_buffers`, MB (`CRM_PG_SHARED_BUFFERS_MB`).
    pub shared_buffers_mb: u32,
    /// `max_wal_size`, MB (`CRM_PG_MAX_WAL_SIZE_MB`).
    pub max_wal_size_mb: u32,
}

impl Tuning {
    /// The sizes asked for, and for the rest the defaults: a quarter of the memory as shared
    /// buffers (`memory`), 4 GB of WAL.
    pub fn new(shared_buffers_mb: Option<u32>, max_wal_size_mb: Option<u32>) -> Tuning {
        Tuning {
            shared_buffers_mb: shared_buffers_mb.unwrap_or_else(memory::default_shared_buffers_mb),
            max_wal_size_mb: max_wal_size_mb.unwrap_or(MAX_WAL_SIZE_MB),
        }
    }
}

/// Whether this build of PostgreSQL compresses WAL with lz4 (15 and later, built with it):
/// asked of the binary itself (`-C` prints a setting and exits), as a bad value would stop it
/// from starting.
pub fn supports_lz4(run_as: RunAs, postgres: &Path, cluster: &Path) -> bool {
    let mut probe = run_as.command(postgres);
    probe.arg("-D").arg(cluster).args(["-C", "wal_compression", "-c", "wal_compression=lz4"]);
    probe.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let supported = probe.status().is_ok_and(|status| status.success());
    if !supported {
        tracing::info!(postgres = %postgres.display(), "this PostgreSQL build has no lz4: WAL stays uncompressed");
    }
    supported
}

pub fn server_settings(options: &Options, lz4: bool) -> Vec<String> {
    let mut settings = vec![
        "listen_addresses=127.0.0.1".to_owned(),
        // No Unix socket: its default directory is not writable for a normal user.
        "unix_socket_directories=".to_owned(),
        format!("max_connections={}", options.max_connections),
    ];
    if let Some(tuning) = options.tuning {
        // wal_buffers follows (1/32 of it, up to one 16 MB WAL segment).
        settings.push(format!("shared_buffers={}MB", tuning.shared_buffers_mb));
        settings.push(format!("max_wal_size={}MB", tuning.max_wal_size_mb));
        if lz4 {
            settings.push("wal_compression=lz4".to_owned());
        }
    }
    if !options.durable {
        settings.extend(["fsync=off", "synchronous_commit=off", "full_page_writes=off"].map(String::from));
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asked_sizes_win_over_the_defaults() {
        assert_eq!(Tuning::new(Some(96), Some(512)), Tuning { shared_buffers_mb: 96, max_wal_size_mb: 512 });
        let derived = Tuning::new(None, None);
        assert!(derived.shared_buffers_mb >= 128 && derived.max_wal_size_mb == 4096, "{derived:?}");
    }
}
