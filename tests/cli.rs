//! End to end through the real binary: `serve` on the bundled database, and every CLI command.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_crm-api");

struct DataDir(PathBuf);

impl DataDir {
    fn new() -> DataDir {
        let dir = std::env::temp_dir().join(format!("crm-api-cli-{}-{}", std::process::id(), rand_suffix()));
        DataDir(dir)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn crm(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("CRM_DATA_DIR", dir)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// Runs a command that must succeed and returns its trimmed stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    let output = crm(dir, args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "crm-api {args:?} failed: {stderr}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn serve(dir: &Path, port: u16) -> Child {
    Command::new(BIN)
        .arg("serve")
        .env("CRM_DATA_DIR", dir)
        .env("CRM_BIND", format!("127.0.0.1:{port}"))
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A minimal HTTP/1.1 GET: status code and body.
fn get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

fn wait_ready(port: u16, within: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if matches!(get(port, "/readyz", None), Some((200, _))) {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server not ready within {within:?}");
}

fn postmaster_pid(dir: &Path) -> Option<i32> {
    let pidfile = std::fs::read_to_string(dir.join("pg/postmaster.pid")).ok()?;
    pidfile.lines().next()?.trim().parse().ok()
}

fn alive(pid: i32) -> bool {
    matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(nix::errno::Errno::EPERM))
}

fn terminate(mut child: Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");
}

#[test]
fn serve_on_the_bundled_database_with_the_cli_alongside() {
    let dir = DataDir::new();
    let port = free_port();
    let server = serve(&dir.0, port);
    let took = wait_ready(port, Duration::from_secs(30));
    assert!(took < Duration::from_secs(10), "first start took {took:?}");
    let pg = postmaster_pid(&dir.0).expect("the bundled cluster runs");

    // The CLI reuses the running cluster.
    let org = ok(&dir.0, &["org", "create", "acme", "--name", "Acme Inc"]);
    assert!(uuid::Uuid::parse_str(&org).is_ok(), "{org}");
    ok(&dir.0, &["org", "create", "globex"]);
    let lena = ok(
        &dir.0,
        &[
            "member",
            "add",
            "--org",
            "acme",
            "--email",
            "lena@acme.example",
            "--first-name",
            "Lena",
            "--last-name",
            "Meier",
            "--role",
            "owner",
        ],
    );
    let max = ok(&dir.0, &["member", "add", "--org", "acme", "--email", "max@acme.example"]);
    ok(&dir.0, &["member", "add", "--org", "globex", "--email", "gina@globex.example"]);
    ok(&dir.0, &["member", "deactivate", "--org", "acme", &max]);
    let token = ok(&dir.0, &["token", "create", "--org", "acme", "--scope", "users:read", "--name", "sync"]);
    assert!(token.starts_with("crm_"), "{token}");

    let (status, body) = get(port, "/v2/organizations/users", Some(&token)).unwrap();
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let members = json["collection"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{body}");
    assert_eq!(members[0]["uuid"], lena);
    assert_eq!(members[0]["name"], "Lena Meier");
    assert_eq!(members[1]["isActive"], false);

    let listed = ok(&dir.0, &["token", "list", "--org", "acme"]);
    assert!(!listed.contains(&token[token.len() - 64..]), "token list leaks the secret");
    let token_id = listed.split('\t').next().unwrap().to_owned();
    assert!(listed.contains("sync") && listed.contains("active"), "{listed}");
    ok(&dir.0, &["token", "revoke", "--org", "acme", &token_id]);
    assert!(ok(&dir.0, &["token", "list", "--org", "acme"]).contains("revoked"));
    assert_eq!(get(port, "/v2/organizations/users", Some(&token)).unwrap().0, 401);

    // Errors go to stderr with a non-zero exit.
    let duplicate = crm(&dir.0, &["org", "create", "acme"]);
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
    assert!(!crm(&dir.0, &["org", "create", "Bad Slug"]).status.success());
    assert!(!crm(&dir.0, &["member", "add", "--org", "nope", "--email", "a@b.example"]).status.success());

    terminate(server);
    assert!(!alive(pg), "postgres outlived the server");

    // A restart keeps the data.
    let server = serve(&dir.0, port);
    wait_ready(port, Duration::from_secs(30));
    assert!(ok(&dir.0, &["token", "list", "--org", "acme"]).contains("revoked"));
    let pg = postmaster_pid(&dir.0).unwrap();
    terminate(server);
    assert!(!alive(pg), "postgres outlived the restarted server");
}

#[test]
fn two_instances_starting_at_once_both_succeed() {
    let dir = DataDir::new();
    let spawn = || {
        Command::new(BIN)
            .arg("migrate")
            .env("CRM_DATA_DIR", &dir.0)
            .env_remove("DATABASE_URL")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert_eq!(ok(&dir.0, &["org", "create", "acme"]).len(), 36);
    let pid = postmaster_pid(&dir.0);
    assert!(pid.is_none_or(|p| !alive(p)), "a CLI command left postgres running");
}

#[test]
fn an_unusable_data_dir_is_a_clear_error() {
    let output = Command::new(BIN)
        .arg("migrate")
        .env("CRM_DATA_DIR", "/proc/version/not-a-dir")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("CRM_DATA_DIR"));
}
