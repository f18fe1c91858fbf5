//! A table is its memory and its address (`spec/ABI.md` §4): every shape in which version 1 of the
//! host took one table for another, or one slot for two, gets the counts the spec gives.

use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::{Instance, Module, Store};
use wasmtime_global::{Globals, GlobalsCtx, Limits, Value};
use wasmtime_global_abi::{HEADER_SIZE, Header, SLOT_SIZE, Slot};
use wasmtime_global_test_support::{Host, engine, linker, shared_by_stores, store};

const TABLE: u64 = 1024;
const GENERATION: u64 = Header::GENERATION_OFFSET as u64;
const VALUE: u64 = Slot::VALUE_OFFSET as u64;
const CHANGES: u64 = Slot::CHANGES_OFFSET as u64;
/// Slot numbers of the test profile's globals (`wasmtime_global_test_support::PROFILE`).
const BOOL: i32 = 0;
const UINT64: i32 = 1;

/// The 64-bit field at `addr` of the memory `instance` exports.
fn word(store: &mut Store<Host>, instance: &Instance, addr: u64) -> u64 {
    let memory = instance
        .get_memory(&mut *store, "memory")
        .expect("an ordinary memory");
    let mut bytes = [0; 8];
    memory
        .read(&*store, addr as usize, &mut bytes)
        .expect("inside");
    u64::from_le_bytes(bytes)
}

fn slot_field(table: u64, slot: i32, field: u64) -> u64 {
    table + u64::from(HEADER_SIZE) + slot as u64 * u64::from(SLOT_SIZE) + field
}

fn sync(store: &mut Store<Host>) -> wasmtime::Result<usize> {
    Ok(wasmtime_global::sync(store, |h| &mut h.globals)?)
}

/// 3a: store A declares one global, store B another, of one table in one shared memory. A batch
/// of both is one generation cycle (+2), and each set counts once.
#[test]
fn two_stores_declaring_into_one_shared_table_share_its_generation() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let (mut guests, _memory) = shared_by_stores(2, &globals)?;
    guests[0].call::<i32, ()>("declare_one", BOOL)?;
    guests[1].call::<i32, ()>("declare_one", UINT64)?;
    assert_eq!(guests[0].call::<(), i64>("generation", ())?, 0);
    let mut batch = globals.batch();
    batch.set("TEST_BOOL", 0).set("TEST_UINT64", 5);
    batch.commit()?;
    assert_eq!(guests[0].call::<(), i64>("generation", ())?, 2, "one cycle");
    assert_eq!(guests[0].call::<i32, i64>("changes", BOOL)?, 1);
    assert_eq!(guests[1].call::<i32, i64>("changes", UINT64)?, 1);
    assert_eq!(guests[1].call::<i32, i64>("get", BOOL)?, 0);
    assert_eq!(guests[0].call::<i32, i64>("get", UINT64)?, 5);
    Ok(())
}

/// 3a: both stores declare the same slot: one set raises its `changes` by 1 and the table's
/// `generation` by 2 (version 1 wrote the slot once per store: 2 and 4). The slot stays declared
/// until the last store that declared it is dropped.
#[test]
fn one_shared_slot_declared_by_two_stores_is_written_once_per_set() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let (mut guests, _memory) = shared_by_stores(2, &globals)?;
    guests[0].call::<i32, ()>("declare_one", UINT64)?;
    guests[1].call::<i32, ()>("declare_one", UINT64)?;
    globals.set_u64("TEST_UINT64", 9)?;
    assert_eq!(guests[0].call::<i32, i64>("changes", UINT64)?, 1);
    assert_eq!(guests[0].call::<(), i64>("generation", ())?, 2);
    let second = guests.pop().expect("two");
    drop(guests);
    // Store A is gone; B's declaration keeps the slot live.
    let mut guests = vec![second];
    globals.set_u64("TEST_UINT64", 10)?;
    assert_eq!(guests[0].call::<i32, i64>("get", UINT64)?, 10);
    assert_eq!(guests[0].call::<i32, i64>("changes", UINT64)?, 2);
    assert_eq!(guests[0].call::<(), i64>("generation", ())?, 4);
    assert_eq!(
        globals.declared_type("TEST_UINT64"),
        Some(wasmtime_global::ValueType::U64)
    );
    drop(guests);
    assert_eq!(
        globals.declared_type("TEST_UINT64"),
        None,
        "released by the last store"
    );
    Ok(())
}

/// 3a, a refusal: a store declaring a slot of a shared table that another store declared with
/// other fields gets `SlotRedeclared`, and keeps nothing of the declaration: not its charge,
/// not a count of the name (the step counted one before the table refused the slot; the store's
/// undo releases it), so the name goes with the store that declared it.
#[test]
fn a_refused_redeclaration_of_a_shared_slot_holds_nothing() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let (mut guests, memory) = shared_by_stores(1, &globals)?;
    guests[0].call::<i32, ()>("declare_one", UINT64)?;
    let engine = guests[0].store.engine().clone();
    let default = slot_field(TABLE, UINT64, std::mem::offset_of!(Slot, default) as u64);
    let wat = format!(
        r#"(module
          (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
          (import "env" "memory" (memory 1 1 shared))
          (export "memory" (memory 0))
          (func (export "redeclare") (result i32)
            (i64.store (i32.const {default}) (i64.const 43))
            (call $declare (i32.const {TABLE}) (i32.const {UINT64}))))"#
    );
    let mut other = store(&engine, &globals);
    let mut linker = linker(&engine)?;
    linker.define(&other, "env", "memory", memory)?;
    let instance = linker.instantiate(&mut other, &Module::new(&engine, wat)?)?;
    let redeclare = instance.get_typed_func::<(), i32>(&mut other, "redeclare")?;
    let err = redeclare
        .call(&mut other, ())
        .expect_err("other fields must trap");
    assert_eq!(
        err.downcast_ref::<wasmtime_global::Error>(),
        Some(&wasmtime_global::Error::SlotRedeclared {
            index: 1,
            name: "TEST_UINT64".into()
        })
    );
    // The table's record (1,280 bytes), which the store keeps as it keeps any table it found;
    // not the slot's 811 (800 a shared slot, and its name).
    assert_eq!(
        other.data().globals.host_bytes(),
        1280,
        "the slot's charge refunded"
    );
    let state = |globals: &Globals| {
        let snapshot = globals.snapshot();
        let name = snapshot.names.iter().find(|n| n.name == "TEST_UINT64");
        name.map(|n| (n.declarations, n.stores))
    };
    assert_eq!(state(&globals), Some((1, 1)), "the first store's only");
    drop(guests);
    assert_eq!(
        globals.declared_type("TEST_UINT64"),
        None,
        "released with it"
    );
    assert_eq!(state(&globals), None, "no live declaration");
    drop(other);
    Ok(())
}

/// 3a, as a reader sees it: store A's instance reads two globals with the generation protocol
/// while batches set both to one value; one global was declared by store A, the other by store B.
/// No snapshot may see a half batch.
#[test]
fn a_reader_never_sees_half_a_batch_across_stores_of_one_shared_memory() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let (mut guests, _memory) = shared_by_stores(2, &globals)?;
    guests[0].call::<i32, ()>("declare_one", UINT64)?;
    guests[1].call::<i32, ()>("declare_one", 3)?; // TEST_INT64
    // Equal before the first batch too (their defaults differ).
    let mut batch = globals.batch();
    batch.set("TEST_UINT64", 0).set("TEST_INT64", 0);
    batch.commit()?;
    let done = AtomicBool::new(false);
    let bad = std::thread::scope(|s| {
        s.spawn(|| {
            let mut k = 0u64;
            while !done.load(Ordering::Relaxed) {
                k += 1;
                let mut batch = globals.batch();
                batch.set("TEST_UINT64", k).set("TEST_INT64", k);
                batch.commit().expect("valid names");
            }
        });
        let bad = guests[0].call::<(i32, i32, i32), i32>("consistent", (UINT64, 3, 1_000_000));
        done.store(true, Ordering::Relaxed);
        bad
    })?;
    assert_eq!(bad, 0, "snapshots with two different values");
    Ok(())
}

/// Two instances of one module in one store, with ordinary memories: their tables have the same
/// address in different memories.
fn two_instances_in_one_store(
    globals: &Globals,
) -> wasmtime::Result<(Store<Host>, Instance, Instance)> {
    let engine = engine();
    let module = Module::new(&engine, include_str!("wat/scenario.wat"))?;
    let mut store = store(&engine, globals);
    let linker = linker(&engine)?;
    let a = linker.instantiate(&mut store, &module)?;
    let b = linker.instantiate(&mut store, &module)?;
    Ok((store, a, b))
}

fn init(store: &mut Store<Host>, instance: &Instance) -> wasmtime::Result<()> {
    instance
        .get_typed_func::<(), ()>(&mut *store, "init")?
        .call(&mut *store, ())
}

/// 3b: a sync raises the generation of every table it writes, not only of the first of several
/// tables at the same address (version 1 left the second at 0).
#[test]
fn a_sync_raises_the_generation_of_every_instances_table() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let (mut store, a, b) = two_instances_in_one_store(&globals)?;
    init(&mut store, &a)?;
    init(&mut store, &b)?;
    globals.set_u64("TEST_UINT64", 8)?;
    assert_eq!(sync(&mut store)?, 2);
    for instance in [&a, &b] {
        assert_eq!(word(&mut store, instance, TABLE + GENERATION), 2);
        assert_eq!(
            word(&mut store, instance, slot_field(TABLE, UINT64, CHANGES)),
            1
        );
        assert_eq!(
            word(&mut store, instance, slot_field(TABLE, UINT64, VALUE)),
            8
        );
    }
    Ok(())
}

/// 3c: an instance that exports another instance's memory declares into that memory, at its own
/// table's address; version 1 took it for the other instance.
#[test]
fn an_instance_that_reexports_a_memory_has_its_own_table_in_it() -> wasmtime::Result<()> {
    let engine = engine();
    let owner = Module::new(&engine, include_str!("wat/scenario.wat"))?;
    // The same guest with its table at 2048, in the owner's memory.
    let borrower = include_str!("wat/scenario.wat")
        .replace(
            r#"(memory (export "memory") 1)"#,
            r#"(import "owner" "memory" (memory 1)) (export "memory" (memory 0))"#,
        )
        .replace("(data (i32.const 1024)", "(data (i32.const 2048)")
        .replace(
            "(global $table i32 (i32.const 1024))",
            "(global $table i32 (i32.const 2048))",
        );
    let borrower = Module::new(&engine, &borrower)?;
    let globals = Globals::new();
    let mut store = store(&engine, &globals);
    let mut linker = linker(&engine)?;
    let a = linker.instantiate(&mut store, &owner)?;
    linker.instance(&mut store, "owner", a)?;
    let b = linker.instantiate(&mut store, &borrower)?;
    init(&mut store, &a)?;
    init(&mut store, &b)?; // declares slots 0 to 4 of the table at 2048
    let declared = store.data().globals.declarations();
    assert_eq!(declared.len(), 10);
    assert_eq!(declared.iter().filter(|d| d.table_addr == 2048).count(), 5);
    globals.set_u64("TEST_UINT64", 11)?;
    assert_eq!(sync(&mut store)?, 2);
    for table in [1024, 2048] {
        assert_eq!(word(&mut store, &a, slot_field(table, UINT64, VALUE)), 11);
        assert_eq!(word(&mut store, &a, slot_field(table, UINT64, CHANGES)), 1);
        assert_eq!(word(&mut store, &a, table + GENERATION), 2);
    }
    let get = b.get_typed_func::<i32, i64>(&mut store, "get")?;
    assert_eq!(
        get.call(&mut store, UINT64)?,
        11,
        "the borrower reads its own slot"
    );
    Ok(())
}

/// 3d: version 1 called the guest's `wasmtime_global_table` export during a declaration, and a
/// declaration made from inside it recorded one slot twice. The host never calls a guest export
/// now: a guest that still has that export, declaring from it, is declared exactly as its own
/// calls say, and a slot declared twice is one slot.
#[test]
fn the_host_never_calls_the_guest_and_a_slot_declared_twice_is_one_slot() -> wasmtime::Result<()> {
    let wat = include_str!("wat/scenario.wat").replace(
        "  (func (export \"get\")",
        "  (func (export \"wasmtime_global_table\") (result i32)\n    \
         (call $declare_slot (i32.const 1) (i64.const 0x5c9d25d639498198) (i32.const 272)\n      \
         (i32.const 11) (i32.const 2) (i64.const 42))\n    \
         (global.get $table))\n  (func (export \"get\")",
    );
    let engine = engine();
    let module = Module::new(&engine, &wat)?;
    let globals = Globals::new();
    let mut store = store(&engine, &globals);
    let a = linker(&engine)?.instantiate(&mut store, &module)?;
    init(&mut store, &a)?;
    init(&mut store, &a)?;
    let stats = store.data().globals.stats();
    assert_eq!(
        stats.declare_calls, 10,
        "the guest's own calls, and no more"
    );
    assert_eq!(store.data().globals.declarations().len(), 5);
    globals.set_u64("TEST_UINT64", 3)?;
    assert_eq!(sync(&mut store)?, 1);
    assert_eq!(word(&mut store, &a, slot_field(TABLE, UINT64, CHANGES)), 1);
    assert_eq!(word(&mut store, &a, TABLE + GENERATION), 2);
    Ok(())
}

/// 3e: a value set before a declaration is written by the declaration; the next sync does not
/// write it again, count it, or raise the generation (§10.4).
#[test]
fn a_sync_does_not_repeat_what_a_declaration_wrote() -> wasmtime::Result<()> {
    let globals = Globals::new();
    // Another store declares the name, so that a set of it is a change that syncs look at.
    let (mut other, first, _) = two_instances_in_one_store(&globals)?;
    init(&mut other, &first)?;
    let (mut store, a, b) = two_instances_in_one_store(&globals)?;
    init(&mut store, &a)?;
    globals.set_u64("TEST_UINT64", 6)?;
    init(&mut store, &b)?; // declares after the set
    assert_eq!(word(&mut store, &b, slot_field(TABLE, UINT64, VALUE)), 6);
    assert_eq!(sync(&mut store)?, 1, "only a's slot is written");
    assert_eq!(word(&mut store, &a, slot_field(TABLE, UINT64, CHANGES)), 1);
    assert_eq!(word(&mut store, &a, TABLE + GENERATION), 2);
    assert_eq!(word(&mut store, &b, slot_field(TABLE, UINT64, CHANGES)), 0);
    assert_eq!(word(&mut store, &b, TABLE + GENERATION), 0);
    // A later change reaches both.
    globals.set_value("TEST_UINT64", Value::U64(7))?;
    assert_eq!(sync(&mut store)?, 2);
    assert_eq!(word(&mut store, &b, slot_field(TABLE, UINT64, CHANGES)), 1);
    Ok(())
}

/// 3f: finding the declaring table is a lookup, not a scan of the store's instances: with many
/// instances, declarations from a known instance look at no other memory. (How long it takes is
/// measured by `cargo bench -p wasmtime-global-tests --bench request`.)
#[test]
fn declarations_in_a_store_of_many_instances_do_not_scan_them() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let engine = engine();
    let module = Module::new(&engine, include_str!("wat/scenario.wat"))?;
    let mut store = store(&engine, &globals);
    // 300 tables, past the default limit of 256.
    store.data_mut().globals = GlobalsCtx::with_limits(&globals, Limits::UNLIMITED);
    let linker = linker(&engine)?;
    let mut instances = Vec::new();
    for _ in 0..300 {
        let instance = linker.instantiate(&mut store, &module)?;
        init(&mut store, &instance)?;
        instances.push(instance);
    }
    let stats = store.data().globals.stats();
    assert_eq!(
        stats.memories_looked_at,
        300 * 299 / 2,
        "once per new memory"
    );
    for _ in 0..100 {
        init(&mut store, &instances[150])?;
    }
    let after = store.data().globals.stats();
    assert_eq!(after.declare_calls, stats.declare_calls + 500);
    assert_eq!(
        after.memories_looked_at, stats.memories_looked_at,
        "no scan"
    );
    Ok(())
}
