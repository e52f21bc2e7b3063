use axum::http::StatusCode;
use crm_api::demo;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_demo_workspace_is_idempotent_and_its_examples_work() {
    let app = spawn_app().await;
    let first = demo::seed(&app.pool).await.unwrap();
    let second = demo::seed(&app.pool).await.unwrap();
    assert_ne!(first.token, second.token, "every run prints a fresh token");
    assert_eq!((first.order, first.deal, &first.products), (second.order, second.deal, &second.products));
    let token = &second.token;
    for (slug, total) in [("products", 5), ("orders", 2), ("deals", 1), ("companies", 2)] {
        let listed = app.get(&format!("/v2/crm/{slug}"), token).await;
        assert_eq!(listed.body["pagination"]["total"], total, "{slug}");
    }
    assert_eq!(app.get("/v2/organizations/users", token).await.body["pagination"]["total"], 3);

    let text = demo::instructions(&second, "http://127.0.0.1:8080");
    assert!(text.contains(token) && text.contains(&second.order.to_string()), "{text}");
    let p = &second.products;
    let order = format!("/v2/crm/orders/{}/relation", second.order);
    let link = app.patch(&order, token, json!({"attributeSlug": "products", "add": [p[0], p[1]]})).await;
    assert_eq!(link.status, StatusCode::OK);
    let swap = app.patch(&order, token, json!({"attributeSlug": "products", "remove": [p[1]], "add": [p[2]]})).await;
    assert_eq!(swap.body["changes"]["removed"], json!([p[1]]));
    let deal = format!("/v2/crm/deals/{}/relation", second.deal);
    let owner = app.patch(&deal, token, json!({"attributeSlug": "owners", "add": [second.owner]})).await;
    assert_eq!(owner.body["record"]["attributes"]["owners"], json!([second.owner]));
}
