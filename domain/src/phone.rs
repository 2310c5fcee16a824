//! Mainland mobile numbers: 11 digits starting with 1[3-9].
//! `Debug`/`Display` show the masked form (138****5678).

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be an 11-digit mainland mobile number starting with 13-19")]
pub struct BadPhone;

impl Phone {
    /// Accepts spaces, dashes and a leading +86 / 86.
    pub fn parse(input: &str) -> Result<Self, BadPhone> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-' | '+')).collect();
        let digits = match digits.strip_prefix("86") {
            Some(rest) if rest.len() == 11 => rest.to_owned(),
            _ => digits,
        };
        let b = digits.as_bytes();
        if b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
            Ok(Self(digits))
        } else {
            Err(BadPhone)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_masks() {
        let p = Phone::parse("+86 138-1234-5678").unwrap();
        assert_eq!(p.expose(), "13812345678");
        assert_eq!(p.masked(), "138****5678");
        assert!(!format!("{p:?}").contains("13812345678"));
    }

    #[test]
    fn rejects_non_mobiles() {
        for bad in ["", "12812345678", "1381234567", "138123456789", "0851-12345678", "1381234567a"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }
}
