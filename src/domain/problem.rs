//! A validation problem found in a request, located by a JSON pointer.

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

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_pointer_segments() {
        assert_eq!(super::pointer_segment("a/b~c"), "a~1b~0c");
    }
}
