//! The HTTP API: one file per resource, each with its DTOs, handlers and OpenAPI annotations.

pub mod attribute_dto;
pub mod attributes;
pub mod auth;
pub mod auth_failures;
pub mod changes;
pub mod changes_doc;
pub mod error;
pub mod extract;
pub mod feed_wake;
pub mod health;
pub mod lookup;
pub mod members;
pub mod metrics;
pub mod middleware;
pub mod objects;
pub mod openapi;
pub mod openapi_common;
pub mod pagination;
pub mod rate_limit;
pub mod record_assert;
pub mod record_dto;
pub mod records;
pub mod relation;
pub mod relation_batch;
pub mod relation_batch_input;
pub mod relation_headers;
pub mod relation_input;
pub mod rendered_docs;
pub mod schema_dto;
pub mod security_headers;
pub mod state;
pub mod timestamp;
pub mod value_schema;
pub mod webhook_dto;
pub mod webhook_input;
pub mod webhook_test;
pub mod webhooks;
pub mod workspace_doc;
pub mod workspace_doc_batch;
pub mod workspace_schemas;

use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use state::AppState;

/// Every documented route. Routes are registered only here, through `routes!`, so none can be
/// served without appearing in the OpenAPI document.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(members::list_members))
        .routes(routes!(objects::list_objects, objects::create_object))
        .routes(routes!(objects::get_object, objects::update_object))
        .routes(routes!(attributes::create_attribute))
        .routes(routes!(attributes::update_attribute))
        .routes(with_fallback(
            routes!(records::list_records, records::create_record, record_assert::assert_record),
            record_assert::other_method,
        ))
        .routes(routes!(records::get_record, records::patch_record, records::delete_record))
        .routes(routes!(relation::update_relation))
        .routes(routes!(relation_batch::update_relations))
        .routes(routes!(workspace_doc::workspace_openapi))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(webhooks::get_webhook, webhooks::update_webhook, webhooks::delete_webhook))
        .routes(routes!(webhooks::test_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(changes::list_changes))
        .routes(routes!(changes::changes_cursor))
}

/// `routes` answering the methods they lack with `fallback` instead of the router's plain 405.
fn with_fallback<H, T>(routes: UtoipaMethodRouter<AppState>, fallback: H) -> UtoipaMethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    let (schemas, paths, router) = routes;
    (schemas, paths, router.fallback(fallback))
}

/// The generated OpenAPI document.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    split().1
}

fn split() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, mut spec) = api_router().split_for_parts();
    utoipa::Modify::modify(&openapi_common::CommonResponses, &mut spec);
    utoipa::Modify::modify(&openapi_common::RelationsAndLinks, &mut spec);
    utoipa::Modify::modify(&attribute_dto::TypeSpecificFields, &mut spec);
    (routes, spec)
}

/// The complete router over `state`: the API routes, `/openapi.json` and the Swagger UI at
/// `/docs` (served from the binary), with the middleware stack.
pub fn router(state: AppState, layers: &middleware::LayerConfig) -> Result<axum::Router, String> {
    let (routes, spec) = split();
    // The document and its viewer are not API operations, so they are the only routes outside `routes!`.
    // Not persisted: a token in localStorage outlives the tab and is readable by any script on
    // this origin.
    let config = utoipa_swagger_ui::Config::new(["/openapi.json"]).persist_authorization(false);
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", spec).config(config);
    let routes = routes.layer(axum::middleware::from_fn_with_state(state.feed.clone(), feed_wake::after_write));
    middleware::apply(routes.merge(docs).with_state(state), layers)
}
