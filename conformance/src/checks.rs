//! The checks, each on fresh instances of the guest with a fresh registry, so that one failure
//! does not cause another.

use crate::failure::{Failure, expect, fail, read, short, table_addr};
use crate::profile::{self, FILL_DEFAULT, FILL_NAME, GLOBALS, read_as};
use crate::{Guest, Running, script};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::LazyLock;
use wasmtime::{ExternType, FuncType};
use wasmtime_global::{Globals, Value, ValueType};
use wasmtime_global_abi as abi;
use wasmtime_global_abi::validate::{self as table, Malformed};

/// One check, as [`CHECKS`] lists it: as `spec/conformance/checks.json` gives it.
#[derive(Debug)]
pub struct Check {
    /// A short name, unique in the suite: `defaults`, `edge-values`, …
    pub name: &'static str,
    /// What passing means, in one sentence.
    pub about: &'static str,
    run: Run,
}

/// How a check runs: the file's steps, or a procedure of this module (for what steps of the
/// file cannot say: the module's exports and types, the table's validity, filling it, counting
/// host calls, growing the memory, reading a shared memory with no sync).
#[derive(Debug)]
enum Run {
    Steps(&'static [script::Step]),
    Procedure(fn(&Guest) -> Result<(), Failure>),
}

/// Every check, in the order they run: those of `spec/conformance/checks.json`.
pub static CHECKS: LazyLock<Vec<Check>> = LazyLock::new(|| {
    script::SCRIPTS
        .iter()
        .map(|s| Check {
            name: &s.name,
            about: &s.about,
            run: match &s.steps {
                Some(steps) => Run::Steps(steps),
                None => Run::Procedure(procedure(&s.name)),
            },
        })
        .collect()
});

/// The procedure of the check `name`.
fn procedure(name: &str) -> fn(&Guest) -> Result<(), Failure> {
    match name {
        "exports" => exports,
        "table" => table,
        "declarations" => declarations,
        "capacity" => capacity,
        "zero-host-calls" => zero_host_calls,
        "memory-grow" => memory_grow,
        "shared-no-sync" => shared_no_sync,
        other => panic!("checks.json names a procedure this runner does not have: {other}"),
    }
}

/// How a check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// Failed, and why.
    Fail(String),
    /// Not run, and why.
    Skip(String),
}

/// The outcome of every check.
#[derive(Debug)]
pub struct Report {
    /// `(check, outcome)` in the order of [`CHECKS`].
    pub outcomes: Vec<(&'static Check, Outcome)>,
    /// Whether the guest's memory is shared.
    pub shared_memory: bool,
    /// Whether the guest was given WASI preview 1.
    pub wasi: bool,
    /// The ABI version the guest speaks, by the module of its imports: 3 (`wasmtime_global_v3`),
    /// 2 (`wasmtime_global_v2`), or `None` if it imports neither.
    pub abi_version: Option<u32>,
}

impl Report {
    /// True if no check failed.
    #[must_use]
    pub fn passed(&self) -> bool {
        !self
            .outcomes
            .iter()
            .any(|(_, o)| matches!(o, Outcome::Fail(_)))
    }

    /// The outcome of the check named `name`.
    #[must_use]
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.outcomes
            .iter()
            .find(|(c, _)| c.name == name)
            .map(|(_, o)| o)
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|(_, o)| f(o)).count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let memory = if self.shared_memory {
            "shared"
        } else {
            "ordinary"
        };
        let wasi = if self.wasi { ", WASI preview 1" } else { "" };
        let version = match self.abi_version {
            Some(v) => format!("ABI version {v}"),
            None => "imports no module of the ABI".to_owned(),
        };
        writeln!(f, "guest: {version}, {memory} memory{wasi}")?;
        for (check, outcome) in &self.outcomes {
            match outcome {
                Outcome::Pass => writeln!(f, "PASS  {:<20} {}", check.name, check.about)?,
                Outcome::Fail(why) => {
                    writeln!(f, "FAIL  {:<20} {}", check.name, check.about)?;
                    writeln!(f, "      {:<20} {why}", "")?;
                }
                Outcome::Skip(why) => writeln!(f, "SKIP  {:<20} {why}", check.name)?,
            }
        }
        writeln!(
            f,
            "{} passed, {} failed, {} skipped",
            self.count(|o| *o == Outcome::Pass),
            self.count(|o| matches!(o, Outcome::Fail(_))),
            self.count(|o| matches!(o, Outcome::Skip(_)))
        )
    }
}

/// Runs every check against `guest`.
#[must_use]
pub fn run(guest: &Guest) -> Report {
    let mut outcomes = Vec::new();
    let mut missing = None;
    for check in CHECKS.iter() {
        let result = match &check.run {
            Run::Steps(steps) => script::run(guest, steps),
            Run::Procedure(procedure) => procedure(guest),
        };
        let outcome = match &missing {
            Some(why) => Outcome::Skip(format!("not run: {why}")),
            None => match result {
                Ok(()) => Outcome::Pass,
                Err(Failure::Skip(why)) => Outcome::Skip(why),
                Err(Failure::Fail(why)) => Outcome::Fail(why),
            },
        };
        if check.name == "exports"
            && let Outcome::Fail(why) = &outcome
        {
            missing = Some(why.clone());
        }
        outcomes.push((check, outcome));
    }
    Report {
        outcomes,
        shared_memory: guest.shared_memory(),
        wasi: guest.uses_wasi(),
        abi_version: guest.abi_version(),
    }
}

/// A table's fault as the host reports it (the host's error is also the smaller).
fn host_error<T>(result: Result<T, Malformed>) -> Result<T, wasmtime_global::Error> {
    result.map_err(wasmtime_global::Error::from)
}

/// Syncs, then expects global `g` to read `bits` (as its type reads them).
fn expect_read(
    guest: &mut Running,
    g: &profile::Global,
    bits: u64,
    after: &str,
) -> Result<(), Failure> {
    guest.sync()?;
    let found = read(guest, g.index)?;
    let expected = read_as(g.ty, bits);
    if found == expected {
        Ok(())
    } else {
        Err(fail(format!(
            "global {} ({}, {:?}) after {after}: wgc_get returned {found:#018x}, expected {expected:#018x}",
            g.index,
            short(g.name),
            g.ty
        )))
    }
}

fn call_i32(guest: &mut Running, export: &str) -> Result<i32, Failure> {
    let f = guest
        .instance
        .get_typed_func::<(), i32>(&mut guest.store, export)?;
    Ok(f.call(&mut guest.store, ())?)
}

/// An instance with `wgc_init` run.
fn ready(guest: &Guest, globals: &Globals) -> Result<Running, Failure> {
    let mut running = guest.instantiate(globals)?;
    running.call(profile::INIT)?;
    Ok(running)
}

fn g(name: &str) -> &'static profile::Global {
    GLOBALS
        .iter()
        .find(|g| g.name == name)
        .expect("a profile global")
}

fn exports(guest: &Guest) -> Result<(), Failure> {
    if !matches!(
        guest.export(abi::MEMORY_EXPORT),
        Some(ExternType::Memory(_))
    ) {
        return Err(fail("no memory exported as \"memory\""));
    }
    let functions: [(&str, &[&str], &[&str]); 4] = [
        (profile::INIT, &[], &[]),
        (profile::GET, &["i32"], &["i64"]),
        (profile::CAPACITY, &[], &["i32"]),
        (profile::FILL, &[], &["i32"]),
    ];
    let mut wrong = Vec::new();
    // Version 3's imports, or version 2's: `declare` from the guest's module, and in version 3
    // `declare_range` if the guest imports it.
    let (module, imports): (&str, &[(&str, &str)]) = match guest.abi_version() {
        Some(2) => (
            abi::IMPORT_MODULE_V2,
            &[(abi::DECLARE_IMPORT, "(i32, i32) -> (i32)")],
        ),
        _ => (
            abi::IMPORT_MODULE,
            &[
                (abi::DECLARE_IMPORT, "(i32, i32) -> (i32)"),
                (abi::DECLARE_RANGE_IMPORT, "(i32, i32, i32) -> (i32)"),
            ],
        ),
    };
    for &(name, expected) in imports {
        let import = guest
            .module
            .imports()
            .find(|i| i.module() == module && i.name() == name);
        match import.map(|i| i.ty()) {
            Some(ExternType::Func(ty)) if signature(&ty) == expected => {}
            Some(ty) => wrong.push(format!(
                "the import {module}.{name} is {ty:?}, expected a function {expected}"
            )),
            // A guest need not use `declare_range`.
            None if name == abi::DECLARE_RANGE_IMPORT => {}
            None => wrong.push(format!("no import {module}.{name}: {expected}")),
        }
    }
    for (name, params, results) in functions {
        let expected = format!("({}) -> ({})", params.join(", "), results.join(", "));
        match guest.export(name) {
            Some(ExternType::Func(ty)) if signature(&ty) == expected => {}
            Some(ExternType::Func(ty)) => {
                wrong.push(format!("{name} is {}, expected {expected}", signature(&ty)));
            }
            _ => wrong.push(format!("no function {name}: {expected}")),
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(fail(wrong.join("; ")))
    }
}

fn signature(ty: &FuncType) -> String {
    let list = |types: Vec<String>| types.join(", ");
    format!(
        "({}) -> ({})",
        list(ty.params().map(|t| t.to_string()).collect()),
        list(ty.results().map(|t| t.to_string()).collect())
    )
}

fn table(guest: &Guest) -> Result<(), Failure> {
    let globals = Globals::new();
    let mut running = ready(guest, &globals)?;
    let addr = table_addr(&running)?;
    let capacity = call_i32(&mut running, profile::CAPACITY)?;
    let declarations = running.store.data().globals.declarations();
    let header = running.with_bytes(|bytes| host_error(table::read_header(bytes, addr)))?;
    expect(
        i64::from(header.capacity),
        i64::from(capacity),
        "header capacity vs wgc_capacity",
    )?;
    expect(
        header.generation % 2,
        0,
        "header generation parity (odd means mid-write)",
    )?;
    for d in &declarations {
        if d.index >= header.count {
            return Err(fail(format!(
                "slot {} is declared but count is {}",
                d.index, header.count
            )));
        }
        let (slot, changes) = running.with_bytes(|bytes| {
            let slot = table::read_slot(bytes, addr, &header, d.index);
            let mut changes = [0; 8];
            let at =
                u64::from(addr) + abi::slot_offset(d.index) + u64::from(abi::Slot::CHANGES_OFFSET);
            bytes.read(at, &mut changes);
            (slot, u64::from_le_bytes(changes))
        });
        host_error(slot)?;
        expect(
            changes,
            0,
            format!("changes of slot {} before any set", d.index),
        )?;
    }
    Ok(())
}

fn declarations(guest: &Guest) -> Result<(), Failure> {
    let globals = Globals::new();
    let running = ready(guest, &globals)?;
    let declared = running.store.data().globals.declarations();
    for g in &GLOBALS {
        let of_name: Vec<_> = declared.iter().filter(|d| d.name == g.name).collect();
        let [d] = of_name.as_slice() else {
            return Err(fail(format!(
                "{} is declared {} times, expected once",
                short(g.name),
                of_name.len()
            )));
        };
        expect(d.ty, g.ty, format!("type of {}", short(g.name)))?;
        expect(
            d.default.to_bits(),
            read_as(g.ty, g.default),
            format!("default of {}", short(g.name)),
        )?;
    }
    expect(declared.len(), GLOBALS.len(), "declared slots")?;
    Ok(())
}

/// A typed value per type, not a default.
fn typed(ty: ValueType) -> Value {
    match ty {
        ValueType::Bool => Value::Bool(false),
        ValueType::U64 => Value::U64(43),
        ValueType::I64 => Value::I64(-43),
        ValueType::F64 => Value::F64(-2.25),
        ValueType::Duration => Value::Duration(1_500_000_000),
    }
}

fn capacity(guest: &Guest) -> Result<(), Failure> {
    let globals = Globals::new();
    let mut running = ready(guest, &globals)?;
    let capacity = call_i32(&mut running, profile::CAPACITY)?;
    let filled = call_i32(&mut running, profile::FILL)?;
    expect(
        i64::from(filled) + GLOBALS.len() as i64,
        i64::from(capacity),
        "globals declared by wgc_init and wgc_fill together vs capacity",
    )?;
    expect(
        call_i32(&mut running, profile::FILL)?,
        0,
        "wgc_fill on a full table",
    )?;
    let declared = running.store.data().globals.declarations();
    expect(
        declared.len() as i64,
        i64::from(capacity),
        "slots the host accepted",
    )?;
    // One value per fill name (one name for all, or `conf.fill.N`).
    let distinct: BTreeSet<&str> = declared
        .iter()
        .filter(|d| d.name.starts_with(FILL_NAME))
        .map(|d| d.name.as_str())
        .collect();
    let names: BTreeMap<&str, u64> = distinct.into_iter().zip(1000..).collect();
    for (name, value) in &names {
        globals.set(name, *value)?;
    }
    running.sync()?;
    let name_of = |k: u32| match names.len() {
        1 => FILL_NAME.to_owned(),
        _ => format!("{FILL_NAME}.{k}"),
    };
    for k in 0..filled as u32 {
        let found = read(&mut running, GLOBALS.len() as u32 + k)?;
        let expected = names.get(name_of(k).as_str()).copied();
        expect(
            Some(found),
            expected,
            format!("fill global {k} after a set"),
        )?;
    }
    for name in names.keys() {
        globals.del(name)?;
    }
    running.sync()?;
    // A table of exactly the profile's ten globals has no fill global to read.
    let Some(last) = (filled as u32).checked_sub(1) else {
        return Ok(());
    };
    expect(
        read(&mut running, GLOBALS.len() as u32 + last)?,
        FILL_DEFAULT,
        "the last fill global after del",
    )
}

fn zero_host_calls(guest: &Guest) -> Result<(), Failure> {
    let globals = Globals::new();
    let mut running = ready(guest, &globals)?;
    for g in &GLOBALS {
        globals.set_value(g.name, typed(g.ty))?;
    }
    running.sync()?;
    let before = running.store.data().host_calls;
    let mut reads = 0;
    for _ in 0..100 {
        for g in &GLOBALS {
            read(&mut running, g.index)?;
            reads += 1;
        }
    }
    let calls = running.store.data().host_calls - before;
    expect(calls, 0, format!("host calls during {reads} reads"))
}

fn memory_grow(guest: &Guest) -> Result<(), Failure> {
    let globals = Globals::new();
    let mut running = ready(guest, &globals)?;
    let addr = table_addr(&running)?;
    let shared = guest.shared_memory();
    for (round, pages) in [1u64, 16].into_iter().enumerate() {
        let base = running.base();
        if let Err(e) = running.grow(pages) {
            return if round == 0 {
                Err(Failure::Skip(format!("the memory cannot grow: {e:#}")))
            } else {
                Ok(())
            };
        }
        // The runner's engine moves an ordinary memory on every growth (see `Guest::new`).
        if !shared && running.base() == base {
            return Err(fail(format!(
                "growing by {pages} pages did not move the memory (a bug in the runner)"
            )));
        }
        let header = running.with_bytes(|bytes| host_error(table::read_header(bytes, addr)))?;
        for d in running.store.data().globals.declarations() {
            running
                .with_bytes(|bytes| host_error(table::read_slot(bytes, addr, &header, d.index)))?;
        }
        for g in &GLOBALS {
            let value = if round == 0 {
                typed(g.ty)
            } else {
                Value::Bits(g.default)
            };
            globals.set_value(g.name, value)?;
            let after = format!("growing by {pages} pages and a set");
            expect_read(&mut running, g, value.to_bits(), &after)?;
        }
    }
    // Declarations after the moves reach the same instance's table.
    globals.set(FILL_NAME, 99)?;
    let filled = call_i32(&mut running, profile::FILL)?;
    let declared = running.store.data().globals.declarations();
    expect(
        declared.len(),
        GLOBALS.len() + filled as usize,
        "slots declared, with wgc_fill after the growth",
    )?;
    for d in &declared {
        expect(d.table_addr, addr, "the table address of every declaration")?;
    }
    // (With `conf.fill.N` names the set above was for another name.)
    if filled > 0 && declared.iter().any(|d| d.name == FILL_NAME) {
        running.sync()?;
        let first = read(&mut running, GLOBALS.len() as u32)?;
        expect(
            first,
            99,
            "a fill global declared after the growth, set before",
        )?;
    }
    Ok(())
}

fn shared_no_sync(guest: &Guest) -> Result<(), Failure> {
    if !guest.shared_memory() {
        return Err(Failure::Skip("the guest's memory is ordinary".to_owned()));
    }
    let globals = Globals::new();
    let mut running = ready(guest, &globals)?;
    let g = g("conf.u64");
    globals.set_u64(g.name, 77)?;
    let syncs = running.store.data().globals.stats().syncs;
    expect(
        read(&mut running, g.index)?,
        77,
        "a read after a set, with no sync",
    )?;
    expect(running.store.data().globals.stats().syncs, syncs, "syncs")
}
