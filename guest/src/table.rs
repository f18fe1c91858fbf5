//! The table in this module's memory, and declaration.

use crate::refusal;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use wasmtime_global_abi::{self as abi, Header, NameError, Slot, Status, ValueType};

/// Number of slots in the table, from `WASMTIME_GLOBAL_CAPACITY` at build time.
pub const CAPACITY: u32 = include!(concat!(env!("OUT_DIR"), "/capacity.rs"));

/// Aligned to a host page (4 KiB; the spec asks for 8): the header and the first 63 slots then
/// share one page, so a guest that uses fewer than 64 globals makes one page of its table dirty,
/// not two. Where an instance's first touch of a page is what costs (a fresh instance of the
/// pooling allocator faults it in, and resets it when the instance goes), that is one page fault
/// less per request (`cargo bench -p wasmtime-global-tests --bench request` counts them).
#[repr(C, align(4096))]
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
    /// A component's host refused the declaration: it would pass a limit the host sets on the
    /// store (`spec/COMPONENTS.md`).
    LimitExceeded,
    /// A component's host refused a name this SDK accepts (`spec/COMPONENTS.md`): the two
    /// disagree on the naming rules.
    NameRefused,
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
            DeclareError::LimitExceeded => {
                f.write_str("the host's limit for this store is reached")
            }
            DeclareError::NameRefused => f.write_str("the host refused the name"),
        }
    }
}

impl core::error::Error for DeclareError {}

/// Number of slots declared so far (successfully or not); in a component (wasm32-wasip2), the
/// globals declared successfully.
#[must_use]
pub fn declared() -> u32 {
    #[cfg(component)]
    return crate::component::declared();
    #[cfg(not(component))]
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

impl DeclareError {
    /// The error that `declare` recorded as `code`; `None` for
    /// [`refusal::NONE`].
    pub(crate) fn from_refusal(code: i64) -> Option<DeclareError> {
        Some(match code & 0xff {
            refusal::NONE | refusal::CLAIMED | refusal::FILLED => return None,
            refusal::TABLE_FULL => DeclareError::TableFull { capacity: CAPACITY },
            refusal::TYPE_MISMATCH => DeclareError::TypeMismatch,
            refusal::LIMIT => DeclareError::LimitExceeded,
            refusal::NAME_REFUSED => DeclareError::NameRefused,
            _ => DeclareError::UnknownStatus((code >> 8) as i32),
        })
    }
}

/// Claims a slot, fills it, declares it; returns the address of its value field, or null after
/// storing why not in `refused` (see [`refusal`]). `name` is valid: every [`Global`] checks its
/// name when it is made (a compile error in a `static`).
///
/// [`Global`]: crate::Global
#[cold]
#[inline(never)]
pub(crate) fn declare(
    name: &'static str,
    ty: ValueType,
    default: u64,
    refused: &AtomicI64,
) -> *mut u64 {
    let Some(index) = claim(1) else {
        refused.store(refusal::TABLE_FULL, Ordering::Relaxed);
        return core::ptr::null_mut();
    };
    fill(index, name, ty, default);
    let status = crate::sys::declare(table_addr(), index);
    outcome(index, status, refused)
}

/// Claims `n` consecutive free slots (n ≥ 1); returns the first, or `None` if fewer are left.
pub(crate) fn claim(n: u32) -> Option<u32> {
    init_header();
    let count = header_field(core::mem::offset_of!(Header, count));
    count
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            (n <= CAPACITY - used).then_some(used + n)
        })
        .ok()
}

/// How many slots are still free.
pub(crate) fn free() -> u32 {
    CAPACITY - declared()
}

/// Writes the fields of slot `index`, which this call claimed, for the global `name`.
pub(crate) fn fill(index: u32, name: &'static str, ty: ValueType, default: u64) {
    let slot = TABLE.slots[index as usize].get();
    // SAFETY: the compare-exchange on `count` gave the caller slot `index` alone; the host reads
    // it only once we declare it, and no reference to it exists. The reserved fields are still
    // zero (a slot is claimed once); each field is written in place, so that no copy of the slot
    // goes through the stack.
    unsafe {
        (&raw mut (*slot).hash).write(abi::fnv1a64(name.as_bytes()));
        (&raw mut (*slot).name_addr).write(name.as_ptr() as usize as u32);
        (&raw mut (*slot).name_len).write(name.len() as u32);
        (&raw mut (*slot).ty).write(ty.tag());
        (&raw mut (*slot).default).write(default);
        (&raw mut (*slot).value).write(default);
        (&raw mut (*slot).changes).write(0);
    }
}

/// The table's address, as the imports take it.
pub(crate) fn table_addr() -> *const u8 {
    TABLE.header.get().cast::<u8>()
}

/// The value field of slot `index` if the host answered `status` to its declaration; else null,
/// after storing why in `refused`.
pub(crate) fn outcome(index: u32, status: i32, refused: &AtomicI64) -> *mut u64 {
    match Status::from_code(status) {
        Some(Status::Ok) => value_field(index),
        Some(Status::TypeMismatch) => {
            refused.store(refusal::TYPE_MISMATCH, Ordering::Relaxed);
            core::ptr::null_mut()
        }
        None => {
            refused.store(refusal::UNKNOWN | i64::from(status) << 8, Ordering::Relaxed);
            core::ptr::null_mut()
        }
    }
}

/// The value field of slot `index`.
pub(crate) fn value_field(index: u32) -> *mut u64 {
    let slot = TABLE.slots[index as usize].get();
    // SAFETY: `slot` points into the static table; the field is in bounds and 8-aligned.
    unsafe { &raw mut (*slot).value }
}

/// Runs `read` until it ran while the host wrote nothing into this module's table, and returns
/// its result: globals read inside `read` are one consistent snapshot, all from before or all
/// from after any batch the host commits (`Globals::batch`).
///
/// It follows the generation protocol of [the ABI](wasmtime_global_abi::spec) §10: the host makes
/// the table's `generation` odd while it writes and raises it again after. With ordinary memory the
/// host writes only between calls into the module, so `read` runs once; with shared memory it runs
/// again whenever a write overlapped it. `read` should only read globals: it may run many times.
///
/// In a component (wasm32-wasip2) it retries on the host's version of its values, which moves
/// with every change of a declared name, so `read` runs again whenever any changed meanwhile.
pub fn consistent<R>(mut read: impl FnMut() -> R) -> R {
    // A component reads each global with a host call: the host's version of its values plays
    // the generation's part (it moves once a change is complete, `spec/COMPONENTS.md` §3).
    #[cfg(component)]
    let version = crate::component::version;
    #[cfg(not(component))]
    let version = || generation().load(Ordering::Acquire);
    loop {
        let before = version();
        if !cfg!(component) && before % 2 == 1 {
            core::hint::spin_loop();
            continue;
        }
        let result = read();
        core::sync::atomic::fence(Ordering::Acquire);
        if version() == before {
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
