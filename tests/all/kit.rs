//! The host kit of `spec/CONFORMANCE.md` §4, as the author of another host would use it: a
//! driver that reads only `spec/` (the reference guest, `conformance/checks.json`,
//! `conformance/profile.json`, `vectors/malformed.json`) and runs it against a host behind
//! [`KitHost`]. The project's host passes; so does a small host written here from the spec
//! alone; and that host broken on purpose (never raising `generation`; never raising
//! `changes`; writing a neighbouring field; skipping the hash check of §7.3) fails, each in the
//! checks that catch it.

use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use wasmtime::{Caller, Engine, Instance, Linker, Memory, Module, Store};
use wasmtime_global::{Globals, Value, ValueType};
use wasmtime_global_abi::{self as abi, ErrorId, Slot, validate};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/");

fn spec_json(file: &str) -> Json {
    let text = std::fs::read_to_string(format!("{SPEC}{file}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn bits(json: &Json) -> u64 {
    let text = json.as_str().expect("a 0x string");
    u64::from_str_radix(text.strip_prefix("0x").expect("0x"), 16).expect("hex")
}

/// A set as the data gives it: typed (`value`: type name and bits) or untyped (`bits`).
#[derive(Clone, Debug)]
struct SetValue {
    ty: Option<ValueType>,
    bits: u64,
}

/// The type the spec names.
fn value_type(json: &Json) -> ValueType {
    ValueType::ALL
        .into_iter()
        .find(|t| Some(t.name()) == json.as_str())
        .expect("a type of ABI §4.3")
}

fn set_value(json: &Json) -> SetValue {
    match json.get("value") {
        Some(v) => SetValue {
            ty: Some(value_type(&v["type"])),
            bits: bits(&v["bits"]),
        },
        None => SetValue {
            ty: None,
            bits: bits(&json["bits"]),
        },
    }
}

/// A slot the host accepted: its name, table and index.
struct Declared {
    name: String,
    table: u32,
    index: u32,
}

/// What the driver needs of a host: a fresh registry, instances, the registry's operations,
/// the guest's memory as bytes, and the slots the host accepted.
trait KitHost {
    /// Forgets every name: the registry a check starts from.
    fn new_registry(&mut self);
    /// A new store and instance of `module`.
    fn instantiate(&mut self, module: &Module) -> wasmtime::Result<()>;
    /// Calls an export of type `() -> ()`, or `(i32) -> i64` with `arg`.
    fn call(&mut self, export: &str) -> wasmtime::Result<()>;
    fn get(&mut self, global: u32) -> wasmtime::Result<u64>;
    /// Calls an export of type `() -> i32`.
    fn call_i32(&mut self, export: &str) -> wasmtime::Result<i32>;
    fn set(&mut self, name: &str, value: &SetValue) -> wasmtime::Result<()>;
    /// The value's bits the name had, if any.
    fn del(&mut self, name: &str) -> wasmtime::Result<Option<u64>>;
    fn batch(&mut self, sets: &[(String, SetValue)], dels: &[String]) -> wasmtime::Result<()>;
    /// Defines the name's type and the host's default (ABI §9).
    fn define(&mut self, name: &str, ty: ValueType, default: Option<u64>) -> wasmtime::Result<()>;
    fn sync(&mut self) -> wasmtime::Result<()>;
    fn memory(&mut self) -> Vec<u8>;
    fn declared(&mut self) -> Vec<Declared>;
    /// Calls from the guest into the host so far (by instrumenting the imports, or a hook).
    fn host_calls(&mut self) -> u64;
    /// `declare(table, index)` on a fresh instance whose memory is `image`: its status, or the
    /// error's identifier, and the memory after.
    fn declare_on(
        &mut self,
        image: &[u8],
        table: u32,
        index: u32,
    ) -> (Result<i32, Option<ErrorId>>, Vec<u8>);
}

/// The driver: every check of `checks.json` written as steps, with §13's rule that a set, del,
/// batch or sync writes nothing but the `value` and `changes` of declared slots and their
/// table's `generation`; and three of the procedures. What failed, by check.
fn run_checks(host: &mut dyn KitHost, module: &Module) -> BTreeMap<String, String> {
    let profile = spec_json("conformance/profile.json");
    let names: Vec<String> = profile["globals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    let mut failed = BTreeMap::new();
    for check in spec_json("conformance/checks.json")["checks"]
        .as_array()
        .unwrap()
    {
        let name = check["name"].as_str().unwrap().to_owned();
        host.new_registry();
        let result = match check.get("steps") {
            Some(steps) => run_steps(host, module, &names, steps.as_array().unwrap()),
            None => run_procedure(host, module, &profile, &name),
        };
        if let Err(why) = result {
            failed.insert(name, why);
        }
    }
    failed
}

fn run_steps(
    host: &mut dyn KitHost,
    module: &Module,
    names: &[String],
    steps: &[Json],
) -> Result<(), String> {
    let mut base = None;
    for (n, step) in steps.iter().enumerate() {
        let at = |why: String| format!("step {}: {why}", n + 1);
        let op = step["op"].as_str().unwrap();
        let writes = ["set", "del", "define", "batch", "sync"].contains(&op);
        let before = writes.then(|| host.memory());
        let result: wasmtime::Result<()> = (|| {
            match op {
                "instantiate" => host.instantiate(module)?,
                "sync" => host.sync()?,
                "call" => {
                    host.call(step["export"].as_str().unwrap())?;
                    base = Some(generation(host).ok_or_else(|| wasmtime::format_err!("no table"))?);
                }
                "set" => host.set(step["name"].as_str().unwrap(), &set_value(step))?,
                "del" => {
                    let old = host.del(step["name"].as_str().unwrap())?;
                    let expected =
                        (!step["returns"].is_null()).then(|| bits(&step["returns"]["bits"]));
                    wasmtime::ensure!(
                        old == expected,
                        "del returned {old:?}, expected {expected:?}"
                    );
                }
                "define" => {
                    let name = step["name"].as_str().unwrap();
                    let ty = value_type(&step["type"]);
                    let default =
                        (!step["default"].is_null()).then(|| bits(&step["default"]["bits"]));
                    host.define(name, ty, default)?;
                }
                "batch" => {
                    let sets: Vec<(String, SetValue)> = step["set"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| (s["name"].as_str().unwrap().to_owned(), set_value(s)))
                        .collect();
                    let dels: Vec<String> = step["del"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d.as_str().unwrap().to_owned())
                        .collect();
                    host.batch(&sets, &dels)?;
                }
                "read" => {
                    host.sync()?;
                    let global = step["global"].as_u64().unwrap() as u32;
                    let found = host.get(global)?;
                    let expected = bits(&step["bits"]);
                    wasmtime::ensure!(
                        found == expected,
                        "wgc_get({global}) = {found:#x}, expected {expected:#x}"
                    );
                }
                "changes" => {
                    host.sync()?;
                    let global = step["global"].as_u64().unwrap() as usize;
                    let found = changes(host, &names[global]);
                    let expected = step["count"].as_u64();
                    wasmtime::ensure!(
                        found == expected,
                        "changes of global {global}: {found:?}, expected {expected:?}"
                    );
                }
                "generation" => {
                    host.sync()?;
                    let found = generation(host).zip(base).map(|(g, b)| g.wrapping_sub(b));
                    let expected = step["since_init"].as_u64();
                    wasmtime::ensure!(
                        found == expected,
                        "generation since wgc_init: {found:?}, expected {expected:?}"
                    );
                }
                other => panic!("an op this driver does not know: {other}"),
            }
            Ok(())
        })();
        result.map_err(|e| at(format!("{op}: {e:#}")))?;
        if let Some(before) = before {
            let after = host.memory();
            if let Some(addr) = written_outside(host, &before, &after) {
                return Err(at(format!(
                    "{op} wrote byte {addr:#x}, outside §4.4's fields"
                )));
            }
        }
    }
    Ok(())
}

/// The first byte that differs between `before` and `after` and is not in the `value` or
/// `changes` of a declared slot or the `generation` of its table.
fn written_outside(host: &mut dyn KitHost, before: &[u8], after: &[u8]) -> Option<usize> {
    let mut allowed = BTreeSet::new();
    for d in host.declared() {
        let slot = d.table as usize + abi::slot_offset(d.index) as usize;
        allowed
            .extend(slot + Slot::VALUE_OFFSET as usize..slot + Slot::CHANGES_OFFSET as usize + 8);
        let generation = d.table as usize + abi::Header::GENERATION_OFFSET as usize;
        allowed.extend(generation..generation + 8);
    }
    (0..before.len().min(after.len())).find(|&i| before[i] != after[i] && !allowed.contains(&i))
}

fn u64_at(memory: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(memory.get(at..at + 8)?.try_into().ok()?))
}

fn generation(host: &mut dyn KitHost) -> Option<u64> {
    let table = host.declared().first()?.table;
    u64_at(
        &host.memory(),
        table as usize + abi::Header::GENERATION_OFFSET as usize,
    )
}

fn changes(host: &mut dyn KitHost, name: &str) -> Option<u64> {
    let declared = host.declared();
    let d = declared.iter().find(|d| d.name == name)?;
    let at = d.table as usize + abi::slot_offset(d.index) as usize + Slot::CHANGES_OFFSET as usize;
    u64_at(&host.memory(), at)
}

/// The procedures this driver runs: `declarations` (against `profile.json`), `table` and
/// `zero-host-calls` (host calls counted by the host's instrumented imports). The others
/// (`exports`, `capacity`, `memory-grow`, `shared-no-sync`) are the runner's, `wasmtime-global
/// conformance`: they look at the module, fill the table, or grow or share the memory.
fn run_procedure(
    host: &mut dyn KitHost,
    module: &Module,
    profile: &Json,
    name: &str,
) -> Result<(), String> {
    let fail = |e: wasmtime::Error| format!("{e:#}");
    match name {
        "declarations" => {
            host.instantiate(module).map_err(fail)?;
            host.call("wgc_init").map_err(fail)?;
            let mut found: Vec<String> = host.declared().into_iter().map(|d| d.name).collect();
            let mut expected: Vec<String> = profile["globals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["name"].as_str().unwrap().to_owned())
                .collect();
            found.sort();
            expected.sort();
            (found == expected)
                .then_some(())
                .ok_or(format!("declared {found:?}"))
        }
        "table" => {
            host.instantiate(module).map_err(fail)?;
            host.call("wgc_init").map_err(fail)?;
            let capacity = host.call_i32("wgc_capacity").map_err(fail)?;
            let declared = host.declared();
            let tables: BTreeSet<u32> = declared.iter().map(|d| d.table).collect();
            let [table] = tables.into_iter().collect::<Vec<_>>()[..] else {
                return Err("the globals are not in one table".to_owned());
            };
            let memory = host.memory();
            let header: abi::Header = bytemuck::pod_read_unaligned(
                &memory[table as usize..][..abi::HEADER_SIZE as usize],
            );
            let wrong = if header.capacity != capacity as u32 {
                Some(format!(
                    "capacity {} vs wgc_capacity {capacity}",
                    header.capacity
                ))
            } else if !header.generation.is_multiple_of(2) {
                Some(format!("generation {} is odd", header.generation))
            } else {
                declared.iter().find_map(|d| {
                    let changes = changes(host, &d.name)?;
                    (d.index >= header.count || changes != 0).then(|| {
                        format!(
                            "slot {}: count {}, changes {changes}",
                            d.index, header.count
                        )
                    })
                })
            };
            wrong.map_or(Ok(()), Err)
        }
        "zero-host-calls" => {
            host.instantiate(module).map_err(fail)?;
            host.call("wgc_init").map_err(fail)?;
            let before = host.host_calls();
            for _ in 0..100 {
                for global in 0..10 {
                    host.get(global).map_err(fail)?;
                }
            }
            let calls = host.host_calls() - before;
            (calls == 0)
                .then_some(())
                .ok_or(format!("{calls} host calls in 1000 reads"))
        }
        _ => Ok(()),
    }
}

/// Every case of `vectors/malformed.json` through `declare_on`: the cases whose outcome was not
/// the one the file names.
fn run_malformed(host: &mut dyn KitHost) -> Vec<String> {
    let file = spec_json("vectors/malformed.json");
    let size = file["memory_size"].as_u64().unwrap() as usize;
    let unhex = |text: &str| -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    };
    let mut wrong = Vec::new();
    for case in file["cases"].as_array().unwrap() {
        let mut image = vec![0; size];
        for run in case["image"].as_array().unwrap() {
            let at = run["at"].as_u64().unwrap() as usize;
            let bytes = unhex(run["bytes"].as_str().unwrap());
            image[at..at + bytes.len()].copy_from_slice(&bytes);
        }
        let table = case["table"].as_u64().unwrap() as u32;
        let index = case["index"].as_u64().unwrap() as u32;
        let (result, after) = host.declare_on(&image, table, index);
        let expect = case["expect"].as_str().unwrap();
        let right = match result {
            Ok(status) => expect == "ok" && status == 0,
            Err(id) => id.map(ErrorId::as_str) == Some(expect) && after == image,
        };
        if !right {
            wrong.push(case["name"].as_str().unwrap().to_owned());
        }
    }
    wrong
}

/// The reference guest, from `spec/` alone.
fn reference(engine: &Engine) -> Module {
    Module::from_file(engine, format!("{SPEC}reference/conformance.wat")).unwrap()
}

/// The guest of the malformed vectors: one page of memory, and `call(table, index)`, which
/// calls `declare` (`spec/reference/declare.wat`).
const CALLER: &str = include_str!("../../spec/reference/declare.wat");

// --- The project's host behind the kit ---------------------------------------------------

struct Project {
    engine: Engine,
    /// [`CALLER`], compiled.
    caller: Module,
    globals: Globals,
    guest: Option<(Store<wasmtime_global_test_support::Host>, Instance)>,
}

impl Project {
    fn guest(&mut self) -> &mut (Store<wasmtime_global_test_support::Host>, Instance) {
        self.guest.as_mut().expect("instantiated")
    }
}

fn typed(value: &SetValue) -> Value {
    match value.ty {
        None => Value::Bits(value.bits),
        Some(ty) => Value::from_bits(ty, value.bits),
    }
}

impl KitHost for Project {
    fn new_registry(&mut self) {
        self.globals = Globals::new();
        self.guest = None;
    }
    fn instantiate(&mut self, module: &Module) -> wasmtime::Result<()> {
        let mut store = wasmtime_global_test_support::store(&self.engine, &self.globals);
        let instance =
            wasmtime_global_test_support::linker(&self.engine)?.instantiate(&mut store, module)?;
        self.guest = Some((store, instance));
        Ok(())
    }
    fn call(&mut self, export: &str) -> wasmtime::Result<()> {
        let (store, instance) = self.guest();
        instance
            .get_typed_func::<(), ()>(&mut *store, export)?
            .call(store, ())
    }
    fn get(&mut self, global: u32) -> wasmtime::Result<u64> {
        let (store, instance) = self.guest();
        let get = instance.get_typed_func::<i32, i64>(&mut *store, "wgc_get")?;
        Ok(get.call(store, global as i32)? as u64)
    }
    fn call_i32(&mut self, export: &str) -> wasmtime::Result<i32> {
        let (store, instance) = self.guest();
        instance
            .get_typed_func::<(), i32>(&mut *store, export)?
            .call(store, ())
    }
    fn set(&mut self, name: &str, value: &SetValue) -> wasmtime::Result<()> {
        Ok(self.globals.set_value(name, typed(value))?)
    }
    fn del(&mut self, name: &str) -> wasmtime::Result<Option<u64>> {
        Ok(self.globals.del(name)?.map(Value::to_bits))
    }
    fn batch(&mut self, sets: &[(String, SetValue)], dels: &[String]) -> wasmtime::Result<()> {
        let mut batch = self.globals.batch();
        for (name, value) in sets {
            batch.set_value(name, typed(value));
        }
        for name in dels {
            batch.del(name);
        }
        Ok(batch.commit()?)
    }
    fn define(&mut self, name: &str, ty: ValueType, default: Option<u64>) -> wasmtime::Result<()> {
        let default = default.map(|bits| Value::from_bits(ty, bits));
        Ok(self.globals.define(name, ty, default)?)
    }
    fn sync(&mut self) -> wasmtime::Result<()> {
        if let Some((store, _)) = &mut self.guest {
            wasmtime_global::sync(store, |h| &mut h.globals)?;
        }
        Ok(())
    }
    fn memory(&mut self) -> Vec<u8> {
        let (store, instance) = self.guest();
        let memory = instance.get_memory(&mut *store, "memory").unwrap();
        memory.data(&*store).to_vec()
    }
    fn declared(&mut self) -> Vec<Declared> {
        let Some((store, _)) = &self.guest else {
            return Vec::new();
        };
        store
            .data()
            .globals
            .declarations()
            .into_iter()
            .map(|d| Declared {
                name: d.name,
                table: d.table_addr,
                index: d.index,
            })
            .collect()
    }
    fn host_calls(&mut self) -> u64 {
        self.guest().0.data().host_calls
    }
    fn declare_on(
        &mut self,
        image: &[u8],
        table: u32,
        index: u32,
    ) -> (Result<i32, Option<ErrorId>>, Vec<u8>) {
        self.instantiate(&self.caller.clone()).unwrap();
        let (store, instance) = self.guest();
        let memory = instance.get_memory(&mut *store, "memory").unwrap();
        memory.write(&mut *store, 0, image).unwrap();
        let call = instance
            .get_typed_func::<(u32, u32), i32>(&mut *store, "call")
            .unwrap();
        let result = call.call(&mut *store, (table, index)).map_err(|e| {
            e.downcast_ref::<wasmtime_global::Error>()
                .and_then(wasmtime_global::Error::id)
        });
        (result, memory.data(&*store).to_vec())
    }
}

// --- A host written from the spec alone, which can be broken on purpose ------------------

/// How the small host is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Broken {
    NeverRaisesGeneration,
    NeverRaisesChanges,
    /// Writes each value into the slot's `default` too.
    WritesTheDefaultField,
    /// Skips §7.3 step 5's hash check.
    SkipsTheHashCheck,
}

/// One accepted slot of the small host.
struct MiniSlot {
    name: String,
    table: u32,
    index: u32,
    default: u64,
    /// Its name changed since the slot was last written (a declaration writes the value of
    /// its moment: §10.4).
    dirty: bool,
}

struct MiniData {
    names: Arc<Mutex<BTreeMap<String, u64>>>,
    defaults: Arc<Mutex<BTreeMap<String, u64>>>,
    slots: Vec<MiniSlot>,
    calls: u64,
    broken: Option<Broken>,
}

/// The small host: a registry of names (their bits), slots written at sync, one table.
struct Mini {
    engine: Engine,
    /// [`CALLER`], compiled.
    caller: Module,
    broken: Option<Broken>,
    names: Arc<Mutex<BTreeMap<String, u64>>>,
    /// The host's defaults (ABI §9), read while a name has no value.
    defaults: Arc<Mutex<BTreeMap<String, u64>>>,
    guest: Option<(Store<MiniData>, Instance)>,
}

impl Mini {
    fn new(engine: &Engine, broken: Option<Broken>) -> Mini {
        Mini {
            engine: engine.clone(),
            caller: Module::new(engine, CALLER).unwrap(),
            broken,
            names: Arc::default(),
            defaults: Arc::default(),
            guest: None,
        }
    }

    /// The name changed: each of its slots is written at the next sync.
    fn changed(&mut self, name: &str) {
        if let Some((store, _)) = &mut self.guest {
            for slot in store.data_mut().slots.iter_mut().filter(|s| s.name == name) {
                slot.dirty = true;
            }
        }
    }

    fn linker(&self) -> Linker<MiniData> {
        let mut linker = Linker::new(&self.engine);
        linker
            .func_wrap(
                abi::IMPORT_MODULE,
                abi::DECLARE_IMPORT,
                |mut c: Caller<'_, MiniData>, table: u32, index: u32| {
                    c.data_mut().calls += 1;
                    mini_declare(&mut c, table, index, 1).map(|()| 0u32)
                },
            )
            .unwrap();
        linker
            .func_wrap(
                abi::IMPORT_MODULE,
                abi::DECLARE_RANGE_IMPORT,
                |mut c: Caller<'_, MiniData>, table: u32, first: u32, count: u32| {
                    c.data_mut().calls += 1;
                    mini_declare(&mut c, table, first, count).map(|()| count)
                },
            )
            .unwrap();
        linker
    }
}

/// §7.3 and §7.5 over the abi crate's validation: declares `count` slots from `first` (no
/// refusal: it knows no types), or traps with the error's identifier.
fn mini_declare(
    c: &mut Caller<'_, MiniData>,
    table: u32,
    first: u32,
    count: u32,
) -> wasmtime::Result<()> {
    let memory = c
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .ok_or_else(|| wasmtime::format_err!("{}", ErrorId::NoMemory))?;
    let trap = |id: ErrorId| wasmtime::format_err!("{id}");
    let bytes = memory.data(&*c).to_vec();
    let header = validate::read_header(&bytes[..], table).map_err(|e| trap(e.id()))?;
    let end = u64::from(first) + u64::from(count);
    if end > u64::from(header.count) {
        return Err(trap(ErrorId::SlotIndexOutOfRange));
    }
    for index in first..first + count {
        let mut name = [0; abi::MAX_NAME_LEN as usize];
        let checked = validate::check_slot(&bytes[..], table, &header, index, &mut name)
            .map(|s| s.name.to_owned());
        let slot_at = table as usize + abi::slot_offset(index) as usize;
        let slot: Slot = bytemuck::pod_read_unaligned(&bytes[slot_at..slot_at + 64]);
        let name = match checked {
            Ok(name) => name,
            Err(e)
                if e.id() == ErrorId::HashMismatch
                    && c.data().broken == Some(Broken::SkipsTheHashCheck) =>
            {
                let at = slot.name_addr as usize;
                String::from_utf8_lossy(&bytes[at..at + slot.name_len as usize]).into_owned()
            }
            Err(e) => return Err(trap(e.id())),
        };
        let data = c.data_mut();
        if !data
            .slots
            .iter()
            .any(|s| s.table == table && s.index == index)
        {
            data.slots.push(MiniSlot {
                name: name.clone(),
                table,
                index,
                default: slot.default,
                dirty: false,
            });
        }
        let value = current(&data.names, &data.defaults, &name).unwrap_or(slot.default);
        memory.write(
            &mut *c,
            slot_at + Slot::VALUE_OFFSET as usize,
            &value.to_le_bytes(),
        )?;
    }
    Ok(())
}

/// What the slots of `name` read, unless a slot's own default: its value, else the host's default.
fn current(
    names: &Mutex<BTreeMap<String, u64>>,
    defaults: &Mutex<BTreeMap<String, u64>>,
    name: &str,
) -> Option<u64> {
    let value = names.lock().unwrap().get(name).copied();
    value.or_else(|| defaults.lock().unwrap().get(name).copied())
}

impl KitHost for Mini {
    fn new_registry(&mut self) {
        self.names = Arc::default();
        self.defaults = Arc::default();
        self.guest = None;
    }
    fn instantiate(&mut self, module: &Module) -> wasmtime::Result<()> {
        let data = MiniData {
            names: self.names.clone(),
            defaults: self.defaults.clone(),
            slots: Vec::new(),
            calls: 0,
            broken: self.broken,
        };
        let mut store = Store::new(&self.engine, data);
        let instance = self.linker().instantiate(&mut store, module)?;
        self.guest = Some((store, instance));
        Ok(())
    }
    fn call(&mut self, export: &str) -> wasmtime::Result<()> {
        let (store, instance) = self.guest.as_mut().unwrap();
        instance
            .get_typed_func::<(), ()>(&mut *store, export)?
            .call(store, ())
    }
    fn get(&mut self, global: u32) -> wasmtime::Result<u64> {
        let (store, instance) = self.guest.as_mut().unwrap();
        let get = instance.get_typed_func::<i32, i64>(&mut *store, "wgc_get")?;
        Ok(get.call(store, global as i32)? as u64)
    }
    fn call_i32(&mut self, export: &str) -> wasmtime::Result<i32> {
        let (store, instance) = self.guest.as_mut().unwrap();
        instance
            .get_typed_func::<(), i32>(&mut *store, export)?
            .call(store, ())
    }
    fn set(&mut self, name: &str, value: &SetValue) -> wasmtime::Result<()> {
        let old = self
            .names
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.bits);
        if old != Some(value.bits) {
            self.changed(name);
        }
        Ok(())
    }
    fn del(&mut self, name: &str) -> wasmtime::Result<Option<u64>> {
        let old = self.names.lock().unwrap().remove(name);
        if old.is_some() {
            self.changed(name);
        }
        Ok(old)
    }
    /// A default reaches the slots of a name with no value (this host knows no types).
    fn define(&mut self, name: &str, _: ValueType, default: Option<u64>) -> wasmtime::Result<()> {
        let old = match default {
            Some(bits) => self.defaults.lock().unwrap().insert(name.to_owned(), bits),
            None => self.defaults.lock().unwrap().remove(name),
        };
        if old != default && !self.names.lock().unwrap().contains_key(name) {
            self.changed(name);
        }
        Ok(())
    }
    fn batch(&mut self, sets: &[(String, SetValue)], dels: &[String]) -> wasmtime::Result<()> {
        for (name, value) in sets {
            self.set(name, value)?;
        }
        for name in dels {
            self.del(name)?;
        }
        Ok(())
    }
    /// §10.3 and §10.4 for an ordinary memory: each slot of a changed name written, its
    /// `changes` raised, and its table's `generation` raised by 2 once.
    fn sync(&mut self) -> wasmtime::Result<()> {
        let Some((store, instance)) = &mut self.guest else {
            return Ok(());
        };
        let memory: Memory = instance.get_memory(&mut *store, "memory").unwrap();
        let (names, defaults) = (&self.names, &self.defaults);
        let broken = self.broken;
        let mut tables = BTreeSet::new();
        let writes: Vec<(usize, u64)> = store
            .data_mut()
            .slots
            .iter_mut()
            .filter_map(|s| std::mem::take(&mut s.dirty).then_some(&*s))
            .map(|s| {
                tables.insert(s.table);
                let at = s.table as usize + abi::slot_offset(s.index) as usize;
                (at, current(names, defaults, &s.name).unwrap_or(s.default))
            })
            .collect();
        for (slot, value) in writes {
            let data = memory.data_mut(&mut *store);
            data[slot + Slot::VALUE_OFFSET as usize..][..8].copy_from_slice(&value.to_le_bytes());
            if broken == Some(Broken::WritesTheDefaultField) {
                data[slot + std::mem::offset_of!(Slot, default)..][..8]
                    .copy_from_slice(&value.to_le_bytes());
            }
            if broken != Some(Broken::NeverRaisesChanges) {
                let at = slot + Slot::CHANGES_OFFSET as usize;
                let changes = u64_at(data, at).unwrap().wrapping_add(1);
                data[at..at + 8].copy_from_slice(&changes.to_le_bytes());
            }
        }
        if broken != Some(Broken::NeverRaisesGeneration) {
            for table in tables {
                let data = memory.data_mut(&mut *store);
                let at = table as usize + abi::Header::GENERATION_OFFSET as usize;
                let generation = u64_at(data, at).unwrap().wrapping_add(2);
                data[at..at + 8].copy_from_slice(&generation.to_le_bytes());
            }
        }
        Ok(())
    }
    fn memory(&mut self) -> Vec<u8> {
        let (store, instance) = self.guest.as_mut().unwrap();
        instance
            .get_memory(&mut *store, "memory")
            .unwrap()
            .data(&*store)
            .to_vec()
    }
    fn declared(&mut self) -> Vec<Declared> {
        let Some((store, _)) = &self.guest else {
            return Vec::new();
        };
        store
            .data()
            .slots
            .iter()
            .map(|s| Declared {
                name: s.name.clone(),
                table: s.table,
                index: s.index,
            })
            .collect()
    }
    fn host_calls(&mut self) -> u64 {
        self.guest.as_ref().unwrap().0.data().calls
    }
    fn declare_on(
        &mut self,
        image: &[u8],
        table: u32,
        index: u32,
    ) -> (Result<i32, Option<ErrorId>>, Vec<u8>) {
        self.new_registry();
        self.instantiate(&self.caller.clone()).unwrap();
        let (store, instance) = self.guest.as_mut().unwrap();
        let memory = instance.get_memory(&mut *store, "memory").unwrap();
        memory.write(&mut *store, 0, image).unwrap();
        let call = instance
            .get_typed_func::<(u32, u32), i32>(&mut *store, "call")
            .unwrap();
        let result = call
            .call(&mut *store, (table, index))
            .map_err(|e| ErrorId::from_id(&e.root_cause().to_string()));
        (result, memory.data(&*store).to_vec())
    }
}

#[test]
fn the_projects_host_passes_the_kit() {
    let engine = Engine::default();
    let module = reference(&engine);
    let mut host = Project {
        caller: Module::new(&engine, CALLER).unwrap(),
        engine: engine.clone(),
        globals: Globals::new(),
        guest: None,
    };
    assert_eq!(run_checks(&mut host, &module), BTreeMap::new());
    assert_eq!(run_malformed(&mut host), Vec::<String>::new());
}

#[test]
fn a_host_written_from_the_spec_passes_the_kit() {
    let engine = Engine::default();
    let module = reference(&engine);
    let mut host = Mini::new(&engine, None);
    assert_eq!(run_checks(&mut host, &module), BTreeMap::new());
    assert_eq!(run_malformed(&mut host), Vec::<String>::new());
}

/// Each way of breaking the small host fails the kit, in the checks that look at what it
/// broke, and passes the rest.
#[test]
fn hosts_broken_on_purpose_fail_the_kit() {
    let engine = Engine::default();
    let module = reference(&engine);
    let setters = [
        "batch",
        "colliding-hashes",
        "define",
        "del",
        "edge-values",
        "long-name",
        "set-typed",
        "set-untyped",
    ];
    for (broken, failing) in [
        (Broken::NeverRaisesGeneration, &setters[..]),
        (Broken::NeverRaisesChanges, &setters[..]),
        (Broken::WritesTheDefaultField, &setters[..]),
    ] {
        let mut host = Mini::new(&engine, Some(broken));
        let failed = run_checks(&mut host, &module);
        let names: Vec<&str> = failed.keys().map(String::as_str).collect();
        assert_eq!(names, failing, "{broken:?}: {failed:#?}");
        assert_eq!(run_malformed(&mut host), Vec::<String>::new(), "{broken:?}");
    }
    let mut host = Mini::new(&engine, Some(Broken::SkipsTheHashCheck));
    assert_eq!(run_checks(&mut host, &module), BTreeMap::new());
    let wrong = run_malformed(&mut host);
    assert_eq!(
        wrong,
        ["hash-mismatch"],
        "the one case whose only fault is the hash"
    );
}
