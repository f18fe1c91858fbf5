//! The table in this module's memory, and declaration.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, Ordering};
use wasmtime_global_abi::{self as abi, Header, NameError, Slot, Status, ValueType};

/// Number of slots in the table, from `WASMTIME_GLOBAL_CAPACITY` at build time.
pub const CAPACITY: u32 = include!(concat!(env!("OUT_DIR"), "/capacity.rs"));

#[repr(C, align(8))]
struct Table {
    header: UnsafeCell<Header>,
    slots: [UnsafeCell<Slot>; CAPACITY as usize],
}

// SAFETY: every access to the header goes through atomics; a slot's fields other than `value` are
// written once, by the one declaration that claimed the slot with a compare-exchange on `count`,
// before the slot is published to the host; `value` is read with volatile or atomic loads.
unsafe impl Sync for Table {}

// All zero, so it lives in `.bss` whatever the capacity; the header is filled in by the first
// declaration (the spec requires a valid header only from the first `declare` call on).
static TABLE: Table = Table {
    header: UnsafeCell::new(Header {
        magic: 0,
        ..Header::new(0)
    }),
    slots: [const { UnsafeCell::new(Slot::ZERO) }; CAPACITY as usize],
};

/// Why a global could not be declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeclareError {
    /// All [`CAPACITY`] slots are in use.
    TableFull {
        /// The table's capacity.
        capacity: u32,
    },
    /// The name breaks the naming rules.
    InvalidName(NameError),
    /// The host already knows the name with another type.
    TypeMismatch,
    /// The host returned a status this SDK does not know.
    UnknownStatus(i32),
}

impl core::fmt::Display for DeclareError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DeclareError::TableFull { capacity } => write!(
                f,
                "the table is full ({capacity} slots; raise WASMTIME_GLOBAL_CAPACITY)"
            ),
            DeclareError::InvalidName(e) => write!(f, "{e}"),
            DeclareError::TypeMismatch => f.write_str("the host knows this name with another type"),
            DeclareError::UnknownStatus(s) => write!(f, "the host returned unknown status {s}"),
        }
    }
}

impl core::error::Error for DeclareError {}

/// Number of slots declared so far (successfully or not).
#[must_use]
pub fn declared() -> u32 {
    header_field(core::mem::offset_of!(Header, count)).load(Ordering::Acquire)
}

/// The header field at byte `offset`, as an atomic.
fn header_field(offset: usize) -> &'static AtomicU32 {
    let base = TABLE.header.get().cast::<u8>();
    // SAFETY: `offset` is the offset of a `u32` field of the header, so the pointer is in bounds,
    // 4-aligned and valid for the program's life; the header is only accessed through atomics.
    unsafe { AtomicU32::from_ptr(base.add(offset).cast::<u32>()) }
}

fn init_header() {
    let magic = header_field(core::mem::offset_of!(Header, magic));
    if magic.load(Ordering::Acquire) == abi::MAGIC {
        return;
    }
    let fields = [
        (core::mem::offset_of!(Header, version), abi::VERSION),
        (core::mem::offset_of!(Header, slot_size), abi::SLOT_SIZE),
        (core::mem::offset_of!(Header, capacity), CAPACITY),
    ];
    for (offset, value) in fields {
        header_field(offset).store(value, Ordering::Relaxed);
    }
    magic.store(abi::MAGIC, Ordering::Release);
}

/// Claims a slot, fills it, declares it; returns the address of its value field.
#[cold]
#[inline(never)]
pub(crate) fn declare(
    name: &'static str,
    ty: ValueType,
    default: u64,
) -> Result<*mut u64, DeclareError> {
    abi::check_name(name.as_bytes()).map_err(DeclareError::InvalidName)?;
    init_header();
    let count = header_field(core::mem::offset_of!(Header, count));
    let index = count
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < CAPACITY).then_some(n + 1)
        })
        .map_err(|_| DeclareError::TableFull { capacity: CAPACITY })?;
    let slot = TABLE.slots[index as usize].get();
    // SAFETY: the compare-exchange on `count` gave this call slot `index` alone; the host reads it
    // only when we call `declare(index)` below, and no reference to it exists.
    unsafe {
        slot.write(Slot {
            hash: abi::fnv1a64(name.as_bytes()),
            name_addr: name.as_ptr() as usize as u32,
            name_len: name.len() as u32,
            ty: ty.tag(),
            default,
            value: default,
            ..Slot::ZERO
        });
    }
    let status = crate::sys::declare(TABLE.header.get().cast::<u8>(), index);
    match Status::from_code(status) {
        // SAFETY: `slot` points into the static table; the field is in bounds and 8-aligned.
        Some(Status::Ok) => Ok(unsafe { &raw mut (*slot).value }),
        Some(Status::TypeMismatch) => Err(DeclareError::TypeMismatch),
        None => Err(DeclareError::UnknownStatus(status)),
    }
}

/// Runs `read` until it ran while the host wrote nothing into this module's table, and returns
/// its result: globals read inside `read` are one consistent snapshot, all from before or all
/// from after any batch the host commits (`Globals::batch`).
///
/// It follows the generation protocol of `spec/ABI.md` §10: the host makes the table's
/// `generation` odd while it writes and raises it again after. With ordinary memory the host
/// writes only between calls into the module, so `read` runs once; with shared memory it runs
/// again whenever a write overlapped it. `read` should only read globals: it may run many times.
pub fn consistent<R>(mut read: impl FnMut() -> R) -> R {
    let generation = generation();
    loop {
        let before = generation.load(Ordering::Acquire);
        if before % 2 == 1 {
            core::hint::spin_loop();
            continue;
        }
        let result = read();
        core::sync::atomic::fence(Ordering::Acquire);
        if generation.load(Ordering::Relaxed) == before {
            return result;
        }
    }
}

/// The table's generation counter.
fn generation() -> &'static core::sync::atomic::AtomicU64 {
    let base = TABLE.header.get().cast::<u8>();
    // SAFETY: the offset is that of the 8-aligned `u64` field `generation` of the header, in
    // bounds and valid for the program's life; it is only ever accessed atomically.
    unsafe {
        core::sync::atomic::AtomicU64::from_ptr(
            base.add(core::mem::offset_of!(Header, generation))
                .cast::<u64>(),
        )
    }
}
