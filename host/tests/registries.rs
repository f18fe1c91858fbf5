//! Several registries: a tenant's guests (a child registry) against the fleet's changes (its
//! parent), and one shared memory used from stores of different registries.

use wasmtime::{MemoryType, SharedMemory};
use wasmtime_global::{Error, Globals, GlobalsCtx, Limits, Refusal, Value, ValueType};

mod shell;

use shell::{Kind, Poker};

const TABLE: u32 = 4096;

/// A guest (ordinary memory) of `globals` that declares `name` as `ty` (default 0) in slot 0;
/// returns it and the status.
fn guest_of(globals: &Globals, name: &str, ty: ValueType) -> wasmtime::Result<(Poker, i32)> {
    let engine = shell::engine();
    let mut guest = Poker::new(&engine, globals, Limits::default(), Kind::Ordinary)?;
    guest.header(TABLE, 4, 1)?;
    guest.slot(TABLE, 0, name, 256, ty)?;
    let status = guest.declare(TABLE, 0)?;
    Ok((guest, status))
}

fn ctx(guest: &Poker) -> &GlobalsCtx {
    guest.store.data()
}

/// Issue 20, finding 3: a tenant's guest that declared a name with another type before the fleet
/// set it made the fleet's typed sets of it fail for every tenant, and a fleet batch holding it
/// fail whole. The fleet's change now applies everywhere else; that tenant keeps its value, and
/// its snapshot says what it did not take.
#[test]
fn a_tenants_guest_never_blocks_the_fleets_changes() -> wasmtime::Result<()> {
    let fleet = Globals::new();
    let (evil, good) = (fleet.child(), fleet.child());
    let (mut evil_guest, status) = guest_of(&evil, "LIMIT", ValueType::F64)?;
    assert_eq!(status, 0);
    let (mut good_guest, status) = guest_of(&good, "LIMIT", ValueType::U64)?;
    assert_eq!(status, 0);

    fleet.set_u64("LIMIT", 7)?;
    assert_eq!(good_guest.value(TABLE, 0)?, 7);
    assert_eq!(evil_guest.value(TABLE, 0)?, 0, "keeps its value");
    let withheld = |registry: &Globals| {
        let snapshot = registry.snapshot();
        let limit = snapshot.names.iter().find(|n| n.name == "LIMIT").cloned();
        limit.map(|n| (n.value, n.withheld))
    };
    assert_eq!(withheld(&evil), Some((None, Some(Value::U64(7)))));
    assert_eq!(withheld(&good), Some((Some(Value::U64(7)), None)));
    assert_eq!(evil.snapshot().counters.withheld, 1);

    // A batch that holds it applies whole.
    let mut batch = fleet.batch();
    batch
        .set_value("OTHER", Value::U64(1))
        .set_value("LIMIT", Value::U64(8));
    batch.commit()?;
    assert_eq!(fleet.get("OTHER"), Some(Value::U64(1)));
    assert_eq!(good_guest.value(TABLE, 0)?, 8);
    assert_eq!(evil_guest.value(TABLE, 0)?, 0);
    assert_eq!(evil.snapshot().counters.withheld, 2);

    // The tenant's own typed set is still checked against its own guests.
    assert_eq!(
        evil.set_u64("LIMIT", 1),
        Err(Error::TypeMismatch {
            name: "LIMIT".into(),
            declared: ValueType::F64,
            given: ValueType::U64
        })
    );

    // Once the guest that held the other type goes, the tenant takes the fleet's value.
    drop(evil_guest);
    assert_eq!(withheld(&evil), Some((Some(Value::U64(8)), None)));
    let (mut next, status) = guest_of(&evil, "LIMIT", ValueType::U64)?;
    assert_eq!(status, 0);
    assert_eq!(next.value(TABLE, 0)?, 8);
    Ok(())
}

/// A name the fleet defines binds every registry below, whether or not a value is set: a guest
/// of a child or grandchild that declares another type is refused in its own store, and the
/// definition is not refused because a child's guest declared another type first.
#[test]
fn a_definition_binds_every_registry_below() -> wasmtime::Result<()> {
    let fleet = Globals::new();
    let tenant = fleet.child();
    let grandchild = tenant.child();
    let (early, status) = guest_of(&tenant, "D", ValueType::F64)?;
    assert_eq!(status, 0);

    fleet.define("D", ValueType::U64, None)?;
    for registry in [&tenant, &grandchild] {
        let (guest, status) = guest_of(registry, "D", ValueType::F64)?;
        assert_eq!(status, 1, "TYPE_MISMATCH");
        let refusals = ctx(&guest).refusals();
        assert_eq!(refusals.len(), 1);
        let Refusal {
            name,
            declared,
            fixed,
            defined,
            ..
        } = refusals[0].clone();
        assert_eq!(
            (name.as_str(), declared, fixed, defined),
            ("D", ValueType::F64, ValueType::U64, true)
        );
    }
    // The defined type is taken below, where no guest holds another.
    let (mut guest, status) = guest_of(&grandchild, "D", ValueType::U64)?;
    assert_eq!(status, 0);
    fleet.set_u64("D", 3)?;
    assert_eq!(guest.value(TABLE, 0)?, 3);
    // Typed sets below are held to the definition too.
    assert_eq!(
        grandchild.set_f64("D", 1.5),
        Err(Error::TypeMismatch {
            name: "D".into(),
            declared: ValueType::U64,
            given: ValueType::F64
        })
    );
    drop(early);
    Ok(())
}

/// Issue 20, finding 5: stores of one shared memory with contexts of different registries wrote
/// one table under two registries' protocols (torn batches, a generation going backwards). A
/// table belongs to the first registry that declared into it; another registry's declaration
/// into it is refused, while a table of its own in the same memory is not.
#[test]
fn a_shared_table_belongs_to_one_registry() -> wasmtime::Result<()> {
    let engine = shell::engine();
    let memory = SharedMemory::new(
        &engine,
        MemoryType::shared(shell::POKER_PAGES, shell::POKER_PAGES),
    )?;
    let fleet = Globals::new();
    let mut first = Poker::importing(&engine, &fleet, &memory)?;
    first.header(TABLE, 4, 2)?;
    first.slot(TABLE, 0, "A", 256, ValueType::U64)?;
    first.slot(TABLE, 1, "B", 264, ValueType::U64)?;
    assert_eq!(first.declare(TABLE, 0)?, 0);
    let mut same = Poker::importing(&engine, &fleet, &memory)?;
    assert_eq!(
        same.declare(TABLE, 1)?,
        0,
        "another store of the same registry"
    );

    let (tenant, other) = (fleet.child(), Globals::new());
    for (registry, own) in [(&tenant, 8192), (&other, 12288)] {
        let mut guest = Poker::importing(&engine, registry, &memory)?;
        let trap = guest
            .declare(TABLE, 1)
            .expect_err("another registry's table");
        assert_eq!(
            trap.downcast_ref::<Error>(),
            Some(&Error::TableOfAnotherRegistry { addr: TABLE })
        );
        guest.header(own, 4, 1)?;
        guest.slot(own, 0, "C", 272, ValueType::U64)?;
        assert_eq!(guest.declare(own, 0)?, 0, "a table of its own");
    }
    Ok(())
}

/// Issue 20, finding 8: dropping the last of a chain of 100,000 child registries overflowed the
/// stack (each registry's drop ran its parent's inside it).
#[test]
fn a_long_chain_of_children_drops() {
    let mut leaf = Globals::new();
    for _ in 0..100_000 {
        leaf = leaf.child();
    }
    leaf.set_u64("DEPTH", 100_000).expect("a set in the leaf");
    assert_eq!(leaf.get("DEPTH"), Some(Value::U64(100_000)));
    drop(leaf);
}

/// Issue 20, finding 9: limits were per store only, so a service with thousands of stores had
/// no bound on what their guests made the host hold together. A registry's bound covers every
/// store of it and of the registries below; a store reserves in chunks of 8 KiB.
#[test]
fn a_registry_bounds_what_all_its_stores_hold() -> wasmtime::Result<()> {
    use wasmtime_global::Limit;
    let fleet = Globals::new();
    let tenant = fleet.child();
    // 16 names of 3 bytes: a table (1,280) and 16 declarations (515 each), 9,520 bytes, which
    // a store reserves as two chunks of 8 KiB.
    let names: Vec<String> = (0..16).map(|i| format!("N{i:02}")).collect();
    let per_store = 2 * 8192;
    fleet.set_max_host_bytes(3 * per_store);
    let store = |registry: &Globals| -> wasmtime::Result<(shell::Shell, Option<Error>)> {
        let mut shell = shell::Shell::new(registry)?;
        shell.write(&names, ValueType::U64)?;
        for i in 0..names.len() {
            if let Err(trap) = shell.declare(i as u32) {
                return Ok((shell, trap.downcast_ref::<Error>().cloned()));
            }
        }
        Ok((shell, None))
    };
    let (first, refused) = store(&tenant)?;
    assert_eq!(refused, None);
    assert_eq!(first.store.data().host_bytes(), 1280 + 16 * 515);
    let (_second, refused) = store(&fleet)?;
    assert_eq!(refused, None);
    let (_third, refused) = store(&tenant)?;
    assert_eq!(refused, None);
    assert_eq!(
        (fleet.host_bytes(), tenant.host_bytes()),
        (3 * per_store, 2 * per_store)
    );
    let (fourth, refused) = store(&tenant)?;
    assert_eq!(
        refused,
        Some(Error::LimitExceeded {
            limit: Limit::RegistryHostBytes,
            max: 3 * per_store
        })
    );
    assert_eq!(fourth.store.data().host_bytes(), 0, "nothing charged");
    assert_eq!(tenant.host_bytes(), 2 * per_store, "nothing reserved");
    drop((first, fourth));
    assert_eq!(
        (fleet.host_bytes(), tenant.host_bytes()),
        (2 * per_store, per_store)
    );
    let (_fifth, refused) = store(&tenant)?;
    assert_eq!(refused, None, "room again");
    Ok(())
}
