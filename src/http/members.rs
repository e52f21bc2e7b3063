//! `GET /v2/organizations/users`: the members whose ids `user` attributes take.

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Caller, UsersRead};
use super::error::{ApiError, ErrorBody};
use super::pagination::{Pagination, PerPageQuery, page_request};
use super::state::AppState;
use super::timestamp;
use crate::db;
use crate::domain::member::display_name;
use crate::domain::pagination::PageInfo;

const PATH: &str = "/v2/organizations/users";

/// A member of the organization, in Zeeg's shape.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberDto {
    /// The member id to use as a `user` attribute value.
    pub uuid: Uuid,
    /// Deactivated members cannot be linked.
    pub is_active: bool,
    #[schema(example = "lena.meier@example.com")]
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// First and last name, or the email when neither is set.
    pub name: String,
    /// `owner`, `admin` or `user`.
    #[schema(example = "owner")]
    pub role: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl From<db::members::Member> for MemberDto {
    fn from(m: db::members::Member) -> MemberDto {
        MemberDto {
            uuid: m.member_id,
            is_active: m.is_active,
            name: display_name(m.first_name.as_deref(), m.last_name.as_deref(), &m.email),
            email: m.email,
            first_name: m.first_name,
            last_name: m.last_name,
            role: m.role,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A page of members.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    pub collection: Vec<MemberDto>,
    pub pagination: Pagination,
}

/// List the organization's members
///
/// Lists the members of the token's organization, oldest first. Their `uuid` is what `user`
/// attributes (such as a deal's `owners`) take, in record bodies and in the relation endpoint.
/// Requires scope `users:read`.
#[utoipa::path(get, path = "/v2/organizations/users", tag = "members",
    params(PerPageQuery),
    security(("bearer" = ["users:read"])),
    responses(
        (status = 200, description = "One page of members.", body = MemberList),
        (status = 400, description = "`per_page` or `page` out of range.", body = ErrorBody),
        (status = 503, description = "The database is unavailable.", body = ErrorBody),
    ))]
pub async fn list_members(
    caller: Caller<UsersRead>,
    State(state): State<AppState>,
    Query(query): Query<PerPageQuery>,
) -> Result<Json<MemberList>, ApiError> {
    let request = page_request("per_page", query.per_page.as_deref(), query.page.as_deref())?;
    let (members, total) =
        db::members::list(&state.pool, caller.organization_id, request.size().into(), request.offset()).await?;
    let info = PageInfo::new(request, total, members.len());
    Ok(Json(MemberList {
        success: true,
        status: 200,
        collection: members.into_iter().map(MemberDto::from).collect(),
        pagination: Pagination::new(info, request, PATH, "per_page"),
    }))
}
