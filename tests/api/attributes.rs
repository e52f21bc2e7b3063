use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn keys_are_derived_from_labels_with_suffixes_on_collision() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.object(&org, "products").await;
    let text = |label: &str| json!({"label": label, "type": "text", "isUnique": false});
    assert_eq!(app.attribute(&org, "products", text("Product Name")).await, "product_name");
    assert_eq!(app.attribute(&org, "products", text("Product name")).await, "product_name_2");
    assert_eq!(app.attribute(&org, "products", text("product-name")).await, "product_name_3");
    assert_eq!(app.attribute(&org, "products", text("ID")).await, "id_2");
    assert_eq!(app.attribute(&org, "products", text("Größe")).await, "groesse");
}

#[tokio::test]
async fn returns_the_full_attribute_shape() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.object(&org, "deals").await;
    let body = json!({"label": "Customer Status", "type": "select", "isRequired": false,
        "options": [{"value": "Lead", "color": "warning"}, {"value": "Active", "color": "success"}]});
    let response = app.post("/v2/crm/objects/deals/attributes", &org.token, body).await;
    assert_eq!(response.status, StatusCode::CREATED);
    let attr = &response.body["attribute"];
    assert_eq!(attr["key"], "customer_status");
    assert_eq!(
        attr["options"],
        json!([{"id": 1, "value": "Lead", "color": "warning"}, {"id": 2, "value": "Active", "color": "success"}])
    );
    for key in ["isRequired", "isStandard", "isUnique", "isArchived", "createdAt", "updatedAt"] {
        assert!(attr.get(key).is_some(), "{key}");
    }
    assert!(attr.get("relationType").is_none());
}

#[tokio::test]
async fn type_specific_fields_are_required() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.object(&org, "deals").await;
    let cases = [
        (json!({"label": "A", "type": "text"}), vec!["/isUnique"]),
        (json!({"label": "A", "type": "select"}), vec!["/options"]),
        (json!({"label": "A", "type": "relation"}), vec!["/relationType", "/relatedObjectSlug", "/relatedObjectLabel"]),
        (
            json!({"label": "A", "type": "currency", "currency": "euro"}),
            vec!["/currency", "/currencyDisplay", "/currencyDecimal", "/currencyGrouping"],
        ),
        (
            json!({"label": "A", "type": "relation", "relationType": "many_to_one", "relatedObjectSlug": "nothing", "relatedObjectLabel": "X"}),
            vec!["/relatedObjectSlug"],
        ),
        (json!({"type": "json"}), vec!["/label", "/type"]),
    ];
    for (body, pointers) in cases {
        let response = app.post("/v2/crm/objects/deals/attributes", &org.token, body.clone()).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(response.pointers(), pointers, "{body}");
    }
}

#[tokio::test]
async fn a_relation_creates_its_inverse_with_the_mirrored_type() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let orders = app.get("/v2/crm/objects/orders", &org.token).await.body["object"].clone();
    let customer = orders["attributes"].as_array().unwrap().iter().find(|a| a["key"] == "customer").unwrap().clone();
    assert_eq!(customer["inverseAttributeKey"], "orders");
    let companies = app.get("/v2/crm/objects/companies", &org.token).await.body["object"].clone();
    let inverse = companies["attributes"].as_array().unwrap().iter().find(|a| a["key"] == "orders").unwrap().clone();
    assert_eq!(inverse["relationType"], "one_to_many");
    assert_eq!(inverse["relatedObjectSlug"], "orders");
    assert_eq!(inverse["label"], "Orders");
    assert_eq!(inverse["relatedObjectLabel"], "Customer");
    assert_eq!(inverse["inverseAttributeKey"], "customer");
}

#[tokio::test]
async fn self_relations_get_two_distinct_keys() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.object(&org, "employees").await;
    let body = json!({"label": "Manager", "type": "relation", "relationType": "many_to_one", "relatedObjectSlug": "employees", "relatedObjectLabel": "Reports"});
    assert_eq!(app.attribute(&org, "employees", body).await, "manager");
    let object = app.get("/v2/crm/objects/employees", &org.token).await.body["object"].clone();
    let reports = object["attributes"].as_array().unwrap().iter().find(|a| a["key"] == "reports").unwrap().clone();
    assert_eq!(reports["relationType"], "one_to_many");
}

#[tokio::test]
async fn updates_labels_flags_and_options_keeping_option_ids() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.object(&org, "deals").await;
    let body = json!({"label": "Stage", "type": "status", "options": [{"value": "Lead"}, {"value": "Won"}]});
    app.attribute(&org, "deals", body).await;
    let update = json!({"label": "Deal Stage", "isRequired": true,
        "options": [{"value": "Won", "color": "success"}, {"id": 1, "value": "Prospect"}, {"value": "Lost"}]});
    let response = app.patch("/v2/crm/objects/deals/attributes/stage", &org.token, update).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let attr = &response.body["attribute"];
    assert_eq!(
        (attr["key"].clone(), attr["label"].clone(), attr["isRequired"].clone()),
        (json!("stage"), json!("Deal Stage"), json!(true))
    );
    assert_eq!(
        attr["options"],
        json!([{"id": 2, "value": "Won", "color": "success"}, {"id": 1, "value": "Prospect", "color": null}, {"id": 3, "value": "Lost", "color": null}])
    );
    // A removed option's id is never handed out again.
    let again =
        app.patch("/v2/crm/objects/deals/attributes/stage", &org.token, json!({"options": [{"value": "New"}]})).await;
    assert_eq!(again.body["attribute"]["options"][0]["id"], 4);
}

#[tokio::test]
async fn immutable_and_inapplicable_fields_are_400_standard_attributes_403() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.object(&org, "deals").await;
    app.attribute(&org, "deals", json!({"label": "Title", "type": "text", "isUnique": false})).await;
    let response = app
        .patch(
            "/v2/crm/objects/deals/attributes/title",
            &org.token,
            json!({"type": "number", "key": "x", "options": []}),
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.pointers(), vec!["/type", "/key", "/options"]);
    let standard = app.patch("/v2/crm/objects/people/attributes/email", &org.token, json!({"label": "Mail"})).await;
    assert_eq!(standard.status, StatusCode::FORBIDDEN);
    let system = app.patch("/v2/crm/objects/deals/attributes/id", &org.token, json!({"label": "Key"})).await;
    assert_eq!(system.status, StatusCode::FORBIDDEN);
    let missing = app.patch("/v2/crm/objects/deals/attributes/nope", &org.token, json!({"label": "X"})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn custom_attributes_can_be_added_to_standard_objects() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    assert_eq!(
        app.attribute(&org, "companies", json!({"label": "Industry", "type": "text", "isUnique": false})).await,
        "industry"
    );
}
