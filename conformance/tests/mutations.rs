//! The suite can fail: each mutation of the reference guest breaks one rule of the spec, and
//! exactly the checks of that rule fail, with a reason that names it.

use wasmtime_global_conformance::{CHECKS, Guest, Outcome, Report, run};

use wasmtime_global_conformance::REFERENCE_WAT as REFERENCE;

/// The report for the reference guest with `from` replaced by `to` (which must occur once).
fn mutated(from: &str, to: &str) -> Report {
    assert_eq!(REFERENCE.matches(from).count(), 1, "{from:?} occurs once");
    let wat = REFERENCE.replace(from, to);
    run(&Guest::new(wat.as_bytes()).expect("the mutated guest compiles"))
}

/// Checks that failed, by name.
fn failed(report: &Report) -> Vec<&'static str> {
    report
        .outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Fail(_)))
        .map(|(c, _)| c.name)
        .collect()
}

fn reason<'a>(report: &'a Report, check: &str) -> &'a str {
    match report.outcome(check) {
        Some(Outcome::Fail(why)) => why,
        other => panic!("{check}: {other:?}"),
    }
}

#[test]
fn the_reference_guest_passes_unchanged() {
    let report = run(&Guest::new(REFERENCE.as_bytes()).unwrap());
    assert!(report.passed(), "{report}");
    assert_eq!(failed(&report), Vec::<&str>::new());
}

#[test]
fn a_wrong_default_fails_declarations_defaults_and_del() {
    let report = mutated(
        "(i64.const 42)) ;; 1: conf.u64",
        "(i64.const 41)) ;; 1: conf.u64",
    );
    assert_eq!(
        failed(&report),
        ["declarations", "defaults", "del"],
        "{report}"
    );
    assert_eq!(
        reason(&report, "declarations"),
        "default of \"conf.u64\": found 41, expected 42"
    );
    assert!(!report.passed());
}

#[test]
fn reading_the_default_field_instead_of_value_fails_every_check_that_sets() {
    let report = mutated(
        "(i64.load offset=32 (local.get $slot))",
        "(i64.load offset=24 (local.get $slot))",
    );
    assert_eq!(
        failed(&report),
        [
            "set-typed",
            "set-untyped",
            "del",
            "batch",
            "edge-values",
            "set-before-declare",
            "long-name",
            "colliding-hashes",
            "define",
            "capacity",
            "memory-grow"
        ],
        "{report}"
    );
    assert_eq!(
        reason(&report, "set-typed"),
        "step 5 (read global 0 (\"conf.bool\"), after set \"conf.bool\" to Bool(false)): \
         wgc_get(0) returned 0x0000000000000001, expected 0x0000000000000000"
    );
}

#[test]
fn a_read_that_calls_the_host_fails_zero_host_calls() {
    let report = mutated(
        "(func (export \"wgc_get\") (param $g i32) (result i64)\n    (local $slot i32) (local $value i64)",
        "(func (export \"wgc_get\") (param $g i32) (result i64)\n    (local $slot i32) (local $value i64)\n    (drop (call $declare (global.get $table) (i32.const 0)))",
    );
    assert_eq!(failed(&report), ["zero-host-calls"], "{report}");
    assert_eq!(
        reason(&report, "zero-host-calls"),
        "host calls during 1000 reads: found 1000, expected 0"
    );
}

#[test]
fn a_table_of_exactly_the_profiles_ten_globals_passes() {
    // wgc_fill then declares nothing; the capacity check must not read a fill global that is
    // not there (it read global 9, conf.early, and failed).
    let report = mutated(
        "(global $capacity i32 (i32.const 16))",
        "(global $capacity i32 (i32.const 10))",
    );
    assert!(report.passed(), "{report}");
}

#[test]
fn a_version_1_declare_import_fails_exports_and_skips_the_rest() {
    // `declare` from version 1's module (through a function that drops the table), after the
    // imports; `declare_range` still from version 3's.
    let from =
        "(import \"wasmtime_global_v3\" \"declare\" (func $declare (param i32 i32) (result i32)))";
    let to =
        "(import \"wasmtime_global_v1\" \"declare\" (func $declare_v1 (param i32) (result i32)))";
    let memory = "  (memory (export \"memory\") 1)";
    assert_eq!(REFERENCE.matches(from).count(), 1);
    let wat = REFERENCE.replace(from, to).replace(
        memory,
        "  (func $declare (param i32 i32) (result i32) (call $declare_v1 (local.get 1)))\n  \
         (memory (export \"memory\") 1)",
    );
    let report = run(&Guest::new(wat.as_bytes()).expect("the mutated guest compiles"));
    assert_eq!(failed(&report), ["exports"], "{report}");
    assert_eq!(
        reason(&report, "exports"),
        "no import wasmtime_global_v3.declare: (i32, i32) -> (i32)"
    );
    assert_eq!(
        report.abi_version,
        Some(3),
        "it imports from version 3's module"
    );
}

#[test]
fn an_unknown_import_the_guest_calls_is_named_in_the_failure() {
    // An AssemblyScript-style abort hook: the failure says which import, with what arguments.
    let report = mutated(
        "  (memory (export \"memory\") 1)",
        "  (import \"env\" \"abort\" (func $abort (param i32 i32 i32 i32)))\n  \
         (memory (export \"memory\") 1)\n  \
         (start $boom)\n  \
         (func $boom (call $abort (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)))",
    );
    // Every check but `exports` (which only reads the module) and `shared-no-sync` (skipped).
    assert_eq!(failed(&report).len(), CHECKS.len() - 2, "{report}");
    let why = reason(&report, "table");
    assert!(
        why.contains(
            "the guest called env.abort[I32(1), I32(2), I32(3), I32(4)], \
             an import the runner does not provide"
        ),
        "{why}"
    );
}

#[test]
fn a_capacity_that_does_not_match_the_table_fails_table_and_capacity() {
    let report = mutated(
        "(func (export \"wgc_capacity\") (result i32) (global.get $capacity))",
        "(func (export \"wgc_capacity\") (result i32) (i32.const 17))",
    );
    assert_eq!(failed(&report), ["table", "capacity"], "{report}");
    assert_eq!(
        reason(&report, "table"),
        "header capacity vs wgc_capacity: found 16, expected 17"
    );
}

#[test]
fn a_wrong_hash_traps_at_declaration_and_fails_everything_after_exports() {
    let report = mutated("0xcbf29ce484222325", "0xcbf29ce484222324");
    let expected: Vec<&str> = CHECKS
        .iter()
        .map(|c| c.name)
        .filter(|n| !["exports", "shared-no-sync"].contains(n))
        .collect();
    assert_eq!(failed(&report), expected, "{report}");
    let why = reason(&report, "table");
    assert!(
        why.starts_with("the guest's initialisation (wgc_init) failed: hash-mismatch: "),
        "{why}"
    );
}

#[test]
fn a_boolean_read_as_raw_bits_fails_set_untyped() {
    let report = mutated(
        "(i32.eq (i32.load offset=16 (local.get $slot)) (i32.const 1))",
        "(i32.eq (i32.load offset=16 (local.get $slot)) (i32.const 99))",
    );
    assert_eq!(failed(&report), ["set-untyped"], "{report}");
}

#[test]
fn a_missing_export_fails_exports_and_skips_the_rest() {
    let report = mutated("(export \"wgc_fill\")", "(export \"wgc_fill_all\")");
    assert_eq!(failed(&report), ["exports"], "{report}");
    assert_eq!(
        reason(&report, "exports"),
        "no function wgc_fill: () -> (i32)"
    );
    for (check, outcome) in &report.outcomes[1..] {
        assert!(
            matches!(outcome, Outcome::Skip(why) if why.starts_with("not run: ")),
            "{}: {outcome:?}",
            check.name
        );
    }
}

#[test]
fn a_guest_whose_fill_stops_early_fails_capacity() {
    // Declares one global fewer than the table holds.
    let report = mutated(
        "(if (i32.ge_u (local.get $i) (global.get $capacity)) (then (return (i32.const -1))))",
        "(if (i32.ge_u (local.get $i) (i32.sub (global.get $capacity) (i32.const 1))) (then (return (i32.const -1))))",
    );
    assert_eq!(failed(&report), ["capacity"], "{report}");
    assert_eq!(
        reason(&report, "capacity"),
        "globals declared by wgc_init and wgc_fill together vs capacity: found 15, expected 16"
    );
}
