use serde_json::json;
use uuid::Uuid;

use super::*;

fn problems(body: serde_json::Value) -> Vec<(String, &'static str)> {
    ChangeSet::parse(&body).unwrap_err().into_iter().map(|p| (p.pointer, p.code)).collect()
}

#[test]
fn parses_add_and_remove() {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let change = ChangeSet::parse(&json!({"attributeSlug": "products", "add": [a], "remove": [b]})).unwrap();
    assert_eq!((change.attribute_slug(), change.add(), change.remove()), ("products", &[a][..], &[b][..]));
}

#[test]
fn either_list_alone_is_enough() {
    let a = Uuid::new_v4();
    assert!(ChangeSet::parse(&json!({"attributeSlug": "p", "add": [a]})).is_ok());
    assert!(ChangeSet::parse(&json!({"attributeSlug": "p", "remove": [a], "add": null})).is_ok());
}

#[test]
fn both_lists_empty_or_missing_is_refused() {
    for body in [json!({"attributeSlug": "p"}), json!({"attributeSlug": "p", "add": [], "remove": []})] {
        assert_eq!(problems(body), vec![(String::new(), "empty_change")]);
    }
}

#[test]
fn an_id_in_both_lists_is_named() {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let errors = ChangeSet::parse(&json!({"attributeSlug": "p", "add": [a, b], "remove": [b]})).unwrap_err();
    assert_eq!(errors[0].pointer, "/remove/0");
    assert_eq!(errors[0].code, "in_both_lists");
    assert!(errors[0].message.contains(&b.to_string()));
}

#[test]
fn duplicates_collapse_and_case_does_not_matter() {
    let a = Uuid::new_v4();
    let upper = a.to_string().to_uppercase();
    let change = ChangeSet::parse(&json!({"attributeSlug": "p", "add": [a, upper, a]})).unwrap();
    assert_eq!(change.add(), &[a]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let body = json!({"attributeSlug": 3, "add": ["x", Uuid::new_v4()], "remove": "y", "extra": true});
    assert_eq!(
        problems(body),
        vec![
            ("/extra".into(), "unknown_field"),
            ("/attributeSlug".into(), "invalid_type"),
            ("/add/0".into(), "invalid_uuid"),
            ("/remove".into(), "invalid_type"),
        ]
    );
    assert_eq!(problems(json!({"add": [Uuid::new_v4()]})), vec![("/attributeSlug".into(), "required")]);
    assert_eq!(problems(json!([1])), vec![(String::new(), "invalid_type")]);
}

#[test]
fn at_most_a_thousand_ids_per_list() {
    let ids: Vec<String> = (0..1001).map(|_| Uuid::new_v4().to_string()).collect();
    assert_eq!(problems(json!({"attributeSlug": "p", "add": ids})), vec![("/add".into(), "too_many")]);
    let ids: Vec<String> = (0..1000).map(|_| Uuid::new_v4().to_string()).collect();
    assert_eq!(ChangeSet::parse(&json!({"attributeSlug": "p", "remove": ids})).unwrap().remove().len(), 1000);
}

#[test]
fn fingerprints_tell_requests_apart() {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let one = ChangeSet::parse(&json!({"attributeSlug": "p", "add": [a], "remove": [b]})).unwrap();
    let same = ChangeSet::parse(&json!({"remove": [b], "add": [a, a], "attributeSlug": "p"})).unwrap();
    let swapped = ChangeSet::parse(&json!({"attributeSlug": "p", "add": [b], "remove": [a]})).unwrap();
    assert_eq!(one.fingerprint("/x"), same.fingerprint("/x"));
    assert_ne!(one.fingerprint("/x"), swapped.fingerprint("/x"));
    assert_ne!(one.fingerprint("/x"), one.fingerprint("/y"));
}
