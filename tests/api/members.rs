use axum::http::StatusCode;
use crm_api::db;

use crate::helpers::spawn_app;

#[tokio::test]
async fn lists_members_in_zeegs_shape() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let id = app.member(org.id, "lena@example.com").await;
    let response = app.get("/v2/organizations/users", &org.token).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!((response.body["success"].clone(), response.body["status"].clone()), (true.into(), 200.into()));
    let member = &response.body["collection"][0];
    assert_eq!(member["uuid"], id.to_string());
    assert_eq!(member["isActive"], true);
    assert_eq!(member["email"], "lena@example.com");
    assert_eq!(member["name"], "lena@example.com");
    assert_eq!(member["role"], "user");
    assert!(member["createdAt"].as_str().unwrap().ends_with("+00:00"));
    for key in ["firstName", "lastName", "updatedAt"] {
        assert!(member.get(key).is_some(), "{key}");
    }
}

#[tokio::test]
async fn paginates_with_per_page_and_links() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    for i in 0..5 {
        app.member(org.id, &format!("m{i}@example.com")).await;
    }
    let page2 = app.get("/v2/organizations/users?per_page=2&page=2", &org.token).await;
    assert_eq!(page2.status, StatusCode::OK);
    let p = &page2.body["pagination"];
    assert_eq!((p["total"].as_i64(), p["count"].as_i64(), p["totalPages"].as_i64()), (Some(5), Some(2), Some(3)));
    assert_eq!(p["currentPage"], 2);
    assert_eq!(p["previousPage"], "/v2/organizations/users?per_page=2&page=1");
    assert_eq!(p["nextPage"], "/v2/organizations/users?per_page=2&page=3");
    let emails: Vec<_> = page2.body["collection"].as_array().unwrap().iter().map(|m| m["email"].clone()).collect();
    assert_eq!(emails, vec!["m2@example.com", "m3@example.com"]);

    let last = app.get(p["nextPage"].as_str().unwrap(), &org.token).await;
    assert_eq!(last.body["pagination"]["count"], 1);
    assert!(last.body["pagination"]["nextPage"].is_null());
}

#[tokio::test]
async fn out_of_range_page_parameters_are_400_naming_each() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let cases = [
        ("per_page=0", vec!["per_page"]),
        ("per_page=101", vec!["per_page"]),
        ("per_page=abc", vec!["per_page"]),
        ("page=0", vec!["page"]),
        ("page=-3", vec!["page"]),
        ("per_page=1000&page=0", vec!["per_page", "page"]),
    ];
    for (query, pointers) in cases {
        let response = app.get(&format!("/v2/organizations/users?{query}"), &org.token).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(response.pointers(), pointers, "{query}");
    }
}

#[tokio::test]
async fn another_organizations_members_never_appear() {
    let app = spawn_app().await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    app.member(acme.id, "a@acme.example").await;
    app.member(globex.id, "g@globex.example").await;
    let response = app.get("/v2/organizations/users", &acme.token).await;
    let collection = response.body["collection"].as_array().unwrap();
    assert_eq!(collection.len(), 1);
    assert_eq!(collection[0]["email"], "a@acme.example");
    assert_eq!(response.body["pagination"]["total"], 1);
}

#[tokio::test]
async fn deactivated_members_stay_listed_as_inactive() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let id = app.member(org.id, "lena@example.com").await;
    assert!(db::members::deactivate(&app.pool, org.id, id).await.unwrap());
    let response = app.get("/v2/organizations/users", &org.token).await;
    assert_eq!(response.body["collection"][0]["isActive"], false);
}

#[tokio::test]
async fn a_database_failure_is_a_generic_500_without_internals() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    sqlx::query("drop table members cascade").execute(&app.pool).await.unwrap();
    let response = app.get("/v2/organizations/users", &org.token).await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.code(), "internal_error");
    let text = response.body.to_string();
    assert!(!text.contains("members") && !text.contains("relation"), "{text}");
}
