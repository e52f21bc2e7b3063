//! `PATCH /v2/crm/{objectSlug}/{recordId}/relation`: the examples and rules of its page.

use axum::http::{Method, StatusCode};
use crm_api::db;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestOrg, TestResponse, spawn_app};

struct Shop {
    app: TestApp,
    org: TestOrg,
    order: Uuid,
    products: Vec<Uuid>,
}

async fn shop() -> Shop {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let mut products = Vec::new();
    for i in 0..4 {
        products.push(app.record(&org, "products", json!({"name": format!("p{i}")})).await);
    }
    let order = app.record(&org, "orders", json!({"number": "1001"})).await;
    Shop { app, org, order, products }
}

impl Shop {
    async fn relation(&self, body: Value) -> TestResponse {
        self.app.patch(&format!("/v2/crm/orders/{}/relation", self.order), &self.org.token, body).await
    }

    async fn linked(&self) -> Value {
        self.app.attributes(&self.org, "orders", self.order).await["products"].clone()
    }
}

#[tokio::test]
async fn links_two_products_to_an_order() {
    let s = shop().await;
    let (a, b) = (s.products[0], s.products[1]);
    let response = s.relation(json!({"attributeSlug": "products", "add": [a, b]})).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["success"], true);
    assert_eq!(response.body["changes"], json!({"attributeSlug": "products", "added": [a, b], "removed": []}));
    assert_eq!(response.body["record"]["id"], s.order.to_string());
    // Links added by one request are written (and so listed) in ID order.
    let mut sorted = [a, b];
    sorted.sort();
    assert_eq!(response.body["record"]["attributes"]["products"], json!(sorted));
    assert_eq!(response.headers["etag"], "\"2\"");
    // The inverse side sees it at once.
    assert_eq!(s.app.attributes(&s.org, "products", a).await["orders"], json!([s.order]));
}

#[tokio::test]
async fn swaps_a_linked_product_in_one_request() {
    let s = shop().await;
    let [a, b, c, _] = s.products[..] else { unreachable!() };
    s.relation(json!({"attributeSlug": "products", "add": [a]})).await;
    s.relation(json!({"attributeSlug": "products", "add": [b]})).await;
    let response = s.relation(json!({"attributeSlug": "products", "remove": [b], "add": [c]})).await;
    assert_eq!(response.body["changes"], json!({"attributeSlug": "products", "added": [c], "removed": [b]}));
    assert_eq!(s.linked().await, json!([a, c]));
    assert_eq!(s.app.attributes(&s.org, "products", b).await["orders"], json!([]));
}

#[tokio::test]
async fn unlinks_products_and_leaves_the_others() {
    let s = shop().await;
    let [a, b, c, _] = s.products[..] else { unreachable!() };
    s.relation(json!({"attributeSlug": "products", "add": [a, b, c]})).await;
    let response = s.relation(json!({"attributeSlug": "products", "remove": [c, a]})).await;
    assert_eq!(response.body["changes"]["removed"], json!([c, a]), "reported in request order");
    assert_eq!(s.linked().await, json!([b]));
}

#[tokio::test]
async fn assigns_a_team_member_to_a_deal() {
    let s = shop().await;
    let lena = s.app.member(s.org.id, "lena@acme.example").await;
    let deal = s.app.record(&s.org, "deals", json!({"title": "Big one"})).await;
    let path = format!("/v2/crm/deals/{deal}/relation");
    let response = s.app.patch(&path, &s.org.token, json!({"attributeSlug": "owners", "add": [lena]})).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["record"]["attributes"]["owners"], json!([lena]));
    let removed = s.app.patch(&path, &s.org.token, json!({"attributeSlug": "owners", "remove": [lena]})).await;
    assert_eq!(removed.body["changes"]["removed"], json!([lena]));
}

#[tokio::test]
async fn empty_changes_and_ids_in_both_lists_are_400() {
    let s = shop().await;
    let a = s.products[0];
    for body in [json!({"attributeSlug": "products"}), json!({"attributeSlug": "products", "add": [], "remove": []})] {
        let response = s.relation(body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(response.body["errors"][0]["code"], "empty_change");
    }
    let both = s.relation(json!({"attributeSlug": "products", "add": [a], "remove": [a]})).await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert_eq!(both.pointers(), vec!["/remove/0"]);
    assert!(both.body["errors"][0]["message"].as_str().unwrap().contains(&a.to_string()));
}

#[tokio::test]
async fn no_ops_write_nothing() {
    let s = shop().await;
    let [a, b, ..] = s.products[..] else { unreachable!() };
    let first = s.relation(json!({"attributeSlug": "products", "add": [a]})).await;
    let again = s.relation(json!({"attributeSlug": "products", "add": [a], "remove": [b]})).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["changes"], json!({"attributeSlug": "products", "added": [], "removed": []}));
    assert_eq!(again.headers["etag"], first.headers["etag"]);
    assert_eq!(again.body["record"]["updatedAt"], first.body["record"]["updatedAt"]);
}

#[tokio::test]
async fn non_relation_unknown_and_archived_attributes_are_400() {
    let s = shop().await;
    let a = s.products[0];
    let number = s.relation(json!({"attributeSlug": "number", "add": [a]})).await;
    assert_eq!(number.status, StatusCode::BAD_REQUEST);
    assert_eq!(number.body["errors"][0]["code"], "not_a_relation");
    assert!(number.body["errors"][0]["message"].as_str().unwrap().contains("PATCH /v2/crm/orders/{recordId}"));
    let unknown = s.relation(json!({"attributeSlug": "nope", "add": [a]})).await;
    assert_eq!(
        (unknown.pointers(), unknown.body["errors"][0]["code"].clone()),
        (vec!["/attributeSlug".to_owned()], json!("unknown_attribute"))
    );
    s.app.patch("/v2/crm/objects/orders/attributes/products", &s.org.token, json!({"isArchived": true})).await;
    let archived = s.relation(json!({"attributeSlug": "products", "add": [a]})).await;
    assert_eq!(archived.body["errors"][0]["code"], "archived_attribute");
    // Body problems and attribute problems come together.
    let both = s.relation(json!({"attributeSlug": "nope", "add": ["x"]})).await;
    assert_eq!(both.pointers(), vec!["/add/0", "/attributeSlug"]);
}

#[tokio::test]
async fn unknown_objects_and_records_are_404() {
    let s = shop().await;
    let body = json!({"attributeSlug": "products", "add": [s.products[0]]});
    let cases = [
        format!("/v2/crm/nothing/{}/relation", s.order),
        format!("/v2/crm/orders/{}/relation", Uuid::new_v4()),
        "/v2/crm/orders/not-a-uuid/relation".to_owned(),
        format!("/v2/crm/products/{}/relation", s.order),
    ];
    for path in cases {
        let response = s.app.patch(&path, &s.org.token, body.clone()).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn unlinkable_add_ids_are_listed_and_nothing_is_written() {
    let s = shop().await;
    let other = s.app.org("globex").await;
    s.app.shop(&other).await;
    let theirs = s.app.record(&other, "products", json!({})).await;
    let company = s.app.record(&s.org, "companies", json!({})).await;
    let body = json!({"attributeSlug": "products", "add": [s.products[0], theirs, company, Uuid::new_v4()]});
    let response = s.relation(body).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.pointers(), vec!["/add/1", "/add/2", "/add/3"]);
    assert!(response.body["errors"].as_array().unwrap().iter().all(|e| e["code"] == "not_found"));
    assert_eq!(s.linked().await, json!([]), "the valid ID was not linked either");
    let non_uuid = s.relation(json!({"attributeSlug": "products", "add": ["nope", 7]})).await;
    assert_eq!(non_uuid.pointers(), vec!["/add/0", "/add/1"]);
}

#[tokio::test]
async fn deactivated_and_foreign_members_are_refused() {
    let s = shop().await;
    let other = s.app.org("globex").await;
    let max = s.app.member(s.org.id, "max@acme.example").await;
    let gina = s.app.member(other.id, "gina@globex.example").await;
    db::members::deactivate(&s.app.pool, s.org.id, max).await.unwrap();
    let deal = s.app.record(&s.org, "deals", json!({})).await;
    let response = s
        .app
        .patch(
            &format!("/v2/crm/deals/{deal}/relation"),
            &s.org.token,
            json!({"attributeSlug": "owners", "add": [max, gina]}),
        )
        .await;
    let codes: Vec<_> = response.body["errors"].as_array().unwrap().iter().map(|e| e["code"].clone()).collect();
    assert_eq!(codes, vec!["inactive_member", "not_found"]);
}

#[tokio::test]
async fn prefer_minimal_leaves_the_record_out() {
    let s = shop().await;
    let request = axum::http::Request::builder()
        .method(Method::PATCH)
        .uri(format!("/v2/crm/orders/{}/relation", s.order))
        .header("authorization", format!("Bearer {}", s.org.token))
        .header("content-type", "application/json")
        .header("prefer", "return=minimal")
        .body(axum::body::Body::from(json!({"attributeSlug": "products", "add": [s.products[0]]}).to_string()))
        .unwrap();
    let response = s.app.send(request).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body.get("record").is_none());
    assert_eq!(response.body["changes"]["added"], json!([s.products[0]]));
    assert_eq!(response.headers["preference-applied"], "return=minimal");
    assert_eq!(response.headers["etag"], "\"2\"");
}

#[tokio::test]
async fn works_on_standard_objects_too() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.record(&org, "companies", json!({"name": "Acme"})).await;
    let person = app.record(&org, "people", json!({"first_name": "Lena"})).await;
    let response = app
        .patch(
            &format!("/v2/crm/people/{person}/relation"),
            &org.token,
            json!({"attributeSlug": "company", "add": [company]}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(app.attributes(&org, "companies", company).await["people"], json!([person]));
    // And from the inverse side.
    let other = app.record(&org, "people", json!({"first_name": "Max"})).await;
    let response = app
        .patch(
            &format!("/v2/crm/companies/{company}/relation"),
            &org.token,
            json!({"attributeSlug": "people", "add": [other]}),
        )
        .await;
    assert_eq!(response.body["record"]["attributes"]["people"], json!([person, other]));
}

#[tokio::test]
async fn requires_crm_write() {
    let s = shop().await;
    let reader = s.app.token(s.org.id, &[crm_api::domain::scope::Scope::CrmRead]).await;
    let path = format!("/v2/crm/orders/{}/relation", s.order);
    let response = s.app.patch(&path, &reader, json!({"attributeSlug": "products", "add": [s.products[0]]})).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let text = s
        .app
        .send(
            axum::http::Request::patch(&path)
                .header("authorization", format!("Bearer {}", s.org.token))
                .header("content-type", "text/plain")
                .body(axum::body::Body::from("hi"))
                .unwrap(),
        )
        .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
