//! The one error type of the host crate.

use crate::Limit;
use wasmtime_global_abi::{ErrorId, NameError, ValueType};

/// Everything that can go wrong, on the embedder's side or because of what a guest wrote.
///
/// A fault in a guest's table makes the guest's `declare` call trap; the trap's error downcasts to
/// this type with [`wasmtime::Error::downcast_ref`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A name given to the host, or read from a slot, breaks the naming rules.
    #[error("invalid global name {name:?}: {source}")]
    InvalidName {
        /// The name, with invalid UTF-8 replaced.
        name: String,
        /// The rule it breaks.
        #[source]
        source: NameError,
    },
    /// A value written as text ([`Value::Literal`](crate::Value::Literal)) is not a value of
    /// the type the name is declared or defined with.
    #[error("global {name:?}: {source}")]
    NotOfType {
        /// The name.
        name: String,
        /// Why the literal is not a value of the name's type.
        #[source]
        source: crate::TypeError,
    },
    /// A typed value does not match the type an instance declared the name with.
    #[error("global {name:?} is declared as {declared}, not {given}")]
    TypeMismatch {
        /// The name.
        name: String,
        /// The type the guests declared.
        declared: ValueType,
        /// The type of the value given.
        given: ValueType,
    },
    /// A [`std::time::Duration`] does not fit the signed 64-bit nanoseconds of `DURATION`.
    #[error("duration of {secs}s does not fit in i64 nanoseconds")]
    DurationOutOfRange {
        /// Whole seconds of the duration.
        secs: u64,
    },
    /// [`sync_on_epoch`](crate::sync_on_epoch) was given 0 ticks, or more than
    /// [`MAX_EPOCH_TICKS`](crate::MAX_EPOCH_TICKS).
    #[error("epoch ticks between syncs must be 1 to {max}, not {ticks}")]
    EpochTicks {
        /// The ticks given.
        ticks: u64,
        /// The most allowed.
        max: u64,
    },
    /// The guest exports no linear memory named `memory`.
    #[error("guest exports no memory named \"memory\"")]
    NoMemory,
    /// The table address is not a multiple of 8.
    #[error("table address {addr:#x} is not 8-byte aligned")]
    TableMisaligned {
        /// The table address.
        addr: u32,
    },
    /// The table (header and `capacity` slots) does not fit in the guest's memory.
    #[error("table at {addr:#x} of {len} bytes is outside memory of {memory_size} bytes")]
    TableOutOfBounds {
        /// The table address.
        addr: u32,
        /// The table's size in bytes, as far as it could be read.
        len: u64,
        /// The memory's size in bytes.
        memory_size: u64,
    },
    /// The header's magic is not `WGTB`.
    #[error("bad table magic {found:#010x}")]
    BadMagic {
        /// The magic found.
        found: u32,
    },
    /// The header's version is not one this host supports.
    #[error("unsupported table version {found}")]
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
    /// The header's slot size is not the version's slot size.
    #[error("slot size {found} is not {expected}")]
    BadSlotSize {
        /// The slot size found.
        found: u32,
        /// The slot size of the version.
        expected: u32,
    },
    /// The header's capacity is over the limit.
    #[error("table capacity {capacity} is over the limit of {max}")]
    CapacityTooLarge {
        /// The capacity found.
        capacity: u32,
        /// The limit.
        max: u32,
    },
    /// The header's count of slots in use is more than its capacity.
    #[error("table count {count} is more than its capacity {capacity}")]
    CountTooLarge {
        /// The count found.
        count: u32,
        /// The capacity found.
        capacity: u32,
    },
    /// The guest declared a slot index at or past the header's count.
    #[error("slot index {index} is not below the table count {count}")]
    SlotIndexOutOfRange {
        /// The index passed to `declare`, read as unsigned.
        index: u32,
        /// The count found.
        count: u32,
    },
    /// A reserved field is not zero.
    #[error("reserved field {field} is not zero (found {found:#x})")]
    ReservedNotZero {
        /// `header.<field>` or `slot[<i>].<field>`.
        field: String,
        /// The value found.
        found: u64,
    },
    /// A slot's name bytes are outside the guest's memory.
    #[error("name of {len} bytes at {addr:#x} is outside memory of {memory_size} bytes")]
    NameOutOfBounds {
        /// The name address.
        addr: u32,
        /// The name length.
        len: u32,
        /// The memory's size in bytes.
        memory_size: u64,
    },
    /// A slot's type tag is not a known [`ValueType`].
    #[error("unknown value type tag {tag}")]
    UnknownType {
        /// The tag found.
        tag: u32,
    },
    /// A slot's hash is not the FNV-1a hash of its name.
    #[error("slot hash {found:#018x} of {name:?} is not its FNV-1a hash {expected:#018x}")]
    HashMismatch {
        /// The name.
        name: String,
        /// The hash in the slot.
        found: u64,
        /// The hash of the name.
        expected: u64,
    },
    /// A slot that is already declared was declared again with other contents.
    #[error("slot {index} is already declared as {name:?} and was declared again differently")]
    SlotRedeclared {
        /// The slot index.
        index: u32,
        /// The name it was first declared with.
        name: String,
    },
    /// The table overlaps another table of the same memory that was declared into first
    /// ([the ABI](wasmtime_global_abi::spec) §4: tables must not overlap).
    #[error("table at {addr:#x} overlaps the table at {other:#x}")]
    TableOverlaps {
        /// The table address.
        addr: u32,
        /// The address of the table it overlaps.
        other: u32,
    },
    /// The table's `capacity` is not what it was at the table's first declaration
    /// ([the ABI](wasmtime_global_abi::spec) §4.4: never changed after).
    #[error("table at {addr:#x} had capacity {was} and now says {now}")]
    CapacityChanged {
        /// The table address.
        addr: u32,
        /// The capacity at the table's first declaration.
        was: u32,
        /// The capacity now.
        now: u32,
    },
    /// The table is in a shared memory and another registry's stores declare into it: one
    /// table is written by one registry, so that its generation has one writer.
    #[error("table at {addr:#x} of a shared memory belongs to another registry")]
    TableOfAnotherRegistry {
        /// The table address.
        addr: u32,
    },
    /// A declaration would take the store past one of its [`Limits`](crate::Limits).
    #[error("store limit reached: at most {max} {limit}")]
    LimitExceeded {
        /// The limit.
        limit: Limit,
        /// Its value.
        max: u64,
    },
    /// Writing a value into guest memory failed (the memory no longer holds the slot).
    #[error("cannot write the value of slot {index} at {addr:#x}: outside guest memory")]
    WriteOutOfBounds {
        /// The slot index.
        index: u32,
        /// The address of the value field.
        addr: u64,
    },
}

/// The host crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// The spec's identifier of this error (ABI §7.6: `hash-mismatch`, `limit-exceeded`, …),
    /// the same in every host; `None` for an error of the embedder's API that no guest causes
    /// (a literal not of its type, a duration out of range, epoch ticks) and for a failed write
    /// into guest memory.
    pub fn id(&self) -> Option<ErrorId> {
        Some(match self {
            Error::InvalidName { .. } => ErrorId::InvalidName,
            Error::TypeMismatch { .. } => ErrorId::TypeMismatch,
            Error::NoMemory => ErrorId::NoMemory,
            Error::TableMisaligned { .. } => ErrorId::TableMisaligned,
            Error::TableOutOfBounds { .. } => ErrorId::TableOutOfBounds,
            Error::BadMagic { .. } => ErrorId::BadMagic,
            Error::UnsupportedVersion { .. } => ErrorId::UnsupportedVersion,
            Error::BadSlotSize { .. } => ErrorId::BadSlotSize,
            Error::CapacityTooLarge { .. } => ErrorId::CapacityTooLarge,
            Error::CountTooLarge { .. } => ErrorId::CountTooLarge,
            Error::SlotIndexOutOfRange { .. } => ErrorId::SlotIndexOutOfRange,
            Error::ReservedNotZero { .. } => ErrorId::ReservedNotZero,
            Error::NameOutOfBounds { .. } => ErrorId::NameOutOfBounds,
            Error::UnknownType { .. } => ErrorId::UnknownType,
            Error::HashMismatch { .. } => ErrorId::HashMismatch,
            Error::SlotRedeclared { .. } => ErrorId::SlotRedeclared,
            Error::TableOverlaps { .. } => ErrorId::TableOverlaps,
            Error::CapacityChanged { .. } => ErrorId::CapacityChanged,
            Error::TableOfAnotherRegistry { .. } => ErrorId::TableOfAnotherRegistry,
            Error::LimitExceeded { .. } => ErrorId::LimitExceeded,
            Error::NotOfType { .. }
            | Error::DurationOutOfRange { .. }
            | Error::EpochTicks { .. }
            | Error::WriteOutOfBounds { .. } => return None,
        })
    }

    pub(crate) fn invalid_name(name: &[u8], source: NameError) -> Error {
        Error::InvalidName {
            name: String::from_utf8_lossy(name).into_owned(),
            source,
        }
    }
}
