//! `spec/vectors/malformed.json`: table images with one fault of §7.3 steps 2 to 5, or two, and
//! the error identifier (§7.6) each must produce. The faults are listed here in the order §7.3
//! checks them, so that a pair's expected error is its earlier fault's: the file is made from
//! this list (`WASMTIME_GLOBAL_BLESS=1` writes it) and checked against it, and every case is run
//! through the abi crate's validation and through the host, whose memory must be unchanged after
//! each trap.

use serde_json::{Value as Json, json};
use wasmtime::{Engine, Module};
use wasmtime_global::Globals;
use wasmtime_global_abi::validate;
use wasmtime_global_abi::{ErrorId, Header, MAGIC, MAX_CAPACITY, SLOT_SIZE, Slot, ValueType};
use wasmtime_global_abi::{HEADER_SIZE, VERSION, fnv1a64};

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../spec/vectors/malformed.json"
);
/// One wasm page: the memory every case is laid out in.
const MEMORY_SIZE: u32 = 65_536;
const TABLE: u32 = 1024;
/// The default of slot 0, which an accepted declaration writes into its `value`.
const DEFAULT: u64 = 42;

/// A table of capacity 4 with two slots in use, and their names.
#[derive(Clone)]
struct Image {
    table: u32,
    index: u32,
    header: Header,
    slots: [Slot; 2],
    names: [(u32, Vec<u8>); 2],
    /// Whether slot 0's `hash` is left wrong (else it is its name's, set last).
    wrong_hash: bool,
}

impl Image {
    fn valid() -> Image {
        let header = Header {
            magic: MAGIC,
            version: VERSION,
            slot_size: SLOT_SIZE,
            capacity: 4,
            count: 2,
            reserved0: 0,
            generation: 0,
            reserved1: [0; 4],
        };
        let slot = |name_addr: u32, name: &[u8], ty: ValueType, default: u64| Slot {
            hash: fnv1a64(name),
            name_addr,
            name_len: name.len() as u32,
            ty: ty.tag(),
            reserved0: 0,
            default,
            value: 0,
            changes: 0,
            reserved1: [0; 2],
        };
        Image {
            table: TABLE,
            index: 0,
            header,
            slots: [
                slot(4096, b"conf.u64", ValueType::U64, DEFAULT),
                slot(4104, b"conf.bool", ValueType::Bool, 1),
            ],
            names: [(4096, b"conf.u64".to_vec()), (4104, b"conf.bool".to_vec())],
            wrong_hash: false,
        }
    }

    /// The bytes to write, each run clipped to the memory.
    fn patches(&self) -> Vec<(u32, Vec<u8>)> {
        let mut slot0 = self.slots[0];
        slot0.hash = fnv1a64(&self.names[0].1) ^ u64::from(self.wrong_hash);
        let mut runs = vec![(self.table, bytemuck::bytes_of(&self.header).to_vec())];
        for (i, slot) in [slot0, self.slots[1]].iter().enumerate() {
            let at = u64::from(self.table) + wasmtime_global_abi::slot_offset(i as u32);
            runs.push((at as u32, bytemuck::bytes_of(slot).to_vec()));
        }
        runs.extend(self.names.iter().cloned());
        runs.into_iter()
            .filter(|(at, _)| *at < MEMORY_SIZE)
            .map(|(at, mut bytes)| {
                bytes.truncate((MEMORY_SIZE - at) as usize);
                (at, bytes)
            })
            .collect()
    }

    fn memory(&self) -> Vec<u8> {
        let mut memory = vec![0; MEMORY_SIZE as usize];
        for (at, bytes) in self.patches() {
            memory[at as usize..at as usize + bytes.len()].copy_from_slice(&bytes);
        }
        memory
    }
}

/// One fault: its name, the error it must produce, the fields it changes (two faults that
/// change none in common make a pair), and the change.
struct Fault {
    name: &'static str,
    id: ErrorId,
    fields: &'static [&'static str],
    apply: fn(&mut Image),
}

/// Every fault, in the order §7.3 checks for it.
const FAULTS: &[Fault] = &[
    Fault {
        name: "table-misaligned",
        id: ErrorId::TableMisaligned,
        fields: &["table"],
        apply: |i| i.table = TABLE + 4,
    },
    Fault {
        name: "header-outside-memory",
        id: ErrorId::TableOutOfBounds,
        fields: &["table"],
        apply: |i| i.table = MEMORY_SIZE - HEADER_SIZE / 2,
    },
    Fault {
        name: "bad-magic",
        id: ErrorId::BadMagic,
        fields: &["magic"],
        apply: |i| i.header.magic = 0x1234_5678,
    },
    Fault {
        name: "version-1",
        id: ErrorId::UnsupportedVersion,
        fields: &["version"],
        apply: |i| i.header.version = 1,
    },
    Fault {
        name: "version-4",
        id: ErrorId::UnsupportedVersion,
        fields: &["version"],
        apply: |i| i.header.version = 4,
    },
    Fault {
        name: "bad-slot-size",
        id: ErrorId::BadSlotSize,
        fields: &["slot_size"],
        apply: |i| i.header.slot_size = 32,
    },
    Fault {
        name: "capacity-over-max",
        id: ErrorId::CapacityTooLarge,
        fields: &["capacity"],
        apply: |i| i.header.capacity = MAX_CAPACITY + 1,
    },
    Fault {
        name: "count-over-capacity",
        id: ErrorId::CountTooLarge,
        fields: &["count", "capacity"],
        apply: |i| i.header.count = 5,
    },
    Fault {
        name: "header-reserved0",
        id: ErrorId::ReservedNotZero,
        fields: &["reserved0"],
        apply: |i| i.header.reserved0 = 1,
    },
    Fault {
        name: "header-reserved1",
        id: ErrorId::ReservedNotZero,
        fields: &["reserved1"],
        apply: |i| i.header.reserved1[3] = 1 << 63,
    },
    Fault {
        name: "slots-outside-memory",
        id: ErrorId::TableOutOfBounds,
        fields: &["capacity"],
        apply: |i| i.header.capacity = 1100,
    },
    Fault {
        name: "index-at-count",
        id: ErrorId::SlotIndexOutOfRange,
        fields: &["index", "count"],
        apply: |i| i.index = 2,
    },
    Fault {
        name: "slot-reserved0",
        id: ErrorId::ReservedNotZero,
        fields: &["slot.reserved0"],
        apply: |i| i.slots[0].reserved0 = 1,
    },
    Fault {
        name: "slot-reserved1",
        id: ErrorId::ReservedNotZero,
        fields: &["slot.reserved1"],
        apply: |i| i.slots[0].reserved1[1] = 1,
    },
    Fault {
        name: "unknown-type",
        id: ErrorId::UnknownType,
        fields: &["slot.ty"],
        apply: |i| i.slots[0].ty = 99,
    },
    Fault {
        name: "name-empty",
        id: ErrorId::InvalidName,
        fields: &["slot.name_len"],
        apply: |i| i.slots[0].name_len = 0,
    },
    Fault {
        name: "name-too-long",
        id: ErrorId::InvalidName,
        fields: &["slot.name_len"],
        apply: |i| i.slots[0].name_len = 256,
    },
    Fault {
        name: "name-outside-memory",
        id: ErrorId::NameOutOfBounds,
        fields: &["slot.name_addr"],
        apply: |i| i.slots[0].name_addr = MEMORY_SIZE - 4,
    },
    Fault {
        name: "name-nul",
        id: ErrorId::InvalidName,
        fields: &["name"],
        apply: |i| i.names[0].1[4] = 0,
    },
    Fault {
        name: "name-not-utf8",
        id: ErrorId::InvalidName,
        fields: &["name"],
        apply: |i| i.names[0].1[4] = 0xff,
    },
    Fault {
        name: "hash-mismatch",
        id: ErrorId::HashMismatch,
        fields: &["hash"],
        apply: |i| i.wrong_hash = true,
    },
];

/// A case of the file: its faults (none: the valid table) and its image.
struct Case {
    faults: Vec<&'static Fault>,
    image: Image,
}

impl Case {
    /// The error the case must produce: its first fault's, in §7.3's order; `None`: accepted.
    fn expected(&self) -> Option<ErrorId> {
        self.faults.first().map(|f| f.id)
    }

    fn name(&self) -> String {
        match self.faults.as_slice() {
            [] => "valid".to_owned(),
            faults => faults.iter().map(|f| f.name).collect::<Vec<_>>().join("+"),
        }
    }
}

/// The valid table, each fault alone, and each pair of faults that change no field in common
/// (but the header outside memory, which leaves no other fault in view).
fn cases() -> Vec<Case> {
    let case = |faults: Vec<&'static Fault>| {
        let mut image = Image::valid();
        for fault in &faults {
            (fault.apply)(&mut image);
        }
        Case { faults, image }
    };
    let mut cases = vec![case(vec![])];
    cases.extend(FAULTS.iter().map(|f| case(vec![f])));
    for (i, first) in FAULTS.iter().enumerate() {
        for second in &FAULTS[i + 1..] {
            let apart = !first.fields.iter().any(|f| second.fields.contains(f));
            if apart && first.name != "header-outside-memory" {
                cases.push(case(vec![first, second]));
            }
        }
    }
    cases
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// What the file says.
fn document() -> Json {
    let value_addr = TABLE + HEADER_SIZE + std::mem::offset_of!(Slot, value) as u32;
    let cases: Vec<Json> = cases()
        .iter()
        .map(|case| {
            let image: Vec<Json> = case
                .image
                .patches()
                .into_iter()
                .map(|(at, bytes)| json!({"at": at, "bytes": hex(&bytes)}))
                .collect();
            let mut entry = json!({
                "name": case.name(),
                "table": case.image.table,
                "index": case.image.index,
                "image": image,
                "expect": case.expected().map_or("ok", ErrorId::as_str),
            });
            if case.faults.is_empty() {
                entry["written"] =
                    json!([{"at": value_addr, "bytes": hex(&DEFAULT.to_le_bytes())}]);
            }
            entry
        })
        .collect();
    json!({
        "about": "Malformed tables (spec/ABI.md §7.3 steps 2 to 5): for each case, a memory of \
            memory_size zero bytes with the runs of image written into it (hexadecimal), then \
            declare(table, index). expect is the error identifier of §7.6 the host must trap \
            with, or \"ok\": the declaration returns OK (0) and the only bytes that change are \
            those of written (the slot's value, set to its default). After a trap, no byte of \
            memory has changed. A case named a+b has both faults: the one §7.3 checks first \
            decides, which pins the order of the checks. The table is declared into for the \
            first time, in a store of its own.",
        "memory_size": MEMORY_SIZE,
        "cases": cases,
    })
}

/// The file, as written; with `WASMTIME_GLOBAL_BLESS` set, written anew first.
fn file() -> Json {
    if std::env::var_os("WASMTIME_GLOBAL_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&document()).unwrap() + "\n";
        std::fs::write(PATH, text).unwrap();
    }
    let text = std::fs::read_to_string(PATH).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_file_is_every_fault_and_every_pair_in_the_order_of_the_checks() {
    let file = file();
    assert_eq!(
        file,
        document(),
        "spec/vectors/malformed.json is not what this list makes: WASMTIME_GLOBAL_BLESS=1 \
         writes it"
    );
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(
        cases.len(),
        1 + FAULTS.len() + 183,
        "one valid, the faults, the pairs"
    );
    let ids: std::collections::BTreeSet<&str> = cases
        .iter()
        .map(|c| c["expect"].as_str().unwrap())
        .collect();
    // Every identifier of steps 2 to 5 that a table's first declaration can meet (the others
    // need a table declared into before, or a store's state).
    let mut expected = vec!["ok"];
    expected.extend(
        [
            ErrorId::TableMisaligned,
            ErrorId::TableOutOfBounds,
            ErrorId::BadMagic,
            ErrorId::UnsupportedVersion,
            ErrorId::BadSlotSize,
            ErrorId::CapacityTooLarge,
            ErrorId::CountTooLarge,
            ErrorId::ReservedNotZero,
            ErrorId::SlotIndexOutOfRange,
            ErrorId::UnknownType,
            ErrorId::InvalidName,
            ErrorId::NameOutOfBounds,
            ErrorId::HashMismatch,
        ]
        .map(ErrorId::as_str),
    );
    assert_eq!(ids, expected.into_iter().collect());
}

/// A case as the file gives it: the memory, the call and what it must produce.
struct Vector {
    name: String,
    memory: Vec<u8>,
    table: u32,
    index: u32,
    expect: Option<ErrorId>,
    written: Vec<(u32, Vec<u8>)>,
}

fn vectors() -> Vec<Vector> {
    let file = file();
    let size = file["memory_size"].as_u64().unwrap() as usize;
    let runs = |json: &Json| -> Vec<(u32, Vec<u8>)> {
        json.as_array()
            .map(|runs| {
                runs.iter()
                    .map(|r| {
                        (
                            r["at"].as_u64().unwrap() as u32,
                            unhex(r["bytes"].as_str().unwrap()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    file["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let mut memory = vec![0; size];
            for (at, bytes) in runs(&case["image"]) {
                memory[at as usize..at as usize + bytes.len()].copy_from_slice(&bytes);
            }
            let expect = case["expect"].as_str().unwrap();
            Vector {
                name: case["name"].as_str().unwrap().to_owned(),
                memory,
                table: case["table"].as_u64().unwrap() as u32,
                index: case["index"].as_u64().unwrap() as u32,
                expect: (expect != "ok").then(|| ErrorId::from_id(expect).expect("an identifier")),
                written: runs(&case["written"]),
            }
        })
        .collect()
}

/// What the abi crate's validation says of `declare(table, index)` on `memory`.
fn abi_error(memory: &[u8], table: u32, index: u32) -> Option<ErrorId> {
    let header = match validate::read_header(memory, table) {
        Ok(header) => header,
        Err(fault) => return Some(fault.id()),
    };
    let mut name = [0; wasmtime_global_abi::MAX_NAME_LEN as usize];
    let slot = validate::check_slot(memory, table, &header, index, &mut name);
    slot.err().map(|fault| fault.id())
}

#[test]
fn the_abi_crate_finds_each_cases_error() {
    for v in vectors() {
        assert_eq!(
            abi_error(&v.memory, v.table, v.index),
            v.expect,
            "{}",
            v.name
        );
    }
    // The images are the faults': each alone gives its own error.
    for fault in FAULTS {
        let mut image = Image::valid();
        (fault.apply)(&mut image);
        let found = abi_error(&image.memory(), image.table, image.index);
        assert_eq!(found, Some(fault.id), "{}", fault.name);
    }
}

/// The guest of the malformed vectors: one page of memory, and `call(table, index)`, which
/// calls `declare` (`spec/reference/declare.wat`).
const CALLER: &str = include_str!("../../spec/reference/declare.wat");

#[test]
fn the_host_traps_with_each_cases_error_and_writes_nothing() -> wasmtime::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, CALLER)?;
    let globals = Globals::new();
    for v in vectors() {
        let mut store = wasmtime_global_test_support::store(&engine, &globals);
        let linker = wasmtime_global_test_support::linker(&engine)?;
        let instance = linker.instantiate(&mut store, &module)?;
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        memory.write(&mut store, 0, &v.memory)?;
        let call = instance.get_typed_func::<(u32, u32), i32>(&mut store, "call")?;
        let result = call.call(&mut store, (v.table, v.index));
        let after = memory.data(&store).to_vec();
        match v.expect {
            Some(id) => {
                let error = result.expect_err(&v.name);
                let error = error
                    .downcast_ref::<wasmtime_global::Error>()
                    .unwrap_or_else(|| panic!("{}: {error:?}", v.name));
                assert_eq!(error.id(), Some(id), "{}: {error}", v.name);
                assert!(
                    after == v.memory,
                    "{}: memory changed after the trap",
                    v.name
                );
            }
            None => {
                assert_eq!(result?, 0, "{}", v.name);
                let mut expected = v.memory.clone();
                for (at, bytes) in &v.written {
                    expected[*at as usize..*at as usize + bytes.len()].copy_from_slice(bytes);
                }
                assert!(
                    after == expected,
                    "{}: other bytes than `written` changed",
                    v.name
                );
            }
        }
    }
    Ok(())
}
