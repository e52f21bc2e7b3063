//! Work per request does not grow with the relation: counted in rows fetched through indexes
//! (the transaction's own statistics), not in time.

use crm_api::db::links::LinkSide;
use crm_api::db::relation::{self, ApplyCall, ApplyOutcome};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, TestOrg, spawn_app};

#[tokio::test]
async fn removing_one_link_reads_one_link_even_without_statistics() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let order = app.record(&org, "orders", json!({"number": "1"})).await;
    let products = linked_products(&app, &org, order, 600).await;
    let spare = app.record(&org, "products", json!({})).await;

    let read = links_read(&app, &org, order, &[spare], &[products[300]], false).await;
    assert!(read < 20, "one removal and one insertion read {read} links of a record holding 600");
}

/// The full response's read-back keeps a generic plan for the session (crm_relation_apply),
/// made from whatever the last analyze saw. Here that is one record holding every link, which
/// once made the plan read all of the organization's links for any record.
#[tokio::test]
async fn the_full_response_reads_only_its_records_links_after_an_analyze_saw_one_record_hold_them_all() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let big = app.record(&org, "orders", json!({"number": "1"})).await;
    linked_products(&app, &org, big, 600).await;
    sqlx::query("analyze crm_records, crm_record_links").execute(&app.pool).await.unwrap();
    let small = app.record(&org, "orders", json!({"number": "2"})).await;
    let mine = linked_products(&app, &org, small, 3).await;
    let spare = app.record(&org, "products", json!({})).await;

    let read = links_read(&app, &org, small, &[spare], &[mine[0]], true).await;
    assert!(read < 20, "reading back a record's 3 links read {read} links (another record holds 600)");
}

/// A batch reads its own records only, whatever the statistics say about the organization's:
/// locking them (crm_records_lock) and bumping their versions once matched `record_id =
/// any(…)`, which without statistics was planned as a read of every record of the
/// organization, each compared with every ID.
#[tokio::test]
async fn a_batch_reads_only_its_own_records_even_without_statistics() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    // No analyze may run behind the test's back: the trap is the planner knowing nothing.
    sqlx::query("alter table crm_records set (autovacuum_enabled = false)").execute(&app.pool).await.unwrap();
    // In one statement: only the organization's size matters here, not how the records came.
    let orders: Vec<Uuid> = sqlx::query_scalar(
        "insert into crm_records (organization_id, object_id)
         select $1, o.object_id from crm_objects o, generate_series(1, 300)
         where o.organization_id = $1 and o.slug = 'orders' returning record_id",
    )
    .bind(org.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let product = app.record(&org, "products", json!({})).await;

    let read = batch_records_read(&app, &org, &orders[..2], product).await;
    assert!(read < 20, "a batch of 2 operations read {read} records of an organization of 301");
}

/// Records of the organization fetched by the batch's function adding `product` to each of
/// `orders`, in a transaction whose own table statistics we can read (rolled back).
async fn batch_records_read(app: &TestApp, org: &TestOrg, orders: &[Uuid], product: Uuid) -> i64 {
    let (object, owner, event) = app.orders_products_call(org, orders[0]).await;
    let n = orders.len();
    let mut tx = app.pool.begin().await.unwrap();
    let fetched = "select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
                   from pg_stat_xact_user_tables where relname = 'crm_records'";
    let (before,): (i64,) = sqlx::query_as(fetched).fetch_one(&mut *tx).await.unwrap();
    let outcomes: Vec<(String,)> = sqlx::query_as(
        "select r_outcome::text from crm_relation_apply_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                                                              $14, $15)",
    )
    .bind(org.id)
    .bind(object)
    .bind(orders)
    .bind(vec![LinkSide::Source; n])
    .bind(vec![owner.id; n])
    .bind(vec![owner.related_object; n])
    .bind(vec![false; n])
    .bind(vec![false; n])
    .bind(vec![1_i32; n])
    .bind(vec![product; n])
    .bind(vec![0_i32; n])
    .bind(Vec::<Uuid>::new())
    .bind(vec![-1_i32; n])
    .bind(Vec::<i64>::new())
    .bind(vec![event; n])
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let (after,): (i64,) = sqlx::query_as(fetched).fetch_one(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(outcomes.iter().all(|(o,)| o == "applied"), "{outcomes:?}");
    after - before
}

/// `n` new products, linked to `order` through the endpoint.
async fn linked_products(app: &TestApp, org: &TestOrg, order: Uuid, n: usize) -> Vec<Uuid> {
    let mut products = Vec::new();
    for _ in 0..n {
        products.push(app.record(org, "products", json!({})).await);
    }
    let path = format!("/v2/crm/orders/{order}/relation");
    let linked = app.patch(&path, &org.token, json!({"attributeSlug": "products", "add": products})).await;
    assert_eq!(linked.status, 200);
    products
}

/// Links fetched by the call the endpoint makes for `order`'s products, in a transaction whose
/// own index statistics we can read (rolled back). The call runs once first with nothing to
/// change, so its statements are planned before the count starts: planning can read index
/// entries too (a session whose plans the analyze invalidated plans them again), and that is
/// not what the plan reads when it runs.
async fn links_read(app: &TestApp, org: &TestOrg, order: Uuid, add: &[Uuid], remove: &[Uuid], with_links: bool) -> i64 {
    let mut tx = app.pool.begin().await.unwrap();
    let (object, owner, event) = app.orders_products_call(org, order).await;
    let call = |add, remove| ApplyCall {
        organization_id: org.id,
        object_id: object,
        record_id: order,
        owner,
        add,
        remove,
        accepted_versions: None,
        with_links,
        event: event.clone(),
    };
    let fetched = "select coalesce(idx_tup_fetch, 0) from pg_stat_xact_user_tables where relname = 'crm_record_links'";
    let warm = call(&[], &[]);
    assert_eq!(relation::call(&mut *tx, &warm).await.unwrap().outcome, ApplyOutcome::Applied);
    let (before,): (i64,) = sqlx::query_as(fetched).fetch_one(&mut *tx).await.unwrap();
    let row = relation::call(&mut *tx, &call(add, remove)).await.unwrap();
    assert_eq!(row.outcome, ApplyOutcome::Applied);
    let (after,): (i64,) = sqlx::query_as(fetched).fetch_one(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    after - before
}
