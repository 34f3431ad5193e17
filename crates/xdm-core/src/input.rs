//! The error for input refused before any request exists.

use std::borrow::Cow;

/// A value the caller supplied was refused before any request was built.
///
/// It names the parameter, says what was wrong and what is allowed. It never repeats the value
/// itself when that value could be long or private (message texts, tokens); ids and numbers are
/// quoted, since they are what the caller needs to see.
///
/// `#[non_exhaustive]`, so that more about the refusal can be added: build one with
/// [`InvalidInput::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("invalid {parameter}: {problem} (allowed: {allowed})")]
pub struct InvalidInput {
    /// The parameter's name as the caller knows it, such as `participant_id` or `max_results`.
    pub parameter: Cow<'static, str>,
    /// What was wrong with the value.
    pub problem: Cow<'static, str>,
    /// What the parameter accepts.
    pub allowed: Cow<'static, str>,
}

impl InvalidInput {
    /// Builds an error for `parameter`, saying what was wrong and what is allowed.
    pub fn new(
        parameter: impl Into<Cow<'static, str>>,
        problem: impl Into<Cow<'static, str>>,
        allowed: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            parameter: parameter.into(),
            problem: problem.into(),
            allowed: allowed.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_parameter_problem_and_allowed() {
        let e = InvalidInput::new("max_results", "0 is out of range", "1 to 100");
        assert_eq!(
            e.to_string(),
            "invalid max_results: 0 is out of range (allowed: 1 to 100)"
        );
    }
}
