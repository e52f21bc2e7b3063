//! How much memory the bundled cluster may plan for.
//!
//! PostgreSQL's own default of 128 MB shared buffers is sized for a laptop sharing its RAM
//! with everything else. Under batch writes our working set (records, links, their indexes,
//! the event feed) outgrows it quickly, and backends then spend a fifth of their CPU
//! evicting dirty pages through the kernel themselves (measured with `perf` in bench/run's
//! batch scenario: 2M backend writes, `copy_folio_from_iter_atomic` the top kernel symbol).

use std::fs;

const MIB: u64 = 1024 * 1024;
/// PostgreSQL's own default, the floor: less only slows it down.
const FLOOR_MB: u32 = 128;
/// Past a few GB the page cache serves as well and a larger pool only lengthens checkpoints.
const CEILING_MB: u32 = 8192;

/// A quarter of the memory this process may use (the usual PostgreSQL guidance), within
/// [128 MB, 8 GB]; 128 MB when the amount cannot be read.
pub fn default_shared_buffers_mb() -> u32 {
    usable_bytes().map_or(FLOOR_MB, shared_buffers_for)
}

fn shared_buffers_for(bytes: u64) -> u32 {
    u32::try_from(bytes / 4 / MIB).unwrap_or(u32::MAX).clamp(FLOOR_MB, CEILING_MB)
}

/// Physical memory, or less when a cgroup (a container's limit) says so.
fn usable_bytes() -> Option<u64> {
    let total = fs::read_to_string("/proc/meminfo").ok().and_then(|m| mem_total(&m));
    // cgroup v2, then v1. No limit reads "max" (v2, does not parse) or a huge sentinel (v1, loses to min).
    let limit = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .find_map(|path| fs::read_to_string(path).ok()?.trim().parse::<u64>().ok());
    match (total, limit) {
        (Some(total), Some(limit)) => Some(total.min(limit)),
        (total, limit) => total.or(limit),
    }
}

fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_within_bounds() {
        assert_eq!(shared_buffers_for(24 * 1024 * MIB), 6144);
        assert_eq!(shared_buffers_for(256 * MIB), 128);
        assert_eq!(shared_buffers_for(1024 * 1024 * MIB), 8192);
        assert_eq!(shared_buffers_for(u64::MAX), 8192);
    }

    #[test]
    fn reads_mem_total() {
        let meminfo = "MemTotal:       24683664 kB\nMemFree:        23000000 kB\n";
        assert_eq!(mem_total(meminfo), Some(24683664 * 1024));
        assert_eq!(mem_total("garbage"), None);
    }
}
