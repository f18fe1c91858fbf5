//! The spec's error identifiers (ABI §7.6): one for each way the host refuses a declaration or
//! traps on one, the same in every host, in the malformed-table vectors and in the conformance
//! runner's output.

use crate::validate::Malformed;

/// Why a declaration was refused or trapped, as the spec names it (ABI §7.6).
///
/// [`ErrorId::as_str`] is the identifier (`hash-mismatch`); hosts in other languages use the
/// identifiers, and this crate's [`Malformed`] and the `wasmtime-global` host's `Error` give
/// theirs with `id()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorId {
    /// §7.3 step 1: the instance exports no memory named `memory`.
    NoMemory,
    /// Step 2: the table's address is not a multiple of 8.
    TableMisaligned,
    /// Steps 2 and 3: the header, or the whole table, is not inside memory.
    TableOutOfBounds,
    /// Step 3: `magic` is wrong.
    BadMagic,
    /// Step 3: `version` is not one the host speaks.
    UnsupportedVersion,
    /// Step 3: `slot_size` is not the version's.
    BadSlotSize,
    /// Step 3: `capacity` is over `MAX_CAPACITY`.
    CapacityTooLarge,
    /// Step 3: `count` is over `capacity`.
    CountTooLarge,
    /// Steps 3 and 5: a reserved field of the header or the slot is not zero.
    ReservedNotZero,
    /// Step 3: a table declared into before has another `capacity` now.
    CapacityChanged,
    /// Step 3: a new table overlaps a table of the memory declared into before.
    TableOverlaps,
    /// Step 3: a table of a shared memory is declared into by stores of another registry.
    TableOfAnotherRegistry,
    /// Step 4 (and §7.5 step 2): the slot index is not below `count`.
    SlotIndexOutOfRange,
    /// Step 5: `ty` is not a known tag.
    UnknownType,
    /// Step 5: the name is empty, too long, not UTF-8, or has a NUL.
    InvalidName,
    /// Step 5: the name's bytes are not inside memory.
    NameOutOfBounds,
    /// Step 5: `hash` is not the name's hash.
    HashMismatch,
    /// Step 6: a declared slot was declared again with other contents.
    SlotRedeclared,
    /// Step 7: the name is known with another type; the status `TYPE_MISMATCH`, not a trap.
    TypeMismatch,
    /// Step 8: the declaration would pass a limit the host sets on the store (§13).
    LimitExceeded,
}

impl ErrorId {
    /// Every identifier, in the order of §7.3's steps.
    pub const ALL: [ErrorId; 20] = [
        ErrorId::NoMemory,
        ErrorId::TableMisaligned,
        ErrorId::TableOutOfBounds,
        ErrorId::BadMagic,
        ErrorId::UnsupportedVersion,
        ErrorId::BadSlotSize,
        ErrorId::CapacityTooLarge,
        ErrorId::CountTooLarge,
        ErrorId::ReservedNotZero,
        ErrorId::CapacityChanged,
        ErrorId::TableOverlaps,
        ErrorId::TableOfAnotherRegistry,
        ErrorId::SlotIndexOutOfRange,
        ErrorId::UnknownType,
        ErrorId::InvalidName,
        ErrorId::NameOutOfBounds,
        ErrorId::HashMismatch,
        ErrorId::SlotRedeclared,
        ErrorId::TypeMismatch,
        ErrorId::LimitExceeded,
    ];

    /// The identifier: lower case, words joined by `-`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorId::NoMemory => "no-memory",
            ErrorId::TableMisaligned => "table-misaligned",
            ErrorId::TableOutOfBounds => "table-out-of-bounds",
            ErrorId::BadMagic => "bad-magic",
            ErrorId::UnsupportedVersion => "unsupported-version",
            ErrorId::BadSlotSize => "bad-slot-size",
            ErrorId::CapacityTooLarge => "capacity-too-large",
            ErrorId::CountTooLarge => "count-too-large",
            ErrorId::ReservedNotZero => "reserved-not-zero",
            ErrorId::CapacityChanged => "capacity-changed",
            ErrorId::TableOverlaps => "table-overlaps",
            ErrorId::TableOfAnotherRegistry => "table-of-another-registry",
            ErrorId::SlotIndexOutOfRange => "slot-index-out-of-range",
            ErrorId::UnknownType => "unknown-type",
            ErrorId::InvalidName => "invalid-name",
            ErrorId::NameOutOfBounds => "name-out-of-bounds",
            ErrorId::HashMismatch => "hash-mismatch",
            ErrorId::SlotRedeclared => "slot-redeclared",
            ErrorId::TypeMismatch => "type-mismatch",
            ErrorId::LimitExceeded => "limit-exceeded",
        }
    }

    /// The identifier `id` names, if any.
    pub fn from_id(id: &str) -> Option<ErrorId> {
        ErrorId::ALL.into_iter().find(|e| e.as_str() == id)
    }
}

impl core::fmt::Display for ErrorId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Malformed {
    /// The spec's identifier of this fault.
    pub fn id(&self) -> ErrorId {
        match self {
            Malformed::TableMisaligned { .. } => ErrorId::TableMisaligned,
            Malformed::TableOutOfBounds { .. } => ErrorId::TableOutOfBounds,
            Malformed::BadMagic { .. } => ErrorId::BadMagic,
            Malformed::UnsupportedVersion { .. } => ErrorId::UnsupportedVersion,
            Malformed::BadSlotSize { .. } => ErrorId::BadSlotSize,
            Malformed::CapacityTooLarge { .. } => ErrorId::CapacityTooLarge,
            Malformed::CountTooLarge { .. } => ErrorId::CountTooLarge,
            Malformed::ReservedNotZero { .. } => ErrorId::ReservedNotZero,
            Malformed::SlotIndexOutOfRange { .. } => ErrorId::SlotIndexOutOfRange,
            Malformed::UnknownType { .. } => ErrorId::UnknownType,
            Malformed::InvalidName { .. } => ErrorId::InvalidName,
            Malformed::NameOutOfBounds { .. } => ErrorId::NameOutOfBounds,
            Malformed::HashMismatch { .. } => ErrorId::HashMismatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorId;

    #[test]
    fn every_id_reads_back() {
        for id in ErrorId::ALL {
            assert_eq!(ErrorId::from_id(id.as_str()), Some(id));
        }
        assert_eq!(ErrorId::from_id("HashMismatch"), None);
    }
}
