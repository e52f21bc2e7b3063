//! Work per request does not grow with the relation: counted in rows fetched through indexes
//! (the transaction's own statistics), not in time.

use crm_api::db::links::{LinkSide, Owner};
use crm_api::db::relation::{self, ApplyCall, ApplyOutcome};
use crm_api::domain::event::ChangeContext;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::spawn_app;

#[tokio::test]
async fn removing_one_link_reads_one_link_even_without_statistics() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let order = app.record(&org, "orders", json!({"number": "1"})).await;
    let mut products = Vec::new();
    for _ in 0..600 {
        products.push(app.record(&org, "products", json!({})).await);
    }
    let path = format!("/v2/crm/orders/{order}/relation");
    let linked = app.patch(&path, &org.token, json!({"attributeSlug": "products", "add": products})).await;
    assert_eq!(linked.status, 200);

    // The same call the endpoint makes, in a transaction whose own index statistics we can read.
    let mut tx = app.pool.begin().await.unwrap();
    let (object, relation, related): (Uuid, Uuid, Uuid) = sqlx::query_as(
        "select a.object_id, a.relation_id, o.object_id from crm_attributes a
         join crm_objects o on o.organization_id = a.organization_id and o.slug = 'products'
         where a.organization_id = $1 and a.key = 'products'",
    )
    .bind(org.id)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let spare = app.record(&org, "products", json!({})).await;
    let owner = Owner {
        side: LinkSide::Source,
        id: relation,
        related_object: Some(related),
        source_single: false,
        target_single: false,
    };
    let call = ApplyCall {
        organization_id: org.id,
        object_id: object,
        record_id: order,
        owner,
        add: &[spare],
        remove: &[products[300]],
        accepted_versions: None,
        with_links: false,
        context: serde_json::to_value(ChangeContext::cli("test")).unwrap(),
        event: json!({"type": "crm.relation.updated", "aggregate_type": "record", "object_slug": "orders",
            "related_object_slug": "products", "data": {"attributeSlug": "products", "added": [], "removed": [],
            "relatedObjectSlug": "products", "inverseAttributeSlug": "orders"}}),
    };
    let row = relation::call(&mut *tx, &call).await.unwrap();
    assert_eq!(row.outcome, ApplyOutcome::Applied);
    let (read,): (i64,) = sqlx::query_as(
        "select coalesce(idx_tup_fetch, 0) from pg_stat_xact_user_tables where relname = 'crm_record_links'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert!(read < 20, "one removal and one insertion read {read} links of a record holding 600");
}
