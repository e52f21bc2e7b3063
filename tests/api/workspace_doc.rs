//! `GET /v2/openapi.json`: the document of the caller's workspace.

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn spells_out_each_objects_record_paths_with_exact_bodies() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let stage = json!({"label": "Stage", "type": "select", "options": [{"value": "Lead"}, {"value": "Won"}]});
    app.attribute(&org, "deals", stage).await;
    app.attribute(&org, "deals", json!({"label": "Budget", "type": "number", "isUnique": false, "isRequired": true}))
        .await;
    let response = app.get("/v2/openapi.json", &org.token).await;
    assert_eq!(response.status, StatusCode::OK);
    let doc = &response.body;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().all(|p| !p.contains("{objectSlug}")), "templated record paths are replaced");
    for path in ["/v2/crm/products", "/v2/crm/orders/{recordId}", "/v2/crm/orders/{recordId}/relation"] {
        assert!(paths.contains_key(path), "{path}");
    }

    let schemas = &doc["components"]["schemas"];
    let body = |path: &str, method: &str| {
        let schema = &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
        let name = schema["$ref"].as_str().unwrap().trim_start_matches("#/components/schemas/");
        schemas[name].clone()
    };
    let create = body("/v2/crm/deals", "post");
    assert_eq!(keys(&create["properties"]), ["budget", "owners", "stage", "title"]);
    assert_eq!(create["additionalProperties"], false);
    assert_eq!(create["required"], json!(["budget"]));
    let stage = &create["properties"]["stage"]["anyOf"][0]["properties"]["id"]["anyOf"];
    assert_eq!(stage, &json!([{"type": "integer", "enum": [1, 2]}, {"type": "string", "enum": ["1", "2"]}]));
    assert!(body("/v2/crm/deals/{recordId}", "patch").get("required").is_none(), "isRequired applies on create only");
    let update = &doc["paths"]["/v2/crm/deals/{recordId}"]["patch"]["requestBody"]["content"]["application/json"];
    assert!(update.get("example").is_none(), "the generic example names other objects' keys");

    let relation = &doc["paths"]["/v2/crm/orders/{recordId}/relation"]["patch"];
    let change = body("/v2/crm/orders/{recordId}/relation", "patch");
    assert_eq!(change["oneOf"].as_array().unwrap().len(), 2, "add, or remove only");
    for (alternative, required) in [("OrdersRelationAdd", "add"), ("OrdersRelationRemove", "remove")] {
        let schema = &schemas[alternative];
        assert_eq!(schema["properties"]["attributeSlug"]["enum"], json!(["products", "customer"]));
        assert_eq!(schema["required"], json!(["attributeSlug", required]));
        assert_eq!(schema["properties"][required]["items"]["format"], "uuid");
        assert_eq!(schema["properties"][required]["minItems"], 1);
    }
    assert!(relation["parameters"].as_array().unwrap().iter().all(|p| p["name"] != "objectSlug"));
    let customer = &body("/v2/crm/orders", "post")["properties"]["customer"]["anyOf"][0];
    assert_eq!(customer["maxItems"], 1, "many_to_one links at most one record");
    let matching = &doc["paths"]["/v2/crm/products"]["put"]["parameters"][0];
    assert_eq!(matching["schema"]["enum"], json!(["name", "price", "sku"]));

    let ok = &relation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(ok, "#/components/schemas/OrdersRelationResponse");
    let record = &schemas["OrdersRecord"]["properties"]["attributes"];
    assert_eq!(record["required"], json!(["number", "products", "customer"]), "every key is rendered");
    assert_eq!(record["properties"]["products"]["items"]["format"], "uuid");
    assert!(schemas.get("RecordDto").is_none(), "the generic record is replaced and pruned");

    let mut ids = HashSet::new();
    for item in paths.values() {
        for operation in item.as_object().unwrap().values() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "operationId {id} is unique");
        }
    }
    let links = &doc["paths"]["/v2/crm/orders"]["post"]["responses"]["201"]["links"]["GetRecord"];
    assert_eq!(links["operationId"], "get_record_orders");
    assert!(ids.contains("get_record_orders"));
}

#[tokio::test]
async fn objects_without_links_have_no_relation_path_and_other_workspaces_stay_hidden() {
    let app = spawn_app().await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    app.object(&acme, "notes").await;
    app.attribute(&acme, "notes", json!({"label": "Body", "type": "text", "isUnique": false})).await;
    let doc = app.get("/v2/openapi.json", &acme.token).await.body;
    assert!(doc["paths"].get("/v2/crm/notes").is_some());
    assert!(doc["paths"].get("/v2/crm/notes/{recordId}/relation").is_none(), "nothing to link");
    let links = &doc["paths"]["/v2/crm/notes"]["post"]["responses"]["201"]["links"];
    assert_eq!(keys(links), ["DeleteRecord", "GetRecord", "PatchRecord"], "no link to an absent operation");
    let slugs = &doc["components"]["schemas"]["CreateAttribute"]["allOf"][1]["oneOf"][2]["properties"]["relatedObjectSlug"]
        ["enum"];
    assert_eq!(slugs, &json!(["people", "companies", "notes"]));
    let other = app.get("/v2/openapi.json", &globex.token).await.body;
    assert!(other["paths"].get("/v2/crm/notes").is_none());
    assert!(!other.to_string().contains("notes"), "nothing of another workspace leaks");
    let anonymous = app.call(Method::GET, "/v2/openapi.json", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn values_outside_the_documented_shapes_are_refused() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let stage = json!({"label": "Stage", "type": "select", "options": [{"value": "Lead"}]});
    app.attribute(&org, "deals", stage).await;
    let cases = [
        ("/v2/crm/products", json!({"price": -1.7976931348623157e308}), "/price"),
        ("/v2/crm/deals", json!({"stage": {"id": 1, "value": "Lead"}}), "/stage"),
        ("/v2/crm/deals", json!({"stage": {"id": " 1"}}), "/stage"),
        ("/v2/crm/orders", json!({"products": [uuid::Uuid::new_v4().simple().to_string()]}), "/products/0"),
    ];
    for (path, body, pointer) in cases {
        let response = app.post(path, &org.token, body.clone()).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(response.pointers(), [pointer], "{body}");
    }
    let huge_option =
        json!({"label": "Tier", "type": "select", "options": [{"id": 9223372036854775808u64, "value": "A"}]});
    let response = app.post("/v2/crm/objects/deals/attributes", &org.token, huge_option).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);

    let order = app.record(&org, "orders", json!({"number": "1"})).await;
    let request = axum::http::Request::builder()
        .method(Method::PATCH)
        .uri(format!("/v2/crm/orders/{order}/relation"))
        .header("authorization", format!("Bearer {}", org.token))
        .header("content-type", "application/json")
        .header("if-match", "3")
        .body(axum::body::Body::from(json!({"attributeSlug": "products", "remove": [order]}).to_string()))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "an unquoted tag is malformed");
    assert_eq!(response.pointers(), ["If-Match"]);
}

#[tokio::test]
async fn an_object_without_matchable_attributes_has_no_assert() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.object(&org, "stamps").await;
    let kinds = json!({"label": "Kinds", "type": "multiselect", "options": [{"value": "A"}]});
    app.attribute(&org, "stamps", kinds).await;
    let doc = app.get("/v2/openapi.json", &org.token).await.body;
    assert!(doc["paths"]["/v2/crm/stamps"].get("put").is_none());
    let response =
        app.call(Method::PUT, "/v2/crm/stamps?matchingAttribute=kinds", Some(&org.token), Some(json!({}))).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "as for any method a path lacks");
    assert_eq!(response.body["code"], "method_not_allowed");
    assert_eq!(response.headers["allow"], "GET,HEAD,POST");
    let delete = app.call(Method::DELETE, "/v2/crm/stamps", Some(&org.token), None).await;
    assert_eq!(delete.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(delete.headers["allow"], "GET,HEAD,POST", "the methods this object has");
    let orders = app.call(Method::DELETE, "/v2/crm/people", Some(&org.token), None).await;
    assert_eq!(orders.headers["allow"], "GET,HEAD,POST,PUT");
    assert_eq!(orders.body["code"], "method_not_allowed");
}
