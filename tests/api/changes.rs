//! The change feed: what schema writes record, filters, errors, tenancy, retention.

use axum::http::StatusCode;
use crm_api::db;
use crm_api::domain::cursor::Cursor;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, types};

async fn products(app: &TestApp, org: &crate::helpers::TestOrg) {
    app.object(org, "products").await;
    app.attribute(org, "products", json!({"label": "Name", "type": "text", "isUnique": false})).await;
}

#[tokio::test]
async fn schema_writes_record_their_events_with_actor_and_request() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let start = app.head_cursor(&org).await;
    products(&app, &org).await;
    app.object(&org, "orders").await;
    let relation = json!({"label": "Products", "type": "relation", "relationType": "many_to_many",
        "relatedObjectSlug": "products", "relatedObjectLabel": "Orders"});
    app.attribute(&org, "orders", relation).await;
    let (events, _) = app.all_changes(&org, &start, 100).await;
    assert_eq!(
        types(&events),
        [
            "crm.object.created",
            "crm.attribute.created",
            "crm.object.created",
            "crm.attribute.created",
            "crm.attribute.created"
        ]
    );
    let created = &events[0];
    assert_eq!(created["objectSlug"], "products");
    assert_eq!(
        created["data"]["object"],
        json!({"slug": "products", "singularName": "product",
        "pluralName": "products", "isStandard": false, "isActive": true})
    );
    assert_eq!(created["actor"]["type"], "token");
    assert_eq!(created["actor"]["name"], "test");
    assert!(created["actor"]["id"].is_string() && created["requestId"].is_string(), "{created}");
    assert_eq!((&created["recordId"], &created["recordVersion"]), (&Value::Null, &Value::Null));
    // Both attributes of the relation, each on its own object, naming each other.
    assert_eq!(
        (events[3]["objectSlug"].as_str(), events[4]["objectSlug"].as_str()),
        (Some("orders"), Some("products"))
    );
    assert_eq!(events[3]["data"]["attribute"]["inverseAttributeKey"], "orders");
    assert_eq!(events[4]["data"]["attribute"]["relatedObjectSlug"], "orders");
    let ids: std::collections::HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len());
}

#[tokio::test]
async fn updates_carry_what_changed_and_no_ops_write_nothing() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    products(&app, &org).await;
    let head = app.head_cursor(&org).await;
    let rename = app.patch("/v2/crm/objects/products", &org.token, json!({"singularName": "Item"})).await;
    assert_eq!(rename.status, StatusCode::OK);
    let same = app.patch("/v2/crm/objects/products", &org.token, json!({"singularName": "Item"})).await;
    assert_eq!(same.status, StatusCode::OK);
    let path = "/v2/crm/objects/products/attributes/name";
    assert_eq!(app.patch(path, &org.token, json!({"label": "Title"})).await.status, StatusCode::OK);
    assert_eq!(app.patch(path, &org.token, json!({"label": "Title"})).await.status, StatusCode::OK);
    let (events, _) = app.all_changes(&org, &head, 100).await;
    assert_eq!(types(&events), ["crm.object.updated", "crm.attribute.updated"]);
    assert_eq!(events[0]["data"]["changes"], json!({"singularName": {"before": "product", "after": "Item"}}));
    assert_eq!(events[1]["data"]["changes"], json!({"label": {"before": "Name", "after": "Title"}}));
    assert_eq!(events[1]["data"]["attribute"]["key"], "name");
}

#[tokio::test]
async fn a_refused_write_leaves_no_event() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    products(&app, &org).await;
    let head = app.head_cursor(&org).await;
    let duplicate = json!({"slug": "products", "singularName": "P", "pluralName": "Ps"});
    assert_eq!(app.post("/v2/crm/objects", &org.token, duplicate).await.status, StatusCode::CONFLICT);
    assert!(app.changes(&org, &format!("after={head}")).await.events.is_empty());
}

#[tokio::test]
async fn creating_an_organization_records_its_standard_objects() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let (events, _) = app.all_changes(&org, "", 100).await;
    let schema = app.get("/v2/crm/objects", &org.token).await.body;
    let objects = schema["collection"].as_array().unwrap();
    let created: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "crm.object.created")
        .map(|e| e["objectSlug"].as_str().unwrap())
        .collect();
    assert_eq!(created, objects.iter().map(|o| o["slug"].as_str().unwrap()).collect::<Vec<_>>());
    let attributes = events.iter().filter(|e| e["type"] == "crm.attribute.created").count();
    assert_eq!(attributes + created.len(), events.len(), "only object and attribute events");
    for object in objects {
        let slug = object["slug"].as_str().unwrap();
        let keys: Vec<&str> =
            object["attributes"].as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap()).collect();
        let recorded: Vec<&str> = events
            .iter()
            .filter(|e| e["type"] == "crm.attribute.created" && e["objectSlug"] == slug)
            .map(|e| e["data"]["attribute"]["key"].as_str().unwrap())
            .collect();
        // Every attribute but the system ones (id, created_at, updated_at), in display order.
        let visible: Vec<&str> = keys.into_iter().filter(|k| !["id", "created_at", "updated_at"].contains(k)).collect();
        assert_eq!(recorded, visible, "{slug}");
    }
    assert!(events.iter().all(|e| e["actor"]["type"] == "cli" && e["actor"]["name"] == "org create"), "{events:?}");
}

#[tokio::test]
async fn deleting_an_organization_deletes_its_events_and_no_others() {
    // The cascade is a trigger, not a foreign key (migration 0014).
    let app = spawn_app().await;
    let (acme, globex) = (app.org("acme").await, app.org("globex").await);
    products(&app, &acme).await;
    let count = |org: uuid::Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("select count(*) from crm_events where organization_id = $1")
                .bind(org)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let globex_events = count(globex.id).await;
    assert!(count(acme.id).await > globex_events && globex_events > 0);
    sqlx::query("delete from organizations where organization_id = $1").bind(acme.id).execute(&app.pool).await.unwrap();
    assert_eq!((count(acme.id).await, count(globex.id).await), (0, globex_events));
}

#[tokio::test]
async fn an_organization_sees_only_its_own_events_whatever_the_cursor() {
    let app = spawn_app().await;
    let (acme, globex) = (app.org("acme").await, app.org("globex").await);
    let start = app.head_cursor(&acme).await;
    products(&app, &acme).await;
    let (acme_events, acme_cursor) = app.all_changes(&acme, &start, 100).await;
    assert_eq!(acme_events.len(), 2);
    assert!(app.changes(&globex, &format!("after={start}")).await.events.is_empty());
    // From the oldest event: only globex's own creation.
    let (globex_all, _) = app.all_changes(&globex, "", 100).await;
    assert!(globex_all.iter().all(|e| ["people", "companies"].contains(&e["objectSlug"].as_str().unwrap())));
    // Another organization's cursor is only a position: it reveals nothing of that organization.
    assert!(app.changes(&globex, &format!("after={acme_cursor}")).await.events.is_empty());
    app.object(&globex, "deals").await;
    let seen = app.changes(&globex, "objectSlug=deals").await.events;
    assert_eq!(types(&seen), ["crm.object.created"]);
    let refused = app.get("/v2/changes?objectSlug=products", &globex.token).await;
    assert_eq!((refused.status, refused.pointers()), (StatusCode::BAD_REQUEST, vec!["objectSlug".to_owned()]));
}

#[tokio::test]
async fn filters_select_types_and_objects() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let start = app.head_cursor(&org).await;
    products(&app, &org).await;
    app.object(&org, "orders").await;
    let only = app.changes(&org, &format!("after={start}&types=crm.attribute.created")).await.events;
    assert_eq!(types(&only), ["crm.attribute.created"]);
    let orders = app.changes(&org, "objectSlug=orders").await.events;
    assert_eq!((orders.len(), orders[0]["objectSlug"].as_str()), (1, Some("orders")));
    let both = app.changes(&org, "types=crm.object.created,crm.attribute.created&objectSlug=products").await;
    assert_eq!(types(&both.events), ["crm.object.created", "crm.attribute.created"]);
    // An empty `after` is no cursor: from the oldest event (the organization's creation).
    let oldest = app.changes(&org, "after=").await.events;
    assert_eq!(oldest, app.changes(&org, "").await.events);
    assert_eq!(oldest[0]["objectSlug"], "people");
}

#[tokio::test]
async fn bad_parameters_are_400_with_every_problem_named() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let head = app.head_cursor(&org).await;
    let truncated = &head[..head.len() - 1];
    for (query, pointers) in [
        ("after=not-a-cursor".to_owned(), vec!["after"]),
        (format!("after={truncated}"), vec!["after"]),
        (format!("after={head}x"), vec!["after"]),
        ("count=0&wait=61".into(), vec!["count", "wait"]),
        ("count=1001&types=crm.record.created,crm.nope".into(), vec!["count", "types"]),
        ("count=ten&wait=-1&objectSlug=nothing".into(), vec!["count", "wait", "objectSlug"]),
    ] {
        let response = app.get(&format!("/v2/changes?{query}"), &org.token).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}: {}", response.body);
        assert_eq!(response.pointers(), pointers, "{query}");
    }
}

#[tokio::test]
async fn a_cursor_from_another_database_is_400() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let mut cursor = Cursor::decode(&app.head_cursor(&org).await).unwrap();
    let far = cursor.prev.xmax() + 1_000_000;
    cursor.prev = crm_api::domain::cursor::Snapshot::new(far, far, vec![]).unwrap();
    let response = app.get(&format!("/v2/changes?after={}", cursor.encode()), &org.token).await;
    assert_eq!((response.status, response.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
    assert_eq!(response.body["errors"][0]["code"], "invalid_cursor");
}

#[tokio::test]
async fn a_cursor_older_than_retention_is_410_with_how_to_resync() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let mut cursor = Cursor::decode(&app.head_cursor(&org).await).unwrap();
    cursor.issued_at -= 31 * 86_400;
    let response = app.get(&format!("/v2/changes?after={}", cursor.encode()), &org.token).await;
    assert_eq!((response.status, response.code()), (StatusCode::GONE, "cursor_expired"));
    assert!(response.body["message"].as_str().unwrap().contains("/v2/changes/cursor"), "{}", response.body);
    cursor.issued_at += 2 * 86_400;
    let fresh = app.get(&format!("/v2/changes?after={}", cursor.encode()), &org.token).await;
    assert_eq!(fresh.status, StatusCode::OK);
}

#[tokio::test]
async fn the_pruner_deletes_only_events_past_retention() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let start = app.head_cursor(&org).await;
    products(&app, &org).await;
    app.object(&org, "orders").await;
    // A horizon 40 days old at the transaction that created `orders` (what the pruner would
    // have recorded had every transaction before it finished then; the cluster's real horizon
    // depends on what other tests run): the events before it go, that transaction's stay.
    sqlx::query(
        "insert into crm_event_horizons (taken_at, oldest_xid)
         select now() - interval '40 days', min(xid) from crm_events where object_slug = 'orders'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // Set-up events (the organization's, the shop's) come before the horizon too: count them all.
    let before: i64 =
        sqlx::query_scalar("select count(*) from crm_events where xid < (select oldest_xid from crm_event_horizons)")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(before >= 2, "{before}");
    assert_eq!(db::events::prune(&app.pool, 30 * 86_400, 1).await.unwrap(), Some(before as u64));
    assert_eq!(db::events::prune(&app.pool, 30 * 86_400, 1).await.unwrap(), Some(0));
    let (left, _) = app.all_changes(&org, &start, 100).await;
    assert_eq!(types(&left), ["crm.object.created"]);
    assert_eq!(left[0]["objectSlug"], "orders");
}

/// A batch read over several pages ends with its own snapshot as the next `prev`, and that
/// cursor carries when the snapshot was taken (on the batch's first page), not when its last
/// page was read: expiry, and so what the pruner may delete, is measured from it.
#[tokio::test]
async fn a_batch_read_over_pages_ends_with_the_time_of_its_snapshot() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    products(&app, &org).await;
    let filter = db::events::Filter::default();
    let first = db::events::read(&app.pool, org.id, None, &filter, (1, 1 << 20), 1_000).await.unwrap();
    assert!(first.has_more);
    assert_eq!(first.next.within.as_ref().map(|w| w.taken_at), Some(1_000));
    let mut next = first.next;
    loop {
        let page = db::events::read(&app.pool, org.id, Some(&next), &filter, (1, 1 << 20), 5_000).await.unwrap();
        next = page.next;
        if !page.has_more {
            break;
        }
    }
    assert!(next.within.is_none());
    assert_eq!(next.issued_at, 1_000);

    // From a cursor issued earlier: the batch's time is its first page's, neither the cursor's
    // nor the last page's.
    let mut next = Cursor { prev: db::events::head(&app.pool).await.unwrap(), within: None, issued_at: 500 };
    app.object(&org, "gadgets").await;
    app.attribute(&org, "gadgets", json!({"label": "Name", "type": "text", "isUnique": false})).await;
    let mut now = 1_000;
    loop {
        let page = db::events::read(&app.pool, org.id, Some(&next), &filter, (1, 1 << 20), now).await.unwrap();
        next = page.next;
        now = 5_000;
        if !page.has_more {
            break;
        }
    }
    assert_eq!((next.within, next.issued_at), (None, 1_000));
}

/// A transaction still running when a horizon is taken keeps its events however old that
/// horizon gets: a cursor taken before it committed has not read them yet.
#[tokio::test]
async fn the_pruner_keeps_the_events_of_a_transaction_running_at_its_horizon() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let start = app.head_cursor(&org).await;
    let mut running = app.pool.begin().await.unwrap();
    sqlx::query("select pg_current_xact_id()").execute(&mut *running).await.unwrap();
    // A later transaction commits first: the snapshot's xmax is now past `running`, its xmin is not.
    app.object(&org, "orders").await;
    // The pruner records its horizon now (nothing is old enough to prune yet; any horizon already
    // there would predate `running`, so it goes first); aged 40 days, it is what a later run uses.
    sqlx::query("delete from crm_event_horizons").execute(&app.pool).await.unwrap();
    assert!(db::events::prune(&app.pool, 30 * 86_400, 100).await.unwrap().is_some());
    let recorded: i64 =
        sqlx::query_scalar("select count(*) from crm_event_horizons").fetch_one(&app.pool).await.unwrap();
    assert_eq!(recorded, 1);
    sqlx::query("update crm_event_horizons set taken_at = taken_at - interval '40 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    let pieces =
        vec![r#"{"type":"crm.object.updated","objectSlug":"late","occurredAt":""#.to_owned(), r#""}"#.to_owned()];
    sqlx::query(
        "select crm_events_append($1, array[row(gen_random_uuid(), 'crm.object.updated', 'object', gen_random_uuid(),
                                               'late', null, null, null, $2)::crm_event_row])",
    )
    .bind(org.id)
    .bind(&pieces)
    .execute(&mut *running)
    .await
    .unwrap();
    running.commit().await.unwrap();
    db::events::prune(&app.pool, 30 * 86_400, 100).await.unwrap();
    let (left, _) = app.all_changes(&org, &start, 100).await;
    assert_eq!(left.iter().map(|e| e["objectSlug"].as_str().unwrap()).collect::<Vec<_>>(), ["orders", "late"]);
}

#[tokio::test]
async fn events_have_exactly_the_documented_fields() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    app.patch("/v2/crm/objects/products", &org.token, json!({"pluralName": "Goods"})).await;
    app.patch("/v2/crm/objects/products/attributes/name", &org.token, json!({"isRequired": true})).await;
    let product = app.record(&org, "products", json!({"name": "Dress"})).await;
    let order = app.record(&org, "orders", json!({"products": [product]})).await;
    app.patch(&format!("/v2/crm/products/{product}"), &org.token, json!({"price": 3})).await;
    app.delete(&format!("/v2/crm/orders/{order}"), &org.token).await;
    let doc = serde_json::to_value(crm_api::http::openapi_document()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<std::collections::BTreeSet<_>>();
    let mut envelope = keys(&schemas["EventEnvelope"]["properties"]);
    envelope.insert("data".into());
    let (events, _) = app.all_changes(&org, "", 100).await;
    let mut seen: Vec<&str> = types(&events);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 8, "every type: {seen:?}");
    for event in &events {
        assert_eq!(keys(event), envelope, "{event}");
        let variant = doc["components"]["schemas"]["Event"]["discriminator"]["mapping"]
            [event["type"].as_str().unwrap()]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
        let data_ref = schemas[variant]["allOf"][1]["properties"]["data"]["$ref"].as_str().unwrap();
        let data_schema = &schemas[data_ref.rsplit('/').next().unwrap()];
        assert!(keys(&event["data"]).is_subset(&keys(&data_schema["properties"])), "{event}");
        let required: Vec<String> = serde_json::from_value(data_schema["required"].clone()).unwrap();
        assert!(required.iter().all(|k| event["data"].get(k).is_some()), "{event}");
    }
}
