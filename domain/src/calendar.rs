//! Dates in Guizhou's time zone and calendar months.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Today's date in Asia/Shanghai, whatever the server's time zone.
pub fn today_in_china(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Shanghai).date_naive()
}

/// `date + n` calendar months, clamped to the month's end:
/// 2023-11-30 + 3 months = 2024-02-29; 2024-01-31 + 1 month = 2024-02-29.
pub fn add_months(date: NaiveDate, n: u32) -> NaiveDate {
    date.checked_add_months(Months::new(n)).unwrap_or(NaiveDate::MAX)
}

/// A calendar month, written `2024-03`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct YearMonth {
    year: i32,
    month: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a month written YYYY-MM, such as 2024-03")]
pub struct BadMonth;

impl YearMonth {
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year)).then_some(Self { year, month })
    }

    pub fn parse(s: &str) -> Result<Self, BadMonth> {
        let s = s.trim();
        let (y, m) = s.split_once('-').ok_or(BadMonth)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(BadMonth);
        }
        let year = y.parse().map_err(|_| BadMonth)?;
        let month = m.parse().map_err(|_| BadMonth)?;
        Self::new(year, month).ok_or(BadMonth)
    }

    pub fn of(date: NaiveDate) -> Self {
        Self { year: date.year(), month: date.month() }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn last_day(self) -> NaiveDate {
        add_months(self.first_day(), 1).pred_opt().unwrap_or(NaiveDate::MAX)
    }

    pub fn succ(self) -> Self {
        Self::of(add_months(self.first_day(), 1))
    }

    pub fn pred(self) -> Self {
        Self::of(self.first_day().pred_opt().unwrap_or(NaiveDate::MIN))
    }

    /// Calendar months from `self` to `later` (negative when `later` is earlier):
    /// 2023-11 to 2024-02 is 3.
    pub fn months_until(self, later: Self) -> i32 {
        (later.year - self.year) * 12 + later.month as i32 - self.month as i32
    }
}

/// Calendar months from `start`'s month to `end`'s, whatever the days:
/// 2023-11-30 to 2024-02-01 is 3 (negative when `end` is earlier).
pub fn months_apart(start: NaiveDate, end: NaiveDate) -> i32 {
    YearMonth::of(start).months_until(YearMonth::of(end))
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl TryFrom<String> for YearMonth {
    type Error = BadMonth;
    fn try_from(s: String) -> Result<Self, BadMonth> {
        Self::parse(&s)
    }
}

impl From<YearMonth> for String {
    fn from(m: YearMonth) -> String {
        m.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn months_apart_counts_calendar_months() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(months_apart(d(2023, 11, 30), d(2024, 2, 1)), 3);
        assert_eq!(months_apart(d(2024, 3, 1), d(2024, 3, 31)), 0);
        assert_eq!(months_apart(d(2024, 3, 1), d(2023, 12, 31)), -3);
        let m = |s| YearMonth::parse(s).unwrap();
        assert_eq!(m("2022-01").months_until(m("2024-12")), 35);
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn month_end_arithmetic() {
        assert_eq!(add_months(d(2023, 11, 30), 3), d(2024, 2, 29));
        assert_eq!(add_months(d(2024, 1, 31), 1), d(2024, 2, 29));
        assert_eq!(add_months(d(2023, 1, 31), 1), d(2023, 2, 28));
        assert_eq!(add_months(d(2024, 8, 31), 6), d(2025, 2, 28));
    }

    #[test]
    fn months_parse_and_step() {
        let m = YearMonth::parse("2024-12").unwrap();
        assert_eq!(m.succ().to_string(), "2025-01");
        assert_eq!(m.pred().to_string(), "2024-11");
        assert_eq!(YearMonth::parse("2024-02").unwrap().last_day(), d(2024, 2, 29));
        for bad in ["2024-13", "2024-1", "24-01", "2024/01", ""] {
            assert!(YearMonth::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn today_is_shanghai_date() {
        // 2024-10-31 16:00 UTC is already 1 November in Guizhou.
        let t = Utc.with_ymd_and_hms(2024, 10, 31, 16, 0, 0).unwrap();
        assert_eq!(today_in_china(t), d(2024, 11, 1));
    }
}
