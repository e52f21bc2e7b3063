//! The batch relation endpoint: every rule of the single endpoint per operation, atomic and
//! per-operation modes, one Idempotency-Key for the batch, limits.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestOrg, TestResponse, spawn_app};

pub(crate) const PATH: &str = "/v2/crm/orders/relations";

pub(crate) async fn setup() -> (TestApp, TestOrg) {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    (app, org)
}

pub(crate) async fn batch(app: &TestApp, org: &TestOrg, body: Value, headers: &[(&str, &str)]) -> TestResponse {
    let mut request = Request::patch(PATH)
        .header("authorization", format!("Bearer {}", org.token))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request.body(Body::from(body.to_string())).unwrap()).await
}

pub(crate) async fn products(app: &TestApp, org: &TestOrg, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(app.record(org, "products", json!({})).await);
    }
    ids
}

#[tokio::test]
async fn atomic_batch_applies_operations_in_order_with_an_etag_each() {
    let (app, org) = setup().await;
    let p = products(&app, &org, 3).await;
    let (o1, o2) = (app.record(&org, "orders", json!({})).await, app.record(&org, "orders", json!({})).await);
    let body = json!({"operations": [
        {"recordId": o1, "attributeSlug": "products", "add": [p[0], p[1]]},
        {"recordId": o2, "attributeSlug": "products", "add": [p[0]]},
        {"recordId": o1, "attributeSlug": "products", "remove": [p[0], p[2]], "ifMatch": "\"2\""},
        {"recordId": o1, "attributeSlug": "products", "add": [p[1]]},
    ]});
    let response = batch(&app, &org, body, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let results = &response.body["results"];
    assert_eq!(
        results[0],
        json!({"recordId": o1, "attributeSlug": "products", "added": [p[0], p[1]], "removed": [], "etag": "\"2\""})
    );
    assert_eq!(results[2]["removed"], json!([p[0]]), "removing what is not linked is a no-op");
    assert_eq!(results[2]["etag"], "\"3\"", "ifMatch saw the version the operation before left");
    assert_eq!(results[3]["added"], json!([]));
    assert_eq!(results[3]["etag"], "\"3\"", "a no-op writes nothing");
    assert_eq!(app.attributes(&org, "orders", o1).await["products"], json!([p[1]]));
    assert_eq!(app.attributes(&org, "products", p[0]).await["orders"], json!([o2]), "the inverse sees it");
}

#[tokio::test]
async fn atomic_batch_reports_every_problem_of_every_operation_and_writes_nothing() {
    let (app, org) = setup().await;
    let p = products(&app, &org, 1).await;
    let order = app.record(&org, "orders", json!({})).await;
    let body = json!({"operations": [
        {"recordId": order, "attributeSlug": "products", "add": [p[0]]},
        {"recordId": order, "attributeSlug": "nope", "add": [p[0]]},
        {"recordId": "not-a-uuid", "attributeSlug": "products", "add": ["x"], "extra": 1},
        {"recordId": order, "attributeSlug": "products", "add": [Uuid::new_v4()]},
        {"recordId": order, "attributeSlug": "number", "add": [p[0]]},
        {"recordId": order, "attributeSlug": "products"},
        {"recordId": order, "attributeSlug": "products", "add": [p[0]], "ifMatch": "3"},
    ]});
    let response = batch(&app, &org, body, &[]).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.body);
    assert_eq!(response.code(), "validation_failed");
    let pointers = response.pointers();
    for expected in [
        "/operations/1/attributeSlug",
        "/operations/2/recordId",
        "/operations/2/extra",
        "/operations/2/add/0",
        "/operations/3/add/0",
        "/operations/4/attributeSlug",
        "/operations/5",
        "/operations/6/ifMatch",
    ] {
        assert!(pointers.contains(&expected.to_owned()), "{expected} in {pointers:?}");
    }
    assert!(!pointers.iter().any(|p| p.starts_with("/operations/0")), "{pointers:?}");
    assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([]), "nothing written");
}

#[tokio::test]
async fn atomic_batch_answers_404_and_412_with_pointers() {
    let (app, org) = setup().await;
    let p = products(&app, &org, 1).await;
    let order = app.record(&org, "orders", json!({})).await;
    let missing = Uuid::new_v4();
    let add = |record: Uuid| json!({"recordId": record, "attributeSlug": "products", "add": [p[0]]});
    let response = batch(&app, &org, json!({"operations": [add(order), add(missing)]}), &[]).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND, "{}", response.body);
    assert_eq!(response.pointers(), vec!["/operations/1/recordId"]);
    let stale = json!({"recordId": order, "attributeSlug": "products", "add": [p[0]], "ifMatch": "\"7\""});
    let response = batch(&app, &org, json!({"operations": [stale]}), &[]).await;
    assert_eq!(response.status, StatusCode::PRECONDITION_FAILED, "{}", response.body);
    assert_eq!(response.pointers(), vec!["/operations/0/ifMatch"]);
    assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([]));
    let other_object = batch(&app, &org, json!({"operations": [add(p[0])]}), &[]).await;
    assert_eq!(other_object.status, StatusCode::NOT_FOUND, "a product is not an order");
}

#[tokio::test]
async fn cardinality_is_enforced_across_operations_as_if_they_ran_in_order() {
    let (app, org) = setup().await;
    let acme = app.record(&org, "companies", json!({})).await;
    let globex = app.record(&org, "companies", json!({})).await;
    let order = app.record(&org, "orders", json!({})).await;
    let customer = |key: &str, id: Uuid| json!({"recordId": order, "attributeSlug": "customer", key: [id]});
    let two = batch(&app, &org, json!({"operations": [customer("add", acme), customer("add", globex)]}), &[]).await;
    assert_eq!(two.status, StatusCode::CONFLICT, "{}", two.body);
    assert_eq!(two.code(), "cardinality_conflict");
    assert_eq!(two.pointers(), vec!["/operations/1/add/0"]);
    assert!(two.body["errors"][0]["message"].as_str().unwrap().contains(&acme.to_string()), "{}", two.body);
    assert_eq!(app.attributes(&org, "orders", order).await["customer"], json!([]), "nothing written");
    let swap = json!({"operations": [customer("add", acme), customer("remove", acme), customer("add", globex)]});
    let swapped = batch(&app, &org, swap, &[]).await;
    assert_eq!(swapped.status, StatusCode::OK, "{}", swapped.body);
    assert_eq!(app.attributes(&org, "orders", order).await["customer"], json!([globex]));
    // From the other side: two companies take one order (one_to_many there).
    let order2 = app.record(&org, "orders", json!({})).await;
    let take = |company: Uuid| json!({"recordId": company, "attributeSlug": "orders", "add": [order2]});
    let request = Request::patch("/v2/crm/companies/relations")
        .header("authorization", format!("Bearer {}", org.token))
        .header("content-type", "application/json")
        .body(Body::from(json!({"operations": [take(acme), take(globex)]}).to_string()))
        .unwrap();
    let stolen = app.send(request).await;
    assert_eq!(stolen.status, StatusCode::CONFLICT, "{}", stolen.body);
    assert_eq!(stolen.pointers(), vec!["/operations/1/add/0"]);
}

#[tokio::test]
async fn per_operation_mode_applies_what_it_can_and_answers_207() {
    let (app, org) = setup().await;
    let p = products(&app, &org, 2).await;
    let acme = app.record(&org, "companies", json!({})).await;
    let globex = app.record(&org, "companies", json!({})).await;
    let order = app.record(&org, "orders", json!({"customer": [acme]})).await;
    let body = json!({"atomic": false, "operations": [
        {"recordId": order, "attributeSlug": "products", "add": [p[0]]},
        {"recordId": order, "attributeSlug": "customer", "add": [globex]},
        {"recordId": order, "attributeSlug": "products", "add": [Uuid::new_v4(), p[1]]},
        {"recordId": Uuid::new_v4(), "attributeSlug": "products", "add": [p[1]]},
        {"recordId": order, "attributeSlug": "products", "add": [p[1]], "ifMatch": "\"2\""},
    ]});
    let malformed = json!({"atomic": false, "operations": [
        {"recordId": order, "attributeSlug": "products", "add": [p[0]]},
        {"recordId": order, "attributeSlug": "nope", "add": [p[1]]},
    ]});
    let refused = batch(&app, &org, malformed, &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "a malformed operation refuses the batch");
    assert_eq!(refused.pointers(), vec!["/operations/1/attributeSlug"]);
    let response = batch(&app, &org, body, &[]).await;
    assert_eq!(response.status, StatusCode::MULTI_STATUS, "{}", response.body);
    let r = &response.body["results"];
    let statuses: Vec<u64> = (0..5).map(|i| r[i]["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![200, 409, 400, 404, 200], "{}", response.body);
    assert_eq!(r[1]["code"], "cardinality_conflict");
    assert_eq!(r[1]["errors"][0]["pointer"], "/operations/1/add/0");
    assert_eq!(r[2]["errors"][0]["pointer"], "/operations/2/add/0");
    assert_eq!(r[3]["errors"][0]["pointer"], "/operations/3/recordId");
    assert_eq!(r[4]["etag"], "\"3\"");
    let attributes = app.attributes(&org, "orders", order).await;
    assert_eq!(attributes["products"], json!([p[0], p[1]]), "failed operations leave no trace");
    assert_eq!(attributes["customer"], json!([acme]));
    let all_fine =
        json!({"atomic": false, "operations": [{"recordId": order, "attributeSlug": "products", "remove": [p[0]]}]});
    let response = batch(&app, &org, all_fine, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["results"][0]["status"], 200);
}

#[tokio::test]
async fn one_idempotency_key_covers_the_whole_batch() {
    let (app, org) = setup().await;
    let p = products(&app, &org, 2).await;
    let order = app.record(&org, "orders", json!({})).await;
    let body = json!({"atomic": false, "operations": [
        {"recordId": order, "attributeSlug": "products", "add": [p[0]]},
        {"recordId": order, "attributeSlug": "products", "add": [Uuid::new_v4()]},
    ]});
    let key = [("idempotency-key", "batch-1")];
    let first = batch(&app, &org, body.clone(), &key).await;
    assert_eq!(first.status, StatusCode::MULTI_STATUS);
    app.patch(
        &format!("/v2/crm/orders/{order}/relation"),
        &org.token,
        json!({"attributeSlug": "products", "remove": [p[0]]}),
    )
    .await;
    let retry = batch(&app, &org, body, &key).await;
    assert_eq!(retry.status, StatusCode::MULTI_STATUS, "the replay keeps the status");
    assert_eq!(retry.headers["idempotency-replayed"], "true");
    assert_eq!(retry.body, first.body);
    assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([]), "not applied again");
    let other = json!({"operations": [{"recordId": order, "attributeSlug": "products", "add": [p[1]]}]});
    let reused = batch(&app, &org, other, &key).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused.code(), "idempotency_key_reused");
}

#[tokio::test]
async fn batches_beyond_the_limits_get_one_problem() {
    let (app, org) = setup().await;
    let order = Uuid::new_v4();
    let op = json!({"recordId": order, "attributeSlug": "products", "add": [Uuid::new_v4()]});
    let ops: Vec<Value> = (0..1001).map(|_| op.clone()).collect();
    let response = batch(&app, &org, json!({"operations": ops}), &[]).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.pointers(), vec!["/operations"]);
    assert_eq!(response.body["errors"][0]["code"], "too_many");
    let ids: Vec<Uuid> = (0..1000).map(|_| Uuid::new_v4()).collect();
    let big = json!({"recordId": order, "attributeSlug": "products", "remove": ids});
    let ops: Vec<Value> = (0..11).map(|_| big.clone()).collect();
    let response = batch(&app, &org, json!({"operations": ops}), &[]).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.body["errors"][0]["code"], "too_many_ids");
    assert_eq!(response.pointers(), vec!["/operations"]);
}

#[tokio::test]
async fn malformed_batches_are_refused_whole() {
    let (app, org) = setup().await;
    for (body, pointer) in [
        (json!({}), "/operations"),
        (json!({"operations": []}), "/operations"),
        (json!({"operations": {}}), "/operations"),
        (json!({"operations": [], "atomic": "yes", "x": 1}), "/atomic"),
    ] {
        let response = batch(&app, &org, body.clone(), &[]).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(response.pointers().contains(&pointer.to_owned()), "{body}: {:?}", response.pointers());
    }
    let op = json!({"recordId": Uuid::new_v4(), "attributeSlug": "products", "add": [Uuid::new_v4()]});
    let with_if_match = batch(&app, &org, json!({"operations": [op]}), &[("if-match", "\"1\"")]).await;
    assert_eq!(with_if_match.status, StatusCode::BAD_REQUEST);
    assert_eq!(with_if_match.pointers(), vec!["If-Match"]);
    let unknown = app.patch("/v2/crm/nothing/relations", &org.token, json!({"operations": [op]})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn user_attributes_take_members_and_refuse_deactivated_ones() {
    let (app, org) = setup().await;
    let deal = app.record(&org, "deals", json!({})).await;
    let member = app.member(org.id, "ann@acme.example").await;
    let gone = app.member(org.id, "bob@acme.example").await;
    sqlx::query("update members set is_active = false where member_id = $1")
        .bind(gone)
        .execute(&app.pool)
        .await
        .unwrap();
    let op = |id: Uuid| json!({"recordId": deal, "attributeSlug": "owners", "add": [id]});
    let request = |body: Value| {
        Request::patch("/v2/crm/deals/relations")
            .header("authorization", format!("Bearer {}", org.token))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let refused = app.send(request(json!({"operations": [op(member), op(gone)]}))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.body["errors"][0]["code"], "inactive_member");
    assert_eq!(refused.pointers(), vec!["/operations/1/add/0"]);
    let applied = app.send(request(json!({"operations": [op(member)]}))).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    assert_eq!(app.attributes(&org, "deals", deal).await["owners"], json!([member]));
}

#[tokio::test]
async fn the_workspace_document_spells_out_the_batch_per_object() {
    let (app, org) = setup().await;
    app.object(&org, "notes").await;
    let doc = app.get("/v2/openapi.json", &org.token).await.body;
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.contains_key("/v2/crm/{objectSlug}/relations"));
    assert!(paths.contains_key("/v2/crm/products/relations"), "the inverse side is batchable too");
    assert!(!paths.contains_key("/v2/crm/notes/relations"), "nothing to link");
    let body =
        &doc["paths"]["/v2/crm/orders/relations"]["patch"]["requestBody"]["content"]["application/json"]["schema"];
    let operation = &body["properties"]["operations"]["items"];
    assert_eq!(operation["properties"]["attributeSlug"]["enum"], json!(["products", "customer"]));
    assert_eq!(operation["required"], json!(["recordId", "attributeSlug"]));
    assert_eq!(body["properties"]["operations"]["maxItems"], 1000);
    assert_eq!(doc["paths"]["/v2/crm/orders/relations"]["patch"]["operationId"], "update_relations_orders");
}
