//! On wasm32-wasip2 (`cfg(component)`), where the module is a component and cannot share its
//! memory with the host: globals declared and read through the project's WIT interface
//! (`wit/globals.wit`, `spec/COMPONENTS.md`), one host call a read.

use crate::refusal;
use core::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use wasmtime_global_abi::ValueType;

mod bindings {
    wit_bindgen::generate!({
        path: "wit/globals.wit",
        world: "wasmtime-global:globals/imports",
    });
}

use bindings::wasmtime_global::globals::globals::{self as wit, Error, Global, Value};

/// Declarations that succeeded, for [`declared`](crate::declared).
static DECLARED: AtomicU32 = AtomicU32::new(0);

/// How many globals this component declared.
pub(crate) fn declared() -> u32 {
    DECLARED.load(Ordering::Relaxed)
}

/// Declares `name` as `ty` with the default `default` (its bits); returns its index among the
/// store's declarations plus one, or 0 after storing why not in `refused`. The handle is kept
/// for the program's life.
pub(crate) fn declare(name: &str, ty: ValueType, default: u64, refused: &AtomicI64) -> u64 {
    let default = match ty {
        ValueType::Bool => Value::Bool(default != 0),
        ValueType::U64 => Value::U64(default),
        ValueType::I64 => Value::I64(default as i64),
        ValueType::F64 => Value::F64(f64::from_bits(default)),
        ValueType::Duration => Value::Duration(default as i64),
    };
    let code = match Global::declare(name, default) {
        Ok(global) => {
            DECLARED.fetch_add(1, Ordering::Relaxed);
            let index = global.index();
            // Kept: the handle is never dropped, as a slot is never released, so its index
            // stays its global's.
            global.take_handle();
            return u64::from(index) + 1;
        }
        Err(Error::TypeMismatch(_)) => refusal::TYPE_MISMATCH,
        Err(Error::InvalidName) => refusal::NAME_REFUSED,
        Err(Error::LimitExceeded(_)) => refusal::LIMIT,
    };
    refused.store(code, Ordering::Relaxed);
    0
}

/// The bits the global of `index` (its index plus one, from [`declare`]) reads now: one host
/// call, `read`, which lends no handle (cheaper than a handle's `bits`: `cargo bench -p
/// wasmtime-global-tests --bench components`).
pub(crate) fn bits(index: u64) -> u64 {
    wit::read((index - 1) as u32)
}

/// How many times the host found the global of `index` (its index plus one) changed since its
/// declaration, at its looks (`spec/COMPONENTS.md` §3).
pub(crate) fn changes(index: u64) -> u64 {
    wit::changes((index - 1) as u32)
}

/// The host's version of its values (`spec/COMPONENTS.md` §3).
pub(crate) fn version() -> u64 {
    wit::version()
}
