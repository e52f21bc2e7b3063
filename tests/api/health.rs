use axum::http::{Method, StatusCode};

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_without_a_token() {
    let app = spawn_app().await;
    let response = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_200_while_the_database_answers() {
    let app = spawn_app().await;
    let response = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["status"], "ready");
}

#[tokio::test]
async fn readyz_is_503_with_retry_after_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.pool.close().await;
    let response = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.code(), "database_unavailable");
    assert_eq!(response.headers["retry-after"], "1");
    // healthz does not depend on the database.
    assert_eq!(app.call(Method::GET, "/healthz", None, None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn openapi_json_documents_every_route() {
    let app = spawn_app().await;
    let response = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(response.status, StatusCode::OK);
    let paths = response.body["paths"].as_object().unwrap();
    for path in ["/healthz", "/readyz", "/v2/organizations/users"] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    assert_eq!(response.body["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let required: &[&str] =
                if operation.get("security").is_some() { &["401", "403", "429", "500"] } else { &["500"] };
            for status in required {
                assert!(responses.contains_key(*status), "{method} {path} does not document {status}");
            }
        }
    }
}
