//! Names the embedder owns ([`Globals::define`]): no guest can squat their type, their default is
//! what every guest reads while nothing is set, and a guest refused a name leaves a
//! [`Refusal`](wasmtime_global::Refusal) its embedder can read.

use wasmtime_global::{Definition, Error, Globals, Value, ValueType};
use wasmtime_global_abi::Status;

mod shell;

use shell::{Shell, TABLE};

const OK: i32 = Status::Ok as i32;
const TYPE_MISMATCH: i32 = Status::TypeMismatch as i32;

fn one(name: &str) -> Vec<String> {
    vec![name.to_owned()]
}

/// A shell whose slot 0 declares `name` as `ty` with default `default`: the status.
fn declare(globals: &Globals, name: &str, ty: ValueType, default: u64) -> (Shell, i32) {
    let mut shell = Shell::new(globals).expect("a shell");
    shell
        .write_with_default(&one(name), ty, default)
        .expect("the table fits");
    let status = shell.declare(0).expect("no trap");
    (shell, status)
}

/// The one refusal `shell` recorded: (name, declared, fixed, defined), after checking its table
/// and index.
fn refused(shell: &Shell) -> (String, ValueType, ValueType, bool) {
    let refusals = shell.store.data().refusals();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(shell.store.data().stats().refusals, 1);
    let r = &refusals[0];
    assert_eq!((r.table_addr, r.index), (TABLE, 0));
    (r.name.clone(), r.declared, r.fixed, r.defined)
}

#[test]
fn a_defined_name_cannot_be_squatted() -> wasmtime::Result<()> {
    let globals = Globals::new();
    globals.define("MAX_ITEMS", ValueType::U64, None)?;
    let (squatter, status) = declare(&globals, "MAX_ITEMS", ValueType::F64, 0);
    assert_eq!(status, TYPE_MISMATCH);
    assert_eq!(
        refused(&squatter),
        ("MAX_ITEMS".to_owned(), ValueType::F64, ValueType::U64, true)
    );
    // The embedder's typed set still works, and a guest of the defined type gets the value.
    globals.set_u64("MAX_ITEMS", 7)?;
    let (mut guest, status) = declare(&globals, "MAX_ITEMS", ValueType::U64, 1);
    assert_eq!(status, OK);
    assert_eq!(guest.value(0)?, 7);
    assert!(guest.store.data().refusals().is_empty());
    assert_eq!(
        globals.set_f64("MAX_ITEMS", 1.5),
        Err(Error::TypeMismatch {
            name: "MAX_ITEMS".to_owned(),
            declared: ValueType::U64,
            given: ValueType::F64
        })
    );
    Ok(())
}

/// What finding 3 saw, without a definition: the first declaration fixes the type. It is still
/// so; the embedder can now see why a guest was refused, and can define names beforehand.
#[test]
fn without_a_definition_the_first_declaration_fixes_the_type() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let (_squatter, status) = declare(&globals, "MAX_ITEMS", ValueType::F64, 0);
    assert_eq!(status, OK);
    let mismatch = Err(Error::TypeMismatch {
        name: "MAX_ITEMS".to_owned(),
        declared: ValueType::F64,
        given: ValueType::U64,
    });
    assert_eq!(globals.set_u64("MAX_ITEMS", 1), mismatch);
    assert_eq!(
        globals.define("MAX_ITEMS", ValueType::U64, None),
        mismatch.map(drop)
    );
    let (refused_guest, status) = declare(&globals, "MAX_ITEMS", ValueType::U64, 0);
    assert_eq!(status, TYPE_MISMATCH);
    assert_eq!(
        refused(&refused_guest),
        (
            "MAX_ITEMS".to_owned(),
            ValueType::U64,
            ValueType::F64,
            false
        )
    );
    Ok(())
}

#[test]
fn a_defined_default_is_read_until_a_set_and_again_after_a_del() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let hundred = Some(Value::U64(100));
    globals.define("LIMIT", ValueType::U64, hundred)?;
    assert_eq!(
        globals.definition("LIMIT"),
        Some(Definition {
            ty: ValueType::U64,
            default: hundred
        })
    );
    // The guest's own default is 7: it reads the embedder's.
    let (mut guest, status) = declare(&globals, "LIMIT", ValueType::U64, 7);
    assert_eq!(status, OK);
    assert_eq!(guest.value(0)?, 100);
    globals.set_u64("LIMIT", 5)?;
    assert_eq!(guest.value(0)?, 5);
    assert_eq!(globals.del("LIMIT")?, Some(Value::U64(5)));
    assert_eq!(guest.value(0)?, 100, "del brings back the defined default");
    globals.define("LIMIT", ValueType::U64, Some(Value::U64(200)))?;
    assert_eq!(guest.value(0)?, 200, "a new definition is a change");
    assert_eq!(
        globals.undefine("LIMIT")?,
        Some(Definition {
            ty: ValueType::U64,
            default: Some(Value::U64(200))
        })
    );
    assert_eq!(guest.value(0)?, 7, "no definition: the guest's own default");
    assert_eq!(globals.definition("LIMIT"), None);
    Ok(())
}

#[test]
fn a_definition_refuses_a_default_of_another_type() {
    let globals = Globals::new();
    assert_eq!(
        globals.define("X", ValueType::U64, Some(Value::F64(1.0))),
        Err(Error::TypeMismatch {
            name: "X".to_owned(),
            declared: ValueType::U64,
            given: ValueType::F64
        })
    );
    assert_eq!(globals.definition("X"), None);
    // Untyped bits are taken as the defined type's.
    globals
        .define("X", ValueType::U64, Some(Value::Bits(3)))
        .expect("untyped bits");
    assert_eq!(globals.len(), 1, "a defined name is held");
    assert_eq!(
        globals.undefine("X"),
        Ok(Some(Definition {
            ty: ValueType::U64,
            default: Some(Value::Bits(3))
        }))
    );
    assert!(globals.is_empty(), "and let go with its definition");
}
