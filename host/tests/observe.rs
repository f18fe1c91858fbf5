//! What an operator sees of a registry: its [`Snapshot`](wasmtime_global::Snapshot). The
//! `tracing` events are in `events.rs`.

use wasmtime_global::{Counters, Error, Globals, Limit, Limits, Value, ValueType};

mod shell;

use shell::Shell;

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|&n| n.to_owned()).collect()
}

/// (name, value, declared type, declarations, stores) of each name of `globals`' snapshot.
type Row = (String, Option<Value>, Option<ValueType>, u64, u64);

fn rows(globals: &Globals) -> Vec<Row> {
    globals
        .snapshot()
        .names
        .into_iter()
        .map(|n| (n.name, n.value, n.declared_type, n.declarations, n.stores))
        .collect()
}

fn row(name: &str, value: Option<Value>, ty: Option<ValueType>, decl: u64, stores: u64) -> Row {
    (name.to_owned(), value, ty, decl, stores)
}

#[test]
fn a_snapshot_counts_each_names_declarations_and_stores() -> wasmtime::Result<()> {
    let globals = Globals::new();
    globals.set("SET_ONLY", 3)?;
    // Store a: N in two slots and M in one; store b: N in one.
    let mut a = Shell::new(&globals)?;
    a.write(&names(&["N", "N", "M"]), ValueType::U64)?;
    a.declare_all(&names(&["N", "N", "M"]))?;
    let mut b = Shell::new(&globals)?;
    b.write(&names(&["N"]), ValueType::U64)?;
    b.declare_all(&names(&["N"]))?;
    let u64 = Some(ValueType::U64);
    assert_eq!(
        rows(&globals),
        [
            row("M", None, u64, 1, 1),
            row("N", None, u64, 3, 2),
            row("SET_ONLY", Some(Value::Bits(3)), None, 0, 0),
        ]
    );
    // Declarations are counted when each `declare` call returns, with no sync.
    assert_eq!(globals.snapshot().counters.declarations, 4);
    globals.set_u64("N", 9)?;
    assert_eq!(wasmtime_global::sync(&mut a.store, |ctx| ctx)?, 2);
    assert_eq!(wasmtime_global::sync(&mut b.store, |ctx| ctx)?, 1);
    let snapshot = globals.snapshot();
    assert_eq!(snapshot.names[1].value, Some(Value::U64(9)));
    let Counters {
        sets,
        syncs,
        declarations,
        refusals,
        traps,
        ..
    } = snapshot.counters;
    assert_eq!(
        (sets, syncs, declarations, refusals, traps),
        (2, 2, 4, 0, 0)
    );
    drop(b);
    assert_eq!(rows(&globals)[1], row("N", Some(Value::U64(9)), u64, 2, 1));
    // A store that releases one of its two slots of N stays among N's stores until the last.
    a.store.data_mut().reset();
    assert_eq!(
        rows(&globals),
        [
            row("N", Some(Value::U64(9)), None, 0, 0),
            row("SET_ONLY", Some(Value::Bits(3)), None, 0, 0),
        ]
    );
    Ok(())
}

#[test]
fn a_store_that_declares_a_name_twice_and_fails_the_second_time_stays_counted_once() {
    let globals = Globals::new();
    let mut a = Shell::with_limits(
        &globals,
        Limits {
            same_name_slots: 1,
            ..Limits::default()
        },
    )
    .unwrap();
    // Two slots of N, but one slot of a name per table: the second traps.
    a.write(&names(&["N", "N"]), ValueType::U64).unwrap();
    assert_eq!(a.declare(0).unwrap(), 0);
    let trap = a.declare(1).unwrap_err();
    assert!(matches!(
        trap.downcast_ref::<Error>(),
        Some(Error::LimitExceeded {
            limit: Limit::SameNameSlots,
            max: 1
        })
    ));
    assert_eq!(rows(&globals), [row("N", None, Some(ValueType::U64), 1, 1)]);
    assert_eq!(globals.snapshot().counters.traps, 1);
    drop(a);
    assert_eq!(rows(&globals), []);
}

/// Slots in shared memories are counted the same way: a store is among a name's stores while it
/// holds one of its slots.
#[test]
fn a_snapshot_counts_stores_of_shared_memory_slots() -> wasmtime::Result<()> {
    use wasmtime::{Config, Engine, Linker, Module, Store};
    use wasmtime_global::GlobalsCtx;
    let mut config = Config::new();
    config.shared_memory(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, include_str!("../benches/hostile.wat"))?;
    let mut linker = Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    let globals = Globals::new();
    let hash = wasmtime_global_abi::fnv1a64(b"H") as i64;
    // `run(name, len, hash, n)` declares slots 0 to n - 1 as "H" (at 256) in its own memory.
    let mut stores = Vec::new();
    for n in [3, 2] {
        let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
        let instance = linker.instantiate(&mut store, &module)?;
        let run = instance.get_typed_func::<(i32, i32, i64, i32), i32>(&mut store, "run")?;
        assert_eq!(run.call(&mut store, (256, 1, hash, n))?, n);
        stores.push(store);
    }
    let u64 = Some(ValueType::U64);
    assert_eq!(rows(&globals), [row("H", None, u64, 5, 2)]);
    stores.remove(0);
    assert_eq!(rows(&globals), [row("H", None, u64, 2, 1)]);
    stores.clear();
    assert_eq!(rows(&globals), []);
    assert_eq!(globals.snapshot().counters.declarations, 5);
    Ok(())
}
