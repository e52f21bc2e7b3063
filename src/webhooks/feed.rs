//! Where in the change feed a new subscription starts.

use sqlx::PgConnection;

/// The feed's head now, as stored in a subscription's cursor: every transaction visible in
/// this snapshot is behind it, so delivery starts with what commits from now on.
pub async fn head(conn: &mut PgConnection) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select pg_current_snapshot()::text").fetch_one(conn).await
}
