//! Values written as text (`spec/VALUES.md`, the syntax every source shares): what a literal is.
//! The registry keeps a literal set before its name has a type as written
//! ([`Value::Literal`](crate::Value::Literal)) and resolves it when the name gets one
//! ([`Literal::typed`], beside [`Value`](crate::Value)), so that it means the same whichever came
//! first, the value or the type.

use wasmtime_global_abi::ValueType;

/// A value as written in text (a file, an etcd key), before the type of its name is known: see
/// [`Literal::value`]. Set as [`Value::Literal`](crate::Value::Literal), it takes the type the
/// name has when guests read it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Literal {
    /// `true` or `false`.
    Bool(bool),
    /// An integer, from `i64::MIN` to `u64::MAX`.
    Int(Int),
    /// A float: written with a `.` or an exponent, or `inf`, `-inf`, `nan`.
    Float(f64),
    /// A duration with units, such as `1m30s`, in nanoseconds.
    Duration(i64),
}

/// An integer literal, from `i64::MIN` to `u64::MAX` (`i128::from` gives it whole). Held in
/// nine bytes' worth, not an `i128`, so that a [`Value`](crate::Value) stays 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Int {
    /// Negative: the bits of an `i64` below zero; else a `u64`.
    negative: bool,
    bits: u64,
}

impl Int {
    /// `i`, if it is from `i64::MIN` to `u64::MAX`.
    #[must_use]
    pub const fn new(i: i128) -> Option<Int> {
        if i < i64::MIN as i128 || i > u64::MAX as i128 {
            None
        } else {
            Some(Int {
                negative: i < 0,
                bits: i as u64,
            })
        }
    }

    /// The integer.
    #[must_use]
    pub const fn get(self) -> i128 {
        if self.negative {
            self.bits as i64 as i128
        } else {
            self.bits as i128
        }
    }

    /// Its 64 bits: a `u64`'s, or a negative `i64`'s two's complement.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.bits
    }
}

impl From<u64> for Int {
    fn from(u: u64) -> Int {
        Int {
            negative: false,
            bits: u,
        }
    }
}

impl From<i64> for Int {
    fn from(i: i64) -> Int {
        Int {
            negative: i < 0,
            bits: i as u64,
        }
    }
}

impl From<u32> for Int {
    fn from(u: u32) -> Int {
        Int::from(u64::from(u))
    }
}

impl From<i32> for Int {
    fn from(i: i32) -> Int {
        Int::from(i64::from(i))
    }
}

impl From<Int> for i128 {
    fn from(i: Int) -> i128 {
        i.get()
    }
}

impl std::fmt::Debug for Int {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.get())
    }
}

impl std::fmt::Display for Int {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// Why text is not a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyntaxError {
    /// Nothing but white space.
    #[error("empty value")]
    Empty,
    /// Not a bool, integer, float or duration.
    #[error("{text:?} is not a bool, integer, float or duration")]
    Unrecognised {
        /// The text, trimmed.
        text: String,
    },
    /// An integer below `i64::MIN` or above `u64::MAX`.
    #[error("integer {text:?} is outside -2^63 to 2^64-1")]
    IntegerOutOfRange {
        /// The text, trimmed.
        text: String,
    },
    /// A duration beyond ±(2^63-1) nanoseconds (about 292 years).
    #[error("duration {text:?} is beyond 2^63-1 nanoseconds")]
    DurationOutOfRange {
        /// The text, trimmed.
        text: String,
    },
}

/// Why a literal cannot be a value of the name's type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{literal} cannot be a {ty} value{hint}")]
pub struct TypeError {
    /// The literal, as `Literal`'s `Display` writes it.
    pub literal: String,
    /// The name's type.
    pub ty: ValueType,
    pub(crate) hint: &'static str,
}

impl std::fmt::Display for Literal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Literal::Bool(b) => write!(f, "bool {b}"),
            Literal::Int(i) => write!(f, "integer {i}"),
            Literal::Float(x) => write!(f, "float {x:?}"),
            Literal::Duration(ns) => write!(f, "duration of {ns}ns"),
        }
    }
}

impl Literal {
    /// Parses value text (the value spec (`spec/VALUES.md`) §2). White space around it is ignored.
    ///
    /// ```
    /// use wasmtime_global::Literal;
    ///
    /// assert_eq!(Literal::parse("1m30s"), Ok(Literal::Duration(90_000_000_000)));
    /// assert_eq!(Literal::parse(" 0x10\n"), Ok(Literal::Int(16.into())));
    /// assert_eq!(Literal::parse("-2.5e3"), Ok(Literal::Float(-2500.0)));
    /// ```
    ///
    /// # Errors
    ///
    /// A [`SyntaxError`] naming why.
    pub fn parse(text: &str) -> Result<Literal, SyntaxError> {
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        match text {
            "" => return Err(SyntaxError::Empty),
            "true" => return Ok(Literal::Bool(true)),
            "false" => return Ok(Literal::Bool(false)),
            "inf" | "+inf" => return Ok(Literal::Float(f64::INFINITY)),
            "-inf" => return Ok(Literal::Float(f64::NEG_INFINITY)),
            "nan" | "+nan" | "-nan" => return Ok(Literal::Float(f64::NAN)),
            _ => {}
        }
        let unrecognised = || SyntaxError::Unrecognised {
            text: text.to_owned(),
        };
        let (negative, body) = split_sign(text);
        if body.is_empty() || !body.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(unrecognised());
        }
        if let Some(int) = parse_integer(body) {
            let int = int.ok_or_else(|| SyntaxError::IntegerOutOfRange {
                text: text.to_owned(),
            })?;
            let int = if negative { -int } else { int };
            return Int::new(int)
                .map(Literal::Int)
                .ok_or_else(|| SyntaxError::IntegerOutOfRange {
                    text: text.to_owned(),
                });
        }
        if body.ends_with(|c: char| c.is_ascii_digit()) || body.ends_with('.') {
            return parse_float(body)
                .map(|x| Literal::Float(if negative { -x } else { x }))
                .ok_or_else(unrecognised);
        }
        match parse_duration(body) {
            Some(Some(ns)) => Ok(Literal::Duration(if negative { -ns } else { ns })),
            Some(None) => Err(SyntaxError::DurationOutOfRange {
                text: text.to_owned(),
            }),
            None => Err(unrecognised()),
        }
    }

    /// Same variant and same bits: `Float(NaN)` is the same as itself, `Float(0.0)` is not
    /// `Float(-0.0)`.
    #[must_use]
    pub fn same(self, other: Literal) -> bool {
        match (self, other) {
            (Literal::Float(a), Literal::Float(b)) => a.to_bits() == b.to_bits(),
            _ => self == other,
        }
    }
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

/// `Some(Some(n))` for an integer, `Some(None)` for one too large, `None` if `body` is not an
/// integer. `_` may separate digits.
fn parse_integer(body: &str) -> Option<Option<i128>> {
    let (radix, digits) = match body.get(..2) {
        Some("0x" | "0X") => (16, &body[2..]),
        Some("0o" | "0O") => (8, &body[2..]),
        Some("0b" | "0B") => (2, &body[2..]),
        _ => (10, body),
    };
    if !separated_digits(digits, radix) {
        return None;
    }
    let mut n: i128 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = i128::from(c.to_digit(radix)?);
        n = match n
            .checked_mul(i128::from(radix))
            .and_then(|n| n.checked_add(d))
        {
            Some(n) if n <= i128::from(u64::MAX) => n,
            _ => return Some(None),
        };
    }
    Some(Some(n))
}

/// Digits of `radix`, with single `_` only between two digits.
fn separated_digits(digits: &str, radix: u32) -> bool {
    let bytes = digits.as_bytes();
    !bytes.is_empty()
        && bytes.iter().enumerate().all(|(i, &b)| {
            if b == b'_' {
                i > 0
                    && i + 1 < bytes.len()
                    && bytes[i - 1] != b'_'
                    && (bytes[i + 1] as char).is_digit(radix)
            } else {
                (b as char).is_digit(radix)
            }
        })
}

/// A decimal float: digits, an optional `.` and digits, an optional exponent.
fn parse_float(body: &str) -> Option<f64> {
    let bytes = body.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && (bytes[*i].is_ascii_digit() || bytes[*i] == b'_') {
            *i += 1;
        }
        separated_digits(&body[start..*i], 10)
    };
    if !digits(&mut i) {
        return None;
    }
    let mut float = false;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        float = true;
        if !digits(&mut i) {
            return None;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        float = true;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return None;
        }
    }
    (float && i == bytes.len())
        .then(|| body.replace('_', "").parse().ok())
        .flatten()
}

/// A duration without its sign: one or more of digits, optional `.` and digits, then a unit.
/// `Some(None)` if it overflows.
fn parse_duration(body: &str) -> Option<Option<i64>> {
    const UNITS: [(&str, u128); 7] = [
        ("ns", 1),
        ("us", 1_000),
        ("µs", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ];
    let mut rest = body;
    let mut total: u128 = 0;
    let mut overflow = false;
    while !rest.is_empty() {
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(after) => {
                let len = after
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(after.len());
                after.split_at(len)
            }
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.');
        let (unit, after) = after.split_at(unit_len.unwrap_or(after.len()));
        let scale = UNITS.iter().find(|(u, _)| *u == unit)?.1;
        let whole = if int.is_empty() {
            Some(0)
        } else {
            int.parse::<u128>().ok()
        };
        // The fraction's digits past nanoseconds are dropped, as Go's time.ParseDuration does.
        let mut part = whole.and_then(|w| w.checked_mul(scale));
        let mut place = scale;
        for d in frac.bytes() {
            place /= 10;
            part = part.and_then(|p| p.checked_add(u128::from(d - b'0') * place));
        }
        match part.and_then(|p| total.checked_add(p)) {
            Some(t) => total = t,
            None => overflow = true,
        }
        rest = after;
    }
    if overflow {
        return Some(None);
    }
    Some(i64::try_from(total).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_at_their_limits() {
        assert_eq!(
            Literal::parse("18446744073709551615"),
            Ok(Literal::Int(u64::MAX.into()))
        );
        assert_eq!(
            Literal::parse("18446744073709551616"),
            Err(SyntaxError::IntegerOutOfRange {
                text: "18446744073709551616".into()
            })
        );
        assert_eq!(
            Literal::parse("-9223372036854775808"),
            Ok(Literal::Int(i64::MIN.into()))
        );
        assert_eq!(
            Literal::parse("-9223372036854775809"),
            Err(SyntaxError::IntegerOutOfRange {
                text: "-9223372036854775809".into()
            })
        );
        assert_eq!(Literal::parse("1_000"), Ok(Literal::Int(1000.into())));
        for bad in [
            "1__0", "_1", "1_", "0x", "0x_1", "--1", "+-1", "1.", ".5", "1e", "1.5.5",
        ] {
            assert!(
                matches!(Literal::parse(bad), Err(SyntaxError::Unrecognised { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn durations_at_their_limits() {
        assert_eq!(
            Literal::parse("9223372036854775807ns"),
            Ok(Literal::Duration(i64::MAX))
        );
        assert_eq!(
            Literal::parse("9223372036854775808ns"),
            Err(SyntaxError::DurationOutOfRange {
                text: "9223372036854775808ns".into()
            })
        );
        assert_eq!(
            Literal::parse("1.0000000009s"),
            Ok(Literal::Duration(1_000_000_000))
        );
        assert_eq!(
            Literal::parse("-1h2m3s4ms5us6ns"),
            Ok(Literal::Duration(-3_723_004_005_006))
        );
        for bad in ["s", "1x", "1s2", "1.s.", "1 s", "1sm"] {
            assert!(Literal::parse(bad).is_err(), "{bad}");
        }
    }
}
