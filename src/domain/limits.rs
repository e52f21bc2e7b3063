//! Per-organization limits on what one tenant can make the server store and compute: the
//! workspace document, every schema lookup and every record check grow with them.

/// The limits, each configurable (`CRM_MAX_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Objects per organization, the two standard ones included.
    pub objects: u32,
    /// Attributes per object, system attributes and inverse relation sides included.
    pub attributes_per_object: u32,
    /// Options per select, multiselect or status attribute.
    pub options_per_attribute: u32,
    /// Idempotency-Key responses kept per organization (each for 24 hours).
    pub idempotency_keys: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { objects: 100, attributes_per_object: 200, options_per_attribute: 500, idempotency_keys: 10_000 }
    }
}
