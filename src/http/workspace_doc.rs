//! `GET /v2/openapi.json`: the OpenAPI document of the caller's workspace.
//!
//! The static document at `/openapi.json` cannot say which keys a record of `orders` takes:
//! that is data. This one can. It is the static document with the templated record paths
//! (`/v2/crm/{objectSlug}…`) replaced by one set per object, each with the exact JSON Schema of
//! that object's record bodies and relation changes, so typed clients and fuzzers see precisely
//! what the server accepts.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::auth::{Caller, CrmRead};
use super::error::ApiError;
use super::state::AppState;
use super::workspace_schemas::{self, Names, SCHEMA_REF};
use crate::domain::schema::ObjectDef;

const RECORDS: &str = "/v2/crm/{objectSlug}";
const RECORD: &str = "/v2/crm/{objectSlug}/{recordId}";
const RELATION: &str = "/v2/crm/{objectSlug}/{recordId}/relation";

/// The workspace's OpenAPI document
///
/// The API as it applies to this workspace: every operation of `/openapi.json`, with the record
/// paths spelled out per object (`/v2/crm/orders`, `/v2/crm/orders/{recordId}`, …) and each
/// object's record and relation bodies as exact JSON Schemas: its attribute keys and their value
/// types, required attributes, option ids, which attributes the relation endpoint takes. Generate a
/// typed client from it; fetch it again after changing objects or attributes. Requires `crm:read`.
#[utoipa::path(get, path = "/v2/openapi.json", tag = "objects",
    security(("bearer" = ["crm:read"])),
    responses(
        (status = 200, description = "An OpenAPI 3.1 document.", body = HashMap<String, serde_json::Value>),
    ))]
pub async fn workspace_openapi(
    caller: Caller<CrmRead>,
    State(state): State<AppState>,
) -> Result<axum::response::Response, ApiError> {
    let schema = state.cache.schema(&state.pool, caller.organization_id).await?;
    let rendered = state.docs.get(caller.organization_id, schema, render).await.map_err(ApiError::Internal)?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], rendered).into_response())
}

/// The document as JSON bytes; run by [`super::rendered_docs`], once per schema version.
fn render(schema: &crate::cache::Schema) -> Vec<u8> {
    serde_json::to_vec(&document(base(), schema)).expect("a JSON value serializes")
}

/// The static document as JSON, built once.
fn base() -> &'static Value {
    static BASE: OnceLock<Value> = OnceLock::new();
    BASE.get_or_init(|| serde_json::to_value(super::openapi_document()).expect("the document serializes"))
}

/// `base` specialized to `objects`.
pub fn document(base: &Value, objects: &[Arc<ObjectDef>]) -> Value {
    let mut doc = base.clone();
    if let Some(description) = doc.pointer_mut("/info/description") {
        *description = Value::String(format!(
            "{} This document describes one workspace: its record paths and bodies are generated from its objects.",
            description.as_str().unwrap_or_default()
        ));
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    let templates: Vec<(&str, Value)> =
        [RECORDS, RECORD, RELATION].into_iter().filter_map(|t| paths.remove(t).map(|item| (t, item))).collect();
    for object in objects {
        for (template, item) in &templates {
            let path = template.replace("{objectSlug}", &object.slug);
            if let Some(item) = specialize(template, item.clone(), object) {
                paths.insert(path, item);
            }
        }
    }
    super::workspace_doc_batch::specialize(paths, objects);
    drop_dangling_links(paths);
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        let specialized: Vec<_> = objects.iter().flat_map(|o| workspace_schemas::components(schemas, o)).collect();
        schemas.extend(specialized);
    }
    super::changes_doc::specialize(&mut doc, objects);
    let slugs: Vec<Value> = objects.iter().map(|o| Value::String(o.slug.clone())).collect();
    // Only a relation attribute names a related object; other types ignore the field.
    let alternatives =
        doc.pointer_mut("/components/schemas/CreateAttribute/allOf/1/oneOf").and_then(Value::as_array_mut);
    for alternative in alternatives.into_iter().flatten() {
        if alternative.pointer("/properties/type/enum") == Some(&json!(["relation"])) {
            alternative["properties"]["relatedObjectSlug"]["enum"] = Value::Array(slugs.clone());
        }
    }
    prune_schemas(&mut doc);
    doc
}

/// One templated path item for one object; `None` when none of its operations applies.
fn specialize(template: &str, mut item: Value, object: &ObjectDef) -> Option<Value> {
    let names = Names::of(object);
    let operations = item.as_object_mut()?;
    operations.retain(|method, operation| {
        let applies = match (template, method.as_str()) {
            (RECORDS, "post") => set_body(operation, names.reference("RecordCreate")),
            (RECORDS, "put") => assert_operation(operation, object, &names),
            (RECORD, "patch") => set_body(operation, names.reference("RecordUpdate")),
            (RELATION, "patch") => {
                object.value_attributes().any(|a| a.kind.is_link())
                    && set_body(operation, names.reference("RelationChange"))
            }
            _ => true,
        };
        if applies {
            rename(operation, object);
            names.retarget(operation);
        }
        applies
    });
    let has_operations = ["get", "put", "post", "patch", "delete"].iter().any(|m| operations.contains_key(*m));
    has_operations.then_some(item)
}
/// Drops the `objectSlug` parameter and makes the operation id (and the links that name
/// operation ids) unique per object.
pub(super) fn rename(operation: &mut Value, object: &ObjectDef) {
    if let Some(params) = operation.get_mut("parameters").and_then(Value::as_array_mut) {
        params.retain(|p| p["name"] != "objectSlug");
    }
    suffix_operation_id(operation, object);
    let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for response in responses.values_mut() {
        let Some(links) = response.get_mut("links").and_then(Value::as_object_mut) else {
            continue;
        };
        for link in links.values_mut() {
            suffix_operation_id(link, object);
            if let Some(params) = link.get_mut("parameters").and_then(Value::as_object_mut) {
                params.remove("objectSlug");
            }
        }
    }
}

/// `get_record` becomes `get_record_orders`, on an operation or on a link naming one.
fn suffix_operation_id(item: &mut Value, object: &ObjectDef) {
    if let Some(id) = item.get_mut("operationId") {
        *id = Value::String(format!("{}_{}", id.as_str().unwrap_or_default(), object.slug));
    }
}

/// Replaces the JSON request body's schema (and drops the generic examples, which name other
/// objects' keys). Always `true`: the operation applies.
fn set_body(operation: &mut Value, schema: Value) -> bool {
    if let Some(content) =
        operation.pointer_mut("/requestBody/content/application~1json").and_then(Value::as_object_mut)
    {
        content.remove("example");
        content.remove("examples");
        content.insert("schema".into(), schema);
    }
    true
}

/// Assert: `matchingAttribute` is one of the matchable keys; the body is a create body. (A
/// document cannot tie a body field to a query value: the body must carry a non-null value of
/// the key the query names.) `false` when nothing can be matched on: no `PUT`.
fn assert_operation(operation: &mut Value, object: &ObjectDef, names: &Names) -> bool {
    let keys: Vec<&str> = object.matchable_attributes().map(|a| a.key.as_str()).collect();
    if keys.is_empty() {
        return false;
    }
    if let Some(params) = operation.get_mut("parameters").and_then(Value::as_array_mut) {
        for param in params.iter_mut().filter(|p| p["name"] == "matchingAttribute") {
            param["schema"] = json!({"type": "string", "enum": keys});
        }
    }
    set_body(operation, names.reference("RecordCreate"))
}

/// Removes the response links that name an operation the document does not have (the relation
/// change of an object without relation or user attributes).
fn drop_dangling_links(paths: &mut Map<String, Value>) {
    let ids: HashSet<String> = paths
        .values()
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .filter_map(|operation| operation["operationId"].as_str().map(str::to_owned))
        .collect();
    let responses = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses").and_then(Value::as_object_mut))
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(Value::as_object_mut) else { continue };
        links.retain(|_, link| link["operationId"].as_str().is_some_and(|id| ids.contains(id)));
        if links.is_empty() {
            response.as_object_mut().map(|r| r.remove("links"));
        }
    }
}

/// Removes the component schemas nothing refers to (the generic record schemas, replaced by each
/// object's own), so generators make no types nobody uses.
fn prune_schemas(doc: &mut Value) {
    let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas").map(std::mem::take) else {
        return;
    };
    let mut used = HashSet::new();
    let mut pending = Vec::new();
    collect_refs(doc, &mut pending);
    while let Some(name) = pending.pop() {
        if let Some(schema) = schemas.get(&name)
            && used.insert(name)
        {
            collect_refs(schema, &mut pending);
        }
    }
    let kept: Map<String, Value> = schemas.into_iter().filter(|(name, _)| used.contains(name)).collect();
    doc["components"]["schemas"] = Value::Object(kept);
}

/// The schema names `value` refers to.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(SCHEMA_REF)) {
                out.push(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
