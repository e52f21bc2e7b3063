use serde_json::{Value, json};

use super::*;
use crate::domain::attribute::{AttributeType as T, SelectOption, TextValidation};
use crate::domain::schema::AttributeDef;

fn attr(kind: T) -> AttributeDef {
    let mut a = AttributeDef::for_test(kind);
    a.options = vec![
        SelectOption { id: 1, value: "Lead".into(), color: Some("warning".into()) },
        SelectOption { id: 2, value: "Active".into(), color: None },
    ];
    a
}

fn ok(kind: T, raw: Value) -> Value {
    parse_scalar(&attr(kind), &raw).unwrap_or_else(|e| panic!("{kind:?} {raw}: {e:?}"))
}

fn bad(kind: T, raw: Value) -> &'static str {
    match parse_scalar(&attr(kind), &raw) {
        Ok(v) => panic!("{kind:?} accepted {raw} as {v}"),
        Err(e) => e.code,
    }
}

#[test]
fn valid_values_become_canonical() {
    let cases = [
        (T::Text, json!("DRESS-001"), json!("DRESS-001")),
        (T::Text, json!("é".repeat(255)), json!("é".repeat(255))),
        (T::Number, json!(29), json!(29)),
        (T::Number, json!(29.0), json!(29)),
        (T::Number, json!(-0.5), json!(-0.5)),
        (T::Currency, json!(19.99), json!(19.99)),
        (T::PhoneNumber, json!("+49 30-123 456"), json!("+4930123456")),
        (T::PhoneNumber, json!("030123456"), json!("030123456")),
        (T::Date, json!("2025-06-01"), json!("2025-06-01")),
        (T::Date, json!("2024-02-29"), json!("2024-02-29")),
        (T::Datetime, json!("2025-06-01T12:00:00+02:00"), json!("2025-06-01T10:00:00+00:00")),
        (T::Datetime, json!("2025-06-01T10:00:00.5Z"), json!("2025-06-01T10:00:00.500+00:00")),
        (T::Datetime, json!("9999-12-31T23:59:59Z"), json!("9999-12-31T23:59:59+00:00")),
        (T::Checkbox, json!(true), json!(true)),
        (T::Rating, json!(0), json!(0)),
        (T::Rating, json!(5), json!(5)),
        (T::Select, json!({"id": 2}), json!(2)),
        (T::Status, json!({"id": "1"}), json!(1)),
        (T::Multiselect, json!([{"id": 2}, {"id": 1}, {"id": 2}]), json!([2, 1])),
        (T::Multiselect, json!([]), json!([])),
    ];
    for (kind, raw, canonical) in cases {
        assert_eq!(ok(kind, raw.clone()), canonical, "{kind:?} {raw}");
    }
}

#[test]
fn null_clears_every_scalar_type() {
    for kind in T::ALL.into_iter().filter(|t| !t.is_link()) {
        assert_eq!(ok(kind, Value::Null), Value::Null, "{kind:?}");
    }
}

#[test]
fn invalid_values_are_refused_with_a_code() {
    let cases = [
        (T::Text, json!(42), "invalid_type"),
        (T::Text, json!("x".repeat(256)), "too_long"),
        (T::Number, json!("29"), "invalid_type"),
        (T::Number, json!(true), "invalid_type"),
        (T::Currency, json!("9.99 EUR"), "invalid_type"),
        (T::PhoneNumber, json!("call me"), "invalid_format"),
        (T::PhoneNumber, json!("+"), "invalid_format"),
        (T::PhoneNumber, json!("1".repeat(33)), "invalid_format"),
        (T::PhoneNumber, json!(4930123), "invalid_type"),
        (T::Date, json!("2025-02-30"), "invalid_format"),
        (T::Date, json!("2025-6-1"), "invalid_format"),
        (T::Date, json!("2025-06-01T10:00:00Z"), "invalid_format"),
        (T::Datetime, json!("2025-06-01 10:00"), "invalid_format"),
        (T::Datetime, json!("2025-06-01T10:00:00"), "invalid_format"),
        (T::Datetime, json!("9999-12-31T23:59:59-23:59"), "out_of_range"),
        (T::Datetime, json!("0000-01-01T00:00:00+00:01"), "out_of_range"),
        (T::Datetime, json!("2025-06-30T23:59:60Z"), "out_of_range"),
        (T::Datetime, json!("+10000-01-01T00:00:00Z"), "invalid_format"),
        (T::Checkbox, json!("true"), "invalid_type"),
        (T::Checkbox, json!(1), "invalid_type"),
        (T::Rating, json!(6), "invalid_value"),
        (T::Rating, json!(-1), "invalid_value"),
        (T::Rating, json!(2.5), "invalid_value"),
        (T::Select, json!(1), "invalid_type"),
        (T::Select, json!({"id": 9}), "unknown_option"),
        (T::Select, json!({"id": "abc"}), "invalid_type"),
        (T::Status, json!({"value": "Lead"}), "unknown_field"),
        (T::Status, json!({}), "invalid_type"),
        (T::Select, json!({"id": " 1"}), "invalid_type"),
        (T::Select, json!({"id": "01"}), "invalid_type"),
        (T::Multiselect, json!({"id": 1}), "invalid_type"),
        (T::Multiselect, json!([{"id": 1}, {"id": 7}]), "unknown_option"),
        (T::Relation, json!("not-an-array"), "invalid_type"),
    ];
    for (kind, raw, code) in cases {
        assert_eq!(bad(kind, raw.clone()), code, "{kind:?} {raw}");
    }
}

#[test]
fn text_validation_checks_email_and_url() {
    let mut email = attr(T::Text);
    email.validation = vec![TextValidation::Email];
    assert!(parse_scalar(&email, &json!("lena@example.com")).is_ok());
    assert_eq!(parse_scalar(&email, &json!("lena")).unwrap_err().code, "invalid_format");
    let mut url = attr(T::Text);
    url.validation = vec![TextValidation::Url];
    assert!(parse_scalar(&url, &json!("https://acme.example/x")).is_ok());
    assert!(parse_scalar(&url, &json!("javascript:alert(1)")).is_err());
}

#[test]
fn link_values_parse_uuids_in_any_case_and_collapse_duplicates() {
    let id = uuid::Uuid::new_v4();
    let upper = id.to_string().to_uppercase();
    assert_eq!(parse_links(&json!([id.to_string(), upper])).unwrap(), vec![id]);
    assert!(parse_links(&json!([])).unwrap().is_empty());
    assert!(parse_links(&Value::Null).unwrap().is_empty());
}

#[test]
fn link_values_take_only_the_hyphenated_form() {
    let id = uuid::Uuid::new_v4();
    for other in [id.simple().to_string(), id.braced().to_string(), id.urn().to_string()] {
        assert!(parse_links(&json!([other])).is_err(), "{other}");
    }
}

#[test]
fn link_values_report_each_bad_entry_by_index() {
    let id = uuid::Uuid::new_v4().to_string();
    let errors = parse_links(&json!([id, "nope", 3, null])).unwrap_err();
    let at: Vec<_> = errors.iter().map(|e| e.at.as_str()).collect();
    assert_eq!(at, vec!["/1", "/2", "/3"]);
    assert!(errors.iter().all(|e| e.code == "invalid_uuid"));
    assert_eq!(parse_links(&json!({"id": id})).unwrap_err()[0].code, "invalid_type");
}

#[test]
fn more_than_a_thousand_links_are_refused() {
    let ids: Vec<String> = (0..1001).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    assert_eq!(parse_links(&json!(ids)).unwrap_err()[0].code, "too_many");
}

#[test]
fn rendering_drops_removed_options() {
    let a = attr(T::Multiselect);
    assert_eq!(render(&a, Some(&json!([2, 9, 1]))), json!([{"id": 2}, {"id": 1}]));
    assert_eq!(render(&attr(T::Select), Some(&json!(9))), Value::Null);
    assert_eq!(render(&attr(T::Select), Some(&json!(1))), json!({"id": 1}));
    assert_eq!(render(&attr(T::Text), None), Value::Null);
}

#[test]
fn unique_text_is_stable_for_numbers() {
    assert_eq!(unique_text(&ok(T::Number, json!(1.0))), unique_text(&ok(T::Number, json!(1))));
    assert_eq!(unique_text(&json!("a")), Some("a".into()));
    assert_eq!(unique_text(&Value::Null), None);
}

#[test]
fn numbers_stay_within_what_reads_back_from_postgres() {
    let price = AttributeDef::for_test(T::Number);
    assert!(parse_scalar(&price, &json!(1e300)).is_ok());
    assert_eq!(parse_scalar(&price, &json!(-1.7976931348623157e308)).unwrap_err().code, "out_of_range");
}
