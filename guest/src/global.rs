//! The typed globals.

use crate::table::{self, DeclareError};
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use wasmtime_global_abi::{ValueType, check_name};

/// A global of Rust type `T`, declared under a name with a default. Usable as a `static` (every
/// constructor is `const`) and at run time. See the aliases [`Bool`], [`U64`], [`I64`], [`F64`]
/// and [`Duration`].
///
/// A name that breaks the naming rules (empty, over 255 bytes, or with a NUL) is a compile error
/// in a `static` and a panic at run time:
///
/// ```
/// static FLAG: wasmtime_global_guest::Bool = wasmtime_global_guest::Bool::new("FLAG", true);
/// ```
///
/// ```compile_fail
/// static FLAG: wasmtime_global_guest::Bool = wasmtime_global_guest::Bool::new("FL\0AG", true);
/// ```
#[derive(Debug)]
pub struct Global<T> {
    name: &'static str,
    ty: ValueType,
    default: u64,
    /// The slot's value field once declared; null before.
    #[cfg(not(component))]
    value: SlotPtr,
    /// In a component: its declaration's index plus one once declared; 0 before.
    #[cfg(component)]
    handle: core::sync::atomic::AtomicU64,
    /// Why the declaration failed, if it did (`crate::refusal`); written only then, so that
    /// asking again gives the same answer without using up another slot.
    refused: AtomicI64,
    _type: PhantomData<fn() -> T>,
}

/// A `BOOL` global: wazero-global's `Bool`.
pub type Bool = Global<bool>;
/// A `U64` global.
pub type U64 = Global<u64>;
/// A `U64` global, under wazero-global's name.
pub type Uint64 = Global<u64>;
/// An `I64` global.
pub type I64 = Global<i64>;
/// An `F64` global.
pub type F64 = Global<f64>;
/// A `DURATION` global: signed nanoseconds, read as a [`core::time::Duration`].
pub type Duration = Global<core::time::Duration>;

impl<T> Global<T> {
    const fn raw(name: &'static str, ty: ValueType, default: u64) -> Global<T> {
        if let Err(e) = check_name(name.as_bytes()) {
            match e {
                wasmtime_global_abi::NameError::Empty => panic!("global name is empty"),
                wasmtime_global_abi::NameError::TooLong { .. } => {
                    panic!("global name is longer than 255 bytes")
                }
                wasmtime_global_abi::NameError::NotUtf8 { .. } => {
                    panic!("global name is not UTF-8")
                }
                wasmtime_global_abi::NameError::ContainsNul { .. } => {
                    panic!("global name contains a NUL byte")
                }
            }
        }
        Global {
            name,
            ty,
            default,
            #[cfg(not(component))]
            value: SlotPtr::null(),
            #[cfg(component)]
            handle: core::sync::atomic::AtomicU64::new(0),
            refused: AtomicI64::new(crate::refusal::NONE),
            _type: PhantomData,
        }
    }

    /// The name.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Declares the global now rather than at its first read. Declaring again does nothing, and
    /// a declaration that failed fails again with the same error, without using another slot.
    ///
    /// # Errors
    ///
    /// [`DeclareError::TableFull`] when all [`CAPACITY`](crate::CAPACITY) slots are taken;
    /// [`DeclareError::TypeMismatch`] when the host knows the name with another type.
    pub fn declare(&self) -> Result<(), DeclareError> {
        #[cfg(not(component))]
        let declared = !self.declare_raw().is_null();
        #[cfg(component)]
        let declared = self.declare_raw() != 0;
        if !declared {
            let code = self.refused.load(Ordering::Relaxed);
            if let Some(e) = DeclareError::from_refusal(code) {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Why the declaration failed, if it was tried and failed: what [`Global::declare`] returned
    /// (or a read panicked with). Never asks the host.
    #[must_use]
    pub fn error(&self) -> Option<DeclareError> {
        DeclareError::from_refusal(self.refused.load(Ordering::Relaxed))
    }

    /// The value field, declaring the global if it is not yet; null if that fails (then
    /// `refused` says why).
    #[cfg(not(component))]
    fn declare_raw(&self) -> *mut u64 {
        let value = self.value.load();
        let refused = self.refused.load(Ordering::Relaxed);
        // CLAIMED or FILLED: another thread's `declare_all` is declaring it; this one declares
        // its own.
        use crate::refusal::{CLAIMED, FILLED, NONE};
        if !value.is_null() || !matches!(refused, NONE | CLAIMED | FILLED) {
            return value;
        }
        let value = table::declare(self.name, self.ty, self.default, &self.refused);
        if !value.is_null() {
            self.value.store(value);
        }
        value
    }

    /// The current value's 64 bits: one pointer check and one load once declared.
    #[cfg(not(component))]
    #[inline]
    fn bits(&self) -> u64 {
        read(self.value_field())
    }

    /// In a component: its index plus one, declaring the global if it is not yet; 0 if that
    /// fails (then `refused` says why).
    #[cfg(component)]
    fn declare_raw(&self) -> u64 {
        let handle = self.handle.load(Ordering::Relaxed);
        if handle != 0 || self.refused.load(Ordering::Relaxed) != crate::refusal::NONE {
            return handle;
        }
        let handle = crate::component::declare(self.name, self.ty, self.default, &self.refused);
        if handle != 0 {
            self.handle.store(handle, Ordering::Relaxed);
        }
        handle
    }

    /// In a component: the current value's 64 bits, one host call (the global declared first if
    /// it is not yet).
    #[cfg(component)]
    fn bits(&self) -> u64 {
        let mut handle = self.handle.load(Ordering::Relaxed);
        if handle == 0 {
            handle = self.declare_raw();
            if handle == 0 {
                self.panic_refused();
            }
        }
        crate::component::bits(handle)
    }

    /// The slot's value field, declaring the global first if it is not yet.
    #[cfg(not(component))]
    #[inline(always)]
    fn value_field(&self) -> *mut u64 {
        let value = self.value.load();
        if value.is_null() {
            self.declare_or_panic()
        } else {
            value
        }
    }

    /// How many times the host has written this global since it was declared: one load. Compare
    /// with a count kept from the last look to ask "has it changed since?".
    ///
    /// # Panics
    ///
    /// If the global cannot be declared (see [`Global::declare`]).
    ///
    /// In a component (wasm32-wasip2) it is a host call, and counts the host's looks (reads,
    /// and this) that found the name changed since the look before, as a core module's counts
    /// the syncs that wrote its slot.
    #[cfg(component)]
    pub fn changes(&self) -> u64 {
        let mut index = self.handle.load(Ordering::Relaxed);
        if index == 0 {
            index = self.declare_raw();
            if index == 0 {
                self.panic_refused();
            }
        }
        crate::component::changes(index)
    }

    /// How many times the host has written this global since it was declared: one load. Compare
    /// with a count kept from the last look to ask "has it changed since?".
    ///
    /// # Panics
    ///
    /// If the global cannot be declared (see [`Global::declare`]).
    #[cfg(not(component))]
    #[inline]
    pub fn changes(&self) -> u64 {
        // `changes` follows `value` in the slot (spec/ABI.md §4.2).
        read(self.value_field().wrapping_add(1))
    }

    #[cfg(not(component))]
    #[cold]
    #[inline(never)]
    fn declare_or_panic(&self) -> *mut u64 {
        let value = self.declare_raw();
        if value.is_null() {
            self.panic_refused();
        }
        value
    }

    #[cold]
    #[inline(never)]
    fn panic_refused(&self) -> ! {
        let code = self.refused.load(Ordering::Relaxed);
        match DeclareError::from_refusal(code) {
            Some(e) => panic!("wasmtime-global: cannot declare {:?}: {e}", self.name),
            None => panic!("wasmtime-global: cannot declare {:?}", self.name),
        }
    }
}

/// Where a declared global's value field is.
///
/// On wasm32 without the atomics feature the module has one thread, so a plain cell does: the
/// compiler may then keep the pointer in a register across a loop of reads, leaving one load of
/// the value per read. Everywhere else (atomics builds, and native builds, which have threads)
/// it is an `AtomicPtr`.
#[derive(Debug)]
struct SlotPtr {
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    ptr: core::cell::Cell<*mut u64>,
    #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
    ptr: core::sync::atomic::AtomicPtr<u64>,
}

// SAFETY: without the atomics feature a wasm32 module has exactly one thread, so the cell is never
// accessed concurrently.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl Sync for SlotPtr {}

impl SlotPtr {
    const fn null() -> SlotPtr {
        SlotPtr {
            #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
            ptr: core::cell::Cell::new(ptr::null_mut()),
            #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
            ptr: core::sync::atomic::AtomicPtr::new(ptr::null_mut()),
        }
    }

    #[inline(always)]
    fn load(&self) -> *mut u64 {
        #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
        return self.ptr.get();
        #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
        return self.ptr.load(core::sync::atomic::Ordering::Acquire);
    }

    fn store(&self, value: *mut u64) {
        #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
        self.ptr.set(value);
        #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
        self.ptr.store(value, core::sync::atomic::Ordering::Release);
    }
}

/// A global as [`declare_all()`] takes it: `(&GLOBAL).into()`, [`Global::declarable`], or the
/// [`declare_all!`](crate::declare_all!) macro, which makes them. A plain struct rather than a
/// trait object: a trait object's vtable is one more page of the module's data that a fresh
/// instance faults in (`cargo bench -p wasmtime-global-tests --bench request` counts the faults).
#[derive(Clone, Copy, Debug)]
pub struct Declarable<'a> {
    name: &'static str,
    ty: ValueType,
    default: u64,
    #[cfg(not(component))]
    value: &'a SlotPtr,
    #[cfg(component)]
    handle: &'a core::sync::atomic::AtomicU64,
    refused: &'a AtomicI64,
}

impl<'a, T> From<&'a Global<T>> for Declarable<'a> {
    fn from(global: &'a Global<T>) -> Declarable<'a> {
        global.declarable()
    }
}

impl<T> Global<T> {
    /// The global, for [`declare_all()`].
    #[must_use]
    pub fn declarable(&self) -> Declarable<'_> {
        Declarable {
            name: self.name,
            ty: self.ty,
            default: self.default,
            #[cfg(not(component))]
            value: &self.value,
            #[cfg(component)]
            handle: &self.handle,
            refused: &self.refused,
        }
    }
}

/// [`declare_all()`] of the globals named, of any types: `declare_all!(VERBOSE, LIMIT)`.
#[macro_export]
macro_rules! declare_all {
    ($($global:expr),* $(,)?) => {
        $crate::declare_all(&[$($crate::Declarable::from(&$global)),*])
    };
}

/// Declares every global of `globals` that is not declared yet, with one host call
/// (`declare_range`, [the ABI](wasmtime_global_abi::spec) §7) where one global at a time takes
/// one each: for a module instantiated per request, which reads each global a few times, the
/// calls are most of what globals cost (`cargo bench -p wasmtime-global-tests --bench request`).
/// Call it first thing, with every global the request reads:
///
/// ```
/// use wasmtime_global_guest::{Bool, U64, declare_all};
///
/// static VERBOSE: Bool = Bool::new("VERBOSE", false);
/// static LIMIT: U64 = U64::new("LIMIT", 100);
///
/// declare_all!(VERBOSE, LIMIT).expect("declared");
/// assert_eq!(LIMIT.get(), 100);
/// // The same, as a function of a slice:
/// declare_all(&[VERBOSE.declarable(), LIMIT.declarable()]).expect("declared");
/// ```
///
/// A global already declared, or refused before, is left as it is; one listed twice is declared
/// once.
///
/// # Errors
///
/// The first error of a global of `globals` that is not declared (each keeps its own:
/// [`Global::error`]): [`DeclareError::TableFull`] for those past the free slots,
/// [`DeclareError::TypeMismatch`] for a name the host knows with another type.
pub fn declare_all(globals: &[Declarable<'_>]) -> Result<(), DeclareError> {
    // One call at a time: the marks below (CLAIMED, FILLED) say which globals this call is
    // declaring, and two calls at once (threads, with atomics) would take each other's. Without
    // atomics there is one thread, and the lock is never waited for.
    static DECLARING: AtomicBool = AtomicBool::new(false);
    while DECLARING
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    let result = declare_all_locked(globals);
    DECLARING.store(false, Ordering::Release);
    result
}

/// [`declare_all()`] in a component: one host call a global (the interface declares one at a
/// time), each kept as [`Global::declare`] keeps it.
#[cfg(component)]
fn declare_all_locked(globals: &[Declarable<'_>]) -> Result<(), DeclareError> {
    for g in globals {
        if g.handle.load(Ordering::Relaxed) != 0
            || g.refused.load(Ordering::Relaxed) != crate::refusal::NONE
        {
            continue;
        }
        let handle = crate::component::declare(g.name, g.ty, g.default, g.refused);
        if handle != 0 {
            g.handle.store(handle, Ordering::Relaxed);
        }
    }
    let error = |g: &Declarable<'_>| DeclareError::from_refusal(g.refused.load(Ordering::Relaxed));
    globals.iter().find_map(error).map_or(Ok(()), Err)
}

/// [`declare_all()`], with no other call of it running.
#[cfg(not(component))]
fn declare_all_locked(globals: &[Declarable<'_>]) -> Result<(), DeclareError> {
    let wanted = claim_marks(globals);
    match (wanted > 0).then(|| table::claim(wanted)).flatten() {
        Some(first) => declare_claimed(globals, first, wanted),
        // Another thread took the free slots meanwhile: one at a time, as far as they go.
        None => {
            for g in marked(globals, crate::refusal::CLAIMED) {
                g.refused.store(crate::refusal::NONE, Ordering::Relaxed);
                let value = table::declare(g.name, g.ty, g.default, g.refused);
                if !value.is_null() {
                    g.value.store(value);
                }
            }
        }
    }
    let error = |g: &Declarable<'_>| DeclareError::from_refusal(g.refused.load(Ordering::Relaxed));
    globals.iter().find_map(error).map_or(Ok(()), Err)
}

/// Marks the globals to declare, in order, each once (a claimed global is no longer NONE), as
/// far as the table's free slots go (the rest: TABLE_FULL); returns how many it marked.
#[cfg(not(component))]
fn claim_marks(globals: &[Declarable<'_>]) -> u32 {
    use crate::refusal::{CLAIMED, NONE, TABLE_FULL};
    let free = table::free();
    let mut wanted = 0;
    for g in globals {
        if !g.value.load().is_null() || g.refused.load(Ordering::Relaxed) != NONE {
            continue;
        }
        if wanted == free {
            g.refused.store(TABLE_FULL, Ordering::Relaxed);
            continue;
        }
        g.refused.store(CLAIMED, Ordering::Relaxed);
        wanted += 1;
    }
    wanted
}

/// The globals that carry `mark`, in list order.
#[cfg(not(component))]
fn marked<'g, 'a>(
    globals: &'g [Declarable<'a>],
    mark: i64,
) -> impl Iterator<Item = &'g Declarable<'a>> {
    globals
        .iter()
        .filter(move |g| g.refused.load(Ordering::Relaxed) == mark)
}

/// Fills slots `first .. first + wanted` for the claimed globals in list order, and declares
/// them with as few `declare_range` calls as the host allows. Each pass moves a global on from
/// the mark it looks for, so one listed twice is taken once.
#[cfg(not(component))]
fn declare_claimed(globals: &[Declarable<'_>], first: u32, wanted: u32) {
    use crate::refusal::{CLAIMED, FILLED, NONE};
    for (index, g) in (first..first + wanted).zip(marked(globals, CLAIMED)) {
        table::fill(index, g.name, g.ty, g.default);
        g.refused.store(FILLED, Ordering::Relaxed);
    }
    let mut done = 0;
    let mut next = marked(globals, FILLED);
    while done < wanted {
        let got = crate::sys::declare_range(table::table_addr(), first + done, wanted - done);
        for (index, g) in (first + done..first + done + got).zip(next.by_ref()) {
            g.refused.store(NONE, Ordering::Relaxed);
            g.value.store(table::value_field(index));
        }
        done += got;
        if done < wanted {
            // The host stopped at this slot: `declare` says why.
            let index = first + done;
            let status = crate::sys::declare(table::table_addr(), index);
            if let Some(g) = next.next() {
                g.refused.store(NONE, Ordering::Relaxed);
                let value = table::outcome(index, status, g.refused);
                if !value.is_null() {
                    g.value.store(value);
                }
            }
            done += 1;
        }
    }
}

/// Loads a value field (or the change counter after it). Volatile, so a read in a loop is never hoisted out of it: the host may
/// write the field between any two calls into this module.
#[inline(always)]
#[cfg(not(target_feature = "atomics"))]
pub(crate) fn read(value: *mut u64) -> u64 {
    // SAFETY: `value` is the value or changes field of a declared slot of the static table: in
    // bounds, 8-aligned, valid for the program's life. Without the atomics feature there are no
    // threads, and the host writes the field only while this module is not running.
    unsafe { ptr::read_volatile(value) }
}

/// Loads a value field. Relaxed atomic, because the host may write a shared memory from another
/// thread at any moment.
#[inline(always)]
#[cfg(target_feature = "atomics")]
pub(crate) fn read(value: *mut u64) -> u64 {
    // SAFETY: `value` is the value or changes field of a declared slot of the static table: in
    // bounds, 8-aligned, valid for the program's life, and only ever accessed atomically once
    // declared.
    unsafe { core::sync::atomic::AtomicU64::from_ptr(value) }
        .load(core::sync::atomic::Ordering::Relaxed)
}

impl Global<bool> {
    /// A `BOOL` global named `name` with default `default`.
    #[must_use]
    pub const fn new(name: &'static str, default: bool) -> Bool {
        Global::raw(name, ValueType::Bool, default as u64)
    }

    /// The current value: the host's if it set one, else the default.
    ///
    /// # Panics
    ///
    /// If the global cannot be declared (see [`Global::declare`]).
    #[inline]
    pub fn get(&self) -> bool {
        self.bits() != 0
    }
}

impl Global<u64> {
    /// A `U64` global named `name` with default `default`.
    #[must_use]
    pub const fn new(name: &'static str, default: u64) -> U64 {
        Global::raw(name, ValueType::U64, default)
    }

    /// The current value: the host's if it set one, else the default.
    ///
    /// # Panics
    ///
    /// If the global cannot be declared (see [`Global::declare`]).
    #[inline]
    pub fn get(&self) -> u64 {
        self.bits()
    }
}

impl Global<i64> {
    /// An `I64` global named `name` with default `default`.
    #[must_use]
    pub const fn new(name: &'static str, default: i64) -> I64 {
        Global::raw(name, ValueType::I64, default as u64)
    }

    /// The current value: the host's if it set one, else the default.
    ///
    /// # Panics
    ///
    /// If the global cannot be declared (see [`Global::declare`]).
    #[inline]
    pub fn get(&self) -> i64 {
        self.bits() as i64
    }
}

impl Global<f64> {
    /// An `F64` global named `name` with default `default`.
    #[must_use]
    pub const fn new(name: &'static str, default: f64) -> F64 {
        Global::raw(name, ValueType::F64, default.to_bits())
    }

    /// The current value, bit for bit: the host's if it set one, else the default.
    ///
    /// # Panics
    ///
    /// If the global cannot be declared (see [`Global::declare`]).
    #[inline]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.bits())
    }
}

impl Global<core::time::Duration> {
    /// A `DURATION` global named `name` with default `default`.
    ///
    /// # Panics
    ///
    /// If `default` is more than `i64::MAX` nanoseconds (about 292 years).
    #[must_use]
    pub const fn new(name: &'static str, default: core::time::Duration) -> Duration {
        let nanos = default.as_nanos();
        assert!(
            nanos <= i64::MAX as u128,
            "duration default over i64::MAX nanoseconds"
        );
        Global::raw(name, ValueType::Duration, nanos as u64)
    }

    /// A `DURATION` global with a default in signed nanoseconds, which may be negative.
    #[must_use]
    pub const fn from_nanos(name: &'static str, default: i64) -> Duration {
        Global::raw(name, ValueType::Duration, default as u64)
    }

    /// The current value; a negative duration reads as zero (see [`nanos`](Self::nanos)).
    ///
    /// # Panics
    ///
    /// If the global cannot be declared (see [`Global::declare`]).
    #[inline]
    pub fn get(&self) -> core::time::Duration {
        core::time::Duration::from_nanos(u64::try_from(self.nanos()).unwrap_or(0))
    }

    /// The current value in signed nanoseconds.
    ///
    /// # Panics
    ///
    /// If the global cannot be declared (see [`Global::declare`]).
    #[inline]
    pub fn nanos(&self) -> i64 {
        self.bits() as i64
    }
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $f:ident -> $ty:ident($arg:ty);)*) => {$(
        $(#[$doc])*
        ///
        /// # Panics
        ///
        /// If the name is invalid or the global cannot be declared.
        #[must_use]
        pub fn $f(name: &'static str, default: $arg) -> $ty {
            let global = $ty::new(name, default);
            if global.declare().is_err() {
                global.panic_refused();
            }
            global
        }
    )*};
}

constructors! {
    /// Creates and declares a `BOOL` global: wazero-global's `NewBool`.
    new_bool -> Bool(bool);
    /// Creates and declares a `U64` global: wazero-global's `NewUint64`.
    new_uint64 -> U64(u64);
    /// Creates and declares an `I64` global.
    new_i64 -> I64(i64);
    /// Creates and declares an `F64` global.
    new_f64 -> F64(f64);
    /// Creates and declares a `DURATION` global: wazero-global's `NewDuration`.
    new_duration -> Duration(core::time::Duration);
}

#[cfg(test)]
mod tests {
    //! Natively there is no host: declarations succeed and reads return the defaults.
    use super::*;

    #[test]
    fn every_type_reads_its_default() {
        assert!(Bool::new("B", true).get());
        assert_eq!(U64::new("U", u64::MAX).get(), u64::MAX);
        assert_eq!(I64::new("I", i64::MIN).get(), i64::MIN);
        assert_eq!(F64::new("F", -0.0).get().to_bits(), (-0.0f64).to_bits());
        let d = Duration::new("D", core::time::Duration::from_millis(1500));
        assert_eq!(d.get(), core::time::Duration::from_millis(1500));
        assert_eq!(d.nanos(), 1_500_000_000);
        let negative = Duration::from_nanos("N", -5);
        assert_eq!(
            (negative.nanos(), negative.get()),
            (-5, core::time::Duration::ZERO)
        );
    }

    /// Natively the host declares every slot of a run; a global listed twice takes one slot.
    #[test]
    fn declare_all_declares_each_global_once() {
        static A: U64 = U64::new("ALL_A", 1);
        static B: Bool = Bool::new("ALL_B", true);
        assert_eq!(crate::declare_all!(A, B, A), Ok(()));
        assert_eq!((A.get(), B.get()), (1, true));
        assert_eq!((A.error(), B.error()), (None, None));
        assert_ne!(A.value.load(), B.value.load(), "two slots");
        let a = A.value.load();
        assert_eq!(crate::declare_all(&[A.declarable()]), Ok(()));
        assert_eq!(A.value.load(), a, "declared already: the same slot");
    }

    #[test]
    #[should_panic(expected = "global name is empty")]
    fn an_empty_name_panics_at_run_time() {
        let _ = U64::new(core::hint::black_box(""), 1);
    }
}
