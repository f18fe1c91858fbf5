//! The checks as the spec gives them (`spec/conformance/checks.json`, shipped in this crate as
//! `checks.json`): their names, what they mean, and for those written as steps, the steps and
//! every value, `changes` count and `generation` they expect. Parsed once; a check with steps
//! is run here, step by step, against the host.

use crate::failure::{Failure, expect, fail, read, short, table_addr};
use crate::profile::{self, GLOBALS};
use crate::{Guest, Running};
use serde_json::Value as Json;
use std::sync::LazyLock;
use wasmtime_global::{Globals, Value, ValueType};
use wasmtime_global_abi::{self as abi, validate};

/// The spec's file of checks.
const CHECKS_JSON: &str = include_str!("../checks.json");

/// One check as the file gives it.
#[derive(Debug)]
pub(crate) struct Script {
    pub(crate) name: String,
    pub(crate) about: String,
    /// Its steps; `None` for a check the file describes as a procedure, which `checks.rs`
    /// runs.
    pub(crate) steps: Option<Vec<Step>>,
}

/// A step of a check (CONFORMANCE.md §5 says what each does).
#[derive(Debug)]
pub(crate) enum Step {
    /// A new instance of the guest in a new store, on the check's registry.
    Instantiate,
    /// Brings the instance up to date with the registry (nothing to do for a shared memory).
    Sync,
    /// Calls a profile export of type `() -> ()`.
    Call(String),
    /// A set: typed (`Value::Bool`, …) or untyped (`Value::Bits`).
    Set(String, Value),
    /// A del, and what it must return.
    Del(String, Option<Value>),
    /// Defines a name's type, and maybe a default of the host's (ABI §9).
    Define(String, ValueType, Option<Value>),
    /// Sets and dels applied as one batch.
    Batch(Vec<(String, Value)>, Vec<String>),
    /// After a sync, `wgc_get(global)` returns these bits.
    Read(u32, u64),
    /// After a sync, the `changes` of the slot of `global` is this count.
    Changes(u32, u64),
    /// After a sync, the table's `generation` is this much above its value after `wgc_init`.
    Generation(u64),
}

/// Every check of the file, in order.
pub(crate) static SCRIPTS: LazyLock<Vec<Script>> = LazyLock::new(|| {
    let doc: Json = serde_json::from_str(CHECKS_JSON).expect("checks.json is JSON");
    doc["checks"]
        .as_array()
        .expect("checks.json lists checks")
        .iter()
        .map(script)
        .collect()
});

fn text(json: &Json, key: &str) -> String {
    json[key]
        .as_str()
        .unwrap_or_else(|| panic!("checks.json: no {key} in {json}"))
        .to_owned()
}

fn bits(json: &Json) -> u64 {
    let text = json
        .as_str()
        .expect("checks.json: 64-bit values are strings");
    let digits = text.strip_prefix("0x").expect("checks.json: 0x");
    u64::from_str_radix(digits, 16).expect("checks.json: hexadecimal")
}

fn number(json: &Json) -> u64 {
    json.as_u64().expect("checks.json: a number")
}

/// The type the spec names `name` (ABI §4.3).
fn value_type(name: Option<&str>) -> ValueType {
    ValueType::ALL
        .into_iter()
        .find(|ty| Some(ty.name()) == name)
        .unwrap_or_else(|| panic!("checks.json: unknown type {name:?}"))
}

/// `{"type": "U64", "bits": "0x…"}` as a typed value.
fn typed(json: &Json) -> Value {
    Value::from_bits(value_type(json["type"].as_str()), bits(&json["bits"]))
}

/// A set's value: typed (`value`) or untyped (`bits`).
fn set_value(json: &Json) -> Value {
    match json.get("value") {
        Some(value) => typed(value),
        None => Value::Bits(bits(&json["bits"])),
    }
}

fn script(json: &Json) -> Script {
    let steps = json.get("steps").map(|steps| {
        steps
            .as_array()
            .expect("checks.json: steps are a list")
            .iter()
            .map(step)
            .collect()
    });
    Script {
        name: text(json, "name"),
        about: text(json, "about"),
        steps,
    }
}

fn step(json: &Json) -> Step {
    let global = || u32::try_from(number(&json["global"])).expect("checks.json: a global");
    match json["op"].as_str() {
        Some("instantiate") => Step::Instantiate,
        Some("sync") => Step::Sync,
        Some("call") => Step::Call(text(json, "export")),
        Some("set") => Step::Set(text(json, "name"), set_value(json)),
        Some("del") => Step::Del(
            text(json, "name"),
            Some(&json["returns"]).filter(|r| !r.is_null()).map(typed),
        ),
        Some("define") => Step::Define(
            text(json, "name"),
            value_type(json["type"].as_str()),
            Some(&json["default"]).filter(|d| !d.is_null()).map(typed),
        ),
        Some("batch") => Step::Batch(
            json["set"]
                .as_array()
                .expect("checks.json: a batch's sets")
                .iter()
                .map(|set| (text(set, "name"), set_value(set)))
                .collect(),
            json["del"]
                .as_array()
                .expect("checks.json: a batch's dels")
                .iter()
                .map(|name| name.as_str().expect("a name").to_owned())
                .collect(),
        ),
        Some("read") => Step::Read(global(), bits(&json["bits"])),
        Some("changes") => Step::Changes(global(), number(&json["count"])),
        Some("generation") => Step::Generation(number(&json["since_init"])),
        other => panic!("checks.json: unknown op {other:?}"),
    }
}

impl Step {
    /// What the step did, for a failure's message.
    fn describe(&self) -> String {
        match self {
            Step::Instantiate => "instantiate".to_owned(),
            Step::Sync => "sync".to_owned(),
            Step::Call(export) => format!("call {export}"),
            Step::Set(name, value) => format!("set {} to {value:?}", short(name)),
            Step::Del(name, _) => format!("del {}", short(name)),
            Step::Define(name, ty, _) => format!("define {} as {ty:?}", short(name)),
            Step::Batch(sets, dels) => {
                format!("a batch of {} sets and {} dels", sets.len(), dels.len())
            }
            Step::Read(global, _) => format!("read global {global}{}", name_of(*global)),
            Step::Changes(global, _) => format!("changes of global {global}{}", name_of(*global)),
            Step::Generation(_) => "generation".to_owned(),
        }
    }
}

/// ` (NAME)` for profile global `global`.
fn name_of(global: u32) -> String {
    GLOBALS
        .get(global as usize)
        .map(|g| format!(" ({})", short(g.name)))
        .unwrap_or_default()
}

/// A check's state between steps: its registry, the instance, and the table's generation after
/// `wgc_init`.
struct Run<'g> {
    guest: &'g Guest,
    globals: Globals,
    running: Option<Running>,
    base_generation: Option<u64>,
}

/// Runs `steps` against `guest` on a new registry.
pub(crate) fn run(guest: &Guest, steps: &[Step]) -> Result<(), Failure> {
    let mut run = Run {
        guest,
        globals: Globals::new(),
        running: None,
        base_generation: None,
    };
    // The last step that acted, for the message of a check that fails after it.
    let mut after = String::new();
    for (n, step) in steps.iter().enumerate() {
        let what = match step {
            Step::Read(..) | Step::Changes(..) | Step::Generation(_) => {
                format!("{}, after {after}", step.describe())
            }
            _ => step.describe(),
        };
        run.step(step).map_err(|failure| match failure {
            Failure::Fail(why) => fail(format!("step {} ({what}): {why}", n + 1)),
            skip => skip,
        })?;
        if !matches!(
            step,
            Step::Read(..) | Step::Changes(..) | Step::Generation(_) | Step::Sync
        ) {
            after = step.describe();
        }
    }
    Ok(())
}

impl Run<'_> {
    fn running(&mut self) -> Result<&mut Running, Failure> {
        self.running
            .as_mut()
            .ok_or_else(|| fail("checks.json: a step before instantiate"))
    }

    fn step(&mut self, step: &Step) -> Result<(), Failure> {
        match step {
            Step::Instantiate => self.running = Some(self.guest.instantiate(&self.globals)?),
            Step::Sync => self.running()?.sync()?,
            Step::Call(export) => {
                self.running()?.call(export)?;
                if self.base_generation.is_none() && export == profile::INIT {
                    self.base_generation = Some(self.generation()?);
                }
            }
            Step::Set(name, value) => self.globals.set_value(name, *value)?,
            Step::Del(name, returns) => {
                let old = self.globals.del(name)?;
                expect(
                    old.map(typed_bits),
                    returns.map(typed_bits),
                    "what del returned",
                )?;
            }
            Step::Define(name, ty, default) => self.globals.define(name, *ty, *default)?,
            Step::Batch(sets, dels) => self.batch(sets, dels)?,
            Step::Read(global, bits) => {
                let running = self.running()?;
                running.sync()?;
                let found = read(running, *global)?;
                if found != *bits {
                    return Err(fail(format!(
                        "wgc_get({global}) returned {found:#018x}, expected {bits:#018x}"
                    )));
                }
            }
            Step::Changes(global, count) => {
                let found = self.changes(*global)?;
                expect(
                    found,
                    *count,
                    format!("changes of the slot of global {global}"),
                )?;
            }
            Step::Generation(since_init) => {
                let base = self
                    .base_generation
                    .ok_or_else(|| fail("checks.json: generation before wgc_init"))?;
                let found = self.generation()?;
                expect(
                    found.wrapping_sub(base),
                    *since_init,
                    format!("generation since wgc_init (it was {base}, now {found})"),
                )?;
            }
        }
        Ok(())
    }

    /// A batch step: the sets, then the dels, committed as one.
    fn batch(&self, sets: &[(String, Value)], dels: &[String]) -> Result<(), Failure> {
        let mut batch = self.globals.batch();
        for (name, value) in sets {
            batch.set_value(name, *value);
        }
        for name in dels {
            batch.del(name);
        }
        Ok(batch.commit()?)
    }

    /// The table's `generation`, after a sync.
    fn generation(&mut self) -> Result<u64, Failure> {
        let running = self.running()?;
        running.sync()?;
        let addr = table_addr(running)?;
        let header = running.with_bytes(|bytes| {
            validate::read_header(bytes, addr).map_err(wasmtime_global::Error::from)
        });
        Ok(header?.generation)
    }

    /// The `changes` of the slot that declared `global`, after a sync.
    fn changes(&mut self, global: u32) -> Result<u64, Failure> {
        let name = GLOBALS
            .get(global as usize)
            .ok_or_else(|| fail(format!("checks.json: no global {global}")))?
            .name;
        let running = self.running()?;
        running.sync()?;
        let declarations = running.store.data().globals.declarations();
        let d = declarations
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| fail(format!("{} is not declared", short(name))))?;
        let at = u64::from(d.table_addr)
            + abi::slot_offset(d.index)
            + u64::from(abi::Slot::CHANGES_OFFSET);
        let mut bytes = [0; 8];
        if !running.with_bytes(|memory| memory.read(at, &mut bytes)) {
            return Err(fail(format!(
                "the slot of global {global} is outside memory"
            )));
        }
        Ok(u64::from_le_bytes(bytes))
    }
}

/// A value as its type's name and bits, to compare what `del` returned with what was set.
fn typed_bits(value: Value) -> (Option<ValueType>, u64) {
    (value.ty(), value.to_bits())
}
