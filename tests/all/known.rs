//! What a module's instances declared before ([`ModuleGlobals`]): the next instance's slot that
//! is the same byte for byte is declared without validating it again, and anything else is
//! validated in full; values set, deleted or defined between instances are what it reads; the
//! module holds its names' declarations while it lives, and gives them back when it goes.

use wasmtime::{Instance, Module, Store};
use wasmtime_global::{Error, Globals, GlobalsCtx, KNOWN_REGISTRIES, ModuleGlobals};
use wasmtime_global_abi::{self as abi, Header, Slot, ValueType};
use wasmtime_global_test_support::{Host, engine, linker};

/// A guest whose table is what the test writes: `run(first, count)` declares a range.
const GUEST: &str = r#"
(module
  (import "wasmtime_global_v3" "declare_range" (func $range (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (param i32 i32) (result i32)
    (call $range (i32.const 1024) (local.get 0) (local.get 1)))
  (func (export "read") (param i32) (result i64) (i64.load (local.get 0))))
"#;

/// The test guest's module, and a `ModuleGlobals` told of it.
fn guest_module() -> wasmtime::Result<(Module, ModuleGlobals)> {
    let module = Module::new(&engine(), GUEST)?;
    let told = ModuleGlobals::new(&module);
    Ok((module, told))
}

const TABLE: u32 = 1024;
const NAMES: u32 = 512;

/// One request: a store told of the module, an instance with the table written.
struct Request {
    store: Store<Host>,
    instance: Instance,
}

/// The table: slots A (U64, default 1) and B (U64, default 2), names at [`NAMES`].
fn table() -> (Header, Vec<Slot>, Vec<u8>) {
    let slot = |name: &[u8], at: u32, default: u64| Slot {
        hash: abi::fnv1a64(name),
        name_addr: NAMES + at,
        name_len: name.len() as u32,
        ty: ValueType::U64.tag(),
        default,
        value: default,
        ..Slot::ZERO
    };
    let header = Header {
        count: 2,
        ..Header::new(4)
    };
    (
        header,
        vec![slot(b"A", 0, 1), slot(b"B", 1, 2)],
        b"AB".to_vec(),
    )
}

impl Request {
    fn new(module: &Module, told: &ModuleGlobals, globals: &Globals) -> wasmtime::Result<Request> {
        let engine = module.engine();
        let host = Host {
            globals: GlobalsCtx::new(globals).with_module(told),
            host_calls: 0,
        };
        let mut store = Store::new(engine, host);
        let instance = linker(engine)?.instantiate(&mut store, module)?;
        let mut request = Request { store, instance };
        let (header, slots, names) = table();
        request.write(TABLE, bytemuck::bytes_of(&header))?;
        for (i, slot) in (0..).zip(&slots) {
            let at = u64::from(TABLE) + abi::slot_offset(i);
            request.write(at as u32, bytemuck::bytes_of(slot))?;
        }
        request.write(NAMES, &names)?;
        Ok(request)
    }

    fn write(&mut self, addr: u32, bytes: &[u8]) -> wasmtime::Result<()> {
        let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
        memory.write(&mut self.store, addr as usize, bytes)?;
        Ok(())
    }

    fn run(&mut self, first: i32, count: i32) -> wasmtime::Result<i32> {
        let f = self
            .instance
            .get_typed_func::<(i32, i32), i32>(&mut self.store, "run")?;
        f.call(&mut self.store, (first, count))
    }

    /// Slot `index`'s value and changes.
    fn slot(&mut self, index: u32) -> wasmtime::Result<(u64, u64)> {
        let f = self
            .instance
            .get_typed_func::<i32, i64>(&mut self.store, "read")?;
        let at = u64::from(TABLE) + abi::slot_offset(index) + u64::from(Slot::VALUE_OFFSET);
        let value = f.call(&mut self.store, at as i32)? as u64;
        let changes = f.call(&mut self.store, at as i32 + 8)? as u64;
        Ok((value, changes))
    }

    fn known(&self) -> u64 {
        self.store.data().globals.stats().known
    }
}

#[test]
fn the_next_instance_declares_what_the_first_did_without_validating_again() -> wasmtime::Result<()>
{
    let (module, told) = guest_module()?;
    let globals = Globals::new();
    globals.set_u64("A", 5)?;
    let mut first = Request::new(&module, &told, &globals)?;
    assert_eq!(first.run(0, 2)?, 2);
    assert_eq!(first.known(), 0, "the first instance validates");
    assert_eq!((first.slot(0)?, first.slot(1)?), ((5, 0), (2, 0)));
    drop(first);
    for _ in 0..3 {
        let mut next = Request::new(&module, &told, &globals)?;
        assert_eq!(next.run(0, 2)?, 2);
        assert_eq!(next.known(), 2);
        assert_eq!((next.slot(0)?, next.slot(1)?), ((5, 0), (2, 0)));
        let names: Vec<String> = (next.store.data().globals.declarations().into_iter())
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["A", "B"]);
        // A change while it lives reaches it at a sync, counted once.
        globals.set_u64("B", 20)?;
        wasmtime_global::sync(&mut next.store, |h| &mut h.globals)?;
        assert_eq!(next.slot(1)?, (20, 1));
        globals.del("B")?;
    }
    Ok(())
}

/// A value set or deleted between instances is what the next instance reads, and its first
/// sync writes nothing again.
#[test]
fn a_change_between_instances_is_read_by_the_next() -> wasmtime::Result<()> {
    let (module, told) = guest_module()?;
    let globals = Globals::new();
    Request::new(&module, &told, &globals)?.run(0, 2)?;
    for (a, expected) in [(Some(9), 9), (Some(10), 10), (None, 1)] {
        match a {
            Some(v) => globals.set_u64("A", v)?,
            None => drop(globals.del("A")?),
        }
        let mut next = Request::new(&module, &told, &globals)?;
        assert_eq!(next.run(0, 2)?, 2);
        assert_eq!(next.known(), 2);
        assert_eq!(next.slot(0)?, (expected, 0));
        assert_eq!(
            wasmtime_global::sync(&mut next.store, |h| &mut h.globals)?,
            0,
            "nothing to write again"
        );
        assert_eq!(next.slot(0)?, (expected, 0));
    }
    Ok(())
}

/// A slot that is not the same byte for byte, or whose name's bytes changed, is validated in
/// full: a bad one traps with its error, a good one is declared as what it now says.
#[test]
fn a_changed_slot_or_name_is_validated_in_full() -> wasmtime::Result<()> {
    let (module, told) = guest_module()?;
    let globals = Globals::new();
    globals.set_u64("C", 30)?;
    Request::new(&module, &told, &globals)?.run(0, 2)?;
    let slot_a = u64::from(TABLE) + abi::slot_offset(0);

    // The hash of slot A changed: HashMismatch, as for any instance.
    let mut next = Request::new(&module, &told, &globals)?;
    next.write(slot_a as u32, &(abi::fnv1a64(b"A") ^ 1).to_le_bytes())?;
    let err = next.run(0, 2).expect_err("must trap");
    assert_eq!(
        err.downcast_ref::<Error>(),
        Some(&Error::HashMismatch {
            name: "A".to_owned(),
            found: abi::fnv1a64(b"A") ^ 1,
            expected: abi::fnv1a64(b"A"),
        })
    );

    // The name's byte changed, the slot did not: the hash no longer matches.
    let mut next = Request::new(&module, &told, &globals)?;
    next.write(NAMES, b"C")?;
    let err = next.run(0, 1).expect_err("must trap");
    assert_eq!(
        err.downcast_ref::<Error>(),
        Some(&Error::HashMismatch {
            name: "C".to_owned(),
            found: abi::fnv1a64(b"A"),
            expected: abi::fnv1a64(b"C"),
        })
    );

    // Slot A now names C, validly: declared as C.
    let mut next = Request::new(&module, &told, &globals)?;
    next.write(NAMES, b"C")?;
    next.write(slot_a as u32, &abi::fnv1a64(b"C").to_le_bytes())?;
    assert_eq!(next.run(0, 2)?, 2);
    assert_eq!(next.known(), 1, "only B is as before");
    assert_eq!(next.slot(0)?, (30, 0));
    Ok(())
}

/// A call that declares known slots into a table the store has none of is declared as one run:
/// slots declared after it one by one, and the run's slots declared again, mix with it; what the
/// store lists, syncs and counts is the same as for slots declared one at a time.
#[test]
fn a_run_and_slots_declared_one_by_one_mix() -> wasmtime::Result<()> {
    let (module, told) = guest_module()?;
    let globals = Globals::new();
    Request::new(&module, &told, &globals)?.run(0, 2)?;

    let mut next = Request::new(&module, &told, &globals)?;
    assert_eq!(next.run(0, 1)?, 1, "slot A, as a run");
    assert_eq!(
        next.run(1, 1)?,
        1,
        "slot B, one by one: the table has a slot now"
    );
    assert_eq!(next.run(0, 2)?, 2, "both again");
    assert_eq!(next.known(), 2);
    let stats = next.store.data().globals.stats();
    assert_eq!((stats.declare_calls, stats.known_runs), (3, 1));
    let listed: Vec<(u32, String, u64)> = (next.store.data().globals.declarations().into_iter())
        .map(|d| (d.index, d.name, d.default.to_bits()))
        .collect();
    assert_eq!(listed, [(0, "A".into(), 1), (1, "B".into(), 2)]);
    globals.set_u64("A", 10)?;
    globals.set_u64("B", 20)?;
    assert_eq!(
        wasmtime_global::sync(&mut next.store, |h| &mut h.globals)?,
        2
    );
    assert_eq!((next.slot(0)?, next.slot(1)?), ((10, 1), (20, 1)));
    Ok(())
}

/// A run of known slots is held to the store's limits as the same slots one by one are: the
/// store declares what its limits hold and traps at the first slot past them.
#[test]
fn a_run_past_the_stores_limits_stops_where_one_by_one_would() -> wasmtime::Result<()> {
    let (module, told) = guest_module()?;
    let globals = Globals::new();
    Request::new(&module, &told, &globals)?.run(0, 2)?;
    for (limits, limit, max) in [
        (
            wasmtime_global::Limits {
                declarations: 1,
                ..Default::default()
            },
            wasmtime_global::Limit::Declarations,
            1,
        ),
        (
            wasmtime_global::Limits {
                host_bytes: 1280 + 513,
                ..Default::default()
            },
            wasmtime_global::Limit::HostBytes,
            1280 + 513,
        ),
    ] {
        let mut next = Request::new(&module, &told, &globals)?;
        next.store.data_mut().globals =
            GlobalsCtx::with_limits(&globals, limits).with_module(&told);
        let err = next.run(0, 2).expect_err("must trap");
        assert_eq!(
            err.downcast_ref::<Error>(),
            Some(&Error::LimitExceeded { limit, max }),
            "{limit:?}"
        );
        assert_eq!(next.known(), 1, "{limit:?}: slot A is declared");
        let runs = next.store.data().globals.stats().known_runs;
        assert_eq!(runs, 0, "{limit:?}: one by one");
        let names: Vec<String> = (next.store.data().globals.declarations().into_iter())
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["A"], "{limit:?}");
    }
    Ok(())
}

/// The module holds a declaration of each name its instances declared, so a name's type stays
/// fixed while it lives, and gives them back when the last clone goes.
#[test]
fn the_module_holds_its_names_while_it_lives() -> wasmtime::Result<()> {
    let (module, told) = guest_module()?;
    let globals = Globals::new();
    Request::new(&module, &told, &globals)?.run(0, 2)?;
    assert_eq!(globals.declared_type("A"), Some(ValueType::U64));
    assert!(globals.host_bytes() > 0, "what it holds is reserved");
    assert_eq!(
        globals.set_bool("A", true),
        Err(Error::TypeMismatch {
            name: "A".to_owned(),
            declared: ValueType::U64,
            given: ValueType::Bool,
        })
    );
    let clone = told.clone();
    drop(told);
    assert_eq!(
        globals.declared_type("A"),
        Some(ValueType::U64),
        "a clone lives"
    );
    drop(clone);
    assert_eq!(globals.declared_type("A"), None);
    assert_eq!(globals.host_bytes(), 0);
    globals.set_bool("A", true)?;
    Ok(())
}

/// A definition in a registry above, made between instances, binds the next instance: its slot
/// of another type is refused, as it would be without the module's knowledge.
#[test]
fn a_definition_between_instances_binds_the_next() -> wasmtime::Result<()> {
    let (module, told) = guest_module()?;
    let fleet = Globals::new();
    let tenant = fleet.child();
    Request::new(&module, &told, &tenant)?.run(0, 2)?;
    fleet.define("B", ValueType::Bool, None)?;
    let mut next = Request::new(&module, &told, &tenant)?;
    assert_eq!(next.run(0, 2)?, 1, "B is refused");
    assert_eq!(next.known(), 0, "a definition changed: validated in full");
    let refusals = next.store.data().globals.refusals();
    assert_eq!(refusals.len(), 1);
    assert_eq!(
        (refusals[0].name.as_str(), refusals[0].fixed),
        ("B", ValueType::Bool)
    );
    Ok(())
}

/// A module remembers the slots of the first [`KNOWN_REGISTRIES`] registries; the instances of
/// others declare in full, and work.
#[test]
fn past_the_registries_it_remembers_instances_declare_in_full() -> wasmtime::Result<()> {
    let (module, told) = guest_module()?;
    let registries: Vec<Globals> = (0..=KNOWN_REGISTRIES).map(|_| Globals::new()).collect();
    for (i, globals) in registries.iter().enumerate() {
        globals.set_u64("A", i as u64)?;
        Request::new(&module, &told, globals)?.run(0, 2)?;
        let mut next = Request::new(&module, &told, globals)?;
        assert_eq!(next.run(0, 2)?, 2);
        let known = if i < KNOWN_REGISTRIES { 2 } else { 0 };
        assert_eq!(next.known(), known, "registry {i}");
        assert_eq!(next.slot(0)?, (i as u64, 0));
    }
    Ok(())
}

/// One instance of the Rust SDK's request guest, in a store told of its module.
fn request_guest(
    module: &Module,
    told: &ModuleGlobals,
    globals: &Globals,
) -> wasmtime::Result<(Store<Host>, Instance)> {
    let host = Host {
        globals: GlobalsCtx::new(globals).with_module(told),
        host_calls: 0,
    };
    let mut store = Store::new(module.engine(), host);
    let mut linker = linker(module.engine())?;
    // The seed design's import, which these tests do not call.
    linker.func_wrap("bench", "global_get", |_: i32, _: i32, _: i32| {})?;
    let instance = linker.instantiate(&mut store, module)?;
    Ok((store, instance))
}

/// A table made at compile time (`table!`, `handle_static` of the request guest): the first
/// read declares all 16 globals with one host call; reads see values set before and after; a
/// refused global traps at its read, naming it, and the others of its table read on.
#[test]
fn a_compile_time_table_is_declared_at_its_first_read_in_one_call() -> wasmtime::Result<()> {
    let engine = engine();
    let module = Module::from_file(&engine, wasmtime_global_test_artifacts::guests::REQUEST)?;
    let told = ModuleGlobals::new(&module);
    let globals = Globals::new();
    globals.set_u64("REQ_03", 10)?;
    for round in 0..2 {
        let (mut store, instance) = request_guest(&module, &told, &globals)?;
        let handle = instance.get_typed_func::<(i32, i32), i64>(&mut store, "handle_static")?;
        assert_eq!(
            handle.call(&mut store, (0, 1))?,
            0,
            "no read, no declaration"
        );
        assert_eq!(store.data().globals.stats().declare_calls, 0);
        // 15 defaults of 1, and 10.
        assert_eq!(handle.call(&mut store, (16, 1))?, 25);
        let stats = store.data().globals.stats();
        assert_eq!(stats.declare_calls, 1, "one call for the table");
        assert_eq!(store.data().globals.declarations().len(), 16);
        assert_eq!(stats.known, if round == 0 { 0 } else { 16 });
        globals.set_u64("REQ_15", 5)?;
        wasmtime_global::sync(&mut store, |h| &mut h.globals)?;
        assert_eq!(handle.call(&mut store, (16, 2))?, 2 * 29);
        globals.del("REQ_15")?;
    }
    // The module holds its names' declarations: once it goes, a name can be defined anew.
    drop(told);
    globals.define("REQ_04", ValueType::Bool, None)?;
    let told = ModuleGlobals::new(&module);
    let (mut store, instance) = request_guest(&module, &told, &globals)?;
    let handle = instance.get_typed_func::<(i32, i32), i64>(&mut store, "handle_static")?;
    assert_eq!(
        handle.call(&mut store, (4, 1))?,
        13,
        "REQ_00 to REQ_03 read"
    );
    handle
        .call(&mut store, (5, 1))
        .expect_err("reading REQ_04 panics: the host refused it");
    assert_eq!(store.data().globals.declarations().len(), 15);
    let calls = store.data().globals.stats().declare_calls;
    assert_eq!(calls, 3, "the run to REQ_04, REQ_04 alone, the rest");
    Ok(())
}

/// Requests on two threads, one whose slots are known and one whose slot is learned afresh each
/// time (its default changes), finish: a new store's first known slot looked up the table's room
/// under a second read lock while the first was held, and a writer waiting between them (the
/// other thread learning) deadlocked both.
#[test]
fn known_and_learning_requests_on_two_threads_finish() -> wasmtime::Result<()> {
    let (module, told) = guest_module()?;
    let globals = Globals::new();
    Request::new(&module, &told, &globals)?.run(0, 2)?;
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let known = s.spawn(|| -> wasmtime::Result<()> {
            for _ in 0..2_000 {
                let mut next = Request::new(&module, &told, &globals)?;
                assert_eq!(next.run(0, 2)?, 2);
            }
            Ok(())
        });
        let learning = s.spawn(|| -> wasmtime::Result<()> {
            for i in 0..2_000u64 {
                let mut next = Request::new(&module, &told, &globals)?;
                // Slot B with another default each time: never known, learned each time.
                let at = u64::from(TABLE)
                    + abi::slot_offset(1)
                    + std::mem::offset_of!(Slot, default) as u64;
                next.write(at as u32, &(100 + i).to_le_bytes())?;
                assert_eq!(next.run(1, 1)?, 1);
            }
            Ok(())
        });
        let watchdog = s.spawn(move || finished.recv_timeout(std::time::Duration::from_secs(120)));
        let results = [known.join(), learning.join()];
        done.send(()).expect("the watchdog waits");
        assert!(
            watchdog.join().expect("the watchdog").is_ok(),
            "the two threads took over 120 s"
        );
        for r in results {
            r.expect("no panic")?;
        }
        Ok(())
    })
}

/// What a module remembers is bounded however a guest lays out its tables: slot 4,095 alone of
/// one table takes 4,096 of the entries it keeps, so that of a second table is not remembered.
#[test]
fn what_a_module_remembers_is_bounded_by_its_entries() -> wasmtime::Result<()> {
    // Two tables of 4,096 slots (262,208 bytes each) in 10 pages; each declares its last slot.
    let wat = r#"
(module
  (import "wasmtime_global_v3" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 10)
  (func (export "run") (param $table i32) (result i32)
    (call $declare (local.get $table) (i32.const 4095))))
"#;
    let engine = engine();
    let module = Module::new(&engine, wat)?;
    let told = ModuleGlobals::new(&module);
    let globals = Globals::new();
    let tables = [65_536u32, 65_536 + 262_208];
    let request = |known: u64| -> wasmtime::Result<()> {
        let host = Host {
            globals: GlobalsCtx::with_limits(&globals, wasmtime_global::Limits::UNLIMITED)
                .with_module(&told),
            host_calls: 0,
        };
        let mut store = Store::new(&engine, host);
        let instance = linker(&engine)?.instantiate(&mut store, &module)?;
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        for (i, &table) in tables.iter().enumerate() {
            let header = Header {
                count: 4096,
                ..Header::new(4096)
            };
            memory.write(&mut store, table as usize, bytemuck::bytes_of(&header))?;
            let name = [b'a' + i as u8];
            memory.write(&mut store, 100 + i, &name)?;
            let slot = Slot {
                hash: abi::fnv1a64(&name),
                name_addr: 100 + i as u32,
                name_len: 1,
                ty: ValueType::U64.tag(),
                ..Slot::ZERO
            };
            let at = u64::from(table) + abi::slot_offset(4095);
            memory.write(&mut store, at as usize, bytemuck::bytes_of(&slot))?;
            let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
            assert_eq!(run.call(&mut store, table as i32)?, 0);
        }
        assert_eq!(store.data().globals.stats().known, known);
        Ok(())
    };
    request(0)?;
    request(1)?;
    Ok(())
}

/// A slot learned again after each definition change takes the room of the one it replaces:
/// what the module reserves in the registry does not grow with the changes.
#[test]
fn relearning_after_definition_changes_reserves_nothing_more() -> wasmtime::Result<()> {
    let (module, told) = guest_module()?;
    let globals = Globals::new();
    Request::new(&module, &told, &globals)?.run(0, 2)?;
    Request::new(&module, &told, &globals)?.run(0, 2)?;
    let held = globals.host_bytes();
    for round in 0..10 {
        globals.define("OTHER", ValueType::U64, None)?;
        globals.undefine("OTHER")?;
        let mut next = Request::new(&module, &told, &globals)?;
        assert_eq!(next.run(0, 2)?, 2);
        assert_eq!(next.known(), 0, "round {round}: learned again");
        drop(next);
        assert_eq!(globals.host_bytes(), held, "round {round}");
    }
    Ok(())
}

/// Whether the host page at `addr` is mapped, and if so whether it is a page of this process's
/// own (written: copied from the module's image or zeroed) rather than the image's file page:
/// bits 63 and 61 of its `/proc/self/pagemap` entry.
#[cfg(target_os = "linux")]
fn mapped(addr: usize) -> (bool, bool) {
    use std::io::{Read, Seek, SeekFrom};
    let mut pagemap = std::fs::File::open("/proc/self/pagemap").expect("Linux has pagemap");
    pagemap
        .seek(SeekFrom::Start((addr / 4096 * 8) as u64))
        .expect("seek");
    let mut entry = [0; 8];
    pagemap.read_exact(&mut entry).expect("an entry");
    let entry = u64::from_le_bytes(entry);
    (entry >> 63 == 1, entry >> 63 == 1 && (entry >> 61) & 1 == 0)
}

/// `ModuleGlobals::instantiate` faults the page of the table the module's instances declared
/// into in for writing before the guest runs, so that the guest's first read of it does not map
/// it read-only for the host's write to copy again (two page faults where one does: the
/// `request` bench counts them), and changes no byte of the memory: the instance reads what one
/// made by `InstancePre::instantiate` reads. Before any instance declared, it does nothing; an
/// instance of another module it leaves alone.
#[cfg(target_os = "linux")]
#[test]
fn instantiate_makes_the_table_page_writable_and_changes_no_byte() -> wasmtime::Result<()> {
    let engine = engine();
    let module = Module::from_file(&engine, wasmtime_global_test_artifacts::guests::REQUEST)?;
    let mut linker = linker(&engine)?;
    linker.func_wrap("bench", "global_get", |_: i32, _: i32, _: i32| {})?;
    let pre = linker.instantiate_pre(&module)?;
    let told = ModuleGlobals::new(&module);
    let globals = Globals::new();
    globals.set_u64("REQ_03", 10)?;
    let store = |told: &ModuleGlobals| {
        let host = Host {
            globals: GlobalsCtx::new(&globals).with_module(told),
            host_calls: 0,
        };
        Store::new(&engine, host)
    };
    let page_of = |store: &mut Store<Host>, instance: &Instance, addr: u32| {
        let memory = instance
            .get_memory(&mut *store, "memory")
            .expect("a memory");
        memory.data_ptr(&*store) as usize + addr as usize
    };

    // Nothing declared yet: nothing to make ready.
    let mut first = store(&told);
    let instance = told.instantiate(&pre, &mut first)?;
    let handle = instance.get_typed_func::<(i32, i32), i64>(&mut first, "handle_static")?;
    assert_eq!(handle.call(&mut first, (16, 1))?, 25);
    let table = first.data().globals.declarations()[0].table_addr;

    // What a plain instance's memory holds before its first call.
    let mut plain = store(&told);
    let instance = pre.instantiate(&mut plain)?;
    assert_eq!(
        mapped(page_of(&mut plain, &instance, table)),
        (false, false),
        "a plain instance's table page is not touched before its first call"
    );
    let memory = instance.get_memory(&mut plain, "memory").expect("a memory");
    let image = memory.data(&plain).to_vec();

    let mut ready = store(&told);
    let instance = told.instantiate(&pre, &mut ready)?;
    assert_eq!(
        mapped(page_of(&mut ready, &instance, table)),
        (true, true),
        "the table page is the instance's own, written, before its first call"
    );
    let memory = instance.get_memory(&mut ready, "memory").expect("a memory");
    assert!(memory.data(&ready) == image, "no byte changed");
    let handle = instance.get_typed_func::<(i32, i32), i64>(&mut ready, "handle_static")?;
    assert_eq!(handle.call(&mut ready, (16, 1))?, 25);
    assert_eq!(ready.data().globals.stats().known, 16);

    // An instance of another module: left alone.
    let other = Module::new(&engine, r#"(module (memory (export "memory") 1))"#)?;
    let mut elsewhere = store(&told);
    let instance = linker.instantiate(&mut elsewhere, &other)?;
    told.ready(&mut elsewhere, &instance);
    assert_eq!(
        mapped(page_of(&mut elsewhere, &instance, 0)),
        (false, false)
    );
    Ok(())
}
