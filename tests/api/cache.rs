//! Cached tokens and schemas stay correct across several server processes on one database.

use axum::http::StatusCode;
use crm_api::db;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_token_revoked_elsewhere_stops_working_within_a_second() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let other = app.second_server().await;
    // Warm the other server's cache.
    assert_eq!(other.get("/v2/organizations/users", &org.token).await.status, StatusCode::OK);
    let token_id = db::tokens::list(&app.pool, org.id).await.unwrap()[0].token_id;
    db::tokens::revoke(&app.pool, org.id, token_id).await.unwrap();
    let revoked = other
        .within_a_second(|| async {
            other.get("/v2/organizations/users", &org.token).await.status == StatusCode::UNAUTHORIZED
        })
        .await;
    assert!(revoked, "the other server still accepts a revoked token");
}

#[tokio::test]
async fn schema_changes_made_through_one_server_reach_the_other() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let other = app.second_server().await;
    let order = app.record(&org, "orders", json!({})).await;
    let product = app.record(&org, "products", json!({})).await;
    let path = format!("/v2/crm/orders/{order}/relation");
    let body = json!({"attributeSlug": "products", "add": [product]});
    assert_eq!(other.patch(&path, &org.token, body.clone()).await.status, StatusCode::OK);
    // Archive through the first server; the second must refuse within a second.
    app.patch("/v2/crm/objects/orders/attributes/products", &org.token, json!({"isArchived": true})).await;
    let refused = other
        .within_a_second(|| async {
            other.patch(&path, &org.token, body.clone()).await.status == StatusCode::BAD_REQUEST
        })
        .await;
    assert!(refused, "the other server still writes an archived attribute");
    // A new attribute added through the first server is usable on the second.
    app.attribute(&org, "orders", json!({"label": "Note", "type": "text", "isUnique": false})).await;
    let accepted = other
        .within_a_second(|| async {
            other.patch(&format!("/v2/crm/orders/{order}"), &org.token, json!({"note": "hi"})).await.status
                == StatusCode::OK
        })
        .await;
    assert!(accepted, "the other server does not know the new attribute");
}

#[tokio::test]
async fn a_member_deactivated_elsewhere_cannot_be_linked() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let other = app.second_server().await;
    let max = app.member(org.id, "max@acme.example").await;
    let deal = app.record(&org, "deals", json!({})).await;
    db::members::deactivate(&app.pool, org.id, max).await.unwrap();
    let response = other
        .patch(&format!("/v2/crm/deals/{deal}/relation"), &org.token, json!({"attributeSlug": "owners", "add": [max]}))
        .await;
    assert_eq!(response.body["errors"][0]["code"], "inactive_member");
}

/// Whether a request with `token` is answered 401 while `api_tokens` is locked against every
/// reader, i.e. without a query.
async fn refused_without_a_query(app: &crate::helpers::TestApp, token: &str) -> bool {
    use sqlx::Connection;
    let mut locker = sqlx::PgConnection::connect(&app.database_url).await.unwrap();
    let mut tx = locker.begin().await.unwrap();
    sqlx::query("lock table api_tokens in access exclusive mode").execute(&mut *tx).await.unwrap();
    let answer =
        tokio::time::timeout(std::time::Duration::from_secs(2), app.get("/v2/organizations/users", token)).await;
    tx.rollback().await.unwrap();
    matches!(answer, Ok(response) if response.status == StatusCode::UNAUTHORIZED)
}

#[tokio::test]
async fn unknown_token_ids_are_remembered_until_such_a_token_is_created() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let made_up = crm_api::domain::token::NewToken::generate();
    let mut remembered = false;
    // The cache works once its listener is connected, a moment after start.
    for _ in 0..20 {
        assert_eq!(app.get("/v2/organizations/users", &made_up.plaintext).await.status, StatusCode::UNAUTHORIZED);
        if refused_without_a_query(&app, &made_up.plaintext).await {
            remembered = true;
            break;
        }
    }
    assert!(remembered, "every unknown token id costs a query");
    let scopes = crm_api::domain::scope::Scopes::new([crm_api::domain::scope::Scope::UsersRead]);
    db::tokens::create(&app.pool, org.id, &made_up, None, &scopes).await.unwrap();
    let accepted = app
        .within_a_second(|| async {
            app.get("/v2/organizations/users", &made_up.plaintext).await.status == StatusCode::OK
        })
        .await;
    assert!(accepted, "a token created after its id was found unknown is still refused");
}
