//! Wall-clock helpers: milliseconds since the epoch, UTC calendar dates
//! and times (calendar arithmetic is `jiff`'s), and durations for people.

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The UTC date and time of `ms` since the epoch. Times past the last one
/// `jiff` represents (the end of year 9999, only in damaged or foreign
/// data) read as that one.
fn utc(ms: u64) -> DateTime {
    let ts = i64::try_from(ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::MAX);
    Offset::UTC.to_datetime(ts)
}

/// `ms` since the epoch in UTC, written with `strftime` directives
/// (`%Y%m%d-%H%M%S`).
pub(crate) fn utc_stamp(ms: u64, format: &str) -> String {
    utc(ms).strftime(format).to_string()
}

/// `YYYY-MM-DD` (UTC) of a time in ms since the epoch.
pub fn utc_date(ms: u64) -> String {
    utc_stamp(ms, "%Y-%m-%d")
}

/// `YYYY-MM-DD HH:MM` (UTC) of a time in ms since the epoch.
pub fn utc_minute(ms: u64) -> String {
    utc_stamp(ms, "%Y-%m-%d %H:%M")
}

/// A duration for people: `1m12s`, `3.4s`, `120ms`.
pub fn duration_ms(ms: u64) -> String {
    if ms >= 60_000 {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    } else if ms >= 1000 {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_795_000_000_000), "2026-11-18");
        // A leap day, and the last millisecond of a day.
        assert_eq!(utc_date(1_709_164_800_000), "2024-02-29");
        assert_eq!(utc_date(1_709_251_199_999), "2024-02-29");
        assert_eq!(utc_date(1_709_251_200_000), "2024-03-01");
        assert_eq!(utc_date(u64::MAX), "9999-12-30");
    }

    #[test]
    fn times_of_day() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00");
        assert_eq!(utc_minute(1_795_000_000_000), "2026-11-18 11:06");
        assert_eq!(
            utc_stamp(1_795_000_000_000, "%Y%m%d-%H%M%S"),
            "20261118-110640"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms(72_000), "1m12s");
        assert_eq!(duration_ms(3_450), "3.4s");
        assert_eq!(duration_ms(120), "120ms");
    }
}
