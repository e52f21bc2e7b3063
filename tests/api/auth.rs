use axum::body::Body;
use axum::http::{Request, StatusCode};
use crm_api::db;
use crm_api::domain::scope::Scope;

use crate::helpers::{TestApp, spawn_app};

const USERS: &str = "/v2/organizations/users";

async fn with_authorization(app: &TestApp, value: &str) -> crate::helpers::TestResponse {
    app.send(Request::get(USERS).header("authorization", value).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn missing_token_is_401_with_www_authenticate() {
    let app = spawn_app().await;
    let response = app.send(Request::get(USERS).body(Body::empty()).unwrap()).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers["www-authenticate"], "Bearer");
    assert_eq!(response.code(), "missing_token");
    assert_eq!(response.body["success"], false);
    assert_eq!(response.body["status"], 401);
}

#[tokio::test]
async fn malformed_and_unknown_tokens_are_401() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let unknown = crm_api::domain::token::NewToken::generate().plaintext;
    let last = if org.token.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &org.token[..org.token.len() - 1]);
    let cases = [
        "Bearer ".to_owned(),
        "Bearer".to_owned(),
        format!("Basic {}", org.token),
        format!("Bearer xyz_{}", &org.token[4..]),
        format!("Bearer {unknown}"),
        format!("Bearer {tampered}"),
        "Bearer ' or 1=1 --".to_owned(),
    ];
    for value in cases {
        let response = with_authorization(&app, &value).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{value}");
        assert_eq!(response.code(), "invalid_token", "{value}");
        assert!(response.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let response = with_authorization(&app, &format!("bearer {}", org.token)).await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_token_is_401() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    assert_eq!(app.get(USERS, &org.token).await.status, StatusCode::OK);
    let listed = db::tokens::list(&app.pool, org.id).await.unwrap();
    assert!(db::tokens::revoke(&app.pool, org.id, listed[0].token_id).await.unwrap());
    // Revocation (by the CLI, another process) reaches the token cache through a notification.
    let revoked =
        app.within_a_second(|| async { app.get(USERS, &org.token).await.status == StatusCode::UNAUTHORIZED }).await;
    assert!(revoked);
    assert_eq!(app.get(USERS, &org.token).await.code(), "invalid_token");
}

#[tokio::test]
async fn a_token_without_the_scope_is_403() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let crm_only = app.token(org.id, &[Scope::CrmRead, Scope::CrmWrite]).await;
    let response = app.get(USERS, &crm_only).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.code(), "insufficient_scope");
    assert!(response.body["message"].as_str().unwrap().contains("users:read"));
}

#[tokio::test]
async fn failed_attempts_from_one_address_use_up_its_quota_and_spare_others() {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let limited = app.auth_failure_limited(1);
    let from = |address: &str, token: &str| {
        let mut request = Request::get(USERS).header("authorization", format!("Bearer {token}"));
        let address: SocketAddr = address.parse().unwrap();
        request.extensions_mut().unwrap().insert(ConnectInfo(address));
        request.body(Body::empty()).unwrap()
    };
    let bogus = crm_api::domain::token::NewToken::generate().plaintext;
    // A quota of 1/s allows a burst of 10 failures.
    for _ in 0..10 {
        assert_eq!(limited.send(from("192.0.2.7:4000", &bogus)).await.status, StatusCode::UNAUTHORIZED);
    }
    let refused = limited.send(from("192.0.2.7:4001", &bogus)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
    // Until it has waited, that address gets 429 even with a valid token; others are served.
    assert_eq!(limited.send(from("192.0.2.7:4002", &org.token)).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.send(from("192.0.2.8:4000", &org.token)).await.status, StatusCode::OK);
    assert_eq!(limited.send(from("192.0.2.8:4000", &bogus)).await.status, StatusCode::UNAUTHORIZED);
}
