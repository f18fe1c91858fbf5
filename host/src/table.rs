//! Validation of a guest's table.
//!
//! Every function here copies what it needs (header, slot, name) out of guest memory once, through
//! [`GuestBytes`], and validates the copy, so a guest that changes its memory meanwhile (a shared
//! memory, written by another thread) cannot change what was checked. Each address, length and
//! count is checked before it is used, with `u64` arithmetic so nothing overflows.

pub use crate::shared::SharedBytes;
use crate::{Error, Result};
use wasmtime_global_abi::{
    self as abi, HEADER_SIZE, Header, MAX_CAPACITY, SLOT_SIZE, Slot, TABLE_ALIGN, ValueType,
};

/// Offset of the header's `generation` from the table address.
pub(crate) const GENERATION_OFFSET: u64 = Header::GENERATION_OFFSET as u64;
/// Offset of a slot's `changes` from its `value` (the field after it).
pub(crate) const CHANGES_AFTER_VALUE: u64 = (Slot::CHANGES_OFFSET - Slot::VALUE_OFFSET) as u64;

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

impl ValidSlot {
    /// The slot as the declaration path sees it, its name borrowed.
    #[cfg(test)]
    pub(crate) fn checked(&self) -> CheckedSlot<'_> {
        CheckedSlot {
            index: self.index,
            name: self.name.as_str(),
            hash: self.hash,
            ty: self.ty,
            default: self.default,
            value_addr: self.value_addr,
        }
    }
}

/// A slot that passed validation, its name in a buffer of the caller's: what a declaration
/// passes around. A [`ValidSlot`] holds its name's 255-byte buffer, and moving one out of
/// [`read_slot`] copied it twice, 40 ns of a declaration's 310 (`perf` on the `decl` loop of
/// `cargo bench -p wasmtime-global-tests --bench request`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CheckedSlot<'n> {
    pub(crate) index: u32,
    pub(crate) name: &'n str,
    /// The name's FNV-1a hash, as the slot holds it.
    pub(crate) hash: u64,
    pub(crate) ty: ValueType,
    pub(crate) default: u64,
    /// Address in guest memory of the slot's value field.
    pub(crate) value_addr: u64,
}

impl CheckedSlot<'_> {
    /// Whether this slot declares what an earlier declaration of its slot did: a slot declared
    /// again must not change ([the ABI](wasmtime_global_abi::spec) §7.3). The hashes are not
    /// compared: a valid slot's hash is its name's.
    pub(crate) fn declares(&self, name: &str, ty: ValueType, default: u64) -> bool {
        self.name == name && self.ty == ty && self.default == default
    }
}

/// A buffer for a slot's name.
pub(crate) type NameBuf = [u8; abi::MAX_NAME_LEN as usize];

/// A valid name ([the ABI](wasmtime_global_abi::spec) §5), copied out of guest memory into a buffer
/// of its own: a declaration allocates nothing for it. Dereferences to `str`.
#[derive(Clone, PartialEq, Eq)]
pub struct SlotName {
    len: u8,
    bytes: [u8; abi::MAX_NAME_LEN as usize],
}

impl SlotName {
    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only made from bytes that `check_name` accepted, which are UTF-8.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
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

/// Guest memory that the validation reads from.
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

/// Checks a reserved field; `field` names it, and is only called on a failure.
fn reserved(field: impl FnOnce() -> String, found: u64) -> Result<()> {
    if found == 0 {
        Ok(())
    } else {
        Err(Error::ReservedNotZero {
            field: field(),
            found,
        })
    }
}

/// Reads and validates the header of the table at `addr`, including that all `capacity` slots
/// fit in `memory`.
///
/// # Errors
///
/// In the order checked: [`Error::TableMisaligned`], [`Error::TableOutOfBounds`] (header),
/// [`Error::BadMagic`], [`Error::UnsupportedVersion`], [`Error::BadSlotSize`],
/// [`Error::CapacityTooLarge`], [`Error::CountTooLarge`], [`Error::ReservedNotZero`],
/// [`Error::TableOutOfBounds`] (slots).
pub fn read_header(memory: &(impl GuestBytes + ?Sized), addr: u32) -> Result<Header> {
    let memory_size = memory.size();
    if !addr.is_multiple_of(TABLE_ALIGN) {
        return Err(Error::TableMisaligned { addr });
    }
    let header: Header = read_pod(memory, addr.into()).ok_or(Error::TableOutOfBounds {
        addr,
        len: HEADER_SIZE.into(),
        memory_size,
    })?;
    if header.magic != abi::MAGIC {
        return Err(Error::BadMagic {
            found: header.magic,
        });
    }
    // Version 3 added an import, not a field: a version 2 table has the same layout.
    if header.version != abi::VERSION && header.version != abi::VERSION_2 {
        return Err(Error::UnsupportedVersion {
            found: header.version,
        });
    }
    if header.slot_size != SLOT_SIZE {
        return Err(Error::BadSlotSize {
            found: header.slot_size,
            expected: SLOT_SIZE,
        });
    }
    if header.capacity > MAX_CAPACITY {
        return Err(Error::CapacityTooLarge {
            capacity: header.capacity,
            max: MAX_CAPACITY,
        });
    }
    if header.count > header.capacity {
        return Err(Error::CountTooLarge {
            count: header.count,
            capacity: header.capacity,
        });
    }
    reserved(|| "header.reserved0".to_owned(), header.reserved0.into())?;
    for (i, &word) in header.reserved1.iter().enumerate() {
        reserved(|| format!("header.reserved1[{i}]"), word)?;
    }
    let len = abi::table_size(header.capacity);
    if !inside(memory, addr.into(), len) {
        return Err(Error::TableOutOfBounds {
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
/// In the order checked: [`Error::SlotIndexOutOfRange`], [`Error::ReservedNotZero`],
/// [`Error::UnknownType`], [`Error::InvalidName`] (empty or too long), [`Error::NameOutOfBounds`],
/// [`Error::InvalidName`] (not UTF-8, NUL), [`Error::HashMismatch`].
pub fn read_slot(
    memory: &(impl GuestBytes + ?Sized),
    addr: u32,
    header: &Header,
    index: u32,
) -> Result<ValidSlot> {
    let mut bytes = [0; abi::MAX_NAME_LEN as usize];
    let slot = check_slot(memory, addr, header, index, &mut bytes)?;
    let CheckedSlot {
        index,
        name,
        hash,
        ty,
        default,
        value_addr,
    } = slot;
    // At most MAX_NAME_LEN (255), checked.
    let len = name.len() as u8;
    Ok(ValidSlot {
        index,
        name: SlotName { len, bytes },
        hash,
        ty,
        default,
        value_addr,
    })
}

/// [`read_slot`], with the name copied into `name`.
pub(crate) fn check_slot<'n>(
    memory: &(impl GuestBytes + ?Sized),
    addr: u32,
    header: &Header,
    index: u32,
    name: &'n mut NameBuf,
) -> Result<CheckedSlot<'n>> {
    if index >= header.count {
        return Err(Error::SlotIndexOutOfRange {
            index,
            count: header.count,
        });
    }
    let slot_addr = u64::from(addr) + abi::slot_offset(index);
    let memory_size = memory.size();
    let slot: Slot = read_pod(memory, slot_addr).ok_or(Error::TableOutOfBounds {
        addr,
        len: abi::table_size(header.capacity),
        memory_size,
    })?;
    reserved(|| format!("slot[{index}].reserved0"), slot.reserved0.into())?;
    for (i, &word) in slot.reserved1.iter().enumerate() {
        reserved(|| format!("slot[{index}].reserved1[{i}]"), word)?;
    }
    let ty = ValueType::from_tag(slot.ty).ok_or(Error::UnknownType { tag: slot.ty })?;
    // Length first, so that a huge length is reported as a bad name, not as a bad address.
    let bad_len = match slot.name_len {
        0 => Some(abi::NameError::Empty),
        len if len > abi::MAX_NAME_LEN => Some(abi::NameError::TooLong { len: len as usize }),
        _ => None,
    };
    if let Some(source) = bad_len {
        return Err(Error::invalid_name(b"", source));
    }
    let name = &mut name[..slot.name_len as usize];
    if !memory.read(slot.name_addr.into(), name) {
        return Err(Error::NameOutOfBounds {
            addr: slot.name_addr,
            len: slot.name_len,
            memory_size,
        });
    }
    abi::check_name(name).map_err(|source| Error::invalid_name(name, source))?;
    let expected = abi::fnv1a64(name);
    // `check_name` accepted it, so it is UTF-8; the error is the one it would have given.
    let text = core::str::from_utf8(name).map_err(|e| {
        let source = abi::NameError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        };
        Error::invalid_name(name, source)
    })?;
    if slot.hash != expected {
        return Err(Error::HashMismatch {
            name: text.to_owned(),
            found: slot.hash,
            expected,
        });
    }
    Ok(CheckedSlot {
        index,
        name: text,
        hash: slot.hash,
        ty,
        default: slot.default,
        value_addr: slot_addr + u64::from(Slot::VALUE_OFFSET),
    })
}
