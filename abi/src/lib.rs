//! The binary ABI of wasmtime-global, version 3 (hosts keep serving version 2 guests).
//!
//! This crate is the single source of truth for the layout that a guest and a host share: the table
//! [`Header`], the [`Slot`], the [`ValueType`] tags, the [`Status`] codes, the import and export
//! names, and the name hash [`fnv1a64`]. [`spec`] is the normative, language-neutral text
//! (`spec/ABI.md` in the repository, shipped here whole), and [`spec::conformance`] says how a
//! guest proves it follows it; the repository's tests check every offset, size, name and hash
//! vector in the spec against this crate.
//!
//! All integers are little-endian. Both structs hold only fixed-width integers and are
//! [`bytemuck::Pod`], so a host can copy them out of guest memory with
//! [`bytemuck::pod_read_unaligned`] and a guest can place them in a static.
#![no_std]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![forbid(unsafe_code)]

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod error_id;
mod hash;

#[doc = include_str!("../ABI.md")]
pub mod spec {
    #[doc = include_str!("../CONFORMANCE.md")]
    pub mod conformance {}
}
mod layout;
mod name;
pub mod validate;

pub use error_id::ErrorId;
pub use hash::{FNV_OFFSET_BASIS, FNV_PRIME, fnv1a64};
pub use layout::{Field, Header, Slot};
pub use name::{NameError, check_name};

/// The import module that provides the host functions of ABI version 3, the current one.
pub const IMPORT_MODULE: &str = "wasmtime_global_v3";
/// The import module of ABI version 2, which has only [`DECLARE_IMPORT`]. A host offers it
/// beside [`IMPORT_MODULE`], so that version 2 guests keep working.
pub const IMPORT_MODULE_V2: &str = "wasmtime_global_v2";
/// `declare(table: i32, slot_index: i32) -> i32`: declares slot `slot_index` of the table at
/// address `table` in the caller's memory; returns a [`Status`]. The host never calls back into
/// the guest.
pub const DECLARE_IMPORT: &str = "declare";
/// `declare_range(table: i32, first: i32, count: i32) -> i32` (version 3): declares slots
/// `first` to `first + count - 1` in that order, as that many `declare` calls would, and stops
/// at the first that is not [`Status::Ok`]; returns how many were declared.
pub const DECLARE_RANGE_IMPORT: &str = "declare_range";
/// Every import of [`IMPORT_MODULE`], for hosts that register them from one list.
pub const IMPORTS: &[&str] = &[DECLARE_IMPORT, DECLARE_RANGE_IMPORT];
/// Every import of [`IMPORT_MODULE_V2`].
pub const IMPORTS_V2: &[&str] = &[DECLARE_IMPORT];

/// The guest's linear memory export, which holds the table.
pub const MEMORY_EXPORT: &str = "memory";

/// The table magic: the bytes `WGTB` at offset 0 of the header.
pub const MAGIC: u32 = u32::from_le_bytes(*b"WGTB");
/// The ABI version this crate describes: what a guest of this version writes in its header.
pub const VERSION: u32 = 3;
/// The earlier version whose tables hosts still accept: the same layout, written by guests that
/// import [`IMPORT_MODULE_V2`].
pub const VERSION_2: u32 = 2;
/// Required alignment of the table, in bytes.
pub const TABLE_ALIGN: u32 = 8;
/// Size of the header; slot 0 starts at this offset from the table address.
pub const HEADER_SIZE: u32 = 64;
/// Size of one slot; the header's `slot_size` must hold exactly this value.
pub const SLOT_SIZE: u32 = 64;
/// The largest capacity a table may declare.
pub const MAX_CAPACITY: u32 = 65_536;
/// The longest name, in bytes of UTF-8.
pub const MAX_NAME_LEN: u32 = 255;

/// Size in bytes of a table with `capacity` slots.
#[must_use]
pub const fn table_size(capacity: u32) -> u64 {
    HEADER_SIZE as u64 + capacity as u64 * SLOT_SIZE as u64
}

/// Offset from the table address of slot `index`.
#[must_use]
pub const fn slot_offset(index: u32) -> u64 {
    HEADER_SIZE as u64 + index as u64 * SLOT_SIZE as u64
}

/// The type of a global, stored in [`Slot::ty`]. Numbers are never reused.
///
/// Every type travels as 64 bits in [`Slot::default`] and [`Slot::value`]:
///
/// | tag | type | encoding of the 64 bits |
/// |---|---|---|
/// | 1 | `Bool` | `0` is false, anything else is true; hosts write `0` or `1` |
/// | 2 | `U64` | unsigned integer |
/// | 3 | `I64` | two's complement signed integer |
/// | 4 | `F64` | IEEE 754 binary64 bit pattern, NaN payloads preserved |
/// | 5 | `Duration` | signed nanoseconds, two's complement |
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// A boolean.
    Bool = 1,
    /// An unsigned 64-bit integer.
    U64 = 2,
    /// A signed 64-bit integer.
    I64 = 3,
    /// A 64-bit float.
    F64 = 4,
    /// A signed duration in nanoseconds.
    Duration = 5,
}

impl ValueType {
    /// Every type, in tag order.
    pub const ALL: [ValueType; 5] = [
        ValueType::Bool,
        ValueType::U64,
        ValueType::I64,
        ValueType::F64,
        ValueType::Duration,
    ];

    /// The type with tag `tag`, if there is one.
    #[must_use]
    pub const fn from_tag(tag: u32) -> Option<ValueType> {
        match tag {
            1 => Some(ValueType::Bool),
            2 => Some(ValueType::U64),
            3 => Some(ValueType::I64),
            4 => Some(ValueType::F64),
            5 => Some(ValueType::Duration),
            _ => None,
        }
    }

    /// The tag stored in [`Slot::ty`].
    #[must_use]
    pub const fn tag(self) -> u32 {
        self as u32
    }

    /// The name used in the spec: `BOOL`, `U64`, `I64`, `F64`, `DURATION`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            ValueType::Bool => "BOOL",
            ValueType::U64 => "U64",
            ValueType::I64 => "I64",
            ValueType::F64 => "F64",
            ValueType::Duration => "DURATION",
        }
    }
}

impl core::fmt::Display for ValueType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// What `declare` returns. A malformed table is not a status: the host traps.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// The slot is declared and its value field holds the current value.
    Ok = 0,
    /// The name is already in use in this host with another type; the value field was not written.
    TypeMismatch = 1,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 2] = [Status::Ok, Status::TypeMismatch];

    /// The status with code `code`, if there is one.
    #[must_use]
    pub const fn from_code(code: i32) -> Option<Status> {
        match code {
            0 => Some(Status::Ok),
            1 => Some(Status::TypeMismatch),
            _ => None,
        }
    }

    /// The code `declare` returns.
    #[must_use]
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The name used in the spec.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::TypeMismatch => "TYPE_MISMATCH",
        }
    }
}
