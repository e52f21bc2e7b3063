//! API token scopes.

use std::fmt;
use std::str::FromStr;

/// A permission a token may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Read CRM objects, attributes and records.
    CrmRead,
    /// Write CRM objects, attributes and records; implies [`Scope::CrmRead`].
    CrmWrite,
    /// List the organization's members.
    UsersRead,
    /// List and read webhook subscriptions and their deliveries.
    WebhooksRead,
    /// Create, change, test and delete webhook subscriptions; implies [`Scope::WebhooksRead`].
    WebhooksWrite,
}

impl Scope {
    /// Every scope, in the order they are documented.
    pub const ALL: [Scope; 5] =
        [Scope::CrmRead, Scope::CrmWrite, Scope::UsersRead, Scope::WebhooksRead, Scope::WebhooksWrite];

    /// The wire name, e.g. `crm:write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CrmRead => "crm:read",
            Scope::CrmWrite => "crm:write",
            Scope::UsersRead => "users:read",
            Scope::WebhooksRead => "webhooks:read",
            Scope::WebhooksWrite => "webhooks:write",
        }
    }

    /// Whether a token holding `self` may do what `needed` guards.
    pub fn grants(self, needed: Scope) -> bool {
        self == needed
            || matches!((self, needed), (Scope::CrmWrite, Scope::CrmRead) | (Scope::WebhooksWrite, Scope::WebhooksRead))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The input named no known scope.
#[derive(Debug, thiserror::Error)]
#[error("unknown scope '{0}'; expected one of crm:read, crm:write, users:read, webhooks:read, webhooks:write")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s).ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// The scopes one token carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// Builds a set, dropping duplicates and keeping the documented order.
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        let given: Vec<Scope> = scopes.into_iter().collect();
        Scopes(Scope::ALL.into_iter().filter(|s| given.contains(s)).collect())
    }

    /// Parses stored scope names, ignoring names this version does not know.
    pub fn from_stored(names: &[String]) -> Self {
        Scopes::new(names.iter().filter_map(|n| n.parse().ok()))
    }

    /// Whether any held scope grants `needed`.
    pub fn allows(&self, needed: Scope) -> bool {
        self.0.iter().any(|held| held.grants(needed))
    }

    /// The wire names, for storage and display.
    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|s| s.as_str().to_owned()).collect()
    }

    /// Whether no scope is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crm_write_implies_crm_read_but_not_users_read() {
        let scopes = Scopes::new([Scope::CrmWrite]);
        assert!(scopes.allows(Scope::CrmRead));
        assert!(scopes.allows(Scope::CrmWrite));
        assert!(!scopes.allows(Scope::UsersRead));
    }

    #[test]
    fn crm_read_does_not_imply_write() {
        assert!(!Scopes::new([Scope::CrmRead]).allows(Scope::CrmWrite));
    }

    #[test]
    fn webhooks_write_implies_webhooks_read_and_nothing_else() {
        let scopes = Scopes::new([Scope::WebhooksWrite]);
        assert!(scopes.allows(Scope::WebhooksRead) && scopes.allows(Scope::WebhooksWrite));
        assert!(!scopes.allows(Scope::CrmRead));
        assert!(!Scopes::new([Scope::WebhooksRead]).allows(Scope::WebhooksWrite));
        assert_eq!("webhooks:write".parse::<Scope>().unwrap(), Scope::WebhooksWrite);
    }

    #[test]
    fn parses_wire_names_and_rejects_others() {
        assert_eq!("users:read".parse::<Scope>().unwrap(), Scope::UsersRead);
        assert!("crm:admin".parse::<Scope>().is_err());
    }

    #[test]
    fn duplicates_collapse_in_documented_order() {
        let scopes = Scopes::new([Scope::UsersRead, Scope::CrmRead, Scope::UsersRead]);
        assert_eq!(scopes.names(), vec!["crm:read", "users:read"]);
    }
}
