//! Running `initdb` and `postgres` as the right user, and stopping them reliably.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User};

/// The OS identity the server processes run under.
#[derive(Debug, Clone, Copy)]
pub enum RunAs {
    /// Ourselves: we are not root.
    Current,
    /// The `postgres` system user, because `initdb` and `postgres` refuse to run as root.
    PostgresUser { uid: Uid, gid: Gid },
}

impl RunAs {
    /// Decides from our effective uid; as root a `postgres` system user must exist.
    pub fn detect() -> Result<RunAs, String> {
        if !Uid::effective().is_root() {
            return Ok(RunAs::Current);
        }
        match User::from_name("postgres") {
            Ok(Some(user)) => Ok(RunAs::PostgresUser { uid: user.uid, gid: user.gid }),
            _ => Err("running as root needs the 'postgres' system user (the postgresql package \
                      creates it), because initdb and postgres refuse to run as root"
                .into()),
        }
    }

    /// A command that runs as this identity, from `/` so an unreadable cwd does not matter.
    pub fn command(self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir("/").env_remove("PGDATA");
        if let RunAs::PostgresUser { uid, gid } = self {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
        cmd
    }

    /// Gives a path we created to the identity the server runs as.
    pub fn hand_over(self, path: &Path) -> io::Result<()> {
        if let RunAs::PostgresUser { uid, gid } = self {
            std::os::unix::fs::chown(path, Some(uid.as_raw()), Some(gid.as_raw()))?;
        }
        Ok(())
    }

    /// As root, makes every ancestor of `dir` searchable by others (o+x, not readable), so the
    /// `postgres` user can reach a data directory under, say, `/root`. Returns what it changed.
    pub fn open_ancestors(self, dir: &Path) -> io::Result<Vec<String>> {
        let mut changed = Vec::new();
        if matches!(self, RunAs::Current) {
            return Ok(changed);
        }
        for ancestor in dir.ancestors().skip(1) {
            let meta = std::fs::metadata(ancestor)?;
            let mode = meta.permissions().mode();
            if mode & 0o001 == 0 {
                let perms = std::fs::Permissions::from_mode((mode & 0o7777) | 0o001);
                std::fs::set_permissions(ancestor, perms)?;
                changed.push(ancestor.display().to_string());
            }
        }
        Ok(changed)
    }
}

/// Whether a process with this pid exists (ours or another user's).
pub fn is_alive(pid: i32) -> bool {
    matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(nix::errno::Errno::EPERM))
}

/// Asks the postmaster for a fast shutdown and waits for it to exit.
pub fn stop_postmaster(child: &mut Child, timeout: Duration) {
    let pid = Pid::from_raw(child.id() as i32);
    let _ = kill(pid, Signal::SIGINT);
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Fast shutdown hung; immediate shutdown still leaves a consistent cluster (WAL replay).
    let _ = kill(pid, Signal::SIGQUIT);
    let _ = child.wait();
}

/// A helper process that stops the postmaster when our process ends for any reason,
/// even SIGKILL: it waits for EOF on a pipe only we hold, which the kernel closes when we die.
pub struct Watchdog {
    child: Child,
    _pipe: ChildStdin,
}

impl Watchdog {
    /// Starts the watchdog for `postmaster_pid`; with `remove`, it deletes that directory after.
    pub fn spawn(postmaster_pid: u32, remove: Option<&Path>) -> io::Result<Watchdog> {
        const SCRIPT: &str = r#"cat >/dev/null
kill -INT "$1" 2>/dev/null
if [ -n "$2" ]; then
  while kill -0 "$1" 2>/dev/null; do sleep 0.1; done
  rm -rf "$2"
fi"#;
        let mut child = Command::new("sh")
            .args(["-c", SCRIPT, "crm-api-pg-watchdog", &postmaster_pid.to_string()])
            .arg(remove.map(|p| p.as_os_str()).unwrap_or_default())
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so a terminal's Ctrl-C reaches only us.
            .process_group(0)
            .spawn()?;
        let pipe = child.stdin.take().expect("stdin was piped");
        Ok(Watchdog { child, _pipe: pipe })
    }

    /// Stands the watchdog down because we are stopping the server ourselves.
    pub fn disarm(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
