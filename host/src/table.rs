//! Validation of a guest's table, over a snapshot of its memory.
//!
//! Every function here reads from a `&[u8]` of guest memory and trusts nothing in it: each address,
//! length and count is checked before it is used, with `u64` arithmetic so nothing overflows.

use crate::{Error, Result};
use wasmtime_global_abi::{
    self as abi, HEADER_SIZE, Header, MAX_CAPACITY, SLOT_SIZE, Slot, TABLE_ALIGN, ValueType,
};

/// A slot that passed validation.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidSlot {
    /// The slot's index.
    pub index: u32,
    /// The name.
    pub name: String,
    /// The hash the slot holds (equal to the name's FNV-1a hash).
    pub hash: u64,
    /// The declared type.
    pub ty: ValueType,
    /// The guest's default.
    pub default: u64,
    /// Address in guest memory of the slot's value field.
    pub value_addr: u64,
}

/// `len` bytes at `addr` of `memory`, or `None` if they are not all inside it.
fn bytes(memory: &[u8], addr: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(addr).ok()?;
    let end = usize::try_from(addr.checked_add(len)?).ok()?;
    memory.get(start..end)
}

fn reserved(field: &str, found: u64) -> Result<()> {
    if found == 0 {
        Ok(())
    } else {
        Err(Error::ReservedNotZero {
            field: field.to_owned(),
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
pub fn read_header(memory: &[u8], addr: u32) -> Result<Header> {
    let memory_size = memory.len() as u64;
    if !addr.is_multiple_of(TABLE_ALIGN) {
        return Err(Error::TableMisaligned { addr });
    }
    let raw = bytes(memory, addr.into(), HEADER_SIZE.into()).ok_or(Error::TableOutOfBounds {
        addr,
        len: HEADER_SIZE.into(),
        memory_size,
    })?;
    let header: Header = bytemuck::pod_read_unaligned(raw);
    if header.magic != abi::MAGIC {
        return Err(Error::BadMagic {
            found: header.magic,
        });
    }
    if header.version != abi::VERSION {
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
    reserved("header.reserved0", header.reserved0.into())?;
    reserved("header.generation", header.generation)?;
    for (i, &word) in header.reserved1.iter().enumerate() {
        reserved(&format!("header.reserved1[{i}]"), word)?;
    }
    let len = abi::table_size(header.capacity);
    if bytes(memory, addr.into(), len).is_none() {
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
pub fn read_slot(memory: &[u8], addr: u32, header: &Header, index: u32) -> Result<ValidSlot> {
    if index >= header.count {
        return Err(Error::SlotIndexOutOfRange {
            index,
            count: header.count,
        });
    }
    let slot_addr = u64::from(addr) + abi::slot_offset(index);
    let memory_size = memory.len() as u64;
    let raw = bytes(memory, slot_addr, SLOT_SIZE.into()).ok_or(Error::TableOutOfBounds {
        addr,
        len: abi::table_size(header.capacity),
        memory_size,
    })?;
    let slot: Slot = bytemuck::pod_read_unaligned(raw);
    reserved(&format!("slot[{index}].reserved0"), slot.reserved0.into())?;
    reserved(&format!("slot[{index}].changes"), slot.changes)?;
    for (i, &word) in slot.reserved1.iter().enumerate() {
        reserved(&format!("slot[{index}].reserved1[{i}]"), word)?;
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
    let name = bytes(memory, slot.name_addr.into(), slot.name_len.into()).ok_or(
        Error::NameOutOfBounds {
            addr: slot.name_addr,
            len: slot.name_len,
            memory_size,
        },
    )?;
    abi::check_name(name).map_err(|source| Error::invalid_name(name, source))?;
    let expected = abi::fnv1a64(name);
    let name = String::from_utf8_lossy(name).into_owned();
    if slot.hash != expected {
        return Err(Error::HashMismatch {
            name,
            found: slot.hash,
            expected,
        });
    }
    Ok(ValidSlot {
        index,
        name,
        hash: slot.hash,
        ty,
        default: slot.default,
        value_addr: slot_addr + u64::from(Slot::VALUE_OFFSET),
    })
}
