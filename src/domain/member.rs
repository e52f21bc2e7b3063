//! Organization members.

use std::fmt;
use std::str::FromStr;

/// A member's role in the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    Owner,
    Admin,
    #[default]
    User,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The input named no known role.
#[derive(Debug, thiserror::Error)]
#[error("unknown role '{0}'; expected owner, admin or user")]
pub struct UnknownRole(String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// A syntactically plausible email address, trimmed, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// The input is not an email address.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not an email address")]
pub struct InvalidEmail(String);

impl Email {
    /// Accepts `local@domain` with no whitespace; deliverability is not our business.
    pub fn parse(input: &str) -> Result<Email, InvalidEmail> {
        let trimmed = input.trim();
        let valid = trimmed.len() <= 254
            && !trimmed.chars().any(char::is_whitespace)
            && matches!(trimmed.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@')
                    && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'));
        if valid { Ok(Email(trimmed.to_owned())) } else { Err(InvalidEmail(input.to_owned())) }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The display name Zeeg shows: first and last name joined, or the email when both are empty.
pub fn display_name(first: Option<&str>, last: Option<&str>, email: &str) -> String {
    let joined =
        [first, last].into_iter().flatten().map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    if joined.is_empty() { email.to_owned() } else { joined }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_accepts_plain_addresses_and_trims() {
        assert_eq!(Email::parse(" lena@example.com ").unwrap().as_str(), "lena@example.com");
    }

    #[test]
    fn email_rejects_garbage() {
        for bad in ["", "lena", "@example.com", "lena@", "lena@example", "a b@example.com", "a@b@c.de"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_name_falls_back_to_email() {
        assert_eq!(display_name(Some("Lena"), Some("Meier"), "l@x.de"), "Lena Meier");
        assert_eq!(display_name(Some("Lena"), None, "l@x.de"), "Lena");
        assert_eq!(display_name(None, Some(" "), "l@x.de"), "l@x.de");
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::Owner, Role::Admin, Role::User] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("external".parse::<Role>().is_err());
    }
}
