//! Reading HTTP header fields independently of burr's own parsers, for the invariants of the
//! request and response head targets: the values of a field, a length as RFC 9110 writes it,
//! bytes shown in a failure message.

/// The values of the fields called `name`, in order.
pub fn fields<'h>(headers: &[httparse::Header<'h>], name: &str) -> Vec<&'h [u8]> {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
        .collect()
}

/// A decimal number with optional surrounding whitespace, as RFC 9110 writes a length.
pub fn decimal(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

pub fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
