//! Values the host sets.

use crate::{Error, Result};
use wasmtime_global_abi::ValueType;

/// A value set for a name.
///
/// Every variant travels as 64 bits (see [`ValueType`] for the encodings). [`Value::Bits`] is
/// untyped, as every value is in wazero-global: it is written as-is into a slot of any type.
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
}

impl Value {
    /// The type of a typed value; `None` for [`Value::Bits`].
    #[must_use]
    pub fn ty(self) -> Option<ValueType> {
        match self {
            Value::Bits(_) => None,
            Value::Bool(_) => Some(ValueType::Bool),
            Value::U64(_) => Some(ValueType::U64),
            Value::I64(_) => Some(ValueType::I64),
            Value::F64(_) => Some(ValueType::F64),
            Value::Duration(_) => Some(ValueType::Duration),
        }
    }

    /// The 64 bits written into a slot's value field.
    #[must_use]
    pub fn to_bits(self) -> u64 {
        match self {
            Value::Bits(v) | Value::U64(v) => v,
            Value::Bool(b) => u64::from(b),
            Value::I64(v) | Value::Duration(v) => v as u64,
            Value::F64(v) => v.to_bits(),
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

    /// Same type and same bits, which is what guests would read: `F64(NaN)` is the same as
    /// itself, `F64(0.0)` is not `F64(-0.0)`, and `Bits(5)` is not `U64(5)`.
    #[must_use]
    pub fn same(self, other: Value) -> bool {
        self.ty() == other.ty() && self.to_bits() == other.to_bits()
    }
}
