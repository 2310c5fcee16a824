//! The resident identity number (公民身份号码, GB 11643-1999).
//!
//! `IdNumber` can only hold a number whose check character is right and
//! whose birth date is a real date. Its `Debug` and `Display` show the masked
//! form, so an ID number cannot reach a log line by accident; the full
//! number is only available through [`IdNumber::expose`].

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::fmt;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [u8; 11] = *b"10X98765432";

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadIdNumber {
    #[error("must be 18 characters: 17 digits and a check digit or X")]
    Shape,
    #[error("positions 7-14 must be a real birth date (YYYYMMDD)")]
    BirthDate,
    #[error("the check character does not match (GB 11643-1999)")]
    Checksum,
}

/// The check character for the first 17 digits (ISO 7064 MOD 11-2).
pub fn check_char(body: &[u8; 17]) -> char {
    let sum: u32 = body.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    char::from(CHECK[(sum % 11) as usize])
}

impl IdNumber {
    pub fn parse(input: &str) -> Result<Self, BadIdNumber> {
        let s = input.trim().to_ascii_uppercase();
        let bytes = s.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(BadIdNumber::Shape);
        }
        let mut body = [0u8; 17];
        body.copy_from_slice(&bytes[..17]);
        birth_date_of(&s).ok_or(BadIdNumber::BirthDate)?;
        if check_char(&body) != char::from(bytes[17]) {
            return Err(BadIdNumber::Checksum);
        }
        Ok(Self(s))
    }

    /// The full number. Call it only to encrypt, hash or reveal to admin.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `520102********123X`: region code and the last four characters.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    pub fn birth_date(&self) -> NaiveDate {
        // parse() proved the date is real.
        birth_date_of(&self.0).unwrap_or_default()
    }

    /// From the 17th character: odd is male, even is female.
    pub fn gender(&self) -> Gender {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { Gender::Male } else { Gender::Female }
    }

    /// Whole years of age on `on`.
    pub fn age_on(&self, on: NaiveDate) -> i32 {
        age_on(self.birth_date(), on)
    }
}

/// Whole years between `birth` and `on` (a birthday on 29 February counts on 1 March in
/// common years).
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

fn birth_date_of(s: &str) -> Option<NaiveDate> {
    let y: i32 = s.get(6..10)?.parse().ok()?;
    let m: u32 = s.get(10..12)?.parse().ok()?;
    let d: u32 = s.get(12..14)?.parse().ok()?;
    if y < 1850 {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Build a valid number from a 17-digit body by appending its check character.
/// Used by generators of synthetic data; never invent real people's numbers.
pub fn with_check_char(body17: &str) -> Option<String> {
    let bytes = body17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut body = [0u8; 17];
    body.copy_from_slice(bytes);
    Some(format!("{body17}{}", check_char(&body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The three examples printed in the standard (facts.md §5).
    #[test]
    fn standard_examples_pass() {
        let a = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(a.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(a.gender(), Gender::Female);
        let b = IdNumber::parse("440524188001010014").unwrap();
        assert_eq!(b.gender(), Gender::Male);
        assert_eq!(b.birth_date(), NaiveDate::from_ymd_opt(1880, 1, 1).unwrap());
        let c = IdNumber::parse("34052419800101001x").unwrap();
        assert_eq!(c.expose(), "34052419800101001X");
        assert_eq!(c.gender(), Gender::Male);
    }

    #[test]
    fn wrong_check_char_fails() {
        assert_eq!(IdNumber::parse("110105194912310021"), Err(BadIdNumber::Checksum));
        assert_eq!(IdNumber::parse("440524188001010015"), Err(BadIdNumber::Checksum));
    }

    #[test]
    fn bad_shapes_and_dates_fail() {
        assert_eq!(IdNumber::parse("1101051949123100"), Err(BadIdNumber::Shape));
        assert_eq!(IdNumber::parse("11010519491231002Y"), Err(BadIdNumber::Shape));
        let feb30 = with_check_char("52010219900230123").unwrap();
        assert_eq!(IdNumber::parse(&feb30), Err(BadIdNumber::BirthDate));
    }

    #[test]
    fn masks_and_never_debugs_in_full() {
        let id = IdNumber::parse(&with_check_char("52010219900101123").unwrap()).unwrap();
        assert_eq!(id.masked(), format!("520102********123{}", &id.expose()[17..]));
        let dbg = format!("{id:?} {id}");
        assert!(!dbg.contains(id.expose()));
    }

    #[test]
    fn age_counts_whole_years() {
        let b = NaiveDate::from_ymd_opt(2008, 2, 29).unwrap();
        assert_eq!(age_on(b, NaiveDate::from_ymd_opt(2024, 2, 28).unwrap()), 15);
        assert_eq!(age_on(b, NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()), 16);
        assert_eq!(age_on(b, NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()), 17);
    }
}
