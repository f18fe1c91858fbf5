//! `spec/VALUES.md`: every table is checked against `wasmtime-global-sources`.

use wasmtime_global::{Value, ValueType};
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
            "integer" => Literal::Int(number.parse().unwrap()),
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

#[test]
fn the_typing_table_is_what_sources_do() {
    const EXACT: i128 = 1 << 53;
    let columns = [
        None,
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
            "integer 0 to 2^63-1" => [0, 5, EXACT, EXACT + 1, i64::MAX.into()]
                .map(Literal::Int)
                .to_vec(),
            "integer 2^63 to 2^64-1" => [1 << 63, u64::MAX.into()].map(Literal::Int).to_vec(),
            "negative integer" => [-5, -EXACT, -EXACT - 1, i64::MIN.into()]
                .map(Literal::Int)
                .to_vec(),
            "float" => vec![Literal::Float(0.5), Literal::Float(-0.0)],
            "duration" => vec![Literal::Duration(1), Literal::Duration(-7)],
            other => panic!("unknown row {other}"),
        };
        for (cell, ty) in row[1..].iter().zip(columns) {
            for literal in &samples {
                let int = match literal {
                    Literal::Int(i) => Some(*i),
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
                let expected_ty = match cell.split([' ', ',']).next().unwrap() {
                    "untyped" => None,
                    "BOOL" => Some(ValueType::Bool),
                    "U64" => Some(ValueType::U64),
                    "I64" => Some(ValueType::I64),
                    "F64" => Some(ValueType::F64),
                    "DURATION" | "refused" => Some(ValueType::Duration),
                    other => panic!("unknown cell {other}"),
                };
                assert_eq!(value.ty(), expected_ty, "{literal:?} as {ty:?}: {cell}");
                let bits = match (literal, value) {
                    (Literal::Int(i), Value::F64(_)) => (*i as f64).to_bits(),
                    (Literal::Int(i), _) => *i as u64,
                    (Literal::Bool(b), _) => u64::from(*b),
                    (Literal::Float(x), _) => x.to_bits(),
                    (Literal::Duration(ns), _) => *ns as u64,
                };
                assert_eq!(value.to_bits(), bits, "{literal:?} as {ty:?}");
            }
        }
    }
}
