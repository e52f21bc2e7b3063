//! End to end through the real binary: `serve` on the bundled database, and every CLI command.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{BIN, DataDir, alive, crm, free_port, get, ok, postmaster_pid, serve, serve_with, terminate, wait_ready};

#[test]
fn serve_on_the_bundled_database_with_the_cli_alongside() {
    let dir = DataDir::new("cli");
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
    let dir = DataDir::new("cli");
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

/// `shared_buffers`, `max_wal_size` and `wal_compression` of the bundled cluster, asked of
/// PostgreSQL itself, and the compression its build allows.
async fn tuning(dir: &std::path::Path) -> (String, String, String, String) {
    use sqlx::Connection;
    let port = std::fs::read_to_string(dir.join("port")).unwrap();
    let password = std::fs::read_to_string(dir.join("password")).unwrap();
    let url = format!("postgres://crm:{password}@127.0.0.1:{}/crm", port.trim());
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query_as(
        "select current_setting('shared_buffers'), current_setting('max_wal_size'),
                current_setting('wal_compression'),
                -- what the server should have chosen: lz4 where this build offers it
                (select case when 'lz4' = any(enumvals) then 'lz4' else 'off' end
                 from pg_settings where name = 'wal_compression')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_bundled_cluster_sizes_its_buffers_from_memory_and_its_wal_unless_told() {
    let dir = DataDir::new("cli");
    let port = free_port();
    let server = serve(&dir.0, port);
    wait_ready(port, Duration::from_secs(30));
    let derived = crm_api::embedded_pg::Tuning::new(None, None).shared_buffers_mb;
    assert!(derived >= 128, "{derived}");
    let (buffers, wal, compression, offered) = tuning(&dir.0).await;
    // PostgreSQL shows whole gigabytes as GB.
    let expected = if derived.is_multiple_of(1024) { format!("{}GB", derived / 1024) } else { format!("{derived}MB") };
    assert_eq!(buffers, expected);
    assert_eq!(wal, "4GB");
    // lz4 where the build has it (CI's Debian PostgreSQL 15 does); otherwise off.
    assert_eq!(compression, offered);
    terminate(server);

    let vars = [("CRM_PG_SHARED_BUFFERS_MB", "96"), ("CRM_PG_MAX_WAL_SIZE_MB", "512")];
    let server = serve_with(&dir.0, port, &vars);
    wait_ready(port, Duration::from_secs(30));
    let (buffers, wal, ..) = tuning(&dir.0).await;
    assert_eq!((buffers.as_str(), wal.as_str()), ("96MB", "512MB"));
    terminate(server);
}
