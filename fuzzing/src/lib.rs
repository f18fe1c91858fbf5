//! The fuzz targets of wasmtime-global, as functions of structured input.
//!
//! - [`table`]: validation of a table and a slot over arbitrary memory bytes and an arbitrary
//!   table address;
//! - [`ops`]: a sequence of declare, set, del, batch, sync, grow, guest writes and instance drops
//!   against a guest whose table bytes come from the input.
//!
//! Each panics when an invariant breaks: a panic of the host, an error that is not a typed
//! [`wasmtime_global::Error`], a byte of guest memory written outside the fields the spec lets the
//! host write, or a read that is neither the last value set nor the default.
//!
//! `fuzz/` runs them under libFuzzer (`cargo +nightly fuzz run table`); this crate's tests run
//! them on stable over pseudo-random inputs, so `cargo test` keeps them working.

use arbitrary::Arbitrary;
use std::collections::HashSet;
use std::sync::OnceLock;
use wasmtime::{Engine, Instance, Linker, Module, Store, Val};
use wasmtime_global::{Error, Globals, GlobalsCtx, Value, ValueType};
use wasmtime_global_abi::validate::{self, GuestBytes};
use wasmtime_global_abi::{
    self as abi, HEADER_SIZE, Header, MAGIC, SLOT_SIZE, Slot, VERSION, VERSION_2,
};

/// Guest memory starts at one wasm page; images are written into its first `IMAGE_LIMIT` bytes.
const PAGE: usize = 65536;
/// Where the host's fields are: a slot's `value` and `changes`, and the header's `generation`.
const VALUE: u64 = Slot::VALUE_OFFSET as u64;
const CHANGES: u64 = Slot::CHANGES_OFFSET as u64;
const GENERATION: u64 = Header::GENERATION_OFFSET as u64;
const IMAGE_LIMIT: usize = 16384;

/// A slot, field by field, with a switch to make its hash right (so the fuzzer reaches past the
/// hash check) and a name to write.
#[derive(Arbitrary, Debug, Clone)]
pub struct SlotImage {
    pub name: Vec<u8>,
    pub name_addr: u16,
    pub name_len: Option<u16>,
    pub ty: u8,
    pub default: u64,
    pub value: u64,
    pub right_hash: bool,
    pub reserved: Option<(u32, u64)>,
}

/// A table: a header (right magic, version and slot size unless asked otherwise), slots,
/// names, and raw byte patches on top.
#[derive(Arbitrary, Debug, Clone)]
pub struct Image {
    pub table_addr: u16,
    pub capacity: u8,
    pub count: u8,
    pub wrong_header: Option<(u32, u32, u32)>,
    pub generation: u64,
    pub slots: Vec<SlotImage>,
    pub patches: Vec<(u16, u8)>,
}

impl Image {
    /// The memory bytes (`IMAGE_LIMIT` of them) and the table address.
    #[must_use]
    pub fn build(&self) -> (Vec<u8>, u32) {
        let mut memory = vec![0u8; IMAGE_LIMIT];
        let addr = u32::from(self.table_addr);
        let mut header = Header::new(u32::from(self.capacity));
        header.count = u32::from(self.count);
        header.generation = self.generation;
        if let Some((magic, version, slot_size)) = self.wrong_header {
            (header.magic, header.version, header.slot_size) = (magic, version, slot_size);
        }
        put(&mut memory, addr as usize, bytemuck::bytes_of(&header));
        for (i, s) in self.slots.iter().take(64).enumerate() {
            let name = &s.name[..s.name.len().min(300)];
            put(&mut memory, usize::from(s.name_addr), name);
            let (reserved0, reserved1) = s.reserved.unwrap_or((0, 0));
            let slot = Slot {
                hash: if s.right_hash {
                    abi::fnv1a64(name)
                } else {
                    s.value ^ s.default
                },
                name_addr: u32::from(s.name_addr),
                name_len: u32::from(s.name_len.unwrap_or(name.len() as u16)),
                ty: u32::from(s.ty % 7),
                reserved0,
                default: s.default,
                value: s.value,
                changes: 0,
                reserved1: [reserved1, 0],
            };
            let at = addr as usize + HEADER_SIZE as usize + i * SLOT_SIZE as usize;
            put(&mut memory, at, bytemuck::bytes_of(&slot));
        }
        for &(at, byte) in &self.patches {
            if let Some(b) = memory.get_mut(usize::from(at)) {
                *b = byte;
            }
        }
        (memory, addr)
    }
}

/// Copies `bytes` to `at`, as much as fits.
fn put(memory: &mut [u8], at: usize, bytes: &[u8]) {
    let end = at.saturating_add(bytes.len()).min(memory.len());
    if at < end {
        memory[at..end].copy_from_slice(&bytes[..end - at]);
    }
}

/// Target 1: validate the table at `table_addr` of `memory` and its slot `index`.
#[derive(Arbitrary, Debug)]
pub struct TableInput {
    pub image: Image,
    /// Used instead of the image's address when set: any address at all.
    pub any_addr: Option<u32>,
    pub index: u32,
    /// Memory of this many bytes (at most `IMAGE_LIMIT`), to put tables at the edge.
    pub memory_len: u16,
}

/// Validates; on success checks that what validation promises holds.
pub fn table(input: &TableInput) {
    let (mut memory, addr) = input.image.build();
    memory.truncate(usize::from(input.memory_len).min(IMAGE_LIMIT));
    let addr = input.any_addr.unwrap_or(addr);
    let bytes = memory.as_slice();
    let header = match validate::read_header(bytes, addr) {
        Ok(header) => header,
        Err(e) => return malformed(&e),
    };
    assert_eq!((header.magic, header.slot_size), (MAGIC, SLOT_SIZE));
    assert!(
        header.version == VERSION || header.version == VERSION_2,
        "{}",
        header.version
    );
    assert!(header.count <= header.capacity && header.capacity <= abi::MAX_CAPACITY);
    assert!(addr.is_multiple_of(abi::TABLE_ALIGN));
    assert!(u64::from(addr) + abi::table_size(header.capacity) <= bytes.size());
    let slot = match validate::read_slot(bytes, addr, &header, input.index) {
        Ok(slot) => slot,
        Err(e) => return malformed(&e),
    };
    assert!(slot.index < header.count);
    assert!(slot.value_addr + 8 <= bytes.size());
    assert_eq!(
        slot.value_addr,
        u64::from(addr) + abi::slot_offset(slot.index) + VALUE
    );
    assert_eq!(slot.hash, abi::fnv1a64(slot.name.as_bytes()));
    assert!(abi::check_name(slot.name.as_bytes()).is_ok());
}

/// Every error must print (a `Display` that panics would be a host panic).
fn typed(e: &Error) {
    let _ = e.to_string();
}

/// A table's fault must print, and as the host's error too.
fn malformed(e: &validate::Malformed) {
    let _ = e.to_string();
    typed(&Error::from(e.clone()));
}

/// One step of target 2.
#[derive(Arbitrary, Debug)]
pub enum Op {
    Declare(u8),
    Set(u8, u64),
    SetTyped(u8, u8, u64),
    Del(u8),
    Batch(Vec<(u8, Option<u64>)>),
    Sync,
    Grow(u8),
    /// The guest writes bytes at an address of its memory (as a hostile guest may, at any time
    /// between host calls).
    GuestWrite(u16, Vec<u8>),
    /// Drops the store and starts again with a new one and the same image.
    Drop,
}

/// Target 2.
#[derive(Arbitrary, Debug)]
pub struct OpsInput {
    pub image: Image,
    pub ops: Vec<Op>,
}

const GUEST: &str = r#"
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 1 4)
  (global $table (export "table") (mut i32) (i32.const 0))
  (func (export "declare") (param i32) (result i32)
    (call $declare (global.get $table) (local.get 0))))
"#;

struct Fixture {
    engine: Engine,
    module: Module,
    linker: Linker<GlobalsCtx>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let engine = Engine::default();
        let module = Module::new(&engine, GUEST).expect("the fixture guest compiles");
        let mut linker = Linker::new(&engine);
        wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)
            .expect("a fresh linker");
        Fixture {
            engine,
            module,
            linker,
        }
    })
}

/// A guest instance with the image in its memory.
struct Subject {
    store: Store<GlobalsCtx>,
    instance: Instance,
    /// Value fields the guest wrote over since the host last wrote them: their contents are
    /// the guest's business.
    dirty: HashSet<u64>,
}

impl Subject {
    fn new(globals: &Globals, image: &[u8], table_addr: u32) -> Subject {
        let f = fixture();
        let mut store = Store::new(&f.engine, GlobalsCtx::new(globals));
        let instance = f
            .linker
            .instantiate(&mut store, &f.module)
            .expect("the fixture guest instantiates");
        let memory = instance.get_memory(&mut store, "memory").expect("memory");
        memory.write(&mut store, 0, image).expect("the image fits");
        let table = instance.get_global(&mut store, "table").expect("table");
        table
            .set(&mut store, Val::I32(table_addr as i32))
            .expect("a mutable i32");
        Subject {
            store,
            instance,
            dirty: HashSet::new(),
        }
    }

    fn memory(&mut self) -> Vec<u8> {
        let memory = self
            .instance
            .get_memory(&mut self.store, "memory")
            .expect("memory");
        memory.data(&self.store).to_vec()
    }

    /// The byte ranges the host may write: `value` and `changes` of every declared slot, and
    /// `generation` of the table.
    fn writable(&self) -> Vec<(u64, u64)> {
        let mut ranges = Vec::new();
        for d in self.store.data().declarations() {
            let slot = u64::from(d.table_addr) + abi::slot_offset(d.index);
            // `value` and `changes`, and the header's `generation`.
            ranges.push((slot + VALUE, slot + CHANGES + 8));
            let generation = u64::from(d.table_addr) + GENERATION;
            ranges.push((generation, generation + 8));
        }
        // One generation field per table, not per slot.
        ranges.sort_unstable();
        ranges.dedup();
        ranges
    }
}

/// Panics if a byte that differs between `before` and `after` lies outside `allowed`.
fn only_changed_within(before: &[u8], after: &[u8], allowed: &[(u64, u64)], what: &str) {
    for (i, (a, b)) in before.iter().zip(after).enumerate() {
        let i = i as u64;
        if a != b {
            assert!(
                allowed
                    .iter()
                    .any(|&(start, end)| (start..end).contains(&i)),
                "{what} wrote byte {i:#x} ({a:#04x} -> {b:#04x}) outside the fields it may write"
            );
        }
    }
}

/// Names to set and delete: a few fixed ones and those of the image's slots.
fn names(image: &Image) -> Vec<String> {
    let mut names: Vec<String> = ["A", "B", "flag"].map(String::from).to_vec();
    for s in &image.slots {
        if let Ok(name) = std::str::from_utf8(&s.name) {
            names.push(name.to_owned());
        }
    }
    names
}

fn pick(names: &[String], i: u8) -> &str {
    &names[usize::from(i) % names.len()]
}

/// What a run of [`ops`] reached, for tests that the inputs get somewhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reached {
    pub ops: usize,
    pub declared: usize,
    pub traps: usize,
    pub values_written: usize,
}

/// Runs the ops, checking the invariants after each.
pub fn ops(input: &OpsInput) -> Reached {
    let mut reached = Reached::default();
    let (image, table_addr) = input.image.build();
    let names = names(&input.image);
    let globals = Globals::new();
    let mut subject = Subject::new(&globals, &image, table_addr);
    // Names whose value changed since the last sync.
    let mut changed: HashSet<String> = HashSet::new();
    for op in input.ops.iter().take(64) {
        reached.ops += 1;
        let before = subject.memory();
        match op {
            Op::Declare(i) => declare_op(
                &mut subject,
                &globals,
                table_addr,
                *i,
                &before,
                &mut reached,
            ),
            Op::Set(n, bits) => set(&globals, pick(&names, *n), Value::Bits(*bits), &mut changed),
            Op::SetTyped(n, ty, bits) => {
                let value = match ValueType::from_tag(u32::from(ty % 5 + 1)) {
                    Some(ty) => Value::from_bits(ty, *bits),
                    None => Value::Bits(*bits),
                };
                set(&globals, pick(&names, *n), value, &mut changed);
            }
            Op::Del(n) => del_op(&globals, pick(&names, *n), &mut changed),
            Op::Batch(ops) => batch_op(&globals, &names, ops, &mut changed),
            Op::Sync => sync_op(&mut subject, &globals, &before, &mut changed, &mut reached),
            Op::Grow(pages) => {
                let memory = subject
                    .instance
                    .get_memory(&mut subject.store, "memory")
                    .expect("memory");
                let _ = memory.grow(&mut subject.store, u64::from(pages % 4));
            }
            Op::GuestWrite(at, bytes) => guest_write_op(&mut subject, *at, bytes),
            Op::Drop => {
                subject = Subject::new(&globals, &image, table_addr);
                changed.clear();
            }
        }
        if matches!(
            op,
            Op::Set(..) | Op::SetTyped(..) | Op::Del(_) | Op::Batch(_)
        ) {
            // Registry operations never touch an ordinary memory.
            assert!(before == subject.memory(), "{op:?} wrote guest memory");
        }
    }
    reached
}

/// [`Op::Declare`]: the guest declares slot `i`; only its value may change, and only if it was
/// accepted; a trap is typed and changes nothing.
fn declare_op(
    subject: &mut Subject,
    globals: &Globals,
    table_addr: u32,
    i: u8,
    before: &[u8],
    reached: &mut Reached,
) {
    let declare = subject
        .instance
        .get_typed_func::<i32, i32>(&mut subject.store, "declare")
        .expect("export");
    match declare.call(&mut subject.store, i32::from(i)) {
        Ok(status) => {
            assert!(status == 0 || status == 1, "status {status}");
            let slot = u64::from(table_addr) + abi::slot_offset(u32::from(i));
            let after = subject.memory();
            let allowed = if status == 0 {
                vec![(slot + VALUE, slot + VALUE + 8)]
            } else {
                Vec::new()
            };
            only_changed_within(before, &after, &allowed, "declare");
            if status == 0 {
                reached.declared += 1;
                subject.dirty.remove(&(slot + VALUE));
                check_values(subject, globals, &after, Some(slot + VALUE));
            }
        }
        Err(e) => {
            reached.traps += 1;
            let error = e.downcast_ref::<Error>();
            assert!(error.is_some(), "an untyped trap: {e:?}");
            typed(error.expect("checked"));
            let after = subject.memory();
            assert!(before == after, "a trap left guest memory changed");
        }
    }
}

/// [`Op::Del`]: returns the value the name had; a name that had one changed.
fn del_op(globals: &Globals, name: &str, changed: &mut HashSet<String>) {
    let old = globals.get(name);
    match globals.del(name) {
        Ok(gone) => {
            assert_eq!(gone.map(Value::to_bits), old.map(Value::to_bits));
            if old.is_some() {
                changed.insert(name.to_owned());
            }
        }
        Err(e) => typed(&e),
    }
}

/// [`Op::Batch`]: all of it or, refused, none of it.
fn batch_op(
    globals: &Globals,
    names: &[String],
    ops: &[(u8, Option<u64>)],
    changed: &mut HashSet<String>,
) {
    let mut batch = globals.batch();
    let olds: Vec<_> = ops
        .iter()
        .map(|(n, _)| (pick(names, *n), globals.get(pick(names, *n))))
        .collect();
    for (n, value) in ops {
        match value {
            Some(bits) => batch.set(pick(names, *n), *bits),
            None => batch.del(pick(names, *n)),
        };
    }
    match batch.commit() {
        Ok(()) => {
            for (name, old) in olds {
                if globals.get(name).map(Value::to_bits) != old.map(Value::to_bits)
                    || globals.get(name).map(Value::ty) != old.map(Value::ty)
                {
                    changed.insert(name.to_owned());
                }
            }
        }
        Err(e) => {
            typed(&e);
            for (name, old) in olds {
                assert_eq!(
                    globals.get(name).map(Value::to_bits),
                    old.map(Value::to_bits),
                    "a refused batch changed {name:?}"
                );
            }
        }
    }
}

/// [`Op::Sync`]: writes only the slots' writable fields, and the changed names' values.
fn sync_op(
    subject: &mut Subject,
    globals: &Globals,
    before: &[u8],
    changed: &mut HashSet<String>,
    reached: &mut Reached,
) {
    match wasmtime_global::sync(&mut subject.store, |ctx| ctx) {
        Ok(written) => reached.values_written += written,
        Err(e) => typed(&e),
    }
    let after = subject.memory();
    only_changed_within(before, &after, &subject.writable(), "sync");
    for d in subject.store.data().declarations() {
        if changed.contains(&d.name) {
            let value = u64::from(d.table_addr) + abi::slot_offset(d.index) + VALUE;
            subject.dirty.remove(&value);
        }
    }
    check_values(subject, globals, &after, None);
    changed.clear();
}

/// [`Op::GuestWrite`]: the guest writes its first page; a declared value it overwrites is dirty
/// until the host writes it again.
fn guest_write_op(subject: &mut Subject, at: u16, bytes: &[u8]) {
    let memory = subject
        .instance
        .get_memory(&mut subject.store, "memory")
        .expect("memory");
    let at = usize::from(at);
    let bytes = &bytes[..bytes.len().min(PAGE - at)];
    memory
        .write(&mut subject.store, at, bytes)
        .expect("inside the first page");
    for d in subject.store.data().declarations() {
        let value = u64::from(d.table_addr) + abi::slot_offset(d.index) + VALUE;
        let (start, end) = (at as u64, (at + bytes.len()) as u64);
        if start < value + 8 && value < end {
            subject.dirty.insert(value);
        }
    }
}

fn set(globals: &Globals, name: &str, value: Value, changed: &mut HashSet<String>) {
    let old = globals.get(name);
    match globals.set_value(name, value) {
        Ok(()) => {
            let new = globals.get(name);
            if new.map(Value::to_bits) != old.map(Value::to_bits)
                || new.map(Value::ty) != old.map(Value::ty)
            {
                changed.insert(name.to_owned());
            }
        }
        Err(e) => {
            typed(&e);
            let now = globals.get(name);
            assert_eq!(now.map(Value::to_bits), old.map(Value::to_bits));
        }
    }
}

/// Every declared value field (or only the one at `only`) that the guest has not written over
/// holds the value set for its name, or the slot's default. (A `BOOL` compares as true/false:
/// the host keeps a slot's default as the guest wrote it, and a declaration lists it as a bool.)
fn check_values(subject: &mut Subject, globals: &Globals, memory: &[u8], only: Option<u64>) {
    for d in subject.store.data().declarations() {
        let value = u64::from(d.table_addr) + abi::slot_offset(d.index) + VALUE;
        if subject.dirty.contains(&value) || only.is_some_and(|o| o != value) {
            continue;
        }
        let mut bits = [0; 8];
        assert!(
            memory.read(value, &mut bits),
            "a declared value field is inside memory"
        );
        let found = u64::from_le_bytes(bits);
        let expected = globals.get(&d.name).unwrap_or(d.default).to_bits();
        let (found, expected) = if d.ty == ValueType::Bool {
            (u64::from(found != 0), u64::from(expected != 0))
        } else {
            (found, expected)
        };
        assert_eq!(found, expected, "slot {} ({:?})", d.index, d.name);
    }
}
