//! A component guest for the tests of the project's WIT interface (`spec/wit/globals.wit`):
//! each export does one thing with it and returns plain numbers (`wit/world.wit`).

use std::cell::RefCell;
use wasmtime_global::globals::globals::{self as g, Error, Global, Value, ValueType};

wit_bindgen::generate!({ path: "wit", world: "guest", generate_all });

thread_local! {
    /// The handles this guest holds, by its own index.
    static HANDLES: RefCell<Vec<Option<Global>>> = const { RefCell::new(Vec::new()) };
}

fn tag(ty: ValueType) -> i64 {
    match ty {
        ValueType::Bool => 1,
        ValueType::U64 => 2,
        ValueType::I64 => 3,
        ValueType::F64 => 4,
        ValueType::Duration => 5,
    }
}

fn tagged(value: Value) -> (u8, u64) {
    match value {
        Value::Bool(b) => (1, u64::from(b)),
        Value::U64(n) => (2, n),
        Value::I64(n) => (3, n as u64),
        Value::F64(x) => (4, x.to_bits()),
        Value::Duration(ns) => (5, ns as u64),
    }
}

fn with<R>(i: u32, f: impl FnOnce(&Global) -> R) -> R {
    HANDLES.with_borrow(|handles| f(handles[i as usize].as_ref().expect("a live handle")))
}

struct Component;

impl Guest for Component {
    fn declare(tag_of: u8, name: String, bits: u64) -> i64 {
        let default = match tag_of {
            1 => Value::Bool(bits != 0),
            2 => Value::U64(bits),
            3 => Value::I64(bits as i64),
            4 => Value::F64(f64::from_bits(bits)),
            _ => Value::Duration(bits as i64),
        };
        match Global::declare(&name, default) {
            Ok(global) => HANDLES.with_borrow_mut(|handles| {
                handles.push(Some(global));
                handles.len() as i64 - 1
            }),
            Err(Error::InvalidName) => -1,
            Err(Error::LimitExceeded(_)) => -2,
            Err(Error::TypeMismatch(ty)) => -100 - tag(ty),
        }
    }

    fn get(i: u32) -> (u8, u64) {
        with(i, |global| tagged(global.get()))
    }

    fn bits(i: u32) -> u64 {
        with(i, Global::bits)
    }

    fn changes(i: u32) -> u64 {
        g::changes(with(i, Global::index))
    }

    fn sdk_get_changes() -> (u64, u64) {
        static SDK_G: wasmtime_global_guest::U64 = wasmtime_global_guest::U64::new("SDK_G", 3);
        (SDK_G.get(), SDK_G.changes())
    }

    fn read_index(i: u32) -> u64 {
        g::read(with(i, Global::index))
    }

    fn read_twice(i: u32) -> (u64, u64) {
        let before = with(i, Global::bits);
        pause();
        (before, with(i, Global::bits))
    }

    fn get_many(handles: Vec<u32>) -> Vec<u64> {
        HANDLES.with_borrow(|all| {
            let borrowed: Vec<&Global> = handles
                .iter()
                .map(|&i| all[i as usize].as_ref().expect("a live handle"))
                .collect();
            g::get_many(&borrowed)
                .into_iter()
                .map(|v| tagged(v).1)
                .collect()
        })
    }

    fn version() -> u64 {
        g::version()
    }

    fn drop_global(i: u32) {
        HANDLES.with_borrow_mut(|handles| handles[i as usize] = None);
    }
}

export!(Component);
