//! Values the host sets ([`Value`], [`Definition`]), and how a [`Literal`] becomes one.

use crate::{Error, Literal, Result, TypeError};
use wasmtime_global_abi::ValueType;

/// A value set for a name.
///
/// Every variant travels as 64 bits (see [`ValueType`] for the encodings). [`Value::Bits`] is
/// untyped, as every value is in wazero-global: it is written as-is into a slot of any type.
/// [`Value::Literal`] is a value written as text before its name had a type: guests read it as
/// the value of their type it is, or (if it is none) as though it were not set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// Untyped 64 bits, written into a slot of any type.
    Bits(u64),
    /// A boolean, written as `0` or `1`.
    Bool(bool),
    /// An unsigned integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A float; its bit pattern (NaN payload, sign of zero) is written unchanged.
    F64(f64),
    /// A signed duration in nanoseconds.
    Duration(i64),
    /// A value written as text (a file, etcd) for a name of no type yet: it fixes no type, and
    /// guests read the value of their type it is ([`Literal::typed`], `spec/VALUES.md` §3), so
    /// `1` is `1.0` to an `F64` guest. One that is not a value of their type (`30` for a
    /// `DURATION`) is withheld from them, as a value refused would be: they read what they would
    /// read without it, and the registry shows it ([`NameState::withheld`](crate::NameState)).
    Literal(Literal),
}

// A registry keeps one `Value` per set name, and tests hold millions of names: a literal keeps
// its integer as a sign and 64 bits ([`crate::Int`]) rather than an `i128`, so that a `Value`
// stays two words. `cargo test -p wasmtime-global-tests -- memory` measures the registry's bytes.
const _: () = assert!(size_of::<Value>() == 16);

impl Value {
    /// The type of a typed value; `None` for [`Value::Bits`].
    #[must_use]
    pub fn ty(self) -> Option<ValueType> {
        match self {
            Value::Bits(_) | Value::Literal(_) => None,
            Value::Bool(_) => Some(ValueType::Bool),
            Value::U64(_) => Some(ValueType::U64),
            Value::I64(_) => Some(ValueType::I64),
            Value::F64(_) => Some(ValueType::F64),
            Value::Duration(_) => Some(ValueType::Duration),
        }
    }

    /// The 64 bits written into a slot's value field. A [`Value::Literal`] is written only as
    /// the value of the slot's type it is (see [`Value::for_type`]); alone, its natural bits.
    #[must_use]
    pub fn to_bits(self) -> u64 {
        match self {
            Value::Bits(v) | Value::U64(v) => v,
            Value::Bool(b) | Value::Literal(Literal::Bool(b)) => u64::from(b),
            Value::I64(v) | Value::Duration(v) | Value::Literal(Literal::Duration(v)) => v as u64,
            Value::F64(v) | Value::Literal(Literal::Float(v)) => v.to_bits(),
            Value::Literal(Literal::Int(i)) => i.bits(),
        }
    }

    /// What guests that declared the name as `ty` (if it has a type) read of this value: a
    /// literal becomes the value of that type it is, or `None` if it is none; any other value
    /// is itself.
    #[must_use]
    pub fn for_type(self, ty: Option<ValueType>) -> Option<Value> {
        match (self, ty) {
            (Value::Literal(literal), Some(ty)) => literal.typed(ty).ok(),
            _ => Some(self),
        }
    }

    /// The value of type `ty` that `bits` encodes.
    #[must_use]
    pub fn from_bits(ty: ValueType, bits: u64) -> Value {
        match ty {
            ValueType::Bool => Value::Bool(bits != 0),
            ValueType::U64 => Value::U64(bits),
            ValueType::I64 => Value::I64(bits as i64),
            ValueType::F64 => Value::F64(f64::from_bits(bits)),
            ValueType::Duration => Value::Duration(bits as i64),
        }
    }

    /// A `DURATION` value from a [`std::time::Duration`].
    ///
    /// # Errors
    ///
    /// [`Error::DurationOutOfRange`] if it is more than `i64::MAX` nanoseconds (about 292 years).
    pub fn duration(d: std::time::Duration) -> Result<Value> {
        i64::try_from(d.as_nanos())
            .map(Value::Duration)
            .map_err(|_| Error::DurationOutOfRange { secs: d.as_secs() })
    }

    /// The value as value text (`spec/VALUES.md` §2), which reads back as this value: for a
    /// typed value `v`, `Literal::parse(&v.text())?.typed(ty) == Ok(v)` (a NaN's payload aside:
    /// every NaN is `nan`; and a duration of `i64::MIN` nanoseconds, past the syntax's range, is
    /// written but refused). `true`, `42`, `-7`, `0.25`, `1e300`, `inf`, `nan`; a duration in its
    /// largest whole unit (`90s`, `250ms`, `1500us`, `7ns`); untyped bits as an unsigned integer.
    /// What [`config`](crate::config) serves a component.
    #[must_use]
    pub fn text(self) -> String {
        match self {
            Value::Bool(b) | Value::Literal(Literal::Bool(b)) => b.to_string(),
            Value::Bits(v) | Value::U64(v) => v.to_string(),
            Value::I64(v) => v.to_string(),
            Value::Literal(Literal::Int(i)) => i.to_string(),
            Value::F64(x) | Value::Literal(Literal::Float(x)) => float_text(x),
            Value::Duration(ns) | Value::Literal(Literal::Duration(ns)) => duration_text(ns),
        }
    }

    /// Same type and same bits, which is what guests would read: `F64(NaN)` is the same as
    /// itself, `F64(0.0)` is not `F64(-0.0)`, `Bits(5)` is not `U64(5)`, and a literal is the
    /// same only as the same literal.
    #[must_use]
    pub fn same(self, other: Value) -> bool {
        match (self, other) {
            (Value::Literal(a), Value::Literal(b)) => a.same(b),
            (Value::Literal(_), _) | (_, Value::Literal(_)) => false,
            _ => self.ty() == other.ty() && self.to_bits() == other.to_bits(),
        }
    }
}

/// A float as value text: Rust's shortest text that reads back as the same float (`{:?}` always
/// has a `.` or an exponent), with the spec's `nan`.
fn float_text(x: f64) -> String {
    if x.is_nan() {
        "nan".to_owned()
    } else {
        format!("{x:?}")
    }
}

/// Nanoseconds as value text, in the largest unit that divides them.
fn duration_text(ns: i64) -> String {
    const UNITS: [(i64, &str); 6] = [
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    let (per, unit) = UNITS
        .into_iter()
        .find(|(per, _)| ns % per == 0)
        .unwrap_or((1, "ns"));
    format!("{}{unit}", ns / per)
}

/// A name's type, and optionally its default, as the embedder fixed them with
/// [`Globals::define`](crate::Globals::define).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Definition {
    /// The only type guests may declare the name with.
    pub ty: ValueType,
    /// What every guest reads while no value is set, instead of its own default; `None`: each
    /// guest's own default.
    pub default: Option<Value>,
}

/// How a literal becomes a value: here, beside [`Value`], so that `literal` needs nothing of
/// this module.
impl Literal {
    /// The value to set for a name of type `ty`, or of no known type yet (`None`), following
    /// the table of the value spec (`spec/VALUES.md`) §3. With no type, the literal itself:
    /// the registry resolves it when the name gets one.
    ///
    /// ```
    /// use wasmtime_global::{Literal, Value, ValueType};
    ///
    /// assert_eq!(Literal::Int(5.into()).value(None), Ok(Value::Literal(Literal::Int(5.into()))));
    /// assert_eq!(Literal::Int(5.into()).value(Some(ValueType::I64)), Ok(Value::I64(5)));
    /// assert_eq!(Literal::Int(1.into()).value(Some(ValueType::F64)), Ok(Value::F64(1.0)));
    /// assert!(Literal::Int((-5).into()).value(Some(ValueType::U64)).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// A [`TypeError`] if the literal is not a value of that type.
    pub fn value(self, ty: Option<ValueType>) -> Result<Value, TypeError> {
        match ty {
            None => Ok(Value::Literal(self)),
            Some(ty) => self.typed(ty),
        }
    }

    /// The value of type `ty` this literal is (the value spec §3), or why it is none.
    ///
    /// # Errors
    ///
    /// A [`TypeError`] if the literal is not a value of that type.
    pub fn typed(self, ty: ValueType) -> Result<Value, TypeError> {
        let fail = |hint: &'static str| TypeError {
            literal: self.to_string(),
            ty,
            hint,
        };
        let int = match self {
            Literal::Int(i) => i.get(),
            _ => 0,
        };
        match (ty, self) {
            (ValueType::Bool, Literal::Bool(b)) => Ok(Value::Bool(b)),
            (ValueType::U64, Literal::Int(_)) => u64::try_from(int)
                .map(Value::U64)
                .map_err(|_| fail(" (out of range)")),
            (ValueType::I64, Literal::Int(_)) => i64::try_from(int)
                .map(Value::I64)
                .map_err(|_| fail(" (out of range)")),
            (ValueType::F64, Literal::Float(x)) => Ok(Value::F64(x)),
            (ValueType::F64, Literal::Int(_)) => {
                const EXACT: i128 = 1 << 53;
                if (-EXACT..=EXACT).contains(&int) {
                    Ok(Value::F64(int as f64))
                } else {
                    Err(fail(" (not exact as a float: write it with a `.`)"))
                }
            }
            (ValueType::Duration, Literal::Duration(ns)) => Ok(Value::Duration(ns)),
            (ValueType::Duration, Literal::Int(_)) if int == 0 => Ok(Value::Duration(0)),
            (ValueType::Duration, Literal::Int(_)) => {
                Err(fail(" (a duration needs a unit, as in `30s`)"))
            }
            _ => Err(fail("")),
        }
    }
}
