//! Bearer-token authentication and scope checks, as extractors that run before the body is read.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use super::error::ApiError;
use super::state::AppState;
use crate::domain::event::ChangeContext;
use crate::domain::scope::{Scope, Scopes};
use crate::domain::token::PresentedToken;

/// A scope a route requires, as a type so the requirement sits in the handler's signature.
pub trait Required: Send + Sync + 'static {
    /// The scope checked.
    const SCOPE: Scope;
}

/// Marker: the route needs `crm:read` (granted by `crm:write` too).
pub struct CrmRead;
/// Marker: the route needs `crm:write`.
pub struct CrmWrite;
/// Marker: the route needs `users:read`.
pub struct UsersRead;
/// Marker: the route needs `webhooks:read` (granted by `webhooks:write` too).
pub struct WebhooksRead;
/// Marker: the route needs `webhooks:write`.
pub struct WebhooksWrite;

impl Required for CrmRead {
    const SCOPE: Scope = Scope::CrmRead;
}
impl Required for CrmWrite {
    const SCOPE: Scope = Scope::CrmWrite;
}
impl Required for UsersRead {
    const SCOPE: Scope = Scope::UsersRead;
}
impl Required for WebhooksRead {
    const SCOPE: Scope = Scope::WebhooksRead;
}
impl Required for WebhooksWrite {
    const SCOPE: Scope = Scope::WebhooksWrite;
}

/// An authenticated caller holding scope `R`; 401 without a valid token, 403 without the scope.
pub struct Caller<R: Required> {
    /// The organization the token belongs to; every query is confined to it.
    pub organization_id: Uuid,
    /// The token's public id (the actor of what the request changes).
    pub token_id: Uuid,
    /// Who the changes this request makes are attributed to, in their events.
    pub change: ChangeContext,
    _scope: PhantomData<R>,
}

impl<R: Required> FromRequestParts<AppState> for Caller<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let address = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        state.auth_failures.check(address).map_err(ApiError::RateLimited)?;
        let (organization_id, token_id, token_name) = match authenticate::<R>(parts, state).await {
            Err(ApiError::InvalidToken) => {
                state.auth_failures.failed(address).map_err(ApiError::RateLimited)?;
                return Err(ApiError::InvalidToken);
            }
            other => other?,
        };
        super::feed_wake::caller_seen(parts, organization_id);
        let change = super::feed_wake::change_context(parts, token_id, token_name);
        Ok(Caller { organization_id, token_id, change, _scope: PhantomData })
    }
}

/// The organization, id and name of the token presented, if it is valid and holds scope `R`.
async fn authenticate<R: Required>(parts: &Parts, state: &AppState) -> Result<(Uuid, Uuid, Option<String>), ApiError> {
    let mut headers = parts.headers.get_all(AUTHORIZATION).iter();
    let header = headers.next().ok_or(ApiError::MissingToken)?;
    if headers.next().is_some() {
        // Which one counts is ambiguous (a proxy may check the other): refuse both.
        let message = "Send exactly one Authorization header.".to_owned();
        return Err(ApiError::BadRequest { code: "duplicate_header", message, errors: vec![] });
    }
    let bearer = header
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(ApiError::InvalidToken)?;
    let presented = PresentedToken::parse(bearer).ok_or(ApiError::InvalidToken)?;
    let stored = state.cache.token(&state.pool, presented.id()).await?;
    // Compared whether or not the id is known, so a 401 takes the same work either way and
    // its timing does not tell a client which token ids exist.
    let matches = presented.matches(stored.as_ref().map_or(&UNKNOWN_HASH[..], |s| &s.secret_hash));
    let stored = stored.filter(|_| matches).ok_or(ApiError::InvalidToken)?;
    tracing::Span::current().record("organization_id", tracing::field::display(stored.organization_id));
    if !Scopes::from_stored(&stored.scopes).allows(R::SCOPE) {
        return Err(ApiError::MissingScope(R::SCOPE));
    }
    state.rate_limit.check(presented.id()).map_err(ApiError::RateLimited)?;
    Ok((stored.organization_id, presented.id(), stored.name))
}

/// Stands in for the stored hash of an unknown token id; no token hashes to it.
const UNKNOWN_HASH: [u8; 32] = [0; 32];
