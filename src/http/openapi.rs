//! The OpenAPI document's frame: info, security scheme, tags. Paths come from `routes!`.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

/// The document's frame; `http::api_router` adds every route to it.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "crm-api",
        description = "A CRM records API compatible with Zeeg's public v2 CRM API. Authenticate with \
            `Authorization: Bearer <token>`; tokens carry the scopes `crm:read`, `crm:write` \
            (implies `crm:read`), `users:read`, `webhooks:read` and `webhooks:write` (implies \
            `webhooks:read`). Every error uses one envelope: \
            `{success: false, status, code, message, errors: [{pointer, code, message}]}`."
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "health", description = "Probes for load balancers and orchestrators."),
        (name = "members", description = "The organization's members, targets of `user` attributes."),
        (name = "objects", description = "Objects and their attribute schemas."),
        (name = "records", description = "Records of any object, standard or custom."),
        (name = "webhooks", description = "Subscriptions that push CRM events to a URL: signed (Standard Webhooks), retried, in feed order."),
        (name = "changes", description = "The change feed: every committed change as an event, in commit order."),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.description = Some(
            "An API token from `crm-api token create`. Scopes: `crm:read`, `crm:write` (implies \
             `crm:read`), `users:read`, `webhooks:read`, `webhooks:write` (implies `webhooks:read`)."
                .into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}
