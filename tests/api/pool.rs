//! What a connection going back to the pool must have finished (vendor/README.md: the pool
//! flushes a released connection with nothing queued instead of pinging it): a dropped
//! transaction is rolled back then, not when the connection is next used; a cancelled query's
//! replies are read; a broken connection is closed instead of handed out again; and no caller
//! dropped during BEGIN leaves a connection inside a transaction (`db::begin`).

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use crm_api::db;
use sqlx::{Connection, PgConnection};

use crate::helpers::spawn_app;

const LOCK: i64 = 424_242;

/// Whether `sql`, a boolean query of one bigint, answers true on `conn` within 10 s (what it
/// waits for takes milliseconds; a state that never comes would stay false for good).
async fn within_10s(conn: &mut PgConnection, sql: &'static str, arg: i64) -> bool {
    for _ in 0..200 {
        if sqlx::query_scalar::<_, bool>(sql).bind(arg).fetch_one(&mut *conn).await.unwrap() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn a_transaction_dropped_unfinished_is_rolled_back_as_its_connection_returns() {
    let app = spawn_app().await;
    let pool = db::connect(&app.database_url, 1).await.unwrap();
    let mut other = PgConnection::connect(&app.database_url).await.unwrap();
    {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("select pg_advisory_xact_lock($1)").bind(LOCK).execute(&mut *tx).await.unwrap();
        // Dropped here, neither committed nor rolled back: sqlx queues its ROLLBACK.
    }
    // The pool's one connection is not used again, so only its release can send the ROLLBACK.
    let released = within_10s(&mut other, "select pg_try_advisory_lock($1)", LOCK).await;
    assert!(released, "the dropped transaction still held its lock 10 s after its connection was released");
    let one: i32 = sqlx::query_scalar("select 1").fetch_one(&pool).await.unwrap();
    assert_eq!(one, 1);
}

#[tokio::test]
async fn a_query_cancelled_mid_flight_leaves_its_connection_fit_for_the_next() {
    let app = spawn_app().await;
    let pool = db::connect(&app.database_url, 1).await.unwrap();
    let cancelled =
        tokio::time::timeout(Duration::from_millis(50), sqlx::query("select pg_sleep(0.5)").execute(&pool)).await;
    assert!(cancelled.is_err(), "the query was meant to be cancelled");
    // The same connection (the pool has one) answers the next query, not the cancelled one.
    let answer: i32 = sqlx::query_scalar("select 41 + 1").fetch_one(&pool).await.unwrap();
    assert_eq!(answer, 42);
}

#[tokio::test]
async fn a_connection_that_broke_is_closed_at_its_release_not_handed_out_again() {
    let app = spawn_app().await;
    let pool = db::connect(&app.database_url, 1).await.unwrap();
    let mut other = PgConnection::connect(&app.database_url).await.unwrap();
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()").fetch_one(&pool).await.unwrap();
    let killed: bool =
        sqlx::query_scalar("select pg_terminate_backend($1)").bind(pid).fetch_one(&mut other).await.unwrap();
    assert!(killed);
    let gone = "select not exists (select from pg_stat_activity where pid = $1)";
    assert!(within_10s(&mut other, gone, pid.into()).await, "the terminated backend did not exit");
    // The pool does not test connections before use, so the first query meets the broken one.
    assert!(sqlx::query("select 1").execute(&pool).await.is_err(), "a terminated backend answered");
    let next: i32 = sqlx::query_scalar("select pg_backend_pid()").fetch_one(&pool).await.unwrap();
    assert_ne!(next, pid, "the broken connection went back into the pool");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_whose_caller_gives_up_while_it_begins_leaves_no_connection_inside_it() {
    let app = spawn_app().await;
    let pool = db::connect(&app.database_url, 1).await.unwrap();
    let mut other = PgConnection::connect(&app.database_url).await.unwrap();
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()").fetch_one(&pool).await.unwrap();
    // Callers dropped at every point of BEGIN's round trip, as a request is when its client
    // hangs up or it times out. After each, the pool's one connection must settle outside any
    // transaction (it settles in milliseconds; left inside one, it would stay there for good).
    for i in 0..60 {
        let polls = i % 4 + 1;
        {
            let mut begin = std::pin::pin!(db::begin(&pool));
            for _ in 0..polls {
                let ready = std::future::poll_fn(|cx| Poll::Ready(begin.as_mut().poll(cx).is_ready())).await;
                if ready {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        let outside =
            "select coalesce((select state from pg_stat_activity where pid = $1), '') <> 'idle in transaction'";
        let settled = within_10s(&mut other, outside, pid.into()).await;
        assert!(settled, "a caller dropped after {polls} polls of BEGIN left its connection in an open transaction");
    }
}
