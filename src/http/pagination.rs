//! The `pagination` block of list responses, and parsing of the page parameters.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, FieldError};
use crate::domain::pagination::{PageInfo, PageRequest};

/// Pagination metadata; follow `nextPage` until it is null.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// Items across all pages.
    pub total: i64,
    /// Items on this page.
    pub count: usize,
    /// Number of pages.
    pub total_pages: i64,
    /// Path and query of the previous page, or null on the first page.
    #[schema(example = "/v2/organizations/users?per_page=20&page=1")]
    pub previous_page: Option<String>,
    /// This page's number, from 1.
    pub current_page: u32,
    /// Path and query of the next page, or null on the last page.
    #[schema(example = "/v2/organizations/users?per_page=20&page=3")]
    pub next_page: Option<String>,
}

impl Pagination {
    /// Builds the block; links repeat `path` with the size parameter under `size_param`.
    pub fn new(info: PageInfo, request: PageRequest, path: &str, size_param: &str) -> Pagination {
        let link = |page: u32| format!("{path}?{size_param}={}&page={page}", request.size());
        Pagination {
            total: info.total,
            count: info.count,
            total_pages: info.total_pages,
            previous_page: info.previous_page.map(link),
            current_page: info.current_page,
            next_page: info.next_page.map(link),
        }
    }
}

/// Query of `GET /v2/organizations/users`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PerPageQuery {
    /// Items per page, 1–100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100)]
    pub per_page: Option<String>,
    /// Page number, from 1 (default 1).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 2147483647)]
    pub page: Option<String>,
}

/// Query of the CRM list endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountQuery {
    /// Items per page, 1–100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100)]
    pub count: Option<String>,
    /// Page number, from 1 (default 1).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 2147483647)]
    pub page: Option<String>,
}

/// Parses raw page parameters into a request, or a 400 naming each bad parameter.
pub fn page_request(size_param: &'static str, size: Option<&str>, page: Option<&str>) -> Result<PageRequest, ApiError> {
    PageRequest::parse(size_param, size, page).map_err(|errors| {
        ApiError::validation(errors.into_iter().map(|e| FieldError::new(e.param, "out_of_range", e.message)).collect())
    })
}
