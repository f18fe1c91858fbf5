//! A [`Snapshot`] as data for other programs: `serde::Serialize` for it and the types in it,
//! behind the `serde` feature.
//!
//! Written by hand rather than derived, so that the form is fixed here and read in one place:
//!
//! - a [`Value`] is `{"type": T, "value": V}`, where `T` is the type's name in the spec (`BOOL`,
//!   `U64`, `I64`, `F64`, `DURATION`, with `V` a boolean, an integer, a float, or the duration
//!   in nanoseconds), `"bits"` for [`Value::Bits`] (`V` the 64 bits as an unsigned integer),
//!   or `"literal"` for [`Value::Literal`], which also has `"kind"`: `bool`, `integer`,
//!   `float` or `duration`;
//! - a float that is not finite is the string `"NaN"`, `"inf"` or `"-inf"` (JSON has no
//!   number for it);
//! - a [`ValueType`] is its name in the spec; absent things are `null`.

use crate::{Counters, Definition, Literal, NameState, Snapshot, Value};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use wasmtime_global_abi::ValueType;

impl Serialize for Snapshot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Snapshot", 3)?;
        out.serialize_field("names", &self.names)?;
        out.serialize_field("counters", &self.counters)?;
        out.serialize_field("children", &self.children)?;
        out.end()
    }
}

impl Serialize for NameState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("NameState", 8)?;
        out.serialize_field("name", &self.name)?;
        out.serialize_field("value", &self.value)?;
        out.serialize_field("set", &self.set)?;
        out.serialize_field("withheld", &self.withheld)?;
        out.serialize_field("definition", &self.definition)?;
        out.serialize_field("declared_type", &self.declared_type.map(TypeName))?;
        out.serialize_field("declarations", &self.declarations)?;
        out.serialize_field("stores", &self.stores)?;
        out.end()
    }
}

impl Serialize for Counters {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Counters", 6)?;
        out.serialize_field("sets", &self.sets)?;
        out.serialize_field("syncs", &self.syncs)?;
        out.serialize_field("declarations", &self.declarations)?;
        out.serialize_field("refusals", &self.refusals)?;
        out.serialize_field("traps", &self.traps)?;
        out.serialize_field("withheld", &self.withheld)?;
        out.end()
    }
}

impl Serialize for Definition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Definition", 2)?;
        out.serialize_field("type", &TypeName(self.ty))?;
        out.serialize_field("default", &self.default)?;
        out.end()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (ty, kind) = match self {
            Value::Bits(_) => ("bits", None),
            Value::Literal(literal) => ("literal", Some(literal_kind(*literal))),
            typed => (typed.ty().map_or("bits", ValueType::name), None),
        };
        let mut out = s.serialize_struct("Value", if kind.is_some() { 3 } else { 2 })?;
        out.serialize_field("type", ty)?;
        if let Some(kind) = kind {
            out.serialize_field("kind", kind)?;
        }
        match *self {
            Value::Bits(v) | Value::U64(v) => out.serialize_field("value", &v)?,
            Value::Bool(b) | Value::Literal(Literal::Bool(b)) => {
                out.serialize_field("value", &b)?
            }
            Value::I64(v) | Value::Duration(v) | Value::Literal(Literal::Duration(v)) => {
                out.serialize_field("value", &v)?;
            }
            Value::F64(x) | Value::Literal(Literal::Float(x)) => {
                out.serialize_field("value", &Float(x))?;
            }
            Value::Literal(Literal::Int(i)) => out.serialize_field("value", &i.get())?,
        }
        out.end()
    }
}

fn literal_kind(literal: Literal) -> &'static str {
    match literal {
        Literal::Bool(_) => "bool",
        Literal::Int(_) => "integer",
        Literal::Float(_) => "float",
        Literal::Duration(_) => "duration",
    }
}

/// A [`ValueType`] as its name in the spec.
struct TypeName(ValueType);

impl Serialize for TypeName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

/// A float as a number, or as a string where it is not finite.
struct Float(f64);

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if x.is_finite() {
            s.serialize_f64(x)
        } else if x.is_nan() {
            s.serialize_str("NaN")
        } else if x > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }
}
