//! [`Failure`]: why a check did not pass, and what the checks and the steps of `script` both
//! use to find one (a comparison, a read of a global, the table's address).

use crate::profile;
use crate::{Error, Running};
use std::fmt;

/// Why a check did not pass.
#[derive(Debug)]
pub(crate) enum Failure {
    Fail(String),
    Skip(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Fail(e.to_string())
    }
}

impl From<wasmtime::Error> for Failure {
    fn from(e: wasmtime::Error) -> Failure {
        // A trap of the host's: named by the spec's identifier (ABI §7.6) first.
        match e
            .downcast_ref::<wasmtime_global::Error>()
            .and_then(|h| h.id())
        {
            Some(id) => Failure::Fail(format!("{id}: {e:#}")),
            None => Failure::Fail(format!("{e:#}")),
        }
    }
}

impl From<wasmtime_global::Error> for Failure {
    fn from(e: wasmtime_global::Error) -> Failure {
        match e.id() {
            Some(id) => Failure::Fail(format!("{id}: {e}")),
            None => Failure::Fail(e.to_string()),
        }
    }
}

pub(crate) fn fail(why: impl Into<String>) -> Failure {
    Failure::Fail(why.into())
}

/// Fails with `what`, the value found and the one expected, unless they are equal.
pub(crate) fn expect<T: PartialEq + fmt::Debug>(
    found: T,
    expected: T,
    what: impl fmt::Display,
) -> Result<(), Failure> {
    if found == expected {
        Ok(())
    } else {
        Err(fail(format!(
            "{what}: found {found:?}, expected {expected:?}"
        )))
    }
}

/// The 64 bits `wgc_get(i)` returns, with no sync first.
pub(crate) fn read(guest: &mut Running, i: u32) -> Result<u64, Failure> {
    let get = guest
        .instance
        .get_typed_func::<i32, i64>(&mut guest.store, profile::GET)?;
    Ok(get.call(&mut guest.store, i as i32)? as u64)
}

/// A name short enough for a message.
pub(crate) fn short(name: &str) -> String {
    if name.len() > 24 {
        format!("{}… ({} bytes)", &name[..16], name.len())
    } else {
        format!("{name:?}")
    }
}

/// The address of the one table that the guest's declarations went to.
pub(crate) fn table_addr(running: &Running) -> Result<u32, Failure> {
    let declarations = running.store.data().globals.declarations();
    let mut addrs: Vec<u32> = declarations.iter().map(|d| d.table_addr).collect();
    addrs.dedup();
    match addrs.as_slice() {
        [addr] => Ok(*addr),
        [] => Err(fail("wgc_init declared nothing")),
        more => Err(fail(format!(
            "the globals were declared in {} tables ({more:#x?}), expected one",
            more.len()
        ))),
    }
}
