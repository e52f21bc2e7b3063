//! Page-number pagination as Zeeg documents it.

/// Largest page size a client may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Page size when the client names none.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page number accepted (a signed 32-bit integer, as the OpenAPI document says).
pub const MAX_PAGE: u32 = i32::MAX as u32;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    size: u32,
    page: u32,
}

/// A problem with one pagination parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageParamError {
    /// The query parameter at fault.
    pub param: &'static str,
    /// What was expected.
    pub message: String,
}

impl PageRequest {
    /// Parses the raw query values; `size_param` is `count` or `per_page` depending on the endpoint.
    pub fn parse(
        size_param: &'static str,
        size: Option<&str>,
        page: Option<&str>,
    ) -> Result<PageRequest, Vec<PageParamError>> {
        let mut errors = Vec::new();
        let size = parse_bounded(size_param, size, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE, &mut errors);
        let page = parse_bounded("page", page, 1, 1, MAX_PAGE, &mut errors);
        if errors.is_empty() { Ok(PageRequest { size, page }) } else { Err(errors) }
    }

    /// Items per page.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// One-based page number.
    pub fn page(&self) -> u32 {
        self.page
    }

    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.size)
    }
}

fn parse_bounded(
    param: &'static str,
    raw: Option<&str>,
    default: u32,
    min: u32,
    max: u32,
    errors: &mut Vec<PageParamError>,
) -> u32 {
    let Some(raw) = raw else { return default };
    match raw.trim().parse::<i64>() {
        Ok(n) if n >= i64::from(min) && n <= i64::from(max) => n as u32,
        _ => {
            errors.push(PageParamError { param, message: format!("'{param}' must be an integer from {min} to {max}") });
            default
        }
    }
}

/// The numbers a pagination block is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageInfo {
    pub total: i64,
    pub count: usize,
    pub total_pages: i64,
    pub current_page: u32,
    pub previous_page: Option<u32>,
    pub next_page: Option<u32>,
}

impl PageInfo {
    /// Computes the block for `count` items returned out of `total`.
    pub fn new(request: PageRequest, total: i64, count: usize) -> PageInfo {
        let size = i64::from(request.size);
        let total_pages = (total + size - 1) / size;
        let page = request.page;
        PageInfo {
            total,
            count,
            total_pages,
            current_page: page,
            previous_page: (page > 1).then(|| (page - 1).min(total_pages.max(1) as u32)),
            next_page: (i64::from(page) < total_pages).then_some(page + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_absent() {
        let req = PageRequest::parse("count", None, None).unwrap();
        assert_eq!((req.size(), req.page(), req.offset()), (20, 1, 0));
    }

    #[test]
    fn out_of_range_values_name_each_parameter() {
        let errors = PageRequest::parse("per_page", Some("101"), Some("0")).unwrap_err();
        let params: Vec<_> = errors.iter().map(|e| e.param).collect();
        assert_eq!(params, vec!["per_page", "page"]);
        assert!(PageRequest::parse("count", Some("abc"), None).is_err());
        assert!(PageRequest::parse("count", Some("0"), None).is_err());
        assert!(PageRequest::parse("count", None, Some("-1")).is_err());
    }

    #[test]
    fn page_info_links_neighbours() {
        let req = PageRequest::parse("count", Some("2"), Some("2")).unwrap();
        let info = PageInfo::new(req, 5, 2);
        assert_eq!((info.total_pages, info.previous_page, info.next_page), (3, Some(1), Some(3)));
        let last = PageInfo::new(PageRequest::parse("count", Some("2"), Some("3")).unwrap(), 5, 1);
        assert_eq!(last.next_page, None);
    }

    #[test]
    fn a_page_past_the_end_points_back_to_the_last_page() {
        let req = PageRequest::parse("count", Some("10"), Some("9")).unwrap();
        let info = PageInfo::new(req, 15, 0);
        assert_eq!((info.previous_page, info.next_page), (Some(2), None));
    }

    #[test]
    fn empty_collections_have_no_pages() {
        let info = PageInfo::new(PageRequest::parse("count", None, None).unwrap(), 0, 0);
        assert_eq!((info.total_pages, info.previous_page, info.next_page), (0, None, None));
    }
}
