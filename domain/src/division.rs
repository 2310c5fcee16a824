//! Administrative division codes (GB/T 2260): six digits everywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Guizhou's province code.
pub const GUIZHOU: &str = "520000";

/// A syntactically valid 6-digit division code. Whether the code exists is
/// a question for the divisions table (the store), not for this type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DivisionCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a 6-digit division code such as 520102")]
pub struct BadDivisionCode;

impl DivisionCode {
    pub fn parse(s: &str) -> Result<Self, BadDivisionCode> {
        let s = s.trim();
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') {
            Ok(Self(s.to_owned()))
        } else {
            Err(BadDivisionCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The province this code belongs to (`520102` → `520000`).
    pub fn province(&self) -> DivisionCode {
        DivisionCode(format!("{}0000", &self.0[..2]))
    }

    /// The prefecture this code belongs to (`520102` → `520100`).
    pub fn prefecture(&self) -> DivisionCode {
        DivisionCode(format!("{}00", &self.0[..4]))
    }

    pub fn is_in_guizhou(&self) -> bool {
        self.0.starts_with("52")
    }
}

impl TryFrom<String> for DivisionCode {
    type Error = BadDivisionCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DivisionCode> for String {
    fn from(c: DivisionCode) -> String {
        c.0
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_derives_parents() {
        let c = DivisionCode::parse("522301").unwrap();
        assert_eq!(c.province().as_str(), "520000");
        assert_eq!(c.prefecture().as_str(), "522300");
        assert!(c.is_in_guizhou());
        assert!(!DivisionCode::parse("441900").unwrap().is_in_guizhou());
    }

    #[test]
    fn rejects_bad_codes() {
        for bad in ["", "52230", "5223011", "52a301", "052301", "５２２３０１"] {
            assert!(DivisionCode::parse(bad).is_err(), "{bad}");
        }
    }
}
