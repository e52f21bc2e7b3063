//! A validation problem found in a request, located by a JSON pointer.

use std::borrow::Cow;

/// One problem; validation collects all of them before answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// RFC 6901 pointer into the request body, or a query parameter's name.
    pub pointer: String,
    /// Machine-readable reason.
    pub code: &'static str,
    /// What was wrong and what was expected.
    pub message: String,
}

impl Problem {
    /// Builds a problem.
    pub fn new(pointer: impl Into<String>, code: &'static str, message: impl Into<String>) -> Problem {
        Problem { pointer: pointer.into(), code, message: message.into() }
    }
}

/// Escapes a key for use as one segment of a JSON pointer.
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Longest piece of client input (a key, a slug, an id) quoted back in a message, in characters.
pub const MAX_ECHO_CHARS: usize = 64;

/// Client input fit to quote in a message: cut to [`MAX_ECHO_CHARS`] with an ellipsis.
pub fn echo(raw: &str) -> Cow<'_, str> {
    truncate(raw, MAX_ECHO_CHARS)
}

/// `text` cut to `max_chars` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn echoed_input_is_cut_with_an_ellipsis() {
        assert_eq!(super::echo("short"), "short");
        let long = "ä".repeat(100);
        assert_eq!(super::echo(&long), format!("{}…", "ä".repeat(64)));
    }

    #[test]
    fn escapes_pointer_segments() {
        assert_eq!(super::pointer_segment("a/b~c"), "a~1b~0c");
    }
}
