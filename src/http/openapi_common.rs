//! Responses and headers every operation shares, added to the document in one place so no
//! operation can forget them: `x-request-id` on every response, 401/403/429 where a token is
//! required, 503 with `Retry-After` where the database is involved, 413/415 where a body is read,
//! and the generic 500.

use serde_json::{Value, json};
use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{Content, Header, OpenApi, Ref, RefOr, Response};

use super::value_schema;

/// Adds the shared responses and headers to every operation.
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                complete(operation, path != "/healthz");
            }
        }
    }
}

fn complete(operation: &mut Operation, uses_database: bool) {
    let reads_body = operation.request_body.is_some();
    let authenticated = operation.security.is_some();
    let shared = [
        (authenticated, "401", "Missing, invalid or revoked token (`WWW-Authenticate: Bearer`)."),
        (authenticated, "403", "The token lacks the scope this operation requires (see its security requirement)."),
        (
            authenticated,
            "429",
            "This token exceeded its rate limit (`CRM_RATE_LIMIT`); retry after `Retry-After` seconds.",
        ),
        (
            uses_database,
            "503",
            "The database is unavailable or the request timed out; retry after `Retry-After` seconds.",
        ),
        (reads_body, "413", "The body exceeds 1 MiB."),
        (reads_body, "415", "The body is not sent as `Content-Type: application/json`."),
        (true, "500", "An unexpected error on our side; the body carries no internals."),
    ];
    for (applies, status, description) in shared {
        if applies && !operation.responses.responses.contains_key(status) {
            operation.responses.responses.insert(status.to_owned(), RefOr::T(error_response(description)));
        }
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            response.headers.entry("x-request-id".into()).or_insert_with(|| {
                header(
                    "The request id: the client's `x-request-id`, or a generated UUID. Quote it in support requests.",
                )
            });
            if status == "503" || status == "429" {
                response
                    .headers
                    .entry("Retry-After".into())
                    .or_insert_with(|| integer_header("Seconds to wait before retrying."));
            }
        }
    }
}

fn error_response(description: &str) -> Response {
    let mut response = Response::new(description);
    let schema: RefOr<utoipa::openapi::schema::Schema> = Ref::from_schema_name("ErrorBody").into();
    response.content.insert("application/json".into(), RefOr::T(Content::new(Some(schema))));
    response
}

fn header(description: &str) -> RefOr<Header> {
    let mut header = Header::new(ObjectBuilder::new().schema_type(Type::String));
    header.description = Some(description.to_owned());
    RefOr::T(header)
}

fn integer_header(description: &str) -> RefOr<Header> {
    let mut header = Header::new(ObjectBuilder::new().schema_type(Type::Integer));
    header.description = Some(description.to_owned());
    RefOr::T(header)
}

/// What a document cannot say through the derive macros: that a relation change needs at least
/// one non-empty list, and how a created record's id feeds the operations on that record (links,
/// which also drive stateful testing).
pub struct RelationsAndLinks;

/// The components the relation body is made of: `RelationRequestBody` is `oneOf` these.
pub const RELATION_ALTERNATIVES: [&str; 2] = ["RelationAdd", "RelationRemove"];

impl Modify for RelationsAndLinks {
    fn modify(&self, openapi: &mut OpenApi) {
        if let Some(components) = openapi.components.as_mut()
            && let Some(body) = components.schemas.get(RELATION_BODY)
        {
            let derived = serde_json::to_value(body).expect("schemas serialize");
            for (name, schema) in RELATION_ALTERNATIVES.into_iter().zip(relation_alternatives(&derived)) {
                components.schemas.insert(name.to_owned(), schema);
            }
            let refs: Vec<Value> =
                RELATION_ALTERNATIVES.iter().map(|n| json!({"$ref": format!("#/components/schemas/{n}")})).collect();
            let description = "`add` and/or `remove` must be a non-empty array of IDs; no ID may be in both.";
            let one_of = json!({"oneOf": refs, "description": description, "example": derived["example"]});
            components.schemas.insert(RELATION_BODY.to_owned(), from_json(one_of));
        }
        let Some(create) = openapi.paths.paths.get_mut("/v2/crm/{objectSlug}").and_then(|p| p.post.as_mut()) else {
            return;
        };
        if let Some(RefOr::T(created)) = create.responses.responses.get_mut("201") {
            for (name, operation) in [
                ("GetRecord", "get_record"),
                ("PatchRecord", "patch_record"),
                ("DeleteRecord", "delete_record"),
                ("UpdateRelation", "update_relation"),
            ] {
                let link = utoipa::openapi::link::LinkBuilder::new()
                    .operation_id(operation)
                    .parameter("objectSlug", "$request.path.objectSlug")
                    .parameter("recordId", "$response.body#/record/id")
                    .build();
                created.links.insert(name.into(), RefOr::T(link));
            }
        }
    }
}

const RELATION_BODY: &str = "RelationRequestBody";

/// The alternatives of the static document: any non-empty `attributeSlug`, lists described as
/// `RelationRequestBody`'s fields are.
fn relation_alternatives(derived: &Value) -> [RefOr<Schema>; 2] {
    let properties = &derived["properties"];
    let describe = |field: &str| properties[field]["description"].clone();
    value_schema::relation_alternatives(&properties["attributeSlug"], describe).map(from_json)
}

fn from_json(schema: Value) -> RefOr<Schema> {
    serde_json::from_value(schema).expect("a valid schema")
}
