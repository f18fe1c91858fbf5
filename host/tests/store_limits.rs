//! [`Limits`]: a declaration past each limit traps with the limit named, what was declared
//! before stays declared, and the bytes a store is charged bound what the host allocates.
//!
//! Its own test binary, because it counts every allocation of the process.

use std::sync::atomic::Ordering;
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_global::{Error, Globals, GlobalsCtx, Limit, Limits};

mod counting;
mod shell;

use counting::{HELD, alone};
use shell::{Kind, Poker, Shell};
use wasmtime_global_abi as abi;

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:04}")).collect()
}

/// The limit error a trap carries.
fn limit(trap: wasmtime::Error) -> Error {
    trap.downcast_ref::<Error>()
        .cloned()
        .unwrap_or_else(|| panic!("not a wasmtime-global error: {trap:?}"))
}

#[test]
fn the_defaults_are_as_documented() {
    let _alone = alone();
    let limits = Limits::default();
    assert_eq!(limits.declarations, 16_384);
    assert_eq!(limits.tables, 256);
    assert_eq!(limits.same_name_slots, 16);
    assert_eq!(limits.host_bytes, 4 << 20);
    assert_eq!(GlobalsCtx::new(&Globals::new()).limits(), limits);
}

#[test]
fn declarations_past_the_limit_trap_and_the_earlier_ones_stay() -> wasmtime::Result<()> {
    let _alone = alone();
    let globals = Globals::new();
    let limits = Limits {
        declarations: 5,
        ..Limits::default()
    };
    let mut shell = Shell::with_limits(&globals, limits)?;
    shell.write(&names("d", 8), wasmtime_global::ValueType::U64)?;
    for i in 0..5 {
        assert_eq!(shell.declare(i)?, 0);
    }
    let err = limit(shell.declare(5).expect_err("the sixth declaration traps"));
    assert_eq!(
        err,
        Error::LimitExceeded {
            limit: Limit::Declarations,
            max: 5
        }
    );
    assert_eq!(
        err.to_string(),
        "store limit reached: at most 5 declarations"
    );
    // A slot declared again is not a new declaration.
    assert_eq!(shell.declare(4)?, 0);
    assert_eq!(shell.store.data().declarations().len(), 5);
    globals.set("d0004", 9)?;
    assert_eq!(
        globals.declared_type("d0005"),
        None,
        "nothing of the refused one is kept"
    );
    Ok(())
}

#[test]
fn slots_of_one_name_in_one_table_are_bounded_but_not_across_tables() -> wasmtime::Result<()> {
    let _alone = alone();
    let globals = Globals::new();
    let limits = Limits {
        same_name_slots: 3,
        ..Limits::default()
    };
    let mut shell = Shell::with_limits(&globals, limits)?;
    let mut table = vec!["SAME".to_owned(); 5];
    table[3] = "OTHER".to_owned();
    shell.write(&table, wasmtime_global::ValueType::U64)?;
    for i in 0..4 {
        assert_eq!(shell.declare(i)?, 0, "slot {i}");
    }
    let err = limit(shell.declare(4).expect_err("a fourth SAME traps"));
    assert_eq!(
        err,
        Error::LimitExceeded {
            limit: Limit::SameNameSlots,
            max: 3
        }
    );

    // Four instances of one module in one store: four tables, each with SAME once.
    let (outcomes, store) = instances_of_one_name(&globals, limits, 4)?;
    assert_eq!(outcomes, [Ok(0), Ok(0), Ok(0), Ok(0)]);
    assert_eq!(store.data().declarations().len(), 4);
    Ok(())
}

/// A guest that declares one global, `SAME` (U64), in its own table.
const ONE_NAME: &str = r#"
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "SAME")
  (data (i32.const 1024) "WGTB\02\00\00\00\40\00\00\00\01\00\00\00\01\00\00\00")
  (data (i32.const 1088) "\5b\bb\ee\22\24\5f\93\1d\00\01\00\00\04\00\00\00\02")
  (func (export "declare") (result i32) (call $declare (i32.const 1024) (i32.const 0))))
"#;

/// What a declaration returned, or the error of its trap.
type Outcome = Result<i32, Error>;

/// `n` instances of [`ONE_NAME`] in one store held to `limits`, each declaring once: what each
/// declaration returned (a trap as its error), and the store.
fn instances_of_one_name(
    globals: &Globals,
    limits: Limits,
    n: usize,
) -> wasmtime::Result<(Vec<Outcome>, Store<GlobalsCtx>)> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    let module = Module::new(&engine, ONE_NAME)?;
    let mut store = Store::new(&engine, GlobalsCtx::with_limits(globals, limits));
    let mut outcomes = Vec::new();
    for _ in 0..n {
        let instance = linker.instantiate(&mut store, &module)?;
        let declare = instance.get_typed_func::<(), i32>(&mut store, "declare")?;
        outcomes.push(declare.call(&mut store, ()).map_err(limit));
    }
    Ok((outcomes, store))
}

#[test]
fn tables_past_the_limit_trap() -> wasmtime::Result<()> {
    let _alone = alone();
    let globals = Globals::new();
    let limits = Limits {
        tables: 2,
        ..Limits::default()
    };
    let (outcomes, _store) = instances_of_one_name(&globals, limits, 3)?;
    assert_eq!(
        outcomes,
        [
            Ok(0),
            Ok(0),
            Err(Error::LimitExceeded {
                limit: Limit::Tables,
                max: 2
            })
        ]
    );
    Ok(())
}

#[test]
fn host_bytes_are_charged_per_table_and_per_declaration() -> wasmtime::Result<()> {
    let _alone = alone();
    let globals = Globals::new();
    let limits = Limits {
        host_bytes: 3400,
        ..Limits::default()
    };
    let mut shell = Shell::with_limits(&globals, limits)?;
    shell.write(&names("b", 5), wasmtime_global::ValueType::U64)?;
    // A table 1,280, each declaration 512 + its name's 5 bytes: four fit in 3,400, five do not.
    for i in 0..4 {
        assert_eq!(shell.declare(i)?, 0);
    }
    let charged = 1280 + 4 * 517;
    assert_eq!(shell.store.data().host_bytes(), charged);
    let err = limit(shell.declare(4).expect_err("the fifth is past 3,400 bytes"));
    assert_eq!(
        err,
        Error::LimitExceeded {
            limit: Limit::HostBytes,
            max: 3400
        }
    );
    assert_eq!(shell.store.data().host_bytes(), charged, "nothing charged");
    shell.store.data_mut().reset();
    assert_eq!(shell.store.data().host_bytes(), 0);
    Ok(())
}

/// The charge is an upper bound of what the host allocates for a store's declarations: with
/// the shortest and the longest names, new to the registry or not.
#[test]
fn the_bytes_charged_bound_the_bytes_allocated() -> wasmtime::Result<()> {
    let _alone = alone();
    for (prefix, pad) in [("s", 0), ("l", 250)] {
        let globals = Globals::new();
        let mut shell = Shell::with_limits(&globals, Limits::UNLIMITED)?;
        // Warm up what the engine and the store allocate once.
        shell.declare_all(&names("warm", 4))?;
        shell.store.data_mut().reset();
        let table: Vec<String> = names(prefix, 1024)
            .into_iter()
            .map(|n| format!("{n}{}", "x".repeat(pad)))
            .collect();
        let before = HELD.load(Ordering::Relaxed);
        shell.declare_all(&table)?;
        let held = (HELD.load(Ordering::Relaxed) - before) as u64;
        let charged = shell.store.data().host_bytes();
        println!("{prefix}: 1,024 declarations hold {held} bytes, charged {charged}");
        assert!(held <= charged, "{held} bytes held, {charged} charged");
    }
    Ok(())
}

/// The same bound for slots in a shared memory, which the registry records as well.
#[test]
fn the_bytes_charged_bound_the_bytes_allocated_in_a_shared_memory() -> wasmtime::Result<()> {
    let _alone = alone();
    let mut config = wasmtime::Config::new();
    config.shared_memory(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, include_str!("../benches/hostile.wat"))?;
    let mut linker = Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    let globals = Globals::new();
    // Warm up what the engine and the registry allocate once.
    {
        let mut store = Store::new(
            &engine,
            GlobalsCtx::with_limits(&globals, Limits::UNLIMITED),
        );
        let instance = linker.instantiate(&mut store, &module)?;
        let distinct = instance.get_typed_func::<i32, i32>(&mut store, "distinct")?;
        assert_eq!(distinct.call(&mut store, 4)?, 4);
    }
    let mut store = Store::new(
        &engine,
        GlobalsCtx::with_limits(&globals, Limits::UNLIMITED),
    );
    let instance = linker.instantiate(&mut store, &module)?;
    let distinct = instance.get_typed_func::<i32, i32>(&mut store, "distinct")?;
    let before = HELD.load(Ordering::Relaxed);
    assert_eq!(distinct.call(&mut store, 1024)?, 1024);
    let held = (HELD.load(Ordering::Relaxed) - before) as u64;
    let charged = store.data().host_bytes();
    println!("shared: 1,024 declarations hold {held} bytes, charged {charged}");
    assert!(held <= charged, "{held} bytes held, {charged} charged");
    Ok(())
}

/// A table at 64 KiB of `MAX_CAPACITY` slots, the most a 5 MiB memory holds.
const BIG_TABLE: u32 = 65536;

/// Declares, in a new table of `capacity` slots, the slots `indexes` (each named after its index,
/// the names 8 bytes apart from 4 MiB + 128 KiB on), after a warm-up in another table that is
/// then reset away, then syncs a change of one of them (a store's first sync indexes its
/// slots by name); returns the bytes held and the bytes charged.
fn held_and_charged(kind: Kind, capacity: u32, indexes: &[u32]) -> wasmtime::Result<(u64, u64)> {
    let engine = shell::engine();
    let globals = Globals::new();
    let mut poker = Poker::new(&engine, &globals, Limits::UNLIMITED, kind)?;
    // Warm up what the engine, the store and the registry allocate once.
    poker.header(1024, 4, 1)?;
    poker.slot(1024, 0, "WARM", 512, wasmtime_global::ValueType::U64)?;
    assert_eq!(poker.declare(1024, 0)?, 0);
    poker.store.data_mut().reset();
    poker.header(BIG_TABLE, capacity, capacity)?;
    let names = 4 * 1024 * 1024 + 128 * 1024;
    for &i in indexes {
        let name = format!("S{i}");
        poker.slot(
            BIG_TABLE,
            i,
            &name,
            names + 8 * i,
            wasmtime_global::ValueType::U64,
        )?;
    }
    let before = HELD.load(Ordering::Relaxed);
    for &i in indexes {
        assert_eq!(poker.declare(BIG_TABLE, i)?, 0);
    }
    globals.set(&format!("S{}", indexes[0]), 1)?;
    let written = wasmtime_global::sync(&mut poker.store, |ctx| ctx)?;
    assert_eq!(written, usize::from(kind == Kind::Ordinary));
    let held = (HELD.load(Ordering::Relaxed) - before) as u64;
    Ok((held, poker.store.data().host_bytes()))
}

/// Issue 20, finding 2: a store recorded a table's slots in a vector as long as the highest
/// index declared, so a guest that declared only slot 65,535 made the host hold a vector of
/// 65,536 entries against the charge of one slot. Whatever the indexes, in whatever order, the
/// charge bounds what is held.
#[test]
fn the_bytes_charged_bound_the_bytes_allocated_whatever_the_indexes() -> wasmtime::Result<()> {
    let _alone = alone();
    let last = abi::MAX_CAPACITY - 1;
    let patterns: [(&str, Vec<u32>); 6] = [
        ("only the last slot", vec![last]),
        ("the first and the last", vec![0, last]),
        ("in order", (0..1024).collect()),
        ("in reverse", (0..1024).rev().collect()),
        ("every other", (0..1024).map(|i| 2 * i).collect()),
        ("every 64th", (0..1024).map(|i| 64 * i).collect()),
    ];
    let mut over = Vec::new();
    for kind in Kind::BOTH {
        for (what, indexes) in &patterns {
            let (held, charged) = held_and_charged(kind, abi::MAX_CAPACITY, indexes)?;
            let line = format!("{kind:?}, {what}: {held} bytes held, {charged} charged");
            println!("{line}");
            if held > charged {
                over.push(line);
            }
        }
    }
    assert!(over.is_empty(), "held more than charged: {over:#?}");
    Ok(())
}

/// Tables must not overlap (the ABI §4): a table that overlaps one the store declared into is
/// refused, before or after it in memory, in either kind of memory; one just past it is not.
#[test]
fn overlapping_tables_are_refused() -> wasmtime::Result<()> {
    let _alone = alone();
    let engine = shell::engine();
    for kind in Kind::BOTH {
        let globals = Globals::new();
        let mut poker = Poker::new(&engine, &globals, Limits::default(), kind)?;
        let first = 4096;
        poker.header(first, 16, 1)?;
        poker.slot(first, 0, "A", 256, wasmtime_global::ValueType::U64)?;
        assert_eq!(poker.declare(first, 0)?, 0);
        let end = first + 64 + 16 * 64;
        // Inside its slots, and starting before it and reaching into it.
        for other in [first + 64 + 3 * 64, first - 64 - 8 * 64] {
            poker.header(other, 16, 1)?;
            poker.slot(other, 0, "B", 264, wasmtime_global::ValueType::U64)?;
            let err = limit(poker.declare(other, 0).expect_err("overlaps"));
            assert_eq!(
                err,
                Error::TableOverlaps {
                    addr: other,
                    other: first
                },
                "{kind:?}"
            );
            // The first table's slots were not touched: rewrite it, as a refused guest would.
            poker.header(first, 16, 1)?;
            poker.slot(first, 0, "A", 256, wasmtime_global::ValueType::U64)?;
        }
        poker.header(end, 16, 1)?;
        poker.slot(end, 0, "C", 272, wasmtime_global::ValueType::U64)?;
        assert_eq!(poker.declare(end, 0)?, 0, "{kind:?}: just past the first");
        assert_eq!(poker.store.data().declarations().len(), 2);
    }
    Ok(())
}

/// A table's capacity is fixed before its first declaration (the ABI §4.4): a later declaration
/// that finds another capacity is refused, so that a table cannot grow over another.
#[test]
fn a_table_whose_capacity_changed_is_refused() -> wasmtime::Result<()> {
    let _alone = alone();
    let engine = shell::engine();
    for kind in Kind::BOTH {
        let globals = Globals::new();
        let mut poker = Poker::new(&engine, &globals, Limits::default(), kind)?;
        poker.header(4096, 4, 2)?;
        poker.slot(4096, 0, "A", 256, wasmtime_global::ValueType::U64)?;
        poker.slot(4096, 1, "B", 264, wasmtime_global::ValueType::U64)?;
        assert_eq!(poker.declare(4096, 0)?, 0);
        poker.header(4096, 400, 2)?;
        let err = limit(poker.declare(4096, 1).expect_err("grown"));
        assert_eq!(
            err,
            Error::CapacityChanged {
                addr: 4096,
                was: 4,
                now: 400
            },
            "{kind:?}"
        );
    }
    Ok(())
}

/// Issue 20, finding 8: a store recorded the memory of every instance that declared, even past
/// its tables limit, and looked at every recorded memory again at each new one: 4,000 instances
/// took 1.49 s. A memory is now recorded only with a table taken, so the tables limit bounds
/// what each new memory looks at (`Stats::memories_looked_at`).
#[test]
fn memories_past_the_tables_limit_are_not_recorded() -> wasmtime::Result<()> {
    let _alone = alone();
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 256) "N")
          (data (i32.const 1024) "WGTB\02\00\00\00\40\00\00\00\01\00\00\00\01\00\00\00")
          ;; slot 0: hash of "N", name at 256, length 1, U64
          (data (i32.const 1088) "\d1\2e\02\86\4c\03\64\af\00\01\00\00\01\00\00\00\02\00\00\00")
          (func (export "init") (result i32) (call $declare (i32.const 1024) (i32.const 0))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    let globals = Globals::new();
    let limits = Limits {
        tables: 64,
        ..Limits::default()
    };
    let mut store = Store::new(&engine, GlobalsCtx::with_limits(&globals, limits));
    let instances = 1000;
    let mut refused = 0;
    for _ in 0..instances {
        let instance = linker.instantiate(&mut store, &module)?;
        let init = instance.get_typed_func::<(), i32>(&mut store, "init")?;
        match init.call(&mut store, ()) {
            Ok(status) => assert_eq!(status, 0),
            Err(trap) => {
                assert_eq!(
                    limit(trap),
                    Error::LimitExceeded {
                        limit: Limit::Tables,
                        max: 64
                    }
                );
                refused += 1;
            }
        }
    }
    assert_eq!(refused, instances - 64);
    assert_eq!(store.data().declarations().len(), 64);
    let looked_at = store.data().stats().memories_looked_at;
    println!("{instances} instances, 64 tables: {looked_at} memories looked at");
    assert!(
        looked_at <= instances * 64,
        "{looked_at} memories looked at"
    );
    Ok(())
}
