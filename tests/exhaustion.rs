//! No single client exhausts the server: idle and slowloris sockets, slow and oversized bodies,
//! huge error bodies. Through the real binary on its bundled database. Time bounds are generous
//! (they say "not stuck", not "fast").

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use support::{DataDir, Exchange, free_port, get, json, ok, request, serve_with, terminate, wait_ready};

/// The status of the response on `stream`, reading until the server closes or 30 s pass.
fn status_of(stream: &mut TcpStream) -> Option<u16> {
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    text.split(' ').nth(1).and_then(|s| s.parse().ok())
}

/// Seconds until the server closes `stream` (which sends nothing more), at most 30.
fn closed_within(stream: &mut TcpStream) -> Duration {
    let start = Instant::now();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut sink = [0u8; 1024];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    start.elapsed()
}

fn raise_own_fd_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    hard
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn slow_clients_are_cut_off_and_oversized_bodies_get_a_readable_413() {
    let dir = DataDir::new("cli");
    let port = free_port();
    let vars = [("CRM_HEADER_TIMEOUT_SECS", "2"), ("CRM_BODY_TIMEOUT_SECS", "2")];
    let server = serve_with(&dir.0, port, &vars);
    wait_ready(port, Duration::from_secs(30));
    ok(&dir.0, &["org", "create", "acme"]);
    let token = ok(&dir.0, &["token", "create", "--org", "acme", "--scope", "crm:write"]);

    // Idle, and headers sent a byte at a time: both closed by the header timeout.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert!(closed_within(&mut idle) < Duration::from_secs(20));
    let mut slowloris = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slowloris.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    let start = Instant::now();
    while slowloris.write_all(b"X").is_ok() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(start.elapsed() < Duration::from_secs(20), "a slow header was never cut off");

    // A body that stops arriving: 408, not the 503 of the request timeout.
    let mut slow_body = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST /v2/crm/objects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"slug\""
    );
    slow_body.write_all(head.as_bytes()).unwrap();
    assert_eq!(status_of(&mut slow_body), Some(408));

    // 2 MiB written in full before reading, as Python's urllib does: every one reads its 413.
    let body = vec![b' '; 2 * 1024 * 1024];
    for _ in 0..20 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let head = format!(
            "POST /v2/crm/objects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).expect("the server reads the whole body before closing");
        assert_eq!(status_of(&mut stream), Some(413));
    }
    assert_eq!(get(port, "/healthz", None).map(|r| r.0), Some(200));
    terminate(server);
}

#[test]
fn huge_error_bodies_stay_small_and_memory_stays_flat() {
    let dir = DataDir::new("cli");
    let port = free_port();
    let server = serve_with(&dir.0, port, &[]);
    wait_ready(port, Duration::from_secs(30));
    ok(&dir.0, &["org", "create", "acme"]);
    let token = ok(&dir.0, &["token", "create", "--org", "acme", "--scope", "crm:write"]);
    let object = json!({"slug": "wides", "singularName": "Wide", "pluralName": "Wides"}).to_string();
    json(port, "POST", "/v2/crm/objects", &token, Some(&object));
    for i in 0..100 {
        let attribute = json!({"label": format!("Field {i}"), "type": "text", "isUnique": false}).to_string();
        json(port, "POST", "/v2/crm/objects/wides/attributes", &token, Some(&attribute));
    }
    let before = peak_rss_kib(server.id());
    // The bodies: 10,000 unknown keys, and a body of unknown keys just under 1 MiB.
    for (count, width) in [(10_000, 8), (90_000, 5)] {
        let keys = (0..count).map(|i| (format!("{i:0width$}"), Value::from(1)));
        let body = Value::Object(keys.collect::<Map<_, _>>()).to_string();
        for _ in 0..5 {
            match request(port, "POST", "/v2/crm/wides", Some(&token), Some(&body)) {
                Exchange::Response(400, text) => assert!(text.len() < 64 * 1024, "{} bytes", text.len()),
                other => panic!("{other:?}"),
            }
        }
    }
    let after = peak_rss_kib(server.id());
    assert!(after < 256 * 1024 && after < before + 128 * 1024, "peak RSS {before} KiB, then {after} KiB");
    terminate(server);
}

#[test]
fn thousands_of_idle_and_slow_sockets_leave_probes_and_requests_answering() {
    let files = raise_own_fd_limit();
    let cap: usize = 2_000.min(files as usize / 4);
    let dir = DataDir::new("cli");
    let port = free_port();
    let cap_text = cap.to_string();
    let vars = [("CRM_HEADER_TIMEOUT_SECS", "120"), ("CRM_MAX_CONNECTIONS", cap_text.as_str())];
    let server = serve_with(&dir.0, port, &vars);
    wait_ready(port, Duration::from_secs(30));
    ok(&dir.0, &["org", "create", "acme"]);
    let token = ok(&dir.0, &["token", "create", "--org", "acme", "--scope", "users:read"]);
    let answers = |path: &str, token: Option<&str>| {
        let start = Instant::now();
        let status = get(port, path, token).map(|r| r.0);
        (status, start.elapsed())
    };

    // Below the cap: idle sockets and half-sent headers; everyone else is served as usual.
    let mut held: Vec<TcpStream> = (0..cap / 2).map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
    for _ in 0..cap / 4 {
        let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
        slow.write_all(b"POST /v2/crm/objects HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
        held.push(slow);
    }
    let (status, took) = answers("/v2/organizations/users", Some(&token));
    assert_eq!(status, Some(200));
    assert!(took < Duration::from_secs(5), "{took:?}");

    // Past the cap: probes still answer (from the reserve); other requests get a readable 503.
    while held.len() < cap + 8 {
        held.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
    }
    std::thread::sleep(Duration::from_millis(500));
    let (status, took) = answers("/healthz", None);
    assert_eq!(status, Some(200));
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(answers("/v2/organizations/users", Some(&token)).0, Some(503));
    // Connections beyond the reserve too are closed at once rather than left hanging.
    for _ in 0..100 {
        held.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
    }
    assert!(closed_within(held.last_mut().unwrap()) < Duration::from_secs(20));

    drop(held);
    let start = Instant::now();
    while answers("/v2/organizations/users", Some(&token)).0 != Some(200) {
        assert!(start.elapsed() < Duration::from_secs(20), "connections were not released");
        std::thread::sleep(Duration::from_millis(100));
    }
    terminate(server);
}
