use axum::http::StatusCode;
use crm_api::domain::scope::Scope;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_organization_has_people_and_companies() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let response = app.get("/v2/crm/objects", &org.token).await;
    assert_eq!(response.status, StatusCode::OK);
    let slugs: Vec<_> = response.body["collection"].as_array().unwrap().iter().map(|o| o["slug"].clone()).collect();
    assert_eq!(slugs, vec!["people", "companies"]);
    let people = app.get("/v2/crm/objects/people", &org.token).await.body["object"].clone();
    assert_eq!(people["isStandard"], true);
    let keys: Vec<_> =
        people["attributes"].as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        keys,
        ["id", "created_at", "updated_at", "first_name", "last_name", "email", "phone_number", "job_title", "company"]
    );
    let company = &people["attributes"][8];
    assert_eq!(company["relationType"], "many_to_one");
    assert_eq!(company["relatedObjectSlug"], "companies");
    assert_eq!(company["inverseAttributeKey"], "people");
}

#[tokio::test]
async fn creates_a_custom_object_with_system_attributes() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let body = json!({"slug": "products", "singularName": "Product", "pluralName": "Products"});
    let response = app.post("/v2/crm/objects", &org.token, body).await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.body["status"], 201);
    let object = &response.body["object"];
    assert_eq!(
        (object["slug"].clone(), object["isStandard"].clone(), object["isActive"].clone()),
        (json!("products"), json!(false), json!(true))
    );
    let system: Vec<_> = object["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["key"].clone(), a["type"].clone(), a["isRequired"].clone()))
        .collect();
    assert_eq!(
        system,
        vec![
            (json!("id"), json!("text"), json!(true)),
            (json!("created_at"), json!("datetime"), json!(true)),
            (json!("updated_at"), json!("datetime"), json!(false))
        ]
    );
}

#[tokio::test]
async fn slug_rules_are_400_naming_the_rule_and_duplicates_409() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    for (slug, code) in [
        ("people", "slug_reserved"),
        ("objects", "slug_reserved"),
        ("ab", "slug_length"),
        ("1abc", "slug_start"),
        ("Pro.ducts", "slug_start"),
        ("pro.ducts", "slug_charset"),
    ] {
        let response = app
            .post("/v2/crm/objects", &org.token, json!({"slug": slug, "singularName": "X", "pluralName": "Xs"}))
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{slug}");
        assert_eq!(response.body["errors"][0]["code"], code, "{slug}");
        assert_eq!(response.body["errors"][0]["pointer"], "/slug");
    }
    app.object(&org, "products").await;
    let again = app
        .post("/v2/crm/objects", &org.token, json!({"slug": "products", "singularName": "X", "pluralName": "Xs"}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "duplicate_slug");
}

#[tokio::test]
async fn missing_fields_and_unknown_fields_are_400() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let missing = app.post("/v2/crm/objects", &org.token, json!({})).await;
    assert_eq!(missing.pointers(), vec!["/slug", "/singularName", "/pluralName"]);
    let unknown = app
        .post(
            "/v2/crm/objects",
            &org.token,
            json!({"slug": "abc", "singularName": "A", "pluralName": "B", "colour": 1}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let too_long = app
        .post("/v2/crm/objects", &org.token, json!({"slug": "abc", "singularName": "x".repeat(256), "pluralName": "B"}))
        .await;
    assert_eq!(too_long.pointers(), vec!["/singularName"]);
    // `maxLength: 255` counts the value as sent: surrounding white space is not trimmed first.
    let padded = format!(" {}", "x".repeat(255));
    let too_long = app
        .post("/v2/crm/objects", &org.token, json!({"slug": "abc", "singularName": padded, "pluralName": "B"}))
        .await;
    assert_eq!(too_long.pointers(), vec!["/singularName"]);
    app.post("/v2/crm/objects", &org.token, json!({"slug": "abd", "singularName": "A", "pluralName": "B"})).await;
    let renamed = app.patch("/v2/crm/objects/abd", &org.token, json!({"singularName": padded})).await;
    assert_eq!(renamed.pointers(), vec!["/singularName"]);
}

#[tokio::test]
async fn renames_custom_objects_but_not_standard_ones() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.object(&org, "products").await;
    let renamed = app.patch("/v2/crm/objects/products", &org.token, json!({"pluralName": "Items"})).await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(
        (renamed.body["object"]["pluralName"].clone(), renamed.body["object"]["singularName"].clone()),
        (json!("Items"), json!("product"))
    );
    let standard = app.patch("/v2/crm/objects/people", &org.token, json!({"pluralName": "Folks"})).await;
    assert_eq!(standard.status, StatusCode::FORBIDDEN);
    let slug_change = app.patch("/v2/crm/objects/products", &org.token, json!({"slug": "items"})).await;
    assert_eq!(slug_change.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_and_foreign_objects_are_404() {
    let app = spawn_app().await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    app.object(&globex, "secrets").await;
    for path in ["/v2/crm/objects/secrets", "/v2/crm/secrets", "/v2/crm/objects/nothing"] {
        let response = app.get(path, &acme.token).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!response.body.to_string().contains("globex"));
    }
}

#[tokio::test]
async fn read_tokens_cannot_write() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let reader = app.token(org.id, &[Scope::CrmRead]).await;
    assert_eq!(app.get("/v2/crm/objects", &reader).await.status, StatusCode::OK);
    let body = json!({"slug": "products", "singularName": "P", "pluralName": "Ps"});
    let response = app.post("/v2/crm/objects", &reader, body).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.code(), "insufficient_scope");
    // Scope is checked before the body is read.
    assert_eq!(app.post("/v2/crm/people", &reader, json!("garbage")).await.status, StatusCode::FORBIDDEN);
    let users_only = app.token(org.id, &[Scope::UsersRead]).await;
    assert_eq!(app.get("/v2/crm/objects", &users_only).await.status, StatusCode::FORBIDDEN);
}
