//! Hostile tables: every malformed input gives its exact `Error` variant as a trap, the host does
//! not panic, and guest memory is left exactly as it was. Also names whose hashes collide, and the
//! same name in two slots.
//!
//! The guest here is a shell: the test writes the table bytes into its memory, sets the table
//! address the shell passes, and calls `declare` through it.

use wasmtime::{Instance, Module, Store, Val};
use wasmtime_global::{Error, Globals};
use wasmtime_global_abi::{self as abi, Header, NameError, Slot, ValueType};
use wasmtime_global_test_support::{Host, engine, linker, store};

const SHELL: &str = r#"
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (import "wasmtime_global_v3" "declare_range" (func $range (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $table (export "table") (mut i32) (i32.const 1024))
  (func (export "declare") (param i32) (result i32)
    (call $declare (global.get $table) (local.get 0)))
  (func (export "declare_range") (param i32 i32) (result i32)
    (call $range (global.get $table) (local.get 0) (local.get 1)))
  (func (export "read") (param i32) (result i64) (i64.load (local.get 0))))
"#;

const TABLE: u32 = 1024;
const NAME_ADDR: u32 = 512;
const MEMORY: u64 = 65536;

/// A shell instance and its store.
struct Shell {
    store: Store<Host>,
    instance: Instance,
}

impl Shell {
    fn new(globals: &Globals) -> wasmtime::Result<Shell> {
        Shell::with_module(globals, SHELL)
    }

    fn with_module(globals: &Globals, wat: &str) -> wasmtime::Result<Shell> {
        let engine = engine();
        let module = Module::new(&engine, wat)?;
        let mut store = store(&engine, globals);
        let instance = linker(&engine)?.instantiate(&mut store, &module)?;
        Ok(Shell { store, instance })
    }

    fn write(&mut self, addr: u32, bytes: &[u8]) -> wasmtime::Result<()> {
        let memory = self
            .instance
            .get_memory(&mut self.store, "memory")
            .expect("exported");
        memory.write(&mut self.store, addr as usize, bytes)?;
        Ok(())
    }

    fn memory(&mut self) -> Vec<u8> {
        let memory = self
            .instance
            .get_memory(&mut self.store, "memory")
            .expect("exported");
        memory.data(&self.store).to_vec()
    }

    fn set_table(&mut self, addr: u32) -> wasmtime::Result<()> {
        let global = self
            .instance
            .get_global(&mut self.store, "table")
            .expect("exported");
        global.set(&mut self.store, Val::I32(addr as i32))
    }

    fn declare(&mut self, index: i32) -> wasmtime::Result<i32> {
        let f = self
            .instance
            .get_typed_func::<i32, i32>(&mut self.store, "declare")?;
        f.call(&mut self.store, index)
    }

    fn declare_range(&mut self, first: i32, count: i32) -> wasmtime::Result<i32> {
        let f = self
            .instance
            .get_typed_func::<(i32, i32), i32>(&mut self.store, "declare_range")?;
        f.call(&mut self.store, (first, count))
    }

    fn read(&mut self, addr: u64) -> wasmtime::Result<u64> {
        let f = self
            .instance
            .get_typed_func::<i32, i64>(&mut self.store, "read")?;
        Ok(f.call(&mut self.store, addr as i32)? as u64)
    }

    /// Writes `image` (header, slots, name) and declares slot `index`.
    fn load(&mut self, image: &Image) -> wasmtime::Result<()> {
        self.write(image.table, bytemuck::bytes_of(&image.header))?;
        for (i, slot) in image.slots.iter().enumerate() {
            let addr = image.table as u64 + abi::slot_offset(i as u32);
            self.write(addr as u32, bytemuck::bytes_of(slot))?;
        }
        for (addr, bytes) in &image.names {
            self.write(*addr, bytes)?;
        }
        if image.table != TABLE {
            self.set_table(image.table)?;
        }
        Ok(())
    }
}

/// A table image: by default valid, with one slot "NAME" of type U64 and default 7.
#[derive(Clone)]
struct Image {
    table: u32,
    header: Header,
    slots: Vec<Slot>,
    names: Vec<(u32, Vec<u8>)>,
}

fn slot(name: &[u8], addr: u32, ty: ValueType, default: u64) -> Slot {
    Slot {
        hash: abi::fnv1a64(name),
        name_addr: addr,
        name_len: name.len() as u32,
        ty: ty.tag(),
        default,
        value: 0,
        ..Slot::ZERO
    }
}

impl Image {
    fn valid() -> Image {
        Image {
            table: TABLE,
            header: Header {
                count: 1,
                ..Header::new(4)
            },
            slots: vec![slot(b"NAME", NAME_ADDR, ValueType::U64, 7)],
            names: vec![(NAME_ADDR, b"NAME".to_vec())],
        }
    }

    fn value_addr(&self, index: u32) -> u64 {
        self.table as u64 + abi::slot_offset(index) + u64::from(Slot::VALUE_OFFSET)
    }
}

/// Loads `image`, declares slot 0, and checks the trap's error is `expected` and that memory is
/// byte-for-byte unchanged.
fn assert_rejected(image: &Image, index: i32, expected: Error) -> wasmtime::Result<()> {
    let globals = Globals::new();
    let mut shell = Shell::new(&globals)?;
    shell.load(image)?;
    let before = shell.memory();
    let err = shell
        .declare(index)
        .expect_err("a malformed table must trap");
    assert_eq!(err.downcast_ref::<Error>(), Some(&expected), "{err:?}");
    assert!(shell.memory() == before, "memory changed on {expected:?}");
    assert_eq!(shell.store.data().globals.declarations(), vec![]);
    assert_eq!(globals.len(), 0, "nothing recorded for {expected:?}");
    Ok(())
}

#[test]
fn a_valid_table_is_declared_and_only_its_value_written() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let mut shell = Shell::new(&globals)?;
    let image = Image::valid();
    shell.load(&image)?;
    let mut expected = shell.memory();
    assert_eq!(shell.declare(0)?, abi::Status::Ok.code());
    let at = image.value_addr(0) as usize;
    expected[at..at + 8].copy_from_slice(&7u64.to_le_bytes());
    assert!(shell.memory() == expected, "only the value field changed");
    globals.set_u64("NAME", 0x0102_0304_0506_0708)?;
    wasmtime_global::sync(&mut shell.store, |h| &mut h.globals)?;
    expected[at..at + 8].copy_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
    // A sync also counts the write in the slot's `changes` and the table's `generation`.
    expected[at + 8..at + 16].copy_from_slice(&1u64.to_le_bytes());
    let generation = image.table as usize + Header::GENERATION_OFFSET as usize;
    expected[generation..generation + 8].copy_from_slice(&2u64.to_le_bytes());
    assert!(
        shell.memory() == expected,
        "only value, changes and generation changed"
    );
    Ok(())
}

#[test]
fn table_address() -> wasmtime::Result<()> {
    let cases = [
        (1028, Error::TableMisaligned { addr: 1028 }),
        (
            (MEMORY - 32) as u32,
            Error::TableOutOfBounds {
                addr: (MEMORY - 32) as u32,
                len: 64,
                memory_size: MEMORY,
            },
        ),
        (
            0xFFFF_FFF8,
            Error::TableOutOfBounds {
                addr: 0xFFFF_FFF8,
                len: 64,
                memory_size: MEMORY,
            },
        ),
    ];
    for (table, expected) in cases {
        let globals = Globals::new();
        let mut shell = Shell::new(&globals)?;
        shell.load(&Image::valid())?;
        shell.set_table(table)?;
        let before = shell.memory();
        let err = shell.declare(0).expect_err("must trap");
        assert_eq!(err.downcast_ref::<Error>(), Some(&expected));
        assert!(shell.memory() == before);
    }
    // A table whose header fits but whose slots do not.
    let mut image = Image::valid();
    image.table = (MEMORY - 128) as u32;
    assert_rejected(
        &Image {
            slots: vec![],
            ..image.clone()
        },
        0,
        Error::TableOutOfBounds {
            addr: image.table,
            len: abi::table_size(4),
            memory_size: MEMORY,
        },
    )
}

#[test]
fn header_fields() -> wasmtime::Result<()> {
    let with = |f: fn(&mut Header)| {
        let mut image = Image::valid();
        f(&mut image.header);
        image
    };
    let cases: Vec<(Image, Error)> = vec![
        (with(|h| h.magic = 0), Error::BadMagic { found: 0 }),
        (
            with(|h| h.magic = u32::from_le_bytes(*b"WGTA")),
            Error::BadMagic {
                found: u32::from_le_bytes(*b"WGTA"),
            },
        ),
        (
            with(|h| h.version = 1),
            Error::UnsupportedVersion { found: 1 },
        ),
        (
            with(|h| h.version = 4),
            Error::UnsupportedVersion { found: 4 },
        ),
        (
            with(|h| h.version = 0),
            Error::UnsupportedVersion { found: 0 },
        ),
        (
            with(|h| h.slot_size = 32),
            Error::BadSlotSize {
                found: 32,
                expected: 64,
            },
        ),
        (
            with(|h| h.capacity = abi::MAX_CAPACITY + 1),
            Error::CapacityTooLarge {
                capacity: abi::MAX_CAPACITY + 1,
                max: abi::MAX_CAPACITY,
            },
        ),
        (
            with(|h| h.capacity = u32::MAX),
            Error::CapacityTooLarge {
                capacity: u32::MAX,
                max: abi::MAX_CAPACITY,
            },
        ),
        (
            with(|h| h.capacity = 2000),
            Error::TableOutOfBounds {
                addr: TABLE,
                len: abi::table_size(2000),
                memory_size: MEMORY,
            },
        ),
        (
            with(|h| h.capacity = abi::MAX_CAPACITY),
            Error::TableOutOfBounds {
                addr: TABLE,
                len: abi::table_size(abi::MAX_CAPACITY),
                memory_size: MEMORY,
            },
        ),
        (
            with(|h| h.count = 5),
            Error::CountTooLarge {
                count: 5,
                capacity: 4,
            },
        ),
        (
            with(|h| h.count = u32::MAX),
            Error::CountTooLarge {
                count: u32::MAX,
                capacity: 4,
            },
        ),
        (
            with(|h| h.reserved0 = 1),
            Error::ReservedNotZero {
                field: "header.reserved0".into(),
                found: 1,
            },
        ),
        (
            with(|h| h.reserved1[3] = u64::MAX),
            Error::ReservedNotZero {
                field: "header.reserved1[3]".into(),
                found: u64::MAX,
            },
        ),
    ];
    for (image, expected) in cases {
        assert_rejected(&image, 0, expected)?;
    }
    Ok(())
}

#[test]
fn slot_index() -> wasmtime::Result<()> {
    let image = Image::valid();
    assert_rejected(&image, 1, Error::SlotIndexOutOfRange { index: 1, count: 1 })?;
    assert_rejected(
        &image,
        -1,
        Error::SlotIndexOutOfRange {
            index: u32::MAX,
            count: 1,
        },
    )?;
    let empty = Image {
        header: Header::new(4),
        ..image
    };
    assert_rejected(&empty, 0, Error::SlotIndexOutOfRange { index: 0, count: 0 })
}

#[test]
fn slot_fields() -> wasmtime::Result<()> {
    let with = |f: &dyn Fn(&mut Image)| {
        let mut image = Image::valid();
        f(&mut image);
        image
    };
    let name = |bytes: &[u8]| {
        let bytes = bytes.to_vec();
        move |image: &mut Image| {
            image.slots[0] = slot(&bytes, NAME_ADDR, ValueType::U64, 7);
            image.names = vec![(NAME_ADDR, bytes.clone())];
        }
    };
    let cases: Vec<(Image, Error)> = vec![
        (with(&|i| i.slots[0].ty = 0), Error::UnknownType { tag: 0 }),
        (with(&|i| i.slots[0].ty = 6), Error::UnknownType { tag: 6 }),
        (
            with(&|i| i.slots[0].ty = u32::MAX),
            Error::UnknownType { tag: u32::MAX },
        ),
        (
            with(&|i| i.slots[0].reserved0 = 2),
            Error::ReservedNotZero {
                field: "slot[0].reserved0".into(),
                found: 2,
            },
        ),
        (
            with(&|i| i.slots[0].reserved1[1] = 4),
            Error::ReservedNotZero {
                field: "slot[0].reserved1[1]".into(),
                found: 4,
            },
        ),
        (
            with(&|i| i.slots[0].name_addr = (MEMORY - 2) as u32),
            Error::NameOutOfBounds {
                addr: (MEMORY - 2) as u32,
                len: 4,
                memory_size: MEMORY,
            },
        ),
        (
            with(&|i| {
                i.slots[0].name_addr = u32::MAX;
                i.slots[0].name_len = 255;
            }),
            Error::NameOutOfBounds {
                addr: u32::MAX,
                len: 255,
                memory_size: MEMORY,
            },
        ),
        (
            with(&|i| i.slots[0].name_len = 0),
            Error::InvalidName {
                name: String::new(),
                source: NameError::Empty,
            },
        ),
        (
            with(&|i| i.slots[0].name_len = 256),
            Error::InvalidName {
                name: String::new(),
                source: NameError::TooLong { len: 256 },
            },
        ),
        (
            with(&|i| i.slots[0].name_len = u32::MAX),
            Error::InvalidName {
                name: String::new(),
                source: NameError::TooLong {
                    len: u32::MAX as usize,
                },
            },
        ),
        (
            with(&name(b"AB\xff")),
            Error::InvalidName {
                name: "AB\u{fffd}".into(),
                source: NameError::NotUtf8 { valid_up_to: 2 },
            },
        ),
        (
            with(&name(b"A\0")),
            Error::InvalidName {
                name: "A\0".into(),
                source: NameError::ContainsNul { at: 1 },
            },
        ),
        (
            with(&|i| i.slots[0].hash ^= 1),
            Error::HashMismatch {
                name: "NAME".into(),
                found: abi::fnv1a64(b"NAME") ^ 1,
                expected: abi::fnv1a64(b"NAME"),
            },
        ),
    ];
    for (image, expected) in cases {
        assert_rejected(&image, 0, expected)?;
    }
    Ok(())
}

#[test]
fn exports() -> wasmtime::Result<()> {
    let cases = [
        (
            r#"(module (import "wasmtime_global_v2" "declare" (func $d (param i32 i32) (result i32)))
                 (func (export "declare") (param i32) (result i32)
                   (call $d (i32.const 1024) (local.get 0))))"#,
            Error::NoMemory,
        ),
        (
            r#"(module (import "wasmtime_global_v2" "declare" (func $d (param i32 i32) (result i32)))
                 (memory (export "mem") 1)
                 (func (export "declare") (param i32) (result i32)
                   (call $d (i32.const 1024) (local.get 0))))"#,
            Error::NoMemory,
        ),
    ];
    for (wat, expected) in cases {
        let globals = Globals::new();
        let mut shell = Shell::with_module(&globals, wat)?;
        let err = shell.declare(0).expect_err("must trap");
        assert_eq!(err.downcast_ref::<Error>(), Some(&expected));
    }
    Ok(())
}

#[test]
fn redeclaring_a_slot() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let mut shell = Shell::new(&globals)?;
    let image = Image::valid();
    shell.load(&image)?;
    assert_eq!(shell.declare(0)?, 0);
    assert_eq!(shell.declare(0)?, 0, "the same slot again is accepted");
    assert_eq!(globals.declared_type("NAME"), Some(ValueType::U64));
    let changed = bytemuck::bytes_of(&8u64).to_vec();
    let default_at =
        image.table as u64 + abi::slot_offset(0) + std::mem::offset_of!(Slot, default) as u64;
    shell.write(default_at as u32, &changed)?;
    let before = shell.memory();
    let err = shell.declare(0).expect_err("a changed slot must trap");
    assert_eq!(
        err.downcast_ref::<Error>(),
        Some(&Error::SlotRedeclared {
            index: 0,
            name: "NAME".into()
        })
    );
    assert!(shell.memory() == before);
    Ok(())
}

/// Two slots: `a` (default 1) and `b` (default 2).
fn two_slots(a: &[u8], b: &[u8], ty_b: ValueType) -> Image {
    let b_addr = NAME_ADDR + 256;
    Image {
        table: TABLE,
        header: Header {
            count: 2,
            ..Header::new(4)
        },
        slots: vec![
            slot(a, NAME_ADDR, ValueType::U64, 1),
            slot(b, b_addr, ty_b, 2),
        ],
        names: vec![(NAME_ADDR, a.to_vec()), (b_addr, b.to_vec())],
    }
}

#[test]
fn names_whose_hashes_collide_stay_distinct() -> wasmtime::Result<()> {
    // A real FNV-1a 64 collision (spec/ABI.md, found by `abi/examples/fnv_collision.rs`).
    let (a, b) = (b"5j3rldmyid5yi", b"pkj7qegsilwso");
    assert_eq!(abi::fnv1a64(a), abi::fnv1a64(b));
    assert_eq!(abi::fnv1a64(a), 0xf1a8_c2a9_ccbc_cc31);
    let globals = Globals::new();
    let mut shell = Shell::new(&globals)?;
    let image = two_slots(a, b, ValueType::U64);
    shell.load(&image)?;
    assert_eq!(shell.declare(0)?, 0);
    assert_eq!(shell.declare(1)?, 0);
    globals.set_u64("5j3rldmyid5yi", 100)?;
    wasmtime_global::sync(&mut shell.store, |h| &mut h.globals)?;
    assert_eq!(shell.read(image.value_addr(0))?, 100);
    assert_eq!(
        shell.read(image.value_addr(1))?,
        2,
        "the other name keeps its default"
    );
    globals.set_u64("pkj7qegsilwso", 200)?;
    globals.del("5j3rldmyid5yi")?;
    wasmtime_global::sync(&mut shell.store, |h| &mut h.globals)?;
    assert_eq!(shell.read(image.value_addr(0))?, 1);
    assert_eq!(shell.read(image.value_addr(1))?, 200);
    Ok(())
}

#[test]
fn the_same_name_in_two_slots_gets_every_update() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let mut shell = Shell::new(&globals)?;
    let image = two_slots(b"DUP", b"DUP", ValueType::U64);
    shell.load(&image)?;
    assert_eq!(shell.declare(0)?, 0);
    assert_eq!(shell.declare(1)?, 0);
    globals.set_u64("DUP", 9)?;
    assert_eq!(
        wasmtime_global::sync(&mut shell.store, |h| &mut h.globals)?,
        2
    );
    assert_eq!(
        (
            shell.read(image.value_addr(0))?,
            shell.read(image.value_addr(1))?
        ),
        (9, 9)
    );
    globals.del("DUP")?;
    wasmtime_global::sync(&mut shell.store, |h| &mut h.globals)?;
    assert_eq!(
        (
            shell.read(image.value_addr(0))?,
            shell.read(image.value_addr(1))?
        ),
        (1, 2),
        "each slot gets its own default back"
    );
    Ok(())
}

#[test]
fn one_name_with_two_types_gets_type_mismatch() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let mut shell = Shell::new(&globals)?;
    let image = two_slots(b"X", b"X", ValueType::Bool);
    shell.load(&image)?;
    assert_eq!(shell.declare(0)?, 0);
    let before = shell.memory();
    assert_eq!(shell.declare(1)?, abi::Status::TypeMismatch.code());
    assert!(shell.memory() == before, "the value field was not written");
    assert_eq!(shell.store.data().globals.declarations().len(), 1);
    Ok(())
}

/// ABI version 3 changed no field: a table whose header says version 2 or 3 is declared through
/// either import module.
#[test]
fn a_header_of_version_2_or_3_is_accepted_by_either_import() -> wasmtime::Result<()> {
    for version in [abi::VERSION_2, abi::VERSION] {
        let globals = Globals::new();
        let mut shell = Shell::new(&globals)?;
        let mut image = two_slots(b"A", b"B", ValueType::U64);
        image.header.version = version;
        shell.load(&image)?;
        // `declare` is the shell's import of version 2, `declare_range` of version 3.
        assert_eq!(shell.declare(0)?, 0, "version {version}");
        assert_eq!(shell.declare_range(1, 1)?, 1, "version {version}");
        assert_eq!(shell.store.data().globals.declarations().len(), 2);
    }
    Ok(())
}

/// Four slots: A, B, C, D (U64, defaults 1 to 4), with the slot types `types`.
fn four_slots(types: [ValueType; 4]) -> Image {
    let names: [&[u8]; 4] = [b"A", b"B", b"C", b"D"];
    let slots = (0..4u32)
        .map(|i| {
            slot(
                names[i as usize],
                NAME_ADDR + i,
                types[i as usize],
                u64::from(i) + 1,
            )
        })
        .collect();
    Image {
        table: TABLE,
        header: Header {
            count: 4,
            ..Header::new(4)
        },
        slots,
        names: vec![(NAME_ADDR, b"ABCD".to_vec())],
    }
}

/// `declare_range` declares a run of slots as that many `declare` calls would: each value field
/// gets its current value, and nothing else is written.
#[test]
fn declare_range_declares_each_slot_of_the_run() -> wasmtime::Result<()> {
    let globals = Globals::new();
    globals.set_u64("B", 20)?;
    let mut shell = Shell::new(&globals)?;
    let image = four_slots([ValueType::U64; 4]);
    shell.load(&image)?;
    let mut expected = shell.memory();
    assert_eq!(
        shell.declare_range(0, 0)?,
        0,
        "a count of 0 declares nothing"
    );
    assert!(shell.memory() == expected);
    assert_eq!(shell.declare_range(1, 3)?, 3);
    for (index, value) in [(1, 20u64), (2, 3), (3, 4)] {
        let at = image.value_addr(index) as usize;
        expected[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
    assert!(shell.memory() == expected, "only the three value fields");
    let declared: Vec<u32> = shell
        .store
        .data()
        .globals
        .declarations()
        .iter()
        .map(|d| d.index)
        .collect();
    assert_eq!(declared, [1, 2, 3]);
    // The same run again is a re-declaration of each slot: OK, nothing new.
    assert_eq!(shell.declare_range(0, 4)?, 4);
    assert_eq!(shell.store.data().globals.declarations().len(), 4);
    assert_eq!(shell.store.data().globals.stats().declare_calls, 3);
    Ok(())
}

/// A slot refused with TYPE_MISMATCH stops the run: the slots before it are declared, it and
/// those after it are not written, and `declare` of it tells the status.
#[test]
fn declare_range_stops_at_a_refused_slot() -> wasmtime::Result<()> {
    let globals = Globals::new();
    globals.define("C", ValueType::Bool, None)?;
    let mut shell = Shell::new(&globals)?;
    let image = four_slots([ValueType::U64; 4]);
    shell.load(&image)?;
    let mut expected = shell.memory();
    assert_eq!(shell.declare_range(0, 4)?, 2);
    for (index, value) in [(0, 1u64), (1, 2)] {
        let at = image.value_addr(index) as usize;
        expected[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
    assert!(shell.memory() == expected, "C and D are not written");
    assert_eq!(shell.declare(2)?, abi::Status::TypeMismatch.code());
    assert_eq!(shell.declare_range(3, 1)?, 1);
    let declared: Vec<u32> = (shell.store.data().globals.declarations().iter())
        .map(|d| d.index)
        .collect();
    assert_eq!(declared, [0, 1, 3]);
    Ok(())
}

/// A run that reaches past `count` traps before any slot is looked at, naming the first index
/// out of range; the arithmetic does not overflow.
#[test]
fn declare_range_past_count_traps_before_declaring() -> wasmtime::Result<()> {
    let cases = [
        (2, 3, Error::SlotIndexOutOfRange { index: 4, count: 4 }),
        (5, 1, Error::SlotIndexOutOfRange { index: 5, count: 4 }),
        (
            -1,
            2,
            Error::SlotIndexOutOfRange {
                index: u32::MAX,
                count: 4,
            },
        ),
        (1, -1, Error::SlotIndexOutOfRange { index: 4, count: 4 }),
    ];
    for (first, count, expected) in cases {
        let globals = Globals::new();
        let mut shell = Shell::new(&globals)?;
        shell.load(&four_slots([ValueType::U64; 4]))?;
        let before = shell.memory();
        let err = shell.declare_range(first, count).expect_err("must trap");
        assert_eq!(
            err.downcast_ref::<Error>(),
            Some(&expected),
            "{first}, {count}"
        );
        assert!(shell.memory() == before);
        assert_eq!(globals.len(), 0);
    }
    Ok(())
}

/// A malformed slot in the middle of a run traps with its own error and index: the slots before
/// it stay declared, no byte of it or of the slots after it is written.
#[test]
fn declare_range_traps_at_a_malformed_slot() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let mut shell = Shell::new(&globals)?;
    let mut image = four_slots([ValueType::U64; 4]);
    image.slots[2].hash ^= 1;
    shell.load(&image)?;
    let mut expected = shell.memory();
    let err = shell.declare_range(0, 4).expect_err("must trap");
    assert_eq!(
        err.downcast_ref::<Error>(),
        Some(&Error::HashMismatch {
            name: "C".to_owned(),
            found: abi::fnv1a64(b"C") ^ 1,
            expected: abi::fnv1a64(b"C"),
        })
    );
    for (index, value) in [(0, 1u64), (1, 2)] {
        let at = image.value_addr(index) as usize;
        expected[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
    assert!(shell.memory() == expected);
    let declared: Vec<u32> = (shell.store.data().globals.declarations().iter())
        .map(|d| d.index)
        .collect();
    assert_eq!(declared, [0, 1]);
    Ok(())
}
