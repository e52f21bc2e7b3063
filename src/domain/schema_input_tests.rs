use super::*;

fn spec(kind: &str) -> AttributeSpec {
    AttributeSpec { label: Some("Customer Status".into()), kind: Some(kind.into()), ..Default::default() }
}

fn codes(spec: &AttributeSpec) -> Vec<(String, &'static str)> {
    new_attribute(spec).unwrap_err().into_iter().map(|p| (p.pointer, p.code)).collect()
}

#[test]
fn simple_types_need_only_label_and_type() {
    for kind in ["date", "datetime", "checkbox", "rating", "user"] {
        assert!(new_attribute(&spec(kind)).is_ok(), "{kind}");
    }
}

#[test]
fn type_specific_fields_are_required() {
    assert_eq!(codes(&spec("text")), vec![("/isUnique".into(), "required")]);
    assert_eq!(codes(&spec("select")), vec![("/options".into(), "required")]);
    let relation: Vec<_> = codes(&spec("relation")).into_iter().map(|(p, _)| p).collect();
    assert_eq!(relation, vec!["/relationType", "/relatedObjectSlug", "/relatedObjectLabel"]);
    assert_eq!(codes(&spec("currency")).len(), 4);
}

#[test]
fn label_and_type_are_checked() {
    let blank = AttributeSpec { label: Some("  ".into()), kind: Some("date".into()), ..Default::default() };
    assert_eq!(codes(&blank), vec![("/label".into(), "required")]);
    let unknown = AttributeSpec { label: Some("x".into()), kind: Some("json".into()), ..Default::default() };
    assert_eq!(codes(&unknown), vec![("/type".into(), "invalid_value")]);
}

#[test]
fn unique_is_ignored_where_it_does_not_apply() {
    let mut date = spec("date");
    date.is_unique = Some(true);
    assert!(!new_attribute(&date).unwrap().is_unique);
}

#[test]
fn inapplicable_fields_are_ignored_but_checked() {
    let mut date = spec("date");
    date.options = Some(vec![OptionSpec { id: None, value: " ".into(), color: None }]);
    date.relation_type = Some("many".into());
    assert_eq!(codes(&date), vec![("/options/0/value".into(), "required"), ("/relationType".into(), "invalid_value")]);
    let mut fine = spec("date");
    fine.options = Some(vec![OptionSpec { id: None, value: "A".into(), color: None }]);
    assert!(new_attribute(&fine).unwrap().options.is_empty());
}

#[test]
fn new_options_get_ids_from_one() {
    let mut s = spec("select");
    s.options = Some(vec![
        OptionSpec { id: None, value: "Lead".into(), color: Some("warning".into()) },
        OptionSpec { id: None, value: "Active".into(), color: None },
    ]);
    let ids: Vec<i64> = new_attribute(&s).unwrap().options.iter().map(|o| o.id).collect();
    assert_eq!(ids, vec![1, 2]);
}

#[test]
fn replacing_options_keeps_ids_of_kept_values_and_never_reuses_ids() {
    let existing = vec![
        SelectOption { id: 1, value: "Lead".into(), color: None },
        SelectOption { id: 2, value: "Active".into(), color: None },
    ];
    let sent = vec![
        OptionSpec { id: None, value: "Active".into(), color: Some("success".into()) },
        OptionSpec { id: Some(1), value: "Prospect".into(), color: None },
        OptionSpec { id: None, value: "Churned".into(), color: None },
    ];
    let mut problems = Vec::new();
    let (options, next) = replace_options(&existing, &sent, 3, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let pairs: Vec<(i64, &str)> = options.iter().map(|o| (o.id, o.value.as_str())).collect();
    assert_eq!(pairs, vec![(2, "Active"), (1, "Prospect"), (3, "Churned")]);
    assert_eq!(next, 4);
}

#[test]
fn replacing_options_treats_unknown_ids_as_new_and_drops_repeats() {
    let existing = vec![SelectOption { id: 1, value: "A".into(), color: None }];
    let sent = vec![
        OptionSpec { id: Some(9), value: "B".into(), color: None },
        OptionSpec { id: None, value: "B".into(), color: Some("red".into()) },
        OptionSpec { id: Some(1), value: "A2".into(), color: None },
        OptionSpec { id: Some(1), value: "A3".into(), color: None },
    ];
    let mut problems = Vec::new();
    let (options, next) = replace_options(&existing, &sent, 2, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let pairs: Vec<(i64, &str)> = options.iter().map(|o| (o.id, o.value.as_str())).collect();
    assert_eq!(pairs, vec![(2, "B"), (1, "A2")]);
    assert_eq!(next, 3);
}

#[test]
fn option_values_must_not_be_blank() {
    let mut problems = Vec::new();
    replace_options(&[], &[OptionSpec { id: None, value: " ".into(), color: None }], 1, &mut problems);
    assert_eq!(problems[0].pointer, "/options/0/value");
}

#[test]
fn object_slugs_follow_the_rules_and_avoid_reserved_names() {
    for (raw, code) in
        [("people", "slug_reserved"), ("objects", "slug_reserved"), ("ab", "slug_length"), ("9xy", "slug_start")]
    {
        let mut problems = Vec::new();
        assert!(object_slug(raw, &mut problems).is_none());
        assert_eq!(problems[0].code, code, "{raw}");
    }
    assert!(object_slug("products", &mut Vec::new()).is_some());
}
