//! `inspect`: what a guest declares.

use crate::{Error, Guest};
use std::fmt;
use wasmtime_global::{Declaration, Globals, Refusal, Snapshot, Value};

/// What a guest declared during its initialisation.
#[derive(Debug)]
pub struct Inspection {
    /// The exports that were called, in order.
    pub called: Vec<String>,
    /// Every declared slot, with the value it holds now.
    pub globals: Vec<(Declaration, Value)>,
    /// Whether the guest's memory is shared.
    pub shared_memory: bool,
    /// The declarations the host refused, and why.
    pub refusals: Vec<Refusal>,
    /// The registry as an operator sees it ([`Globals::snapshot`]), with the guest's store still
    /// alive.
    pub registry: Snapshot,
}

/// Instantiates `guest` (with WASI preview 1 if it imports it), runs its initialisation and lists
/// the globals it declared.
///
/// Initialisation is `_initialize` if the guest exports it (the instantiation runs it), then
/// `_start` if it exports that; then each export in `calls`, in order, each of type `() -> ()`.
/// `globals` supplies current values (an empty registry shows defaults).
///
/// # Errors
///
/// If the guest cannot be instantiated, or an initialisation call traps (a WASI exit with
/// status 0 is a success).
pub fn inspect(guest: &Guest, globals: &Globals, calls: &[&str]) -> Result<Inspection, Error> {
    let mut running = guest.instantiate(globals)?;
    let mut called = Vec::new();
    if guest.export("_initialize").is_some() {
        called.push("_initialize".to_owned());
    }
    let start = guest.export("_start").is_some().then_some("_start");
    for name in start.into_iter().chain(calls.iter().copied()) {
        if guest.export(name).is_none() {
            return Err(Error::NoSuchExport(name.to_owned()));
        }
        running.call(name)?;
        called.push(name.to_owned());
    }
    running.sync().map_err(|source| Error::Initialise {
        export: "(sync)".to_owned(),
        source,
    })?;
    let declarations = running.store.data().globals.declarations();
    let refusals = running.store.data().globals.refusals();
    let registry = globals.snapshot();
    let mut out = Vec::new();
    for d in declarations {
        let value_addr = u64::from(d.table_addr)
            + wasmtime_global_abi::slot_offset(d.index)
            + core::mem::offset_of!(wasmtime_global_abi::Slot, value) as u64;
        let mut bits = [0; 8];
        running.with_bytes(|bytes| bytes.read(value_addr, &mut bits));
        let value = Value::from_bits(d.ty, u64::from_le_bytes(bits));
        out.push((d, value));
    }
    Ok(Inspection {
        called,
        globals: out,
        shared_memory: guest.shared_memory(),
        refusals,
        registry,
    })
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let memory = if self.shared_memory {
            "shared"
        } else {
            "ordinary"
        };
        let called = if self.called.is_empty() {
            "nothing".to_owned()
        } else {
            self.called.join(", ")
        };
        writeln!(f, "memory: {memory}; called: {called}")?;
        writeln!(f, "{} globals declared", self.globals.len())?;
        if !self.globals.is_empty() {
            self.slots(f)?;
        }
        self.rest(f)
    }
}

impl Inspection {
    /// The declared slots, as a table.
    fn slots(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>6}  {:<32} {:<9} {:<24} value",
            "slot", "name", "type", "default"
        )?;
        for (d, value) in &self.globals {
            writeln!(
                f,
                "{:>6}  {:<32} {:<9} {:<24} {}",
                d.index,
                d.name,
                d.ty.name(),
                show(d.default),
                show(*value)
            )?;
        }
        Ok(())
    }

    /// The refusals and the registry.
    fn rest(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.refusals {
            let by = if r.defined {
                "the embedder"
            } else {
                "another declaration or a typed set"
            };
            writeln!(
                f,
                "refused: slot {} {} declared {}, fixed to {} by {by}",
                r.index,
                r.name,
                r.declared.name(),
                r.fixed.name()
            )?;
        }
        let c = &self.registry.counters;
        writeln!(
            f,
            "registry: {} sets, {} syncs, {} declarations, {} refusals, {} traps",
            c.sets, c.syncs, c.declarations, c.refusals, c.traps
        )?;
        writeln!(
            f,
            "{:<32} {:<9} {:>12} {:>6}  value",
            "name", "declared", "declarations", "stores"
        )?;
        for n in &self.registry.names {
            writeln!(
                f,
                "{:<32} {:<9} {:>12} {:>6}  {}",
                n.name,
                n.declared_type.map_or("-", |t| t.name()),
                n.declarations,
                n.stores,
                n.value
                    .map_or_else(|| "(guests' defaults)".to_owned(), show)
            )?;
        }
        Ok(())
    }
}

/// A value as a person reads it: durations in seconds too, floats with their bits.
fn show(value: Value) -> String {
    match value {
        Value::Bits(b) => format!("{b:#x}"),
        Value::Bool(b) => b.to_string(),
        Value::U64(v) => v.to_string(),
        Value::I64(v) => v.to_string(),
        Value::F64(v) => format!("{v:?} ({:#x})", v.to_bits()),
        Value::Duration(ns) => format!("{ns} ns ({}s)", ns as f64 / 1e9),
        Value::Literal(literal) => format!("{literal}, of no type yet"),
    }
}
