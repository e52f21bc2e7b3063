//! The batch endpoint's two ways of applying operations (set-based rounds, and one
//! crm_relation_apply per operation when a record has more than four operations or
//! operations on different records could meet on a link) give the same answers.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::batch::{batch, products, setup};

/// The same chain of operations on one order, with every `ifMatch` the version before it, and
/// `extra` further no-op operations on the same order to choose the way.
fn chain(order: Uuid, p: &[Uuid], extra: usize) -> Value {
    let op = |key: &str, id: Uuid, version: u32| json!({"recordId": order, "attributeSlug": "products", key: [id], "ifMatch": format!("\"{version}\"")});
    let mut ops = vec![op("add", p[0], 1), op("add", p[1], 2), op("remove", p[0], 3)];
    ops.extend((0..extra).map(|_| op("remove", p[0], 4)));
    json!({"operations": ops})
}

#[tokio::test]
async fn both_ways_answer_alike() {
    let (app, org) = setup().await;
    let p = products(&app, &org, 2).await;
    let mut answers = Vec::new();
    for extra in [1, 3] {
        let order = app.record(&org, "orders", json!({})).await;
        let response = batch(&app, &org, chain(order, &p, extra), &[]).await;
        assert_eq!(response.status, 200, "{}", response.body);
        let results = response.body["results"].as_array().unwrap().clone();
        let summary: Vec<(Value, Value, Value)> =
            results.iter().map(|r| (r["added"].clone(), r["removed"].clone(), r["etag"].clone())).collect();
        answers.push(summary[..4].to_vec());
        assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([p[1]]));
    }
    assert_eq!(answers[0], answers[1], "4 operations on a record (rounds) and 6 (one by one)");
    assert_eq!(answers[0][2], (json!([]), json!([p[0]]), json!("\"4\"")));
    assert_eq!(answers[0][3], (json!([]), json!([]), json!("\"4\"")), "a no-op keeps the version");
}
