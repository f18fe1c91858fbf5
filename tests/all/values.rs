//! `spec/VALUES.md`: every table is checked against `wasmtime-global-sources`.

use wasmtime_global::{Int, Value, ValueType};
use wasmtime_global_sources::{Literal, SyntaxError};

const SPEC: &str = include_str!("../../spec/VALUES.md");

/// The rows of the table after `<!-- check:NAME -->`, as cells, header and rule left out.
fn table(name: &str) -> Vec<Vec<String>> {
    let marker = format!("<!-- check:{name} -->");
    let start = SPEC
        .find(&marker)
        .unwrap_or_else(|| panic!("no table {name}"))
        + marker.len();
    let rows: Vec<Vec<String>> = SPEC[start..]
        .trim_start()
        .lines()
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .skip(2)
        .collect();
    assert!(rows.len() >= 5, "table {name} has {} rows", rows.len());
    rows
}

/// The text between the first two backticks of a cell, with `\n` for a newline.
fn code(cell: &str) -> String {
    let inner = cell
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no code in {cell:?}"));
    inner.replace("\\n", "\n")
}

#[test]
fn every_parse_example_gives_its_literal() {
    for row in table("parse") {
        let text = code(&row[0]);
        let (kind, number) = row[1].split_once(' ').unwrap();
        let expected = match kind {
            "bool" => Literal::Bool(number.parse().unwrap()),
            "integer" => Literal::Int(Int::new(number.parse().unwrap()).unwrap()),
            "float" => Literal::Float(number.parse().unwrap()),
            "duration" => Literal::Duration(number.parse().unwrap()),
            other => panic!("unknown literal kind {other}"),
        };
        assert_eq!(Literal::parse(&text), Ok(expected), "{text:?}");
    }
}

#[test]
fn every_refused_example_is_refused_for_its_reason() {
    for row in table("refused") {
        let text = code(&row[0]);
        let error = Literal::parse(&text).unwrap_err();
        let reason = match error {
            SyntaxError::Empty => "empty",
            SyntaxError::Unrecognised { .. } => "unrecognised",
            SyntaxError::IntegerOutOfRange { .. } => "integer out of range",
            SyntaxError::DurationOutOfRange { .. } => "duration out of range",
            other => panic!("{other:?}"),
        };
        assert_eq!(reason, row[1], "{text:?}");
    }
}

/// An integer literal of `i`.
fn int(i: i128) -> Literal {
    Literal::Int(Int::new(i).expect("in range"))
}

#[test]
fn the_typing_table_is_what_sources_do() {
    const EXACT: i128 = 1 << 53;
    let columns = [
        Some(ValueType::Bool),
        Some(ValueType::U64),
        Some(ValueType::I64),
        Some(ValueType::F64),
        Some(ValueType::Duration),
    ];
    let rows = table("types");
    assert_eq!(rows.len(), 6);
    for row in rows {
        let samples: Vec<Literal> = match row[0].as_str() {
            "bool b" => vec![Literal::Bool(true), Literal::Bool(false)],
            "integer 0 to 2^63-1" => [0, 5, EXACT, EXACT + 1, i64::MAX.into()].map(int).to_vec(),
            "integer 2^63 to 2^64-1" => [1 << 63, u64::MAX.into()].map(int).to_vec(),
            "negative integer" => [-5, -EXACT, -EXACT - 1, i64::MIN.into()].map(int).to_vec(),
            "float" => vec![Literal::Float(0.5), Literal::Float(-0.0)],
            "duration" => vec![Literal::Duration(1), Literal::Duration(-7)],
            other => panic!("unknown row {other}"),
        };
        for literal in &samples {
            // No type yet: kept as written (§3).
            assert_eq!(literal.value(None), Ok(Value::Literal(*literal)));
        }
        for (cell, ty) in row[1..].iter().zip(columns) {
            for literal in &samples {
                let int = match literal {
                    Literal::Int(i) => Some(i.get()),
                    _ => None,
                };
                let accepted = match cell.as_str() {
                    "refused" => false,
                    "F64, if at most 2^53" => int.unwrap() <= EXACT,
                    "F64, if at least -2^53" => int.unwrap() >= -EXACT,
                    "refused, but 0 is DURATION 0" => int == Some(0),
                    _ => true,
                };
                let got = literal.value(ty);
                if !accepted {
                    assert!(got.is_err(), "{literal:?} as {ty:?}: {got:?}, not {cell}");
                    continue;
                }
                let value = got.unwrap_or_else(|e| panic!("{literal:?} as {ty:?}: {e}"));
                assert!(value.same(literal.typed(ty.unwrap()).unwrap()));
                let expected_ty = match cell.split([' ', ',']).next().unwrap() {
                    "BOOL" => Some(ValueType::Bool),
                    "U64" => Some(ValueType::U64),
                    "I64" => Some(ValueType::I64),
                    "F64" => Some(ValueType::F64),
                    "DURATION" | "refused" => Some(ValueType::Duration),
                    other => panic!("unknown cell {other}"),
                };
                assert_eq!(value.ty(), expected_ty, "{literal:?} as {ty:?}: {cell}");
                let bits = match (literal, value) {
                    (Literal::Int(i), Value::F64(_)) => (i.get() as f64).to_bits(),
                    (Literal::Int(i), _) => i.get() as u64,
                    (Literal::Bool(b), _) => u64::from(*b),
                    (Literal::Float(x), _) => x.to_bits(),
                    (Literal::Duration(ns), _) => *ns as u64,
                };
                assert_eq!(value.to_bits(), bits, "{literal:?} as {ty:?}");
            }
        }
    }
}

/// Issue 22, item 2: a value from a file means the same whether the file was loaded before the
/// guest declared the name or after. Loaded first, `TEST_FLOAT64 = 1` was kept as untyped bits
/// and an `F64` guest read 5e-324; loaded after, it read 1.0. A real file and a real guest
/// (`scenario.wat`: BOOL 1, U64 42, DURATION 60 s, I64 -7, F64 1.5 as defaults).
#[test]
fn a_file_value_means_the_same_whether_the_guest_declared_its_name_first_or_not()
-> wasmtime::Result<()> {
    use wasmtime_global::Globals;
    use wasmtime_global_sources::file::WatchedFile;
    use wasmtime_global_test_support::{Guest, engine};

    const GOOD: &str = "TEST_FLOAT64 = 1\nTEST_UINT64 = 7\nTEST_INT64 = -5\nTEST_BOOL = false\n";
    let engine = engine();
    let module = wasmtime::Module::new(&engine, include_str!("wat/scenario.wat"))?;
    let mut seen = Vec::new();
    for file_first in [true, false] {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("globals.toml");
        std::fs::write(&path, GOOD)?;
        let globals = Globals::new();
        let (watch, mut guest);
        if file_first {
            watch = WatchedFile::start(&path, &globals)?;
            assert_eq!(
                globals.get("TEST_FLOAT64"),
                Some(Value::Literal(Literal::Int(1.into()))),
                "kept as written until the name has a type"
            );
            guest = Guest::new(&engine, &module, &globals)?;
            guest.init()?;
        } else {
            guest = Guest::new(&engine, &module, &globals)?;
            guest.init()?;
            watch = WatchedFile::start(&path, &globals)?;
        }
        let reads = [4, 1, 3, 0]
            .map(|i| guest.get(i).map_err(|e| e.to_string()))
            .map(Result::unwrap);
        assert_eq!(
            reads,
            [1.0f64.to_bits(), 7, -5i64 as u64, 0],
            "file first: {file_first}"
        );
        assert_eq!(
            globals.current("TEST_FLOAT64"),
            Some(Value::F64(1.0)),
            "file first: {file_first}"
        );
        assert_eq!(watch.status().failures, 0);
        seen.push(reads);
    }
    assert_eq!(seen[0], seen[1]);
    Ok(())
}

/// The other half of item 2: `TEST_DURATION = 30` is no duration (it needs a unit). Loaded after
/// the guest declared the name, the file is refused and the guest reads its default; loaded
/// before, the guest must read its default too (it read 30 ns), and the registry shows the value
/// as withheld. The same goes for a literal of the wrong kind (`true` for a `U64`): loaded first,
/// it fixed the name's type and the guest was refused at its declaration.
#[test]
fn a_file_value_that_is_none_of_the_names_type_is_withheld_whatever_the_order()
-> wasmtime::Result<()> {
    use wasmtime_global::{Error, Globals};
    use wasmtime_global_sources::file::WatchedFile;
    use wasmtime_global_test_support::{Guest, engine};

    let engine = engine();
    let module = wasmtime::Module::new(&engine, include_str!("wat/scenario.wat"))?;
    for file_first in [true, false] {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("globals.toml");
        std::fs::write(&path, "TEST_DURATION = 30\nTEST_UINT64 = true\n")?;
        let globals = Globals::new();
        let mut guest = Guest::new(&engine, &module, &globals)?;
        let watch;
        if file_first {
            watch = Some(WatchedFile::start(&path, &globals)?);
            guest.init()?;
        } else {
            guest.init()?;
            assert!(WatchedFile::start(&path, &globals).is_err());
            watch = None;
        }
        assert_eq!(
            [guest.get(2)?, guest.get(1)?],
            [60_000_000_000, 42],
            "the defaults; file first: {file_first}"
        );
        assert_eq!(globals.current("TEST_DURATION"), None);
        if let Some(watch) = watch {
            let snapshot = globals.snapshot();
            let withheld: Vec<_> = snapshot
                .names
                .iter()
                .filter_map(|n| n.withheld.map(|v| (n.name.as_str(), v)))
                .collect();
            assert_eq!(
                withheld,
                [
                    ("TEST_DURATION", Value::Literal(Literal::Int(30.into()))),
                    ("TEST_UINT64", Value::Literal(Literal::Bool(true))),
                ]
            );
            assert_eq!(watch.withheld(), ["TEST_DURATION", "TEST_UINT64"]);
            assert_eq!(
                snapshot.counters.withheld, 2,
                "one for each name the guest declared"
            );
            // While the guests live, the same literal set again is refused as a typed one is.
            assert!(matches!(
                globals.set_value("TEST_DURATION", Value::Literal(Literal::Int(31.into()))),
                Err(Error::NotOfType { ref name, .. }) if name == "TEST_DURATION"
            ));
        }
    }
    Ok(())
}

/// Issue 22, item 2, the schema: the file types its names in its `$types` table. Loaded before
/// or after the guest, `TEST_FLOAT64 = 1` typed `F64` is 1.0; typed `U64`, it fixes the name's
/// type before the guest comes (the guest, declaring `F64`, is refused and its trap says why),
/// and after the guest declared `F64` the version is refused.
#[test]
fn a_file_that_types_its_names_means_the_same_whatever_the_order() -> wasmtime::Result<()> {
    use wasmtime_global::Globals;
    use wasmtime_global_sources::file::{FileError, WatchedFile};
    use wasmtime_global_test_support::{Guest, engine};

    let engine = engine();
    let module = wasmtime::Module::new(&engine, include_str!("wat/scenario.wat"))?;
    let typed = |ty: &str| format!("TEST_FLOAT64 = 1\n[\"$types\"]\nTEST_FLOAT64 = \"{ty}\"\n");
    for file_first in [true, false] {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("globals.toml");
        std::fs::write(&path, typed("F64"))?;
        let globals = Globals::new();
        let mut guest = Guest::new(&engine, &module, &globals)?;
        let _watch;
        if file_first {
            _watch = WatchedFile::start(&path, &globals)?;
            assert_eq!(globals.get("TEST_FLOAT64"), Some(Value::F64(1.0)));
            guest.init()?;
        } else {
            guest.init()?;
            _watch = WatchedFile::start(&path, &globals)?;
        }
        assert_eq!(guest.get(4)?, 1.0f64.to_bits(), "file first: {file_first}");
    }

    // Typed U64 before the guest: the guest's F64 declaration is refused.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("globals.toml");
    std::fs::write(&path, typed("U64"))?;
    let globals = Globals::new();
    let _watch = WatchedFile::start(&path, &globals)?;
    let mut guest = Guest::new(&engine, &module, &globals)?;
    let error = guest.init().unwrap_err();
    let error = guest.store.data_mut().globals.explain(error);
    assert_eq!(
        error.to_string(),
        "declaration of \"TEST_FLOAT64\" refused (slot 4 of the table at 0x400): the guest \
         declared it F64, it is already U64 (a live declaration, or a value of that type set)"
    );

    // After the guest declared F64: the version is refused, the guest keeps its default.
    let globals = Globals::new();
    let mut guest = Guest::started(&engine, &module, &globals)?;
    assert!(matches!(
        WatchedFile::start(&path, &globals),
        Err(FileError::Registry(wasmtime_global::Error::TypeMismatch { ref name, .. }))
            if name == "TEST_FLOAT64"
    ));
    assert_eq!(guest.get(4)?, 1.5f64.to_bits(), "its default");
    Ok(())
}

/// `Value::text`, what `wasi:config` serves a component (issue 23), is value text that reads
/// back as the same value, by the spec's own parser and table.
#[test]
fn a_values_text_reads_back_as_the_value() {
    let cases = [
        (Value::Bool(true), "true"),
        (Value::Bool(false), "false"),
        (Value::U64(0), "0"),
        (Value::U64(u64::MAX), "18446744073709551615"),
        (Value::I64(-7), "-7"),
        (Value::I64(i64::MIN), "-9223372036854775808"),
        (Value::F64(0.25), "0.25"),
        (Value::F64(1.0), "1.0"),
        (Value::F64(-0.0), "-0.0"),
        (Value::F64(1e300), "1e300"),
        (Value::F64(5e-324), "5e-324"),
        (Value::F64(f64::INFINITY), "inf"),
        (Value::F64(f64::NEG_INFINITY), "-inf"),
        (Value::Duration(0), "0h"),
        (Value::Duration(90_000_000_000), "90s"),
        (Value::Duration(5_400_000_000_000), "90m"),
        (Value::Duration(1_500_000), "1500us"),
        (Value::Duration(-2_000_000_000), "-2s"),
        (Value::Duration(7), "7ns"),
        (Value::Duration(i64::MAX), "9223372036854775807ns"),
    ];
    for (value, text) in cases {
        assert_eq!(value.text(), text, "{value:?}");
        let ty: ValueType = value.ty().unwrap();
        let back = Literal::parse(text).unwrap().typed(ty).unwrap();
        assert!(
            back.same(value),
            "{text:?} read back as {back:?}, not {value:?}"
        );
    }
    let nan = Value::F64(f64::NAN).text();
    assert_eq!(nan, "nan");
    assert!(matches!(
        Literal::parse(&nan).unwrap().typed(ValueType::F64),
        Ok(Value::F64(x)) if x.is_nan()
    ));
    assert_eq!(Value::Bits(5).text(), "5");
    assert_eq!(Value::Literal(Literal::Int(30.into())).text(), "30");
}
