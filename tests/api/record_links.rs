use axum::http::{Method, StatusCode};
use crm_api::db;
use crm_api::db::relation::{self, ApplyCall, ApplyOutcome};
use serde_json::json;

use crate::helpers::{spawn_app, types};

#[tokio::test]
async fn relation_values_are_visible_from_both_sides() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let a = app.record(&org, "products", json!({"name": "A"})).await;
    let b = app.record(&org, "products", json!({"name": "B"})).await;
    // Links written by one request are stored in ID order.
    let (a, b) = (a.min(b), a.max(b));
    let order = app.record(&org, "orders", json!({"number": "1", "products": [b, a]})).await;
    assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([a, b]));
    assert_eq!(app.attributes(&org, "products", a).await["orders"], json!([order]));
    // The inverse side writes the same links.
    let c = app.record(&org, "products", json!({"name": "C", "orders": [order]})).await;
    assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([a, b, c]));
}

#[tokio::test]
async fn patch_replaces_relation_values_as_a_set_difference() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let [a, b, c] = [
        app.record(&org, "products", json!({})).await,
        app.record(&org, "products", json!({})).await,
        app.record(&org, "products", json!({})).await,
    ];
    let order = app.record(&org, "orders", json!({"products": [a, b]})).await;
    let path = format!("/v2/crm/orders/{order}");
    let response = app.patch(&path, &org.token, json!({"products": [b, c]})).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    // b kept its place (it was not rewritten), c was appended.
    assert_eq!(response.body["record"]["attributes"]["products"], json!([b, c]));
    assert_eq!(app.attributes(&org, "products", a).await["orders"], json!([]));
    let etag = response.headers["etag"].clone();
    let same = app.patch(&path, &org.token, json!({"products": [c, b]})).await;
    assert_eq!(same.headers["etag"], etag, "an unchanged set writes nothing");
    let cleared = app.patch(&path, &org.token, json!({"products": []})).await;
    assert_eq!(cleared.body["record"]["attributes"]["products"], json!([]));
}

#[tokio::test]
async fn deleting_a_record_removes_its_links_from_both_sides() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let a = app.record(&org, "products", json!({})).await;
    let b = app.record(&org, "products", json!({})).await;
    let order = app.record(&org, "orders", json!({"products": [a, b]})).await;
    app.delete(&format!("/v2/crm/products/{a}"), &org.token).await;
    assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([b]));
    app.delete(&format!("/v2/crm/orders/{order}"), &org.token).await;
    assert_eq!(app.attributes(&org, "products", b).await["orders"], json!([]));
}

#[tokio::test]
async fn link_targets_must_be_records_of_the_related_object_in_this_organization() {
    let app = spawn_app().await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    app.shop(&acme).await;
    app.shop(&globex).await;
    let theirs = app.record(&globex, "products", json!({})).await;
    let company = app.record(&acme, "companies", json!({"name": "Acme"})).await;
    let ours = app.record(&acme, "products", json!({})).await;
    let missing = uuid::Uuid::new_v4();
    let body = json!({"products": [ours, theirs, company, missing, "nope"]});
    let response = app.post("/v2/crm/orders", &acme.token, body).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.pointers(), vec!["/products/4"]);
    let body = json!({"products": [ours, theirs, company, missing]});
    let response = app.post("/v2/crm/orders", &acme.token, body).await;
    assert_eq!(response.pointers(), vec!["/products/1", "/products/2", "/products/3"]);
    assert!(response.body["errors"].as_array().unwrap().iter().all(|e| e["code"] == "not_found"));
    assert!(!response.body.to_string().contains("globex"));
    assert_eq!(app.get("/v2/crm/orders", &acme.token).await.body["pagination"]["total"], 0);
}

#[tokio::test]
async fn user_values_take_active_members_of_the_organization() {
    let app = spawn_app().await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    app.shop(&acme).await;
    let lena = app.member(acme.id, "lena@acme.example").await;
    let max = app.member(acme.id, "max@acme.example").await;
    let gina = app.member(globex.id, "gina@globex.example").await;
    db::members::deactivate(&app.pool, acme.id, max).await.unwrap();
    let deal = app.record(&acme, "deals", json!({"owners": [lena]})).await;
    assert_eq!(app.attributes(&acme, "deals", deal).await["owners"], json!([lena]));
    let response = app.patch(&format!("/v2/crm/deals/{deal}"), &acme.token, json!({"owners": [lena, max, gina]})).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let codes: Vec<_> =
        response.body["errors"].as_array().unwrap().iter().map(|e| (e["pointer"].clone(), e["code"].clone())).collect();
    assert_eq!(codes, vec![(json!("/owners/1"), json!("inactive_member")), (json!("/owners/2"), json!("not_found"))]);
}

#[tokio::test]
async fn many_to_one_takes_one_target_and_never_steals_links() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let acme = app.record(&org, "companies", json!({"name": "Acme"})).await;
    let globex = app.record(&org, "companies", json!({"name": "Globex"})).await;
    let two = app.post("/v2/crm/orders", &org.token, json!({"customer": [acme, globex]})).await;
    assert_eq!(two.status, StatusCode::CONFLICT);
    assert_eq!(two.code(), "cardinality_conflict");
    let order = app.record(&org, "orders", json!({"customer": [acme]})).await;
    // Swapping the single target in one write works.
    let swapped = app.patch(&format!("/v2/crm/orders/{order}"), &org.token, json!({"customer": [globex]})).await;
    assert_eq!(swapped.body["record"]["attributes"]["customer"], json!([globex]));
    // From the inverse (one_to_many) side, taking an order linked to another company is a 409.
    let steal = app.patch(&format!("/v2/crm/companies/{acme}"), &org.token, json!({"orders": [order]})).await;
    assert_eq!(steal.status, StatusCode::CONFLICT, "{}", steal.body);
    assert_eq!(steal.pointers(), vec!["/orders/0"]);
    let message = steal.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(&globex.to_string()), "{message}");
    assert_eq!(app.attributes(&org, "orders", order).await["customer"], json!([globex]));
}

#[tokio::test]
async fn standard_people_company_relation_works_like_any_other() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.record(&org, "companies", json!({"name": "Acme", "domain": "acme.example"})).await;
    let person = app
        .record(&org, "people", json!({"first_name": "Lena", "email": "lena@acme.example", "company": [company]}))
        .await;
    assert_eq!(app.attributes(&org, "companies", company).await["people"], json!([person]));
    let bad = app.post("/v2/crm/people", &org.token, json!({"email": "not-an-email"})).await;
    assert_eq!(bad.pointers(), vec!["/email"]);
}

#[tokio::test]
async fn deleting_an_attribute_deletes_its_links() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let lena = app.member(org.id, "lena@acme.example").await;
    let product = app.record(&org, "products", json!({})).await;
    app.record(&org, "orders", json!({"products": [product]})).await;
    app.record(&org, "deals", json!({"owners": [lena]})).await;
    let count = |table: &'static str| {
        let pool = app.pool.clone();
        async move {
            let sql = match table {
                "links" => "select count(*) from crm_record_links",
                _ => "select count(*) from crm_record_members",
            };
            sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap()
        }
    };
    assert_eq!((count("links").await, count("members").await), (1, 1));
    sqlx::query(
        "delete from crm_attributes where key in ('products', 'owners') and relation_side is distinct from 'target'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!((count("links").await, count("members").await), (0, 0));
}

/// Links whose records do not exist, counted directly: links keep no foreign keys to their
/// records (migration 0018).
async fn dangling_links(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar(
        "select count(*) from crm_record_links l
         where not exists (select 1 from crm_records r where r.organization_id = l.organization_id and r.record_id = l.source_id)
            or not exists (select 1 from crm_records r where r.organization_id = l.organization_id and r.record_id = l.target_id)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// A link to a record whose delete is under way waits for the delete (the validation locks the
/// records it finds, as the foreign key's check did) and then finds the record missing. Every
/// way links are written: the relation endpoint from either side of the relation, a batch
/// (whose validation is its own, set-based), a record created and a record PATCHed with the link.
#[tokio::test]
async fn linking_a_record_while_it_is_deleted_waits_and_finds_it_missing() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let order = app.record(&org, "orders", json!({})).await;
    let product = app.record(&org, "products", json!({})).await;
    for way in ["relation", "inverse relation", "batch", "record create", "record patch"] {
        // The record being deleted: a product, or for the inverse side an order.
        let doomed = match way {
            "inverse relation" => app.record(&org, "orders", json!({})).await,
            _ => app.record(&org, "products", json!({})).await,
        };
        let mut deleting = app.pool.begin().await.unwrap();
        sqlx::query("delete from crm_records where organization_id = $1 and record_id = $2")
            .bind(org.id)
            .bind(doomed)
            .execute(&mut *deleting)
            .await
            .unwrap();
        let (method, path, body, pointer) = match way {
            "relation" => (
                Method::PATCH,
                format!("/v2/crm/orders/{order}/relation"),
                json!({"attributeSlug": "products", "add": [doomed]}),
                "/add/0",
            ),
            "inverse relation" => (
                Method::PATCH,
                format!("/v2/crm/products/{product}/relation"),
                json!({"attributeSlug": "orders", "add": [doomed]}),
                "/add/0",
            ),
            "batch" => (
                Method::PATCH,
                "/v2/crm/orders/relations".to_owned(),
                json!({"operations": [{"recordId": order, "attributeSlug": "products", "add": [doomed]}]}),
                "/operations/0/add/0",
            ),
            "record create" => {
                (Method::POST, "/v2/crm/orders".to_owned(), json!({"products": [doomed]}), "/products/0")
            }
            _ => (Method::PATCH, format!("/v2/crm/orders/{order}"), json!({"products": [doomed]}), "/products/0"),
        };
        let (response, ()) = tokio::join!(app.call(method, &path, Some(&org.token), Some(body)), async {
            app.lock_waited_for().await;
            deleting.commit().await.unwrap();
        });
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{way}: {}", response.body);
        assert_eq!(response.pointers(), vec![pointer], "{way}");
        assert_eq!(response.body["errors"][0]["code"], "not_found", "{way}");
        assert_eq!(dangling_links(&app).await, 0, "{way}");
        assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([]), "{way}");
        assert_eq!(app.attributes(&org, "products", product).await["orders"], json!([]), "{way}");
    }
}

/// A delete of a record that a link is being written to waits for the link to commit, then
/// takes it with it and reports it as the link its delete dropped.
#[tokio::test]
async fn deleting_a_record_while_a_link_to_it_is_written_waits_and_takes_the_link() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let order = app.record(&org, "orders", json!({})).await;
    let product = app.record(&org, "products", json!({})).await;
    let cursor = app.head_cursor(&org).await;

    // The endpoint's own call, in a transaction held open: the link written, not committed.
    let (object, owner, event) = app.orders_products_call(&org, order).await;
    let call = ApplyCall {
        organization_id: org.id,
        object_id: object,
        record_id: order,
        owner,
        add: &[product],
        remove: &[],
        accepted_versions: None,
        with_links: false,
        event,
    };
    let mut linking = app.pool.begin().await.unwrap();
    assert_eq!(relation::call(&mut *linking, &call).await.unwrap().outcome, ApplyOutcome::Applied);
    let path = format!("/v2/crm/products/{product}");
    let deleting = app.delete(&path, &org.token);
    let (response, ()) = tokio::join!(deleting, async {
        app.lock_waited_for().await;
        linking.commit().await.unwrap();
    });
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(dangling_links(&app).await, 0);
    assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([]));
    // The feed has the link, then the delete that saw it and dropped it.
    let (events, _) = app.all_changes(&org, &cursor, 100).await;
    assert_eq!(types(&events), ["crm.relation.updated", "crm.relation.updated", "crm.record.deleted"]);
    assert_eq!((&events[0]["recordId"], &events[0]["data"]["added"]), (&json!(order), &json!([product])));
    assert_eq!((&events[1]["recordId"], &events[1]["data"]["removed"]), (&json!(product), &json!([order])));
    assert_eq!(events[2]["data"]["attributes"]["orders"], json!([order]));
}

/// The delete trigger covers the cascades too: an object's records (in SQL: the API deletes no
/// objects) and an organization's, and no other organization's links go with them.
#[tokio::test]
async fn deleting_an_object_or_an_organization_deletes_its_links_and_no_others() {
    let app = spawn_app().await;
    let (acme, globex) = (app.org("acme").await, app.org("globex").await);
    let links = |org: uuid::Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("select count(*) from crm_record_links where organization_id = $1")
                .bind(org)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    for org in [&acme, &globex] {
        app.shop(org).await;
        let a = app.record(org, "products", json!({})).await;
        let b = app.record(org, "products", json!({})).await;
        let company = app.record(org, "companies", json!({})).await;
        app.record(org, "orders", json!({"products": [a, b], "customer": [company]})).await;
    }
    assert_eq!((links(acme.id).await, links(globex.id).await), (3, 3));
    sqlx::query("delete from crm_objects where organization_id = $1 and slug = 'products'")
        .bind(acme.id)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!((links(acme.id).await, links(globex.id).await), (1, 3), "the customer link stays");
    sqlx::query("delete from organizations where organization_id = $1").bind(acme.id).execute(&app.pool).await.unwrap();
    assert_eq!((links(acme.id).await, links(globex.id).await), (0, 3));
    assert_eq!(dangling_links(&app).await, 0);
}
