//! Table validation ([the ABI](crate::spec) §7.3): a table's header and slots read out of guest
//! memory and checked against every rule, in the spec's order. The spec's rule, for a host and
//! for the tools that test one (the conformance runner, the fuzzer): a host maps [`Malformed`]
//! to its own errors.
#![allow(
    clippy::result_large_err,
    reason = "no allocator here: a fault carries its name's bytes inline, and only a fault pays \
              for them (a valid slot's result is the small `Ok`)"
)]

use crate::{
    HEADER_SIZE, Header, MAX_CAPACITY, MAX_NAME_LEN, NameError, SLOT_SIZE, Slot, TABLE_ALIGN,
    ValueType,
};

/// Guest memory that validation reads from.
pub trait GuestBytes {
    /// Size in bytes.
    fn size(&self) -> u64;
    /// Copies `out.len()` bytes at `addr` into `out`; `false` if they are not all inside.
    fn read(&self, addr: u64, out: &mut [u8]) -> bool;
}

impl GuestBytes for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read(&self, addr: u64, out: &mut [u8]) -> bool {
        let range = usize::try_from(addr).ok().and_then(|start| {
            let end = start.checked_add(out.len())?;
            self.get(start..end)
        });
        range.map(|bytes| out.copy_from_slice(bytes)).is_some()
    }
}

impl<T: GuestBytes + ?Sized> GuestBytes for &T {
    fn size(&self) -> u64 {
        (**self).size()
    }

    fn read(&self, addr: u64, out: &mut [u8]) -> bool {
        (**self).read(addr, out)
    }
}

/// A buffer for a slot's name.
pub type NameBuf = [u8; MAX_NAME_LEN as usize];

/// Up to [`MAX_NAME_LEN`] bytes of a name, copied out of guest memory into a buffer of its own:
/// validation allocates nothing. A [`SlotName`] is one that passed [`check_name`](crate::check_name).
#[derive(Clone, PartialEq, Eq)]
pub struct NameBytes {
    len: u8,
    bytes: NameBuf,
}

impl NameBytes {
    /// The first [`MAX_NAME_LEN`] bytes of `name`.
    #[must_use]
    pub fn new(name: &[u8]) -> NameBytes {
        let len = name.len().min(MAX_NAME_LEN as usize);
        let mut bytes = [0; MAX_NAME_LEN as usize];
        bytes[..len].copy_from_slice(&name[..len]);
        // At most MAX_NAME_LEN (255).
        NameBytes {
            len: len as u8,
            bytes,
        }
    }

    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl core::fmt::Debug for NameBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match core::str::from_utf8(self.as_bytes()) {
            Ok(text) => core::fmt::Debug::fmt(text, f),
            Err(_) => core::fmt::Debug::fmt(self.as_bytes(), f),
        }
    }
}

/// A valid name ([the ABI](crate::spec) §5), copied out of guest memory. Dereferences to `str`.
#[derive(Clone, PartialEq, Eq)]
pub struct SlotName(NameBytes);

impl SlotName {
    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only made from bytes that `check_name` accepted, which are UTF-8.
        core::str::from_utf8(self.0.as_bytes()).unwrap_or_default()
    }
}

impl core::ops::Deref for SlotName {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for SlotName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl core::fmt::Debug for SlotName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl core::fmt::Display for SlotName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A slot that passed validation.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidSlot {
    /// The slot's index.
    pub index: u32,
    /// The name.
    pub name: SlotName,
    /// The hash the slot holds (equal to the name's FNV-1a hash).
    pub hash: u64,
    /// The declared type.
    pub ty: ValueType,
    /// The guest's default.
    pub default: u64,
    /// Address in guest memory of the slot's value field.
    pub value_addr: u64,
}

/// A slot that passed validation, its name in a buffer of the caller's ([`check_slot`]): what
/// a host's declaration passes around. A [`ValidSlot`] holds its name's 255-byte buffer, and
/// moving one out of [`read_slot`] copied it twice, an eighth of a declaration (`perf` on the
/// requests of `cargo bench -p wasmtime-global-tests --bench request`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckedSlot<'n> {
    /// The slot's index.
    pub index: u32,
    /// The name.
    pub name: &'n str,
    /// The name's FNV-1a hash, as the slot holds it.
    pub hash: u64,
    /// The declared type.
    pub ty: ValueType,
    /// The guest's default.
    pub default: u64,
    /// Address in guest memory of the slot's value field.
    pub value_addr: u64,
}

impl CheckedSlot<'_> {
    /// Whether this slot declares what an earlier declaration of its slot did: a slot declared
    /// again must not change (§7.3). The hashes are not compared: a valid slot's hash is its
    /// name's.
    #[must_use]
    pub fn declares(&self, name: &str, ty: ValueType, default: u64) -> bool {
        self.name == name && self.ty == ty && self.default == default
    }
}

/// A reserved field, as [`Malformed::ReservedNotZero`] names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reserved {
    /// `header.reserved0`.
    Header0,
    /// `header.reserved1[i]`.
    Header1(usize),
    /// `slot[index].reserved0`.
    Slot0 {
        /// The slot's index.
        index: u32,
    },
    /// `slot[index].reserved1[word]`.
    Slot1 {
        /// The slot's index.
        index: u32,
        /// The word of the field.
        word: usize,
    },
}

impl core::fmt::Display for Reserved {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Reserved::Header0 => f.write_str("header.reserved0"),
            Reserved::Header1(i) => write!(f, "header.reserved1[{i}]"),
            Reserved::Slot0 { index } => write!(f, "slot[{index}].reserved0"),
            Reserved::Slot1 { index, word } => write!(f, "slot[{index}].reserved1[{word}]"),
        }
    }
}

/// Why a table or a slot is malformed: the traps of §7.3, each with what was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// The table address is not [`TABLE_ALIGN`]-aligned.
    #[error("table address {addr:#x} is not {TABLE_ALIGN}-byte aligned")]
    TableMisaligned {
        /// The table address.
        addr: u32,
    },
    /// The table (its header, or all its slots) is not inside the memory.
    #[error("table at {addr:#x} ({len} bytes) is outside memory of {memory_size} bytes")]
    TableOutOfBounds {
        /// The table address.
        addr: u32,
        /// The table's size in bytes, as far as it could be read.
        len: u64,
        /// The memory's size.
        memory_size: u64,
    },
    /// The header's `magic` is wrong.
    #[error("bad table magic {found:#x}")]
    BadMagic {
        /// The magic found.
        found: u32,
    },
    /// The header's `version` is not one the host speaks.
    #[error("unsupported table version {found}")]
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
    /// The header's `slot_size` is not the version's.
    #[error("slot size {found}, expected {expected}")]
    BadSlotSize {
        /// The slot size found.
        found: u32,
        /// The slot size of the version.
        expected: u32,
    },
    /// The header's `capacity` is over [`MAX_CAPACITY`].
    #[error("table capacity {capacity} exceeds the maximum of {max}")]
    CapacityTooLarge {
        /// The capacity found.
        capacity: u32,
        /// The limit.
        max: u32,
    },
    /// The header's `count` is over its `capacity`.
    #[error("table count {count} exceeds its capacity {capacity}")]
    CountTooLarge {
        /// The count found.
        count: u32,
        /// The capacity found.
        capacity: u32,
    },
    /// A reserved field is not zero.
    #[error("reserved field {field} is {found:#x}, not zero")]
    ReservedNotZero {
        /// The field.
        field: Reserved,
        /// The value found.
        found: u64,
    },
    /// The slot index is not below the header's `count`.
    #[error("slot index {index} is not below the table's count {count}")]
    SlotIndexOutOfRange {
        /// The index asked for.
        index: u32,
        /// The count found.
        count: u32,
    },
    /// The slot's type tag is not a [`ValueType`].
    #[error("unknown value type tag {tag}")]
    UnknownType {
        /// The tag found.
        tag: u32,
    },
    /// The slot's name breaks the naming rules.
    #[error("invalid global name {name:?}: {source}")]
    InvalidName {
        /// The name's bytes, as far as they were read.
        name: NameBytes,
        /// The rule it breaks.
        #[source]
        source: NameError,
    },
    /// The slot's name is not inside the memory.
    #[error("name at {addr:#x} ({len} bytes) is outside memory of {memory_size} bytes")]
    NameOutOfBounds {
        /// The name address.
        addr: u32,
        /// The name length.
        len: u32,
        /// The memory's size.
        memory_size: u64,
    },
    /// The slot's hash is not its name's.
    #[error("hash of {name:?} is {found:#x}, expected {expected:#x}")]
    HashMismatch {
        /// The name.
        name: SlotName,
        /// The hash in the slot.
        found: u64,
        /// The name's FNV-1a hash.
        expected: u64,
    },
}

/// The `Pod` value at `addr`, if it is inside `memory`.
fn read_pod<P: bytemuck::Pod>(memory: &(impl GuestBytes + ?Sized), addr: u64) -> Option<P> {
    let mut value = P::zeroed();
    memory
        .read(addr, bytemuck::bytes_of_mut(&mut value))
        .then_some(value)
}

/// Whether the `len` bytes at `addr` are inside `memory`.
fn inside(memory: &(impl GuestBytes + ?Sized), addr: u64, len: u64) -> bool {
    addr.checked_add(len)
        .is_some_and(|end| end <= memory.size())
}

/// Checks a reserved field.
fn reserved(field: Reserved, found: u64) -> Result<(), Malformed> {
    if found == 0 {
        Ok(())
    } else {
        Err(Malformed::ReservedNotZero { field, found })
    }
}

/// Reads and validates the header of the table at `addr`, including that all `capacity` slots
/// fit in `memory`.
///
/// # Errors
///
/// In the order checked: [`Malformed::TableMisaligned`], [`Malformed::TableOutOfBounds`]
/// (header), [`Malformed::BadMagic`], [`Malformed::UnsupportedVersion`],
/// [`Malformed::BadSlotSize`], [`Malformed::CapacityTooLarge`], [`Malformed::CountTooLarge`],
/// [`Malformed::ReservedNotZero`], [`Malformed::TableOutOfBounds`] (slots).
pub fn read_header(memory: &(impl GuestBytes + ?Sized), addr: u32) -> Result<Header, Malformed> {
    let memory_size = memory.size();
    if !addr.is_multiple_of(TABLE_ALIGN) {
        return Err(Malformed::TableMisaligned { addr });
    }
    let header: Header = read_pod(memory, addr.into()).ok_or(Malformed::TableOutOfBounds {
        addr,
        len: HEADER_SIZE.into(),
        memory_size,
    })?;
    if header.magic != crate::MAGIC {
        return Err(Malformed::BadMagic {
            found: header.magic,
        });
    }
    // Version 3 added an import, not a field: a version 2 table has the same layout.
    if header.version != crate::VERSION && header.version != crate::VERSION_2 {
        return Err(Malformed::UnsupportedVersion {
            found: header.version,
        });
    }
    if header.slot_size != SLOT_SIZE {
        return Err(Malformed::BadSlotSize {
            found: header.slot_size,
            expected: SLOT_SIZE,
        });
    }
    if header.capacity > MAX_CAPACITY {
        return Err(Malformed::CapacityTooLarge {
            capacity: header.capacity,
            max: MAX_CAPACITY,
        });
    }
    if header.count > header.capacity {
        return Err(Malformed::CountTooLarge {
            count: header.count,
            capacity: header.capacity,
        });
    }
    reserved(Reserved::Header0, header.reserved0.into())?;
    for (i, &word) in header.reserved1.iter().enumerate() {
        reserved(Reserved::Header1(i), word)?;
    }
    let len = crate::table_size(header.capacity);
    if !inside(memory, addr.into(), len) {
        return Err(Malformed::TableOutOfBounds {
            addr,
            len,
            memory_size,
        });
    }
    Ok(header)
}

/// Reads and validates slot `index` of the table at `addr`, whose header `header` came from
/// [`read_header`] on the same `memory`.
///
/// # Errors
///
/// In the order checked: [`Malformed::SlotIndexOutOfRange`], [`Malformed::ReservedNotZero`],
/// [`Malformed::UnknownType`], [`Malformed::InvalidName`] (empty or too long),
/// [`Malformed::NameOutOfBounds`], [`Malformed::InvalidName`] (not UTF-8, NUL),
/// [`Malformed::HashMismatch`].
pub fn read_slot(
    memory: &(impl GuestBytes + ?Sized),
    addr: u32,
    header: &Header,
    index: u32,
) -> Result<ValidSlot, Malformed> {
    let mut bytes = [0; MAX_NAME_LEN as usize];
    let slot = check_slot(memory, addr, header, index, &mut bytes)?;
    let CheckedSlot {
        index,
        name,
        hash,
        ty,
        default,
        value_addr,
    } = slot;
    Ok(ValidSlot {
        index,
        name: SlotName(NameBytes::new(name.as_bytes())),
        hash,
        ty,
        default,
        value_addr,
    })
}

/// [`read_slot`], with the name copied into `name`.
///
/// # Errors
///
/// As [`read_slot`].
pub fn check_slot<'n>(
    memory: &(impl GuestBytes + ?Sized),
    addr: u32,
    header: &Header,
    index: u32,
    name: &'n mut NameBuf,
) -> Result<CheckedSlot<'n>, Malformed> {
    if index >= header.count {
        return Err(Malformed::SlotIndexOutOfRange {
            index,
            count: header.count,
        });
    }
    let slot_addr = u64::from(addr) + crate::slot_offset(index);
    let memory_size = memory.size();
    let slot: Slot = read_pod(memory, slot_addr).ok_or(Malformed::TableOutOfBounds {
        addr,
        len: crate::table_size(header.capacity),
        memory_size,
    })?;
    reserved(Reserved::Slot0 { index }, slot.reserved0.into())?;
    for (word, &found) in slot.reserved1.iter().enumerate() {
        reserved(Reserved::Slot1 { index, word }, found)?;
    }
    let ty = ValueType::from_tag(slot.ty).ok_or(Malformed::UnknownType { tag: slot.ty })?;
    let name = read_name(memory, &slot, memory_size, name)?;
    let expected = crate::fnv1a64(name.as_bytes());
    if slot.hash != expected {
        return Err(Malformed::HashMismatch {
            name: SlotName(NameBytes::new(name.as_bytes())),
            found: slot.hash,
            expected,
        });
    }
    Ok(CheckedSlot {
        index,
        name,
        hash: slot.hash,
        ty,
        default: slot.default,
        value_addr: slot_addr + u64::from(Slot::VALUE_OFFSET),
    })
}

/// The name of `slot`, copied into `name` and checked.
fn read_name<'n>(
    memory: &(impl GuestBytes + ?Sized),
    slot: &Slot,
    memory_size: u64,
    name: &'n mut NameBuf,
) -> Result<&'n str, Malformed> {
    let invalid = |name: &[u8], source| Malformed::InvalidName {
        name: NameBytes::new(name),
        source,
    };
    // Length first, so that a huge length is reported as a bad name, not as a bad address.
    match slot.name_len {
        0 => return Err(invalid(b"", NameError::Empty)),
        len if len > MAX_NAME_LEN => {
            let source = NameError::TooLong { len: len as usize };
            return Err(invalid(b"", source));
        }
        _ => {}
    }
    let name = &mut name[..slot.name_len as usize];
    if !memory.read(slot.name_addr.into(), name) {
        return Err(Malformed::NameOutOfBounds {
            addr: slot.name_addr,
            len: slot.name_len,
            memory_size,
        });
    }
    crate::check_name(name).map_err(|source| invalid(name, source))?;
    // `check_name` accepted it, so it is UTF-8; the error is the one it would have given.
    core::str::from_utf8(name).map_err(|e| {
        let source = NameError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        };
        invalid(name, source)
    })
}
