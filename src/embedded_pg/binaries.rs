//! Finding the PostgreSQL server binaries.

use std::path::{Path, PathBuf};

/// Where `initdb` and `postgres` live.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub initdb: PathBuf,
    pub postgres: PathBuf,
}

/// The message users see when no server binaries can be found.
pub const NOT_FOUND_HELP: &str = "PostgreSQL server binaries (initdb, postgres) were not found on PATH \
or in /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: `apt-get install postgresql`; \
macOS: `brew install postgresql@16`), or set DATABASE_URL to use an existing PostgreSQL server instead.";

impl Binaries {
    /// Looks in `preferred_major`'s Debian directory first (the version an existing cluster was
    /// made with), then on PATH, then in `/usr/lib/postgresql/*/bin`, newest major first.
    pub fn find(preferred_major: Option<&str>) -> Option<Binaries> {
        let debian = Path::new("/usr/lib/postgresql");
        let preferred = preferred_major.map(|major| debian.join(major).join("bin"));
        let on_path =
            std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
        preferred.into_iter().chain(on_path).chain(debian_dirs(debian)).find_map(|dir| Binaries::in_dir(&dir))
    }

    fn in_dir(dir: &Path) -> Option<Binaries> {
        let initdb = dir.join("initdb");
        let postgres = dir.join("postgres");
        (is_executable(&initdb) && is_executable(&postgres)).then_some(Binaries { initdb, postgres })
    }
}

fn debian_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut majors: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .collect();
    majors.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    majors.into_iter().map(|(_, dir)| dir).collect()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
