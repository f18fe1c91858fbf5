//! What a fleet sees of its tenants (registries made with `Globals::child`), and what an operator
//! is told of a refused or counted declaration whichever registry caused it (issue 22, items 10
//! and 11).

use wasmtime_global::{Globals, Value, ValueType};

mod shell;

use shell::Shell;

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|&n| n.to_owned()).collect()
}

/// A guest of a tenant refused because the fleet's embedder defined the name's type learns
/// `defined = true`, whether the tenant was made before the definition or after it; a type
/// fixed by the fleet's typed value (not a definition) is `defined = false`.
#[test]
fn a_refusal_by_a_parents_definition_says_the_embedder_fixed_the_type() -> wasmtime::Result<()> {
    let fleet = Globals::new();
    let early = fleet.child();
    fleet.define("FIXED", ValueType::F64, None)?;
    fleet.set_f64("SET", 1.5)?;
    let late = fleet.child();
    for (tenant, which) in [(&early, "made before"), (&late, "made after")] {
        let mut shell = Shell::new(tenant)?;
        shell.write(&names(&["FIXED", "SET"]), ValueType::U64)?;
        assert_eq!([shell.declare(0)?, shell.declare(1)?], [1, 1], "{which}");
        let seen: Vec<_> = shell
            .store
            .data()
            .refusals()
            .into_iter()
            .map(|r| (r.name, r.declared, r.fixed, r.defined))
            .collect();
        assert_eq!(
            seen,
            [
                ("FIXED".to_owned(), ValueType::U64, ValueType::F64, true),
                ("SET".to_owned(), ValueType::U64, ValueType::F64, false),
            ],
            "a tenant {which} the definition"
        );
        // Item 11: the error of the call that failed says why, once.
        let store = shell.store.data_mut();
        let error = store.explain(wasmtime::Error::msg("trap"));
        let chain: Vec<String> = error.chain().map(|e| e.to_string()).collect();
        assert_eq!(
            chain,
            [
                "declaration of \"FIXED\" refused (slot 0 of the table at 0x400): the guest \
                 declared it U64, the embedder defined it as F64",
                "declaration of \"SET\" refused (slot 1 of the table at 0x400): the guest \
                 declared it U64, it is already F64 (a live declaration, or a value of that type \
                 set)",
                "trap",
            ],
            "{which}"
        );
        let again = store.explain(wasmtime::Error::msg("trap"));
        assert_eq!(
            again.chain().count(),
            1,
            "refusals already explained: {again:?}"
        );
    }
    Ok(())
}

/// A store that declares and then runs for ever without a sync is counted at once.
#[test]
fn a_long_lived_store_that_never_syncs_counts_its_declarations() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let mut shell = Shell::new(&globals)?;
    shell.write(&names(&["A", "B"]), ValueType::U64)?;
    assert_eq!([shell.declare(0)?, shell.declare(1)?], [0, 0]);
    assert_eq!(globals.snapshot().counters.declarations, 2);
    assert_eq!(shell.store.data().stats().syncs, 0, "no sync ran");
    Ok(())
}

/// A fleet lists its live tenants, and one snapshot can show them all.
#[test]
fn a_fleet_sees_its_live_tenants_and_their_snapshots() -> wasmtime::Result<()> {
    let fleet = Globals::new();
    fleet.set_u64("LIMIT", 10)?;
    let a = fleet.child();
    let b = fleet.child();
    let grandchild = b.child();
    a.set_u64("LIMIT", 20)?;
    grandchild.set_bool("BETA", true)?;
    drop(fleet.child()); // dropped at once: not listed
    assert_eq!(fleet.children().len(), 2);
    assert!(fleet.children()[0].parent().is_some());
    assert_eq!(b.children().len(), 1);

    let whole = fleet.snapshot_with_children();
    assert_eq!(whole.names.len(), 1);
    assert!(
        fleet.snapshot().children.is_empty(),
        "a plain snapshot has none"
    );
    let values = |s: &wasmtime_global::Snapshot| -> Vec<(String, Option<Value>)> {
        s.names.iter().map(|n| (n.name.clone(), n.value)).collect()
    };
    assert_eq!(whole.children.len(), 2);
    assert_eq!(
        values(&whole.children[0]),
        [("LIMIT".to_owned(), Some(Value::U64(20)))]
    );
    assert_eq!(
        values(&whole.children[1]),
        [("LIMIT".to_owned(), Some(Value::U64(10)))]
    );
    assert_eq!(whole.children[1].children.len(), 1);
    assert_eq!(
        values(&whole.children[1].children[0]),
        [
            ("BETA".to_owned(), Some(Value::Bool(true))),
            ("LIMIT".to_owned(), Some(Value::U64(10))),
        ]
    );
    drop(a);
    assert_eq!(fleet.children().len(), 1);
    Ok(())
}
