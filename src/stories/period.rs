//! Story periods: `2026-11-22` (day), `2026-W47` (ISO week), `2026-11`
//! (month), `2026-Q4` (quarter) or `2026` (year), as UTC time ranges.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc, Weekday};

use crate::error::{AppError, AppResult};

/// What kind of span a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

/// A period: its canonical label and its UTC range `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub label: String,
    pub kind: PeriodKind,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl PeriodKind {
    /// How the period is named in a story ("week", "month", ...).
    pub fn noun(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
        }
    }
}

fn invalid() -> AppError {
    AppError::bad_input(
        "period",
        "must be a day (2026-11-22), ISO week (2026-W47), month (2026-11), quarter (2026-Q4) or year (2026)",
    )
}

fn number<T: std::str::FromStr>(digits: &str, len: usize) -> AppResult<T> {
    if digits.len() != len || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    digits.parse().map_err(|_| invalid())
}

impl Period {
    /// Parses a period label; anything else is BAD_USER_INPUT naming `period`.
    pub fn parse(raw: &str) -> AppResult<Self> {
        let raw = raw.trim();
        let parts: Vec<&str> = raw.split('-').collect();
        let year: i32 = number(parts[0], 4)?;
        let (kind, first_day, last_day_exclusive) = match parts.as_slice() {
            [_] => {
                let start = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(invalid)?;
                (
                    PeriodKind::Year,
                    start,
                    start
                        .checked_add_months(Months::new(12))
                        .ok_or_else(invalid)?,
                )
            }
            [_, week] if week.starts_with('W') => {
                let week: u32 = number(&week[1..], 2)?;
                let start =
                    NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(invalid)?;
                (PeriodKind::Week, start, start + chrono::Duration::days(7))
            }
            [_, quarter] if quarter.starts_with('Q') => {
                let quarter: u32 = number(&quarter[1..], 1)?;
                if !(1..=4).contains(&quarter) {
                    return Err(invalid());
                }
                let start =
                    NaiveDate::from_ymd_opt(year, 3 * quarter - 2, 1).ok_or_else(invalid)?;
                (
                    PeriodKind::Quarter,
                    start,
                    start
                        .checked_add_months(Months::new(3))
                        .ok_or_else(invalid)?,
                )
            }
            [_, month] => {
                let month: u32 = number(month, 2)?;
                let start = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(invalid)?;
                (
                    PeriodKind::Month,
                    start,
                    start
                        .checked_add_months(Months::new(1))
                        .ok_or_else(invalid)?,
                )
            }
            [_, month, day] => {
                let start = NaiveDate::from_ymd_opt(year, number(month, 2)?, number(day, 2)?)
                    .ok_or_else(invalid)?;
                (PeriodKind::Day, start, start + chrono::Duration::days(1))
            }
            _ => return Err(invalid()),
        };
        let midnight = |date: NaiveDate| {
            date.and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc())
                .ok_or_else(invalid)
        };
        Ok(Self {
            label: raw.to_owned(),
            kind,
            start: midnight(first_day)?,
            end: midnight(last_day_exclusive)?,
        })
    }

    /// A human name: "the week of 2026-11-16", "November 2026", ...
    pub fn describe(&self) -> String {
        match self.kind {
            PeriodKind::Day => format!("{}", self.start.format("%A, %B %-d, %Y")),
            PeriodKind::Week => format!(
                "the week of {} (ISO week {})",
                self.start.format("%B %-d, %Y"),
                self.start.iso_week().week()
            ),
            PeriodKind::Month => format!("{}", self.start.format("%B %Y")),
            PeriodKind::Quarter => format!(
                "Q{} {}",
                (self.start.month() - 1) / 3 + 1,
                self.start.year()
            ),
            PeriodKind::Year => format!("{}", self.start.year()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(label: &str) -> (String, String) {
        let period = Period::parse(label).unwrap();
        (period.start.to_rfc3339(), period.end.to_rfc3339())
    }

    #[test]
    fn every_form_parses_to_its_range() {
        assert_eq!(
            range("2026-11-22"),
            (
                "2026-11-22T00:00:00+00:00".into(),
                "2026-11-23T00:00:00+00:00".into()
            )
        );
        assert_eq!(
            range("2026-W47"),
            (
                "2026-11-16T00:00:00+00:00".into(),
                "2026-11-23T00:00:00+00:00".into()
            )
        );
        assert_eq!(
            range("2026-11"),
            (
                "2026-11-01T00:00:00+00:00".into(),
                "2026-12-01T00:00:00+00:00".into()
            )
        );
        assert_eq!(
            range("2026-Q4"),
            (
                "2026-10-01T00:00:00+00:00".into(),
                "2027-01-01T00:00:00+00:00".into()
            )
        );
        assert_eq!(
            range("2026"),
            (
                "2026-01-01T00:00:00+00:00".into(),
                "2027-01-01T00:00:00+00:00".into()
            )
        );
        assert_eq!(range("2020-W53").0, "2020-12-28T00:00:00+00:00");
    }

    #[test]
    fn anything_else_is_bad_input() {
        for bad in [
            "",
            "26",
            "2026-13",
            "2026-02-30",
            "2026-W54",
            "2026-W7",
            "2026-Q5",
            "2026-Q0",
            "2026-11-22-1",
            "abcd",
            "2026-1",
            "2026-W00",
            "+2026",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
