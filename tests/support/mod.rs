//! Helpers for tests that run the real `crm-api` binary on its bundled database.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub const BIN: &str = env!("CARGO_BIN_EXE_crm-api");

/// A temporary `CRM_DATA_DIR`, removed on drop.
pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn new(kind: &str) -> DataDir {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        DataDir(std::env::temp_dir().join(format!("crm-api-{kind}-{}-{suffix}", std::process::id())))
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs a CLI command on the data directory.
pub fn crm(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("CRM_DATA_DIR", dir)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// Runs a command that must succeed and returns its trimmed stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let output = crm(dir, args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "crm-api {args:?} failed: {stderr}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Starts `crm-api serve` on the data directory and port.
pub fn serve(dir: &Path, port: u16) -> Child {
    serve_with(dir, port, &[])
}

/// Starts `crm-api serve` with extra environment variables.
pub fn serve_with(dir: &Path, port: u16, vars: &[(&str, &str)]) -> Child {
    Command::new(BIN)
        .arg("serve")
        .envs(vars.iter().copied())
        .env("CRM_DATA_DIR", dir)
        .env("CRM_BIND", format!("127.0.0.1:{port}"))
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// What a minimal HTTP/1.1 exchange produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Exchange {
    /// The connection was refused: the server no longer accepts.
    Refused,
    /// Connected, but the connection closed before a complete response.
    Closed,
    /// A complete response: status and body.
    Response(u16, String),
}

/// One request on a fresh connection (`Connection: close`).
pub fn request(port: u16, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Exchange {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return Exchange::Refused };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let body = body.unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(body.as_bytes())).is_err() {
        return Exchange::Closed;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let Some((head, body)) = response.split_once("\r\n\r\n") else { return Exchange::Closed };
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().ok()))
        .flatten();
    match (status, length) {
        (Some(status), Some(length)) if body.len() >= length => Exchange::Response(status, body[..length].to_owned()),
        (Some(status), None) => Exchange::Response(status, body.to_owned()),
        _ => Exchange::Closed,
    }
}

/// A request that must get a 2xx; returns the parsed body.
pub fn json(port: u16, method: &str, path: &str, token: &str, body: Option<&str>) -> serde_json::Value {
    match request(port, method, path, Some(token), body) {
        Exchange::Response(status, body) if (200..300).contains(&status) => serde_json::from_str(&body).unwrap(),
        other => panic!("{method} {path}: {other:?}"),
    }
}

/// A minimal GET: status and body.
pub fn get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    match request(port, "GET", path, token, None) {
        Exchange::Response(status, body) => Some((status, body)),
        _ => None,
    }
}

pub fn wait_ready(port: u16, within: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if matches!(get(port, "/readyz", None), Some((200, _))) {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server not ready within {within:?}");
}

pub fn postmaster_pid(dir: &Path) -> Option<i32> {
    let pidfile = std::fs::read_to_string(dir.join("pg/postmaster.pid")).ok()?;
    pidfile.lines().next()?.trim().parse().ok()
}

pub fn alive(pid: i32) -> bool {
    matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(nix::errno::Errno::EPERM))
}

/// Sends SIGTERM and asserts a clean exit.
pub fn terminate(mut child: Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");
}
