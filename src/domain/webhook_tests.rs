use super::*;

#[test]
fn callback_urls_must_be_https_unless_http_is_allowed() {
    assert!(CallbackUrl::parse("https://hooks.example.com/crm", false).is_ok());
    assert!(CallbackUrl::parse("http://hooks.example.com/crm", false).is_err());
    assert!(CallbackUrl::parse("http://hooks.example.com/crm", true).is_ok());
    for bad in ["ftp://example.com/", "hooks.example.com", "https://user:pw@example.com/", "mailto:a@b.c"] {
        assert!(CallbackUrl::parse(bad, true).is_err(), "{bad}");
    }
    assert!(CallbackUrl::parse(&format!("https://example.com/{}", "a".repeat(MAX_URL_LEN)), false).is_err());
}

#[test]
fn ip_literals_are_recognised() {
    let url = CallbackUrl::parse("https://[::1]:8443/x", false).unwrap();
    assert_eq!(url.ip_literal(), Some("::1".parse().unwrap()));
    assert_eq!(CallbackUrl::parse("https://example.com", false).unwrap().ip_literal(), None);
}

#[test]
fn internal_addresses_are_forbidden() {
    for ip in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
    ] {
        assert!(is_forbidden(ip.parse().unwrap()), "{ip}");
    }
}

#[test]
fn public_addresses_are_allowed() {
    for ip in ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
        assert!(!is_forbidden(ip.parse().unwrap()), "{ip}");
    }
}

#[test]
fn events_are_known_types_or_the_wildcard() {
    let events = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        parse_events(&events(&["crm.record.created", "crm.record.created"]), "/events").unwrap(),
        events(&["crm.record.created"])
    );
    let problems = parse_events(&events(&["crm.*", "invitee.scheduled", "crm.nope"]), "/events").unwrap_err();
    let pointers: Vec<_> = problems.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(pointers, ["/events/1", "/events/2"]);
    assert!(parse_events(&[], "/events").is_err());
    assert!(parse_events(&vec!["crm.*".to_owned(); MAX_EVENTS + 1], "/events").is_err());
}

#[test]
fn the_wildcard_subscribes_to_everything() {
    let all = vec!["crm.*".to_owned()];
    let some = vec!["crm.record.created".to_owned()];
    assert!(subscribes_to(&all, "crm.relation.updated"));
    assert!(subscribes_to(&some, "crm.record.created") && !subscribes_to(&some, "crm.record.deleted"));
    assert_eq!(type_filter(&all), None);
    assert_eq!(type_filter(&some), Some(some.clone()));
}

#[test]
fn verification_tokens_follow_zeeg() {
    assert_eq!(parse_token("  my-secret-token-123 ").unwrap(), "my-secret-token-123");
    assert!(parse_token("short").is_err());
    assert!(parse_token("has a space").is_err());
    assert!(parse_token("ünicode-token").is_err());
    assert!(parse_token(&"x".repeat(1001)).is_err());
}
