//! `spec/ABI.md` checked against the abi crate: every table marked `<!-- check:NAME -->`.

use wasmtime_global_abi::{self as abi, Field, Header, Slot, Status, ValueType};

const SPEC: &str = include_str!("../../spec/ABI.md");
const CONFORMANCE: &str = include_str!("../../spec/CONFORMANCE.md");

/// The body rows of the table of `spec/ABI.md` that follows `<!-- check:{name} -->`.
fn table(name: &str) -> Vec<Vec<String>> {
    table_in(SPEC, name)
}

/// The body rows of the table of `doc` that follows `<!-- check:{name} -->`, cells trimmed and
/// with backticks removed.
fn table_in(doc: &str, name: &str) -> Vec<Vec<String>> {
    let marker = format!("<!-- check:{name} -->");
    let mut lines = doc.lines().skip_while(|l| l.trim() != marker).skip(1);
    let rows: Vec<Vec<String>> = lines
        .by_ref()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the head and the |---| line
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace('`', ""))
                .collect()
        })
        .collect();
    assert!(!rows.is_empty(), "no table after {marker}");
    rows
}

fn number(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    }
    .unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

#[test]
fn constants() {
    let rows = table("constants");
    let text = |v: &str| format!("\"{v}\"");
    let expected: Vec<(&str, String)> = vec![
        ("IMPORT_MODULE", text(abi::IMPORT_MODULE)),
        ("IMPORT_MODULE_V2", text(abi::IMPORT_MODULE_V2)),
        ("DECLARE_IMPORT", text(abi::DECLARE_IMPORT)),
        ("DECLARE_RANGE_IMPORT", text(abi::DECLARE_RANGE_IMPORT)),
        ("MEMORY_EXPORT", text(abi::MEMORY_EXPORT)),
        ("MAGIC", abi::MAGIC.to_string()),
        ("VERSION", abi::VERSION.to_string()),
        ("VERSION_2", abi::VERSION_2.to_string()),
        ("TABLE_ALIGN", abi::TABLE_ALIGN.to_string()),
        ("HEADER_SIZE", abi::HEADER_SIZE.to_string()),
        ("SLOT_SIZE", abi::SLOT_SIZE.to_string()),
        ("MAX_CAPACITY", abi::MAX_CAPACITY.to_string()),
        ("MAX_NAME_LEN", abi::MAX_NAME_LEN.to_string()),
        ("FNV_OFFSET_BASIS", abi::FNV_OFFSET_BASIS.to_string()),
        ("FNV_PRIME", abi::FNV_PRIME.to_string()),
    ];
    let found: Vec<(&str, String)> = rows
        .iter()
        .map(|r| {
            let value = if r[1].starts_with('"') {
                r[1].clone()
            } else {
                number(&r[1]).to_string()
            };
            (r[0].as_str(), value)
        })
        .collect();
    assert_eq!(found, expected);
    assert_eq!(
        abi::IMPORTS,
        &[abi::DECLARE_IMPORT, abi::DECLARE_RANGE_IMPORT],
        "the spec lists two imports of version 3"
    );
    assert_eq!(abi::IMPORTS_V2, &[abi::DECLARE_IMPORT]);
    assert_eq!(&abi::MAGIC.to_le_bytes(), b"WGTB");
}

/// The imports table gives each import's wasm signature; the host's linker defines exactly those.
#[test]
fn imports() -> wasmtime::Result<()> {
    let rows = table("imports");
    let engine = wasmtime::Engine::default();
    let mut linker: wasmtime::Linker<wasmtime_global::GlobalsCtx> = wasmtime::Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx| ctx)?;
    let mut store = wasmtime::Store::new(
        &engine,
        wasmtime_global::GlobalsCtx::new(&Default::default()),
    );
    let items: Vec<_> = linker
        .iter(&mut store)
        .map(|(module, name, item)| (module.to_owned(), name.to_owned(), item))
        .collect();
    let mut defined = Vec::new();
    for (module, name, item) in items {
        let Some(func) = item.into_func() else {
            continue;
        };
        let ty = func.ty(&store);
        let params: Vec<String> = ty.params().map(|t| t.to_string()).collect();
        let results: Vec<String> = ty.results().map(|t| t.to_string()).collect();
        defined.push((module, name, params, results));
    }
    defined.sort();
    let documented: Vec<(String, String, Vec<String>, Vec<String>)> = rows
        .iter()
        .map(|r| {
            // `(table: i32, slot_index: i32) -> i32`
            let (params, result) = r[2].split_once(" -> ").expect("(params) -> result");
            let params = params
                .trim_matches(|c| c == '(' || c == ')')
                .split(", ")
                .map(|p| p.split_once(": ").expect("name: type").1.to_owned())
                .collect();
            (r[0].clone(), r[1].clone(), params, vec![result.to_owned()])
        })
        .collect();
    assert_eq!(defined, documented, "sorted by module, then name");
    let of = |module: &str| -> Vec<String> {
        let names = documented.iter().filter(|d| d.0 == module);
        names.map(|d| d.1.clone()).collect()
    };
    assert_eq!(abi::IMPORTS, of(abi::IMPORT_MODULE).as_slice());
    assert_eq!(abi::IMPORTS_V2, of(abi::IMPORT_MODULE_V2).as_slice());
    Ok(())
}

fn check_layout(name: &str, fields: &[Field], size: usize) {
    let rows = table(name);
    assert_eq!(rows.len(), fields.len(), "{name}: one row per field");
    for (row, field) in rows.iter().zip(fields) {
        assert_eq!(row[0], field.name, "{name}: field order");
        assert_eq!(
            number(&row[1]) as usize,
            field.offset,
            "{name}.{}: offset",
            field.name
        );
        assert_eq!(
            number(&row[2]) as usize,
            field.size,
            "{name}.{}: size",
            field.name
        );
        let (align, unit) = match row[4].as_str() {
            "u32" => (4, 4),
            t if t.starts_with("u64") => (8, 8),
            t => panic!("{name}.{}: unknown type {t}", field.name),
        };
        let count = row[4]
            .strip_prefix("u64[")
            .map_or(1, |n| number(n.trim_end_matches(']')) as usize);
        assert_eq!(number(&row[3]), align, "{name}.{}: align", field.name);
        assert_eq!(
            unit * count,
            field.size,
            "{name}.{}: type and size",
            field.name
        );
        assert_eq!(
            field.offset % align as usize,
            0,
            "{name}.{}: aligned",
            field.name
        );
    }
    let last = fields.last().expect("fields");
    assert_eq!(
        last.offset + last.size,
        size,
        "{name}: fields cover the struct"
    );
}

#[test]
fn header_layout() {
    check_layout("header", Header::FIELDS, std::mem::size_of::<Header>());
    assert_eq!(std::mem::size_of::<Header>(), abi::HEADER_SIZE as usize);
}

#[test]
fn slot_layout() {
    check_layout("slot", Slot::FIELDS, std::mem::size_of::<Slot>());
    assert_eq!(std::mem::size_of::<Slot>(), abi::SLOT_SIZE as usize);
}

/// `N / NAME` cells of an enumeration table.
fn enumeration(name: &str) -> Vec<(u64, String)> {
    table(name)
        .iter()
        .map(|r| {
            let (n, label) = r[0].split_once(" / ").expect("N / NAME");
            (number(n), label.to_owned())
        })
        .collect()
}

#[test]
fn value_types() {
    let expected: Vec<_> = ValueType::ALL
        .iter()
        .map(|t| (t.tag() as u64, t.name().to_owned()))
        .collect();
    assert_eq!(enumeration("types"), expected);
    assert_eq!(ValueType::from_tag(0), None);
    assert_eq!(ValueType::from_tag(6), None);
}

#[test]
fn status_codes() {
    let expected: Vec<_> = Status::ALL
        .iter()
        .map(|s| (s.code() as u64, s.name().to_owned()))
        .collect();
    assert_eq!(enumeration("status"), expected);
    assert_eq!(Status::from_code(2), None);
}

/// §7.6: one row per identifier, in the crate's order (§7.3's); each the lower-case, dashed
/// name of its `ErrorId` (and so of the host's `Error` variant); only `type-mismatch` a status.
#[test]
fn error_identifiers() {
    let rows = table("error-ids");
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let expected: Vec<&str> = abi::ErrorId::ALL.iter().map(|id| id.as_str()).collect();
    assert_eq!(ids, expected);
    for (row, id) in rows.iter().zip(abi::ErrorId::ALL) {
        let camel: String = id
            .as_str()
            .split('-')
            .map(|word| word[..1].to_uppercase() + &word[1..])
            .collect();
        assert_eq!(camel, format!("{id:?}"));
        let kind = if id == abi::ErrorId::TypeMismatch {
            "status"
        } else {
            "trap"
        };
        assert_eq!(row[1], kind, "{id}");
    }
}

#[test]
fn hash_vectors() {
    let rows = table("hashes");
    assert!(rows.len() >= 10);
    for row in rows {
        let quoted = row[0].split('"').nth(1).expect("a quoted name");
        assert_eq!(
            abi::fnv1a64(quoted.as_bytes()),
            number(&row[1]),
            "hash of {quoted:?}"
        );
    }
}

/// The hash as a reader of the spec would write it, independently of the abi crate.
#[test]
fn hash_matches_an_independent_implementation() {
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    }
    for input in [
        &b""[..],
        b"a",
        b"TEST_BOOL",
        &[0xff; 255],
        "ünï ✓".as_bytes(),
    ] {
        assert_eq!(abi::fnv1a64(input), fnv(input));
    }
}

#[test]
fn conformance_profile() {
    use wasmtime_global_conformance::profile::{GLOBALS, LONG_NAME};
    let rows = table_in(CONFORMANCE, "profile");
    assert_eq!(rows.len(), GLOBALS.len());
    for (row, g) in rows.iter().zip(&GLOBALS) {
        assert_eq!(number(&row[0]), u64::from(g.index), "{row:?}");
        let name = if row[1] == "NNN…N (255 bytes)" {
            LONG_NAME
        } else {
            row[1].as_str()
        };
        assert_eq!(name, g.name, "{row:?}");
        assert_eq!(row[2], g.ty.name(), "{row:?}");
        assert_eq!(number(&row[3]), g.default, "{row:?}");
    }
}

#[test]
fn conformance_checks() {
    let rows = table_in(CONFORMANCE, "checks");
    let documented: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let run: Vec<&str> = wasmtime_global_conformance::CHECKS
        .iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(documented, run);
}

fn spec_json(file: &str) -> serde_json::Value {
    let path = format!("{}/../spec/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// `spec/conformance/profile.json` is the profile the runner declares and CONFORMANCE.md §2.1
/// lists.
#[test]
fn conformance_profile_data() {
    use wasmtime_global_conformance::profile::{FILL_DEFAULT, FILL_NAME, GLOBALS};
    let profile = spec_json("conformance/profile.json");
    let globals = profile["globals"].as_array().unwrap();
    assert_eq!(globals.len(), GLOBALS.len());
    for (json, g) in globals.iter().zip(&GLOBALS) {
        assert_eq!(json["number"], g.index, "{json}");
        assert_eq!(json["name"], g.name, "{json}");
        assert_eq!(json["type"], g.ty.name(), "{json}");
        assert_eq!(json["default"], format!("{:#018x}", g.default), "{json}");
    }
    assert_eq!(profile["fill"]["name"], FILL_NAME);
    assert_eq!(profile["fill"]["default"], format!("{FILL_DEFAULT:#018x}"));
}

/// The ops of CONFORMANCE.md §5 are the schema's, and the data uses each of them and no other.
#[test]
fn conformance_ops() {
    let documented: Vec<String> = table_in(CONFORMANCE, "ops")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let schema = spec_json("conformance/checks.schema.json");
    let in_schema: Vec<String> = schema["$defs"]["step"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["properties"]["op"]["const"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(documented, in_schema);
    let mut used = std::collections::BTreeSet::new();
    for check in spec_json("conformance/checks.json")["checks"]
        .as_array()
        .unwrap()
    {
        for step in check["steps"].as_array().into_iter().flatten() {
            used.insert(step["op"].as_str().unwrap().to_owned());
        }
    }
    let documented: std::collections::BTreeSet<String> = documented.into_iter().collect();
    assert_eq!(used, documented);
}

/// `spec/` reads alone: every relative link of its Markdown files resolves to a file inside it.
#[test]
fn spec_links_stay_inside_spec() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for link in text.split("](").skip(1) {
            let target = link.split([')', '#']).next().unwrap();
            if target.is_empty() || target.contains("://") {
                continue;
            }
            assert!(
                !target.starts_with("..") && root.join(target).exists(),
                "{}: the link {target:?} leaves spec/ or names nothing",
                path.display()
            );
        }
    }
}
