//! A list of field problems collected while parsing a request, so that a
//! client sees every mistake at once rather than one per round trip.

use serde::Serialize;

/// One problem with one field: `{"field": "wage_max", "problem": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub problem: String,
}

/// Problems found so far. Empty means the input is valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<FieldProblem>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(FieldProblem { field: field.into(), problem: problem.into() });
    }

    /// Parse `value` with `parse`; on error record it under `field` and return `None`.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(field, e.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no problem was recorded, otherwise the problems.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, Problems> {
        if self.0.is_empty() {
            match value() {
                Some(v) => Ok(v),
                None => Err(self),
            }
        } else {
            Err(self)
        }
    }

    pub fn into_vec(self) -> Vec<FieldProblem> {
        self.0
    }
}
