//! Tables made at compile time ([`table!`](crate::table!)) and their globals ([`Fixed`]).
//!
//! A [`Global`](crate::Global) keeps where its slot is in its own `static`, written at its
//! declaration, and its slot is in the SDK's table elsewhere: two pages of the module's memory
//! that a fresh instance writes. Where each instance is new (one per request), each page is a
//! page fault and a page reset (`cargo bench -p wasmtime-global-tests --bench request` counts
//! them). A table made by [`table!`](crate::table!) is one `static` that holds the header and
//! every slot, filled in at compile time (names, hashes, types, defaults); its globals are
//! constants that name a slot of it. The first read of any of them declares the whole table with
//! one host call; the host then writes the table's values, and nothing else of the module's
//! memory is written.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicI32, Ordering};
use wasmtime_global_abi::{self as abi, Header, Status, ValueType};

/// A slot as [the ABI](wasmtime_global_abi::spec) §4.2 lays it out on wasm32, with the name as
/// a pointer so that a `static` can hold it (a pointer cannot become an integer at compile
/// time). Elsewhere the pointer is wider and the layout differs, but there is no host there.
#[doc(hidden)]
#[repr(C)]
pub struct StaticSlot {
    hash: u64,
    name: *const u8,
    name_len: u32,
    ty: u32,
    reserved0: u32,
    default: u64,
    value: UnsafeCell<u64>,
    changes: UnsafeCell<u64>,
    reserved1: [u64; 2],
}

impl core::fmt::Debug for StaticSlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StaticSlot")
            .field("hash", &self.hash)
            .field("ty", &self.ty)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl<const N: usize, const L: usize> core::fmt::Debug for StaticTable<N, L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StaticTable")
            .field("slots", &N)
            .field("state", &self.state.get())
            .finish_non_exhaustive()
    }
}

#[cfg(target_pointer_width = "32")]
const _: () = {
    assert!(size_of::<StaticSlot>() == abi::SLOT_SIZE as usize);
    assert!(core::mem::offset_of!(StaticSlot, name) == 8);
    assert!(core::mem::offset_of!(StaticSlot, value) == abi::Slot::VALUE_OFFSET as usize);
};

/// A global of a [`table!`](crate::table!): its name, type and default bits.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    name: &'static str,
    ty: ValueType,
    default: u64,
}

impl Entry {
    /// A compile error in a `static` if the name is invalid.
    #[doc(hidden)]
    #[must_use]
    pub const fn new(name: &'static str, ty: ValueType, default: u64) -> Entry {
        if abi::check_name(name.as_bytes()).is_err() {
            panic!("invalid global name: empty, over 255 bytes, or with a NUL");
        }
        Entry { name, ty, default }
    }
}

impl StaticSlot {
    /// The slot of `entry`, whose name's bytes are also at `name`.
    const fn new(entry: Entry, name: *const u8) -> StaticSlot {
        let Entry {
            name: text,
            ty,
            default,
        } = entry;
        StaticSlot {
            hash: abi::fnv1a64(text.as_bytes()),
            name,
            name_len: text.len() as u32,
            ty: ty.tag(),
            reserved0: 0,
            default,
            value: UnsafeCell::new(default),
            changes: UnsafeCell::new(0),
            reserved1: [0; 2],
        }
    }
}

/// What [`table!`](crate::table!) makes: the header, the `N` slots after it, then this SDK's
/// record of their declaration and the `L` bytes of the names (after the table, which ends with
/// its last slot). Aligned to a page (4 KiB), so that a table of up to 4 KiB (about 60 globals)
/// is one page, names included, where the host reads the names and writes the values.
#[doc(hidden)]
#[repr(C, align(4096))]
pub struct StaticTable<const N: usize, const L: usize> {
    header: UnsafeCell<Header>,
    slots: [StaticSlot; N],
    /// [`NOT_YET`], [`ALL_OK`] or [`SOME_REFUSED`].
    state: TableState,
    /// Each slot's status, once declared, if some was refused.
    status: [AtomicI32; N],
    /// The names, end to end.
    names: [u8; L],
}

/// How far a table's declaration got: [`NOT_YET`], [`ALL_OK`] or [`SOME_REFUSED`]. A plain cell
/// where the module has one thread (wasm32 without the atomics feature), so that a loop of reads
/// checks it once, as a [`Global`](crate::Global)'s pointer is (an atomic load was made at every
/// read, three times a plain load: `cargo bench -p wasmtime-global-tests --bench reads`); an
/// atomic elsewhere.
#[doc(hidden)]
#[derive(Debug)]
pub struct TableState {
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    state: core::cell::Cell<u32>,
    #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
    state: core::sync::atomic::AtomicU32,
}

// SAFETY: without the atomics feature a wasm32 module has exactly one thread, so the cell is
// never accessed concurrently.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl Sync for TableState {}

impl TableState {
    const fn new(state: u32) -> TableState {
        TableState {
            #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
            state: core::cell::Cell::new(state),
            #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
            state: core::sync::atomic::AtomicU32::new(state),
        }
    }

    #[inline(always)]
    fn get(&self) -> u32 {
        #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
        return self.state.get();
        #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
        return self.state.load(Ordering::Acquire);
    }

    fn set(&self, state: u32) {
        #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
        self.state.set(state);
        #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
        self.state.store(state, Ordering::Release);
    }
}

const NOT_YET: u32 = 0;
const ALL_OK: u32 = 1;
const SOME_REFUSED: u32 = 2;

// SAFETY: the header and the slots are written by the host only (value, changes, generation)
// and read through raw pointers with volatile or atomic loads; the rest is immutable, or
// atomic. The name pointers point into the table's own `names`.
unsafe impl<const N: usize, const L: usize> Sync for StaticTable<N, L> {}

impl<const N: usize, const L: usize> StaticTable<N, L> {
    /// The table of `entries`, all in use, at `this` (the `static` being made: its slots point
    /// at its own `names`). `L` is the length of all the names.
    ///
    /// # Safety
    ///
    /// `this` must be the address of the `static` this value initialises (what
    /// [`table!`](crate::table!) passes): its globals read their names through it.
    #[doc(hidden)]
    #[must_use]
    pub const unsafe fn new(
        this: *const StaticTable<N, L>,
        entries: [Entry; N],
    ) -> StaticTable<N, L> {
        assert!(
            N >= 1 && N <= abi::MAX_CAPACITY as usize,
            "1 to 65,536 globals"
        );
        let mut names = [0; L];
        let base = this
            .cast::<u8>()
            .wrapping_add(core::mem::offset_of!(StaticTable<N, L>, names));
        let mut slots = [const { core::mem::MaybeUninit::<StaticSlot>::uninit() }; N];
        let (mut i, mut at) = (0, 0);
        while i < N {
            let name = entries[i].name.as_bytes();
            let mut b = 0;
            while b < name.len() {
                names[at + b] = name[b];
                b += 1;
            }
            slots[i] =
                core::mem::MaybeUninit::new(StaticSlot::new(entries[i], base.wrapping_add(at)));
            at += name.len();
            i += 1;
        }
        assert!(at == L, "L is the length of the names");
        StaticTable {
            header: UnsafeCell::new(Header {
                count: N as u32,
                ..Header::new(N as u32)
            }),
            // SAFETY: the loop above wrote each of the N slots.
            slots: unsafe { core::mem::transmute_copy(&slots) },
            state: TableState::new(NOT_YET),
            status: [const { AtomicI32::new(0) }; N],
            names,
        }
    }

    /// The global of slot `index`.
    #[doc(hidden)]
    #[must_use]
    pub const fn global<T>(&'static self, index: usize) -> Fixed<T> {
        Fixed {
            header: self.header.get(),
            slot: &raw const self.slots[index],
            state: &raw const self.state,
            status: &raw const self.status[index],
            count: N as u32,
            index: index as u32,
            _type: PhantomData,
        }
    }
}

/// A global of a table made at compile time by [`table!`](crate::table!): a constant that names
/// its slot. A read is a check of the table's state and one load of the slot.
#[derive(Debug)]
pub struct Fixed<T> {
    header: *mut Header,
    slot: *const StaticSlot,
    state: *const TableState,
    status: *const AtomicI32,
    count: u32,
    index: u32,
    _type: PhantomData<fn() -> T>,
}

// SAFETY: the pointers are into a `static` `StaticTable`, which is `Sync`.
unsafe impl<T> Sync for Fixed<T> {}
// SAFETY: as for `Sync`.
unsafe impl<T> Send for Fixed<T> {}

impl<T> Fixed<T> {
    fn table_state(&self) -> &TableState {
        // SAFETY: `state` points into the `static` table (`StaticTable::global`).
        unsafe { &*self.state }
    }

    fn slot(&self) -> &StaticSlot {
        // SAFETY: `slot` points into the `static` table (`StaticTable::global`).
        unsafe { &*self.slot }
    }

    /// The name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        let slot = self.slot();
        // SAFETY: `name` and `name_len` are those of a `&'static str` (`StaticSlot::new`).
        let bytes = unsafe { core::slice::from_raw_parts(slot.name, slot.name_len as usize) };
        core::str::from_utf8(bytes).unwrap_or_default()
    }

    /// Declares the table of this global, with one host call, if it is not declared yet; every
    /// global of the table is then declared, or refused.
    ///
    /// # Errors
    ///
    /// [`DeclareError::TypeMismatch`](crate::DeclareError::TypeMismatch) when the host knows
    /// this global's name with another type; the others of the table are unaffected.
    pub fn declare(&self) -> Result<(), crate::DeclareError> {
        settle(self.header, self.state, self.status, self.count, self.index);
        match self.error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Why this global's declaration failed, if its table was declared and it was refused.
    #[must_use]
    pub fn error(&self) -> Option<crate::DeclareError> {
        if self.table_state().get() != SOME_REFUSED {
            return None;
        }
        // SAFETY: `status` points into the `static` table.
        match unsafe { &*self.status }.load(Ordering::Relaxed) {
            0 => None,
            1 => Some(crate::DeclareError::TypeMismatch),
            s => Some(crate::DeclareError::UnknownStatus(s)),
        }
    }

    /// Declares the table if it is not yet, and panics if this global was refused.
    #[inline(always)]
    fn declared_or_panic(&self) {
        // The fields go as arguments: they are constants where `self` is a `static`, so the
        // `static` itself is never read (a page of the module's data that a fresh instance
        // would fault in only for this).
        if settle(self.header, self.state, self.status, self.count, self.index) {
            self.panic_refused();
        }
    }

    #[cold]
    #[inline(never)]
    fn panic_refused(&self) {
        if let Some(e) = self.error() {
            panic!("wasmtime-global: cannot declare {:?}: {e}", self.name());
        }
    }

    /// The value's 64 bits, declaring the table first if it is not yet.
    #[inline]
    fn bits(&self) -> u64 {
        if self.table_state().get() != ALL_OK {
            self.declared_or_panic();
        }
        crate::global::read(self.slot().value.get())
    }

    /// How many times the host has written this global since it was declared: one load.
    #[inline]
    pub fn changes(&self) -> u64 {
        if self.table_state().get() != ALL_OK {
            self.declared_or_panic();
        }
        crate::global::read(self.slot().changes.get())
    }
}

/// Declares the table at `header` of `count` slots if it is not declared yet (its state is at
/// `state`, slot `index`'s status at `status`); returns whether slot `index` was refused. One
/// `declare_range` (and a `declare` for each slot the host stops at, for its status). Two
/// threads that do this at once both declare the same slots: the host takes a slot declared
/// again unchanged as the same declaration. Nothing here returns an aggregate, which wasm32
/// passes through the stack: a fresh instance's first read would make a page of its stack dirty
/// only for that.
#[cold]
#[inline(never)]
fn settle(
    header: *mut Header,
    state: *const TableState,
    status: *const AtomicI32,
    count: u32,
    index: u32,
) -> bool {
    // SAFETY: `state` and `status` point into a `static` table (`StaticTable::global`).
    // `status` stays a raw pointer too: it reaches the other entries of the table's array.
    let (state, own_status) = unsafe { (&*state, &*status) };
    if state.get() == NOT_YET {
        let table = header.cast::<u8>().cast_const();
        let mut done = 0;
        let mut refused = false;
        while done < count {
            done += crate::sys::declare_range(table, done, count - done);
            if done < count {
                let answer = crate::sys::declare(table, done);
                if answer != Status::Ok.code() {
                    // Entry `done` of the table's status array, which `status` (entry `index`)
                    // is in: `done - index` entries from it.
                    // From the raw pointer, made with `&raw const` of the array's entry (never
                    // through a reference to that one entry), which may reach the whole array.
                    let at = status.wrapping_offset(done as isize - index as isize);
                    // SAFETY: `done` < `count`, the array's length: an entry of it.
                    unsafe { &*at }.store(answer, Ordering::Relaxed);
                    refused = true;
                }
                done += 1;
            }
        }
        let settled = if refused { SOME_REFUSED } else { ALL_OK };
        state.set(settled);
    }
    state.get() == SOME_REFUSED && own_status.load(Ordering::Relaxed) != 0
}

impl Fixed<bool> {
    /// The current value: the host's if it set one, else the default.
    ///
    /// # Panics
    ///
    /// If the host refused the global (see [`Fixed::declare`]).
    #[inline]
    pub fn get(&self) -> bool {
        self.bits() != 0
    }
}

impl Fixed<u64> {
    /// The current value: the host's if it set one, else the default.
    ///
    /// # Panics
    ///
    /// If the host refused the global (see [`Fixed::declare`]).
    #[inline]
    pub fn get(&self) -> u64 {
        self.bits()
    }
}

impl Fixed<i64> {
    /// The current value: the host's if it set one, else the default.
    ///
    /// # Panics
    ///
    /// If the host refused the global (see [`Fixed::declare`]).
    #[inline]
    pub fn get(&self) -> i64 {
        self.bits() as i64
    }
}

impl Fixed<f64> {
    /// The current value, bit for bit: the host's if it set one, else the default.
    ///
    /// # Panics
    ///
    /// If the host refused the global (see [`Fixed::declare`]).
    #[inline]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.bits())
    }
}

impl Fixed<core::time::Duration> {
    /// The current value; a negative duration reads as zero (see [`nanos`](Self::nanos)).
    ///
    /// # Panics
    ///
    /// If the host refused the global (see [`Fixed::declare`]).
    #[inline]
    pub fn get(&self) -> core::time::Duration {
        core::time::Duration::from_nanos(u64::try_from(self.nanos()).unwrap_or(0))
    }

    /// The current value in signed nanoseconds.
    ///
    /// # Panics
    ///
    /// If the host refused the global (see [`Fixed::declare`]).
    #[inline]
    pub fn nanos(&self) -> i64 {
        self.bits() as i64
    }
}

/// The type tag and default bits of a [`table!`](crate::table!) entry of type `$ty`.
#[doc(hidden)]
#[macro_export]
macro_rules! __fixed_slot {
    ($name:expr, bool, $default:expr) => {
        $crate::fixed::Entry::new($name, $crate::ValueType::Bool, {
            let default: bool = $default;
            default as u64
        })
    };
    ($name:expr, u64, $default:expr) => {
        $crate::fixed::Entry::new($name, $crate::ValueType::U64, {
            let default: u64 = $default;
            default
        })
    };
    ($name:expr, i64, $default:expr) => {
        $crate::fixed::Entry::new($name, $crate::ValueType::I64, {
            let default: i64 = $default;
            default as u64
        })
    };
    ($name:expr, f64, $default:expr) => {
        $crate::fixed::Entry::new($name, $crate::ValueType::F64, f64::to_bits($default))
    };
    ($name:expr, Duration, $default:expr) => {
        $crate::fixed::Entry::new(
            $name,
            $crate::ValueType::Duration,
            $crate::duration_bits($default),
        )
    };
}

/// The bits of a `DURATION` default: a compile error past `i64::MAX` nanoseconds.
#[doc(hidden)]
#[must_use]
pub const fn duration_bits(d: core::time::Duration) -> u64 {
    let nanos = d.as_nanos();
    assert!(
        nanos <= i64::MAX as u128,
        "duration default over i64::MAX nanoseconds"
    );
    nanos as u64
}

/// Makes a table of globals at compile time: one `static` (named by the first line) that holds
/// the header and a slot for each global, names, hashes, types and defaults filled in, and a
/// [`Fixed`] `static` for each global. The first read of any of them declares the whole table
/// with one host call. For a module instantiated per request, this writes one page of the
/// module's memory (the table's), where [`Global`](crate::Global)s write their own `static`s
/// too.
///
/// The types are `bool`, `u64`, `i64`, `f64` and `Duration` (`core::time::Duration`, written
/// as `Duration`).
///
/// ```
/// wasmtime_global_guest::table! {
///     static CONFIG;
///     /// Whether to log more.
///     pub static VERBOSE: bool = ("VERBOSE", false);
///     static LIMIT: u64 = ("LIMIT", 100);
///     static TIMEOUT: Duration = ("TIMEOUT", core::time::Duration::from_secs(30));
/// }
///
/// assert!(!VERBOSE.get());
/// assert_eq!(LIMIT.get(), 100);
/// assert_eq!(TIMEOUT.get().as_secs(), 30);
/// ```
///
/// A name that breaks the naming rules is a compile error:
///
/// ```compile_fail
/// wasmtime_global_guest::table! {
///     static CONFIG;
///     static BAD: u64 = ("", 1);
/// }
/// ```
#[macro_export]
macro_rules! table {
    (
        $tvis:vis static $table:ident;
        $($(#[$meta:meta])* $vis:vis static $global:ident: $ty:ident = ($name:expr, $default:expr);)+
    ) => {
        $tvis static $table: $crate::StaticTable<
            { [$(stringify!($global)),+].len() },
            { 0 $(+ str::len($name))+ },
        > = {
            let this = &raw const $table;
            let entries = [$($crate::__fixed_slot!($name, $ty, $default)),+];
            // SAFETY: `this` is the address of the static being made.
            unsafe { $crate::StaticTable::new(this, entries) }
        };
        $crate::__fixed_globals!($table, 0usize, $($(#[$meta])* $vis $global: $ty,)+);
    };
}

/// The [`Fixed`] constants of [`table!`], numbered from `$i`.
#[doc(hidden)]
#[macro_export]
macro_rules! __fixed_globals {
    ($table:ident, $i:expr, ) => {};
    ($table:ident, $i:expr, $(#[$meta:meta])* $vis:vis $global:ident: $ty:ident, $($rest:tt)*) => {
        $crate::__fixed_global!($table, $i, $(#[$meta])* $vis $global: $ty);
        $crate::__fixed_globals!($table, $i + 1usize, $($rest)*);
    };
}

/// One [`Fixed`] constant of [`table!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __fixed_global {
    ($table:ident, $i:expr, $(#[$meta:meta])* $vis:vis $global:ident: Duration) => {
        $(#[$meta])*
        $vis static $global: $crate::Fixed<core::time::Duration> = $table.global($i);
    };
    ($table:ident, $i:expr, $(#[$meta:meta])* $vis:vis $global:ident: $ty:ident) => {
        $(#[$meta])*
        $vis static $global: $crate::Fixed<$ty> = $table.global($i);
    };
}

#[cfg(test)]
mod tests {
    //! Natively the SDK's host accepts every slot, or refuses the one a test names; Miri runs
    //! these (`cargo +nightly miri test -p wasmtime-global-guest`) over the raw pointers.
    use super::{ALL_OK, SOME_REFUSED};

    crate::table! {
        static ONE;
        static FLAG: bool = ("T_FLAG", true);
        static COUNT: u64 = ("T_COUNT", 7);
        static OFFSET: i64 = ("T_OFFSET", -3);
        static RATIO: f64 = ("T_RATIO", 0.5);
        static WAIT: Duration = ("T_WAIT", core::time::Duration::from_millis(1500));
    }

    crate::table! {
        static TWO;
        static FIRST: u64 = ("T2_FIRST", 1);
        static REFUSED: u64 = ("T2_REFUSED", 2);
        static LAST: u64 = ("T2_LAST", 3);
    }

    /// Every global reads its default, the table is declared once, and its names are its own.
    #[test]
    fn a_table_reads_its_defaults() {
        assert!(FLAG.get());
        assert_eq!((COUNT.get(), OFFSET.get(), RATIO.get()), (7, -3, 0.5));
        assert_eq!(WAIT.get(), core::time::Duration::from_millis(1500));
        assert_eq!(WAIT.nanos(), 1_500_000_000);
        assert_eq!((COUNT.changes(), COUNT.error()), (0, None));
        assert_eq!(COUNT.declare(), Ok(()));
        assert_eq!((FLAG.name(), WAIT.name()), ("T_FLAG", "T_WAIT"));
        assert_eq!(ONE.state.get(), ALL_OK);
        let names = &ONE.names;
        assert_eq!(&names[..], b"T_FLAGT_COUNTT_OFFSETT_RATIOT_WAIT");
    }

    /// A slot the host refuses keeps its error; the others of its table read on. The table is
    /// declared through another of its globals, so its status entry is reached from that one's.
    #[test]
    fn a_refused_global_says_why_and_the_others_read_on() {
        crate::sys::test_host::refuse(TWO.header.get().cast(), 1);
        assert_eq!(FIRST.get(), 1);
        let declared = REFUSED.declare();
        assert_eq!(declared, Err(crate::DeclareError::TypeMismatch));
        assert_eq!(REFUSED.error(), Some(crate::DeclareError::TypeMismatch));
        assert_eq!((FIRST.get(), LAST.get()), (1, 3));
        assert_eq!((FIRST.error(), LAST.error()), (None, None));
        assert_eq!(TWO.state.get(), SOME_REFUSED);
    }

    #[test]
    #[should_panic(
        expected = "cannot declare \"T2_REFUSED\": the host knows this name with another type"
    )]
    fn reading_a_refused_global_panics_naming_it() {
        crate::sys::test_host::refuse(TWO.header.get().cast(), 1);
        let _ = REFUSED.get();
    }
}
