//! Slugs of organizations and CRM objects.

use std::fmt;

/// A validated slug: 3–60 characters of `[a-z0-9_-]`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

/// Why a string is not a valid slug; the message names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("must be 3 to 60 characters long")]
    Length,
    #[error("must start with a lowercase letter")]
    Start,
    #[error("may contain only lowercase letters, digits, '_' and '-'")]
    Charset,
    #[error("'{0}' is reserved")]
    Reserved(String),
}

impl SlugError {
    /// A stable machine code for the broken rule.
    pub fn code(&self) -> &'static str {
        match self {
            SlugError::Length => "slug_length",
            SlugError::Start => "slug_start",
            SlugError::Charset => "slug_charset",
            SlugError::Reserved(_) => "slug_reserved",
        }
    }
}

impl Slug {
    /// Checks the character rules shared by every slug.
    pub fn parse(input: &str) -> Result<Slug, SlugError> {
        let len = input.chars().count();
        if !(3..=60).contains(&len) {
            return Err(SlugError::Length);
        }
        if !input.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(SlugError::Start);
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
        if !input.chars().all(allowed) {
            return Err(SlugError::Charset);
        }
        Ok(Slug(input.to_owned()))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for ok in ["abc", "products", "order_items", "line-items2", &"a".repeat(60)] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn names_the_broken_rule() {
        let cases = [
            ("ab", SlugError::Length),
            (&*"a".repeat(61), SlugError::Length),
            ("1abc", SlugError::Start),
            ("_abc", SlugError::Start),
            ("Products", SlugError::Start),
            ("pro.ducts", SlugError::Charset),
            ("proDucts", SlugError::Charset),
            ("prödukte", SlugError::Charset),
        ];
        for (input, expected) in cases {
            assert_eq!(Slug::parse(input).unwrap_err(), expected, "{input}");
        }
    }
}
