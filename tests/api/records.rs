use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOrg, spawn_app};

/// An object with one attribute of every scalar type.
async fn catalog(app: &TestApp, org: &TestOrg) {
    app.object(org, "items").await;
    let attributes = [
        json!({"label": "Title", "type": "text", "isUnique": false, "isRequired": true}),
        json!({"label": "Contact", "type": "text", "isUnique": false, "validation": ["email"]}),
        json!({"label": "Count", "type": "number", "isUnique": false}),
        json!({"label": "Phone", "type": "phone_number", "isUnique": false}),
        json!({"label": "Due", "type": "date"}),
        json!({"label": "Seen", "type": "datetime"}),
        json!({"label": "Done", "type": "checkbox"}),
        json!({"label": "Kind", "type": "select", "options": [{"value": "A"}, {"value": "B"}]}),
        json!({"label": "Tags", "type": "multiselect", "options": [{"value": "x"}, {"value": "y"}]}),
        json!({"label": "Stars", "type": "rating"}),
        json!({"label": "Stage", "type": "status", "options": [{"value": "Open"}]}),
        json!({"label": "Cost", "type": "currency", "currency": "EUR", "currencyDisplay": "symbol", "currencyDecimal": true, "currencyGrouping": true}),
    ];
    for body in attributes {
        app.attribute(org, "items", body).await;
    }
}

#[tokio::test]
async fn every_type_round_trips_in_canonical_form() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    catalog(&app, &org).await;
    let body = json!({"title": "Box", "contact": "a@b.example", "count": 2.0, "phone": "+49 30-1234", "due": "2025-06-01",
        "seen": "2025-06-01T12:00:00+02:00", "done": true, "kind": {"id": 2}, "tags": [{"id": 2}, {"id": "1"}],
        "stars": 4, "stage": {"id": 1}, "cost": 19.99});
    let id = app.record(&org, "items", body).await;
    let attrs = app.attributes(&org, "items", id).await;
    assert_eq!(
        attrs,
        json!({"title": "Box", "contact": "a@b.example", "count": 2, "phone": "+49301234", "due": "2025-06-01",
        "seen": "2025-06-01T10:00:00+00:00", "done": true, "kind": {"id": 2}, "tags": [{"id": 2}, {"id": 1}],
        "stars": 4, "stage": {"id": 1}, "cost": 19.99})
    );
}

#[tokio::test]
async fn wrong_values_are_400_with_one_entry_per_field() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    catalog(&app, &org).await;
    let body = json!({"title": 5, "contact": "nope", "count": "2", "phone": "abc", "due": "2025-13-01", "seen": "yesterday",
        "done": "yes", "kind": {"id": 9}, "tags": [{"id": 1}, 3], "stars": 9, "stage": "Open", "cost": null, "bogus": 1, "id": "x"});
    let response = app.post("/v2/crm/items", &org.token, body).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.code(), "validation_failed");
    let mut pointers = response.pointers();
    pointers.sort();
    assert_eq!(
        pointers,
        [
            "/bogus", "/contact", "/count", "/done", "/due", "/id", "/kind", "/phone", "/seen", "/stage", "/stars",
            "/tags/1", "/title"
        ]
    );
    let total = app.get("/v2/crm/items", &org.token).await.body["pagination"]["total"].clone();
    assert_eq!(total, 0, "nothing written");
}

#[tokio::test]
async fn required_applies_on_create_only() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    catalog(&app, &org).await;
    let missing = app.post("/v2/crm/items", &org.token, json!({"count": 1})).await;
    assert_eq!((missing.status, missing.pointers()), (StatusCode::BAD_REQUEST, vec!["/title".to_owned()]));
    assert_eq!(missing.body["errors"][0]["code"], "required");
    let id = app.record(&org, "items", json!({"title": "Box"})).await;
    let patched = app.patch(&format!("/v2/crm/items/{id}"), &org.token, json!({"count": 3})).await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.body["record"]["attributes"]["title"], "Box");
}

#[tokio::test]
async fn records_have_zeegs_shape_with_every_non_archived_key() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let response = app.post("/v2/crm/products", &org.token, json!({"name": "Dress"})).await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.body["status"], 201);
    let record = &response.body["record"];
    assert_eq!(record["objectSlug"], "products");
    assert_eq!(record["attributes"], json!({"name": "Dress", "price": null, "sku": null, "orders": []}));
    assert_eq!(response.headers["etag"], "\"1\"");
    assert!(record["createdAt"].as_str().unwrap().ends_with("+00:00"));
    app.patch("/v2/crm/objects/products/attributes/price", &org.token, json!({"isArchived": true})).await;
    let id = record["id"].as_str().unwrap();
    let attrs = app.get(&format!("/v2/crm/products/{id}"), &org.token).await.body["record"]["attributes"].clone();
    assert!(attrs.get("price").is_none());
    let write = app.patch(&format!("/v2/crm/products/{id}"), &org.token, json!({"price": 3})).await;
    assert_eq!(write.body["errors"][0]["code"], "archived_attribute");
}

#[tokio::test]
async fn patch_changes_only_sent_keys_and_bumps_the_etag_only_on_change() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let id = app.record(&org, "products", json!({"name": "Dress", "price": 29})).await;
    let path = format!("/v2/crm/products/{id}");
    let first = app.patch(&path, &org.token, json!({"price": 35})).await;
    assert_eq!(first.body["record"]["attributes"]["name"], "Dress");
    assert_eq!(first.body["record"]["attributes"]["price"], 35);
    assert_eq!(first.headers["etag"], "\"2\"");
    let same = app.patch(&path, &org.token, json!({"price": 35.0})).await;
    assert_eq!(same.headers["etag"], "\"2\"");
    assert_eq!(same.body["record"]["updatedAt"], first.body["record"]["updatedAt"]);
    let cleared = app.patch(&path, &org.token, json!({"name": null})).await;
    assert_eq!(cleared.body["record"]["attributes"]["name"], Value::Null);
}

#[tokio::test]
async fn delete_is_final_and_a_second_delete_is_404() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let id = app.record(&org, "products", json!({"name": "Dress"})).await;
    let path = format!("/v2/crm/products/{id}");
    let deleted = app.delete(&path, &org.token).await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body, json!({"success": true, "status": 200, "message": "Record deleted."}));
    assert_eq!(app.get(&path, &org.token).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&path, &org.token).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v2/crm/products/not-a-uuid", &org.token).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lists_newest_first_with_count_pagination() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    for i in 0..5 {
        app.record(&org, "products", json!({"name": format!("p{i}")})).await;
    }
    let page = app.get("/v2/crm/products?count=2&page=1", &org.token).await;
    let names: Vec<_> =
        page.body["collection"].as_array().unwrap().iter().map(|r| r["attributes"]["name"].clone()).collect();
    assert_eq!(names, vec!["p4", "p3"]);
    assert_eq!(page.body["pagination"]["nextPage"], "/v2/crm/products?count=2&page=2");
    assert_eq!(page.body["pagination"]["totalPages"], 3);
    for bad in ["count=0", "count=101", "page=0", "count=x"] {
        assert_eq!(
            app.get(&format!("/v2/crm/products?{bad}"), &org.token).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn unique_values_are_400_naming_the_key_even_under_concurrency() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    app.record(&org, "products", json!({"sku": "A-1"})).await;
    let dup = app.post("/v2/crm/products", &org.token, json!({"sku": "A-1"})).await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    assert_eq!(dup.body["errors"][0]["code"], "unique_violation");
    assert_eq!(dup.pointers(), vec!["/sku"]);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let router = app.router.clone();
            let token = org.token.clone();
            tokio::spawn(async move {
                use tower::ServiceExt;
                let request = axum::http::Request::post("/v2/crm/products")
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(json!({"sku": "RACE"}).to_string()))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::CREATED => created += 1,
            other => assert_eq!(other, StatusCode::BAD_REQUEST),
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test]
async fn assert_updates_the_match_or_creates() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let created =
        app.put("/v2/crm/products?matchingAttribute=sku", &org.token, json!({"sku": "DRESS-001", "price": 29})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let updated = app
        .put("/v2/crm/products?matchingAttribute=sku", &org.token, json!({"sku": "DRESS-001", "name": "Dress"}))
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["record"]["id"], created.body["record"]["id"]);
    assert_eq!(updated.body["record"]["attributes"]["price"], 29);
    assert_eq!(updated.body["record"]["attributes"]["name"], "Dress");
    let cases = [
        ("/v2/crm/products", json!({"sku": "X"}), "matchingAttribute"),
        ("/v2/crm/products?matchingAttribute=nope", json!({"sku": "X"}), "matchingAttribute"),
        ("/v2/crm/products?matchingAttribute=orders", json!({"sku": "X"}), "matchingAttribute"),
        ("/v2/crm/products?matchingAttribute=sku", json!({"name": "X"}), "/sku"),
    ];
    for (path, body, pointer) in cases {
        let response = app.put(path, &org.token, body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(response.pointers(), vec![pointer], "{path}");
    }
}

#[tokio::test]
async fn assert_create_enforces_required_and_writes_nothing() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    catalog(&app, &org).await;
    let response = app.put("/v2/crm/items?matchingAttribute=count", &org.token, json!({"count": 1})).await;
    assert_eq!((response.status, response.pointers()), (StatusCode::BAD_REQUEST, vec!["/title".to_owned()]));
    assert_eq!(app.get("/v2/crm/items", &org.token).await.body["pagination"]["total"], 0);
}

#[tokio::test]
async fn concurrent_asserts_of_one_value_create_one_record() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let router = app.router.clone();
            let token = org.token.clone();
            tokio::spawn(async move {
                use tower::ServiceExt;
                let request = axum::http::Request::put("/v2/crm/products?matchingAttribute=name")
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(json!({"name": "Same", "price": i}).to_string()))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_success());
    }
    assert_eq!(app.get("/v2/crm/products", &org.token).await.body["pagination"]["total"], 1);
}

#[tokio::test]
async fn nul_characters_are_a_400_not_a_server_error() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let body = axum::body::Body::from(r#"{"name": "a\u0000b"}"#);
    let request = axum::http::Request::post("/v2/crm/products")
        .header("authorization", format!("Bearer {}", org.token))
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.body["errors"][0]["code"], "invalid_character");
}
