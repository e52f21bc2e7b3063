//! The HTTP API: one file per resource, each with its DTOs, handlers and OpenAPI annotations.

pub mod attributes;
pub mod auth;
pub mod error;
pub mod extract;
pub mod health;
pub mod lookup;
pub mod members;
pub mod middleware;
pub mod objects;
pub mod openapi;
pub mod pagination;
pub mod record_dto;
pub mod records;
pub mod relation;
pub mod relation_headers;
pub mod schema_dto;
pub mod state;
pub mod timestamp;

use axum::Json;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use state::AppState;

/// Every documented route. Routes are registered only here, through `routes!`, so none can be
/// served without appearing in the OpenAPI document.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(members::list_members))
        .routes(routes!(objects::list_objects, objects::create_object))
        .routes(routes!(objects::get_object, objects::update_object))
        .routes(routes!(attributes::create_attribute))
        .routes(routes!(attributes::update_attribute))
        .routes(routes!(records::list_records, records::create_record, records::assert_record))
        .routes(routes!(records::get_record, records::patch_record, records::delete_record))
        .routes(routes!(relation::update_relation))
}

/// The generated OpenAPI document.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api_router().into_openapi()
}

/// The complete router over `state`: API routes plus `/openapi.json`, with the middleware stack.
pub fn router(state: AppState, layers: &middleware::LayerConfig) -> Result<axum::Router, String> {
    let (routes, spec) = api_router().split_for_parts();
    // The spec itself is not an API operation, so it is the one route outside `routes!`.
    let routes = routes.route("/openapi.json", get(move || async move { Json(spec) }));
    middleware::apply(routes.with_state(state), layers)
}
