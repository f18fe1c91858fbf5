//! Table validation for the declaration path: the spec's rule is
//! [`wasmtime_global_abi::validate`]; this maps its [`Malformed`] to the host's [`Error`].

use crate::{Error, Result};
use wasmtime_global_abi::Header;
use wasmtime_global_abi::validate::{self, GuestBytes, Malformed};

pub(crate) use wasmtime_global_abi::validate::{CheckedSlot, NameBuf};

/// [`validate::read_header`], its fault as the host's [`Error`].
pub(crate) fn read_header(memory: &(impl GuestBytes + ?Sized), addr: u32) -> Result<Header> {
    validate::read_header(memory, addr).map_err(Error::from)
}

/// [`validate::check_slot`], its fault as the host's [`Error`].
pub(crate) fn check_slot<'n>(
    memory: &(impl GuestBytes + ?Sized),
    addr: u32,
    header: &Header,
    index: u32,
    name: &'n mut NameBuf,
) -> Result<CheckedSlot<'n>> {
    validate::check_slot(memory, addr, header, index, name).map_err(Error::from)
}

impl From<Malformed> for Error {
    fn from(fault: Malformed) -> Error {
        match fault {
            Malformed::TableMisaligned { addr } => Error::TableMisaligned { addr },
            Malformed::TableOutOfBounds {
                addr,
                len,
                memory_size,
            } => Error::TableOutOfBounds {
                addr,
                len,
                memory_size,
            },
            Malformed::BadMagic { found } => Error::BadMagic { found },
            Malformed::UnsupportedVersion { found } => Error::UnsupportedVersion { found },
            Malformed::BadSlotSize { found, expected } => Error::BadSlotSize { found, expected },
            Malformed::CapacityTooLarge { capacity, max } => {
                Error::CapacityTooLarge { capacity, max }
            }
            Malformed::CountTooLarge { count, capacity } => {
                Error::CountTooLarge { count, capacity }
            }
            Malformed::ReservedNotZero { field, found } => Error::ReservedNotZero {
                field: field.to_string(),
                found,
            },
            Malformed::SlotIndexOutOfRange { index, count } => {
                Error::SlotIndexOutOfRange { index, count }
            }
            Malformed::UnknownType { tag } => Error::UnknownType { tag },
            Malformed::InvalidName { name, source } => Error::invalid_name(name.as_bytes(), source),
            Malformed::NameOutOfBounds {
                addr,
                len,
                memory_size,
            } => Error::NameOutOfBounds {
                addr,
                len,
                memory_size,
            },
            Malformed::HashMismatch {
                name,
                found,
                expected,
            } => Error::HashMismatch {
                name: name.to_string(),
                found,
                expected,
            },
        }
    }
}
