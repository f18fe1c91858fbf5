//! Why a declaration failed, as the table's `declare` records it: one word in the global's own
//! static, so that the declaration returns a plain pointer (nothing goes through the stack, a page a fresh
//! instance would otherwise make dirty only for this) and a failure is remembered (asking again
//! does not use up another slot: [the ABI](wasmtime_global_abi::spec) §7.4).

/// Not refused (not yet declared, or declared).
pub(crate) const NONE: i64 = 0;
pub(crate) const TABLE_FULL: i64 = 1;
pub(crate) const TYPE_MISMATCH: i64 = 3;
/// An unknown status `s` is recorded as `UNKNOWN | s << 8`.
pub(crate) const UNKNOWN: i64 = 4;
/// Not refused: [`declare_all()`](crate::declare_all()) is declaring it (then `FILLED`, once
/// its slot is written).
pub(crate) const CLAIMED: i64 = 5;
pub(crate) const FILLED: i64 = 6;
/// A component's host refused it: a limit of the store.
#[cfg_attr(not(component), allow(dead_code))]
pub(crate) const LIMIT: i64 = 7;
/// A component's host refused its name.
#[cfg_attr(not(component), allow(dead_code))]
pub(crate) const NAME_REFUSED: i64 = 8;
