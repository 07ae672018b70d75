//! The two date formats a SigV4 signing time arrives in (`X-Amz-Date`'s ISO 8601 basic form and
//! the HTTP `Date` header's RFC 1123 form), converted to and from seconds since the Unix epoch.
//! Pure arithmetic on the proleptic Gregorian calendar, so no clock and no time crate.

const SECS_PER_DAY: i64 = 86_400;

/// `YYYYMMDDTHHMMSSZ` to seconds since the Unix epoch.
pub(super) fn parse_amz_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        digits
            .bytes()
            .all(|d| d.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    unix_secs(
        year,
        month,
        day,
        number(9..11)?,
        number(11..13)?,
        number(13..15)?,
    )
}

/// An RFC 1123 date such as `Mon, 23 Nov 2026 12:00:00 GMT` (botocore writes `-0000`).
pub(super) fn parse_http_date(text: &str) -> Option<i64> {
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    let [weekday, day, month, year, time, zone] = fields.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let utc = matches!(*zone, "GMT" | "UTC" | "+0000" | "-0000");
    if !weekday.ends_with(',') || !utc || time.len() != 8 {
        return None;
    }
    let clock: Vec<i64> = time
        .split(':')
        .map(|part| part.parse().ok())
        .collect::<Option<_>>()?;
    let [hour, minute, second] = clock.as_slice() else {
        return None;
    };
    unix_secs(
        year.parse().ok()?,
        month,
        day.parse().ok()?,
        *hour,
        *minute,
        *second,
    )
}

fn unix_secs(year: i64, month: i64, day: i64, hour: i64, min: i64, sec: i64) -> Option<i64> {
    let valid_day = (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day);
    let valid_time = (0..24).contains(&hour) && (0..60).contains(&min) && (0..60).contains(&sec);
    let valid_year = (0..=9999).contains(&year);
    (valid_day && valid_time && valid_year)
        .then(|| days_from_civil(year, month, day) * SECS_PER_DAY + hour * 3600 + min * 60 + sec)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Seconds since the Unix epoch to `YYYYMMDDTHHMMSSZ`, the form of `X-Amz-Date`.
pub fn format_amz_date(unix_secs: i64) -> String {
    let (days, secs) = (
        unix_secs.div_euclid(SECS_PER_DAY),
        unix_secs.rem_euclid(SECS_PER_DAY),
    );
    let (year, month, day) = civil_from_days(days);
    let (hour, min, sec) = (secs / 3600, secs / 60 % 60, secs % 60);
    format!("{year:04}{month:02}{day:02}T{hour:02}{min:02}{sec:02}Z")
}

// Howard Hinnant's proleptic-Gregorian day arithmetic (http://howardhinnant.github.io/date_algorithms.html).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}
