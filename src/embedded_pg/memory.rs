//! How much memory the bundled cluster may plan for.
//!
//! PostgreSQL's own default of 128 MB shared buffers is sized for a laptop sharing its RAM
//! with everything else. Under batch writes our working set (records, links, their indexes,
//! the event feed) outgrows it quickly, and backends then evict dirty pages through the kernel
//! themselves: 1.1 million in 30 s of bench/run's batch load on a grown database (README,
//! "Performance").

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

/// Physical memory, or less when a cgroup (a container's, a systemd unit's) says so.
fn usable_bytes() -> Option<u64> {
    let total = fs::read_to_string("/proc/meminfo").ok().and_then(|m| mem_total(&m));
    let cgroups = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let limit =
        limit_files(&cgroups).iter().filter_map(|path| fs::read_to_string(path).ok()?.trim().parse::<u64>().ok()).min();
    match (total, limit) {
        (Some(total), Some(limit)) => Some(total.min(limit)),
        (total, limit) => total.or(limit),
    }
}

/// The memory limit files of this process's cgroups (`/proc/self/cgroup`) and every cgroup
/// above them: a parent's limit binds too. Inside a container with its own cgroup namespace
/// the path is `/`, its root. v2 writes no limit as "max" and v1 as a huge sentinel: the one
/// does not parse, the other loses to physical memory. Files that do not exist (a hierarchy not
/// mounted here) are skipped by the caller.
fn limit_files(cgroups: &str) -> Vec<String> {
    let mut files = Vec::new();
    for line in cgroups.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (fields.next(), fields.next(), fields.next()) else { continue };
        let (base, file) = if id == "0" && controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")
        } else {
            continue;
        };
        let mut dir = path.trim_end_matches('/');
        loop {
            files.push(format!("{base}{dir}/{file}"));
            match dir.rfind('/') {
                Some(parent) => dir = &dir[..parent],
                None => break,
            }
        }
    }
    files
}

fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
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

    #[test]
    fn limits_of_the_cgroup_and_every_parent() {
        assert_eq!(
            limit_files("0::/system.slice/crm.service\n"),
            [
                "/sys/fs/cgroup/system.slice/crm.service/memory.max",
                "/sys/fs/cgroup/system.slice/memory.max",
                "/sys/fs/cgroup/memory.max",
            ]
        );
        assert_eq!(
            limit_files("5:cpu,cpuacct:/a\n4:memory:/a/b\n0::/\n"),
            [
                "/sys/fs/cgroup/memory/a/b/memory.limit_in_bytes",
                "/sys/fs/cgroup/memory/a/memory.limit_in_bytes",
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "/sys/fs/cgroup/memory.max",
            ]
        );
    }
}
