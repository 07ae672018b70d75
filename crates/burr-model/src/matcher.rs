//! Health-check success codes (ELBv2 `Matcher.HttpCode`): the HTTP status codes an HTTP or
//! HTTPS health check accepts as healthy, written as comma-separated codes and ranges
//! (`"200"`, `"200,202"`, `"200-299"`), each code within ALB's range 200–499.

use std::fmt;

/// Lowest and highest code a matcher may name (ALB's `HttpCode` range).
pub const CODE_RANGE: (u16, u16) = (200, 499);

/// The Classic ELB rule, and the default: exactly 200.
pub const DEFAULT_SUCCESS_CODES: &str = "200";

/// A parsed matcher: inclusive ranges, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccessCodes(Vec<(u16, u16)>);

/// Why a matcher was refused: the allowed syntax and range, for a validation error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSuccessCodes(pub String);

impl fmt::Display for BadSuccessCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl SuccessCodes {
    pub fn parse(text: &str) -> Result<SuccessCodes, BadSuccessCodes> {
        let (lo, hi) = CODE_RANGE;
        let syntax = || {
            BadSuccessCodes(format!(
                "must be codes and ranges separated by commas, e.g. \"200\", \"200,202\" or \
                 \"200-299\", each code between {lo} and {hi}"
            ))
        };
        let code = |s: &str| -> Result<u16, BadSuccessCodes> {
            let s = s.trim();
            if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            let n: u16 = s.parse().map_err(|_| syntax())?;
            if !(lo..=hi).contains(&n) {
                return Err(BadSuccessCodes(format!(
                    "code {n} must be between {lo} and {hi}"
                )));
            }
            Ok(n)
        };
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let range = match part.split_once('-') {
                Some((a, b)) => (code(a)?, code(b)?),
                None => {
                    let c = code(part)?;
                    (c, c)
                }
            };
            if range.0 > range.1 {
                return Err(BadSuccessCodes(format!(
                    "range {}-{} must run from the lower code to the higher (codes between {lo} \
                     and {hi})",
                    range.0, range.1
                )));
            }
            ranges.push(range);
        }
        Ok(SuccessCodes(ranges))
    }

    /// Whether a response with `status` passes the check.
    pub fn matches(&self, status: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
    }
}

impl Default for SuccessCodes {
    fn default() -> Self {
        SuccessCodes(vec![(200, 200)])
    }
}

/// Whether `codes` is a valid success-code list: codes and `low-high` ranges, comma-separated,
/// each 200–499, ranges ascending.
pub fn check_success_codes(codes: &str) -> bool {
    SuccessCodes::parse(codes).is_ok()
}

/// Whether `status` is one of `codes` (false when they do not parse).
pub fn success_code_matches(codes: &str, status: u16) -> bool {
    SuccessCodes::parse(codes).is_ok_and(|c| c.matches(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_ranges_match_what_they_name() {
        let m = SuccessCodes::parse("200,202, 300-399").unwrap();
        for (status, want) in [(200, true), (201, false), (202, true), (299, false)] {
            assert_eq!(m.matches(status), want, "{status}");
        }
        assert!(m.matches(300) && m.matches(302) && m.matches(399) && !m.matches(400));
        assert_eq!(SuccessCodes::parse("200").unwrap(), SuccessCodes::default());
    }

    #[test]
    fn malformed_or_out_of_range_matchers_are_refused_with_the_rule() {
        for bad in [
            "",
            "abc",
            "200,",
            "199",
            "500",
            "200-",
            "-200",
            "299-200",
            "2000",
            "200-299-300",
            "+200",
        ] {
            let e = SuccessCodes::parse(bad).expect_err(bad);
            assert!(e.0.contains("200") && e.0.contains("499"), "{bad}: {e}");
        }
        let e = SuccessCodes::parse("299-200").unwrap_err();
        assert!(e.0.contains("lower code"), "{e}");
    }
}
