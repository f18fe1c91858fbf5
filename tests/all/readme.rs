//! Every code block of the README is compiled or run here, or by the test named for it in
//! [`BLOCKS`]: a README example that no longer builds fails the tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_global::{Globals, GlobalsCtx, ModuleGlobals, Value, ValueType};
use wasmtime_global_test_artifacts::guest_build::HOST_BUILD_VARS;
use wasmtime_global_tests::readme::{self, Block};

const README: &str = include_str!("../../README.md");

/// What checks each block, in README order: its language, a line it contains, and the check.
const BLOCKS: &[(&str, &str, &str)] = &[
    (
        "sh",
        "--example demo",
        ".ci/run runs it verbatim (the_two_commands_are_what_ci_runs)",
    ),
    (
        "sh",
        "cargo test --locked --workspace",
        ".ci/run runs it verbatim (the_two_commands_are_what_ci_runs)",
    ),
    (
        "rust",
        "Module::from_file(&engine, \"guest.wasm\")",
        "compiled: embedders",
    ),
    (
        "rust",
        "globals.define(\"MAX_ITEMS\"",
        "run: untrusted_guests",
    ),
    ("rust", "instantiate_async", "run: async_embedders"),
    (
        "rust",
        "fn main() {",
        "built for wasm32-wasip1 and wasm32-wasip2 and run: the_command_builds_both_ways",
    ),
    ("rust", "instantiate_pre", "run: one_instance_per_request"),
    ("rust", "WatchedFile::start", "compiled: sources"),
    (
        "sh",
        "-- run --globals globals.toml",
        "run: cli/tests/run.rs the_readme_run_command_runs",
    ),
    ("rust", "globals.snapshot()", "run: snapshot"),
    (
        "text",
        "$ wasmtime-global inspect",
        "run: cli/tests/cli.rs the_readme_inspect_output_is_what_inspect_prints",
    ),
    (
        "rust",
        "#![no_std]",
        "built for wasm32 and run: the_rust_guest_builds_and_runs",
    ),
    (
        "go",
        "global.NewBool",
        "built and run: go.rs the_readme_go_example_builds_and_declares_its_three_globals",
    ),
    (
        "sh",
        "go build -buildmode=c-shared",
        "run: go.rs the_readme_go_example_builds_and_declares_its_three_globals",
    ),
    (
        "text",
        "replace github.com/wasmtime-global/wasmtime-global/guest/go",
        "the module and its require line are those of test-programs/go/go.mod: the_readme_go_mod_lines_are_the_repositorys",
    ),
    (
        "c",
        "#define WASMTIME_GLOBAL_IMPLEMENTATION",
        "compiled and run: conformance.rs the_readme_c_example_builds_and_declares_its_three_globals",
    ),
    (
        "sh",
        "clang --target=wasm32-unknown-unknown",
        "run: conformance.rs the_readme_c_example_builds_and_declares_its_three_globals",
    ),
];

#[test]
fn every_block_is_checked() {
    let blocks = readme::blocks(README);
    let found: Vec<(&str, usize)> = blocks.iter().map(|b| (b.lang.as_str(), b.line)).collect();
    assert_eq!(
        blocks.len(),
        BLOCKS.len(),
        "the README's blocks {found:?} and the checks in BLOCKS differ: add or remove a check"
    );
    for (block, (lang, contains, check)) in blocks.iter().zip(BLOCKS) {
        assert_eq!(
            (block.lang.as_str(), block.code.contains(contains)),
            (*lang, true),
            "README line {}: expected the {lang} block with {contains:?}, checked by {check}",
            block.line
        );
    }
}

fn block(contains: &str) -> Block {
    let mut found = readme::blocks(README)
        .into_iter()
        .filter(|b| b.code.contains(contains));
    let block = found.next().expect("the README has the block");
    assert!(found.next().is_none(), "one block contains {contains:?}");
    block
}

#[test]
fn the_two_commands_are_what_ci_runs() {
    let ci =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/run")).unwrap();
    // In the README's order, as a newcomer runs them: the demo's build builds its guest alone,
    // and the tests' build after it still builds every guest (issue 24, item 7).
    let mut previous = 0;
    for contains in ["--example demo", "cargo test --locked --workspace"] {
        let command = block(contains).code;
        let command = command.trim_end();
        assert_eq!(command.lines().count(), 1, "{command}");
        let at = ci.lines().position(|line| line == command);
        let at = at.unwrap_or_else(|| {
            panic!(".ci/run does not run the README's command verbatim: {command}")
        });
        assert!(
            at > previous,
            ".ci/run runs {command:?} out of the README's order"
        );
        previous = at;
    }
}

/// The guest the crate docs use: `max_items()` reads MAX_ITEMS (U64, default 10).
const MAX_ITEMS: &str = include_str!("../../host/src/doc/max_items.wat");

/// The first block: compiled, not run (it loads `guest.wasm` from the working directory).
#[allow(dead_code, unused_variables)]
fn embedders() -> wasmtime::Result<()> {
    include!(concat!(env!("OUT_DIR"), "/readme/rust_0.rs"));
    Ok(())
}

#[test]
#[allow(unused_mut)]
fn untrusted_guests() -> wasmtime::Result<()> {
    struct Host {
        globals: GlobalsCtx,
    }
    let engine = Engine::default();
    let globals = Globals::new();
    include!(concat!(env!("OUT_DIR"), "/readme/rust_1.rs"));
    assert_eq!(
        globals.definition("MAX_ITEMS").map(|d| (d.ty, d.default)),
        Some((ValueType::U64, Some(Value::U64(100))))
    );
    Ok(())
}

fn max_items_linker(engine: &Engine) -> wasmtime::Result<(Linker<GlobalsCtx>, Module)> {
    let mut linker = Linker::new(engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    Ok((linker, Module::new(engine, MAX_ITEMS)?))
}

#[test]
fn async_embedders() -> wasmtime::Result<()> {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let globals = Globals::new();
    globals.set_u64("MAX_ITEMS", 3)?;
    let (linker, module) = max_items_linker(&engine)?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        include!(concat!(env!("OUT_DIR"), "/readme/rust_2.rs"));
        Ok::<(), wasmtime::Error>(())
    })?;
    // The store went with the block; its one declaration was counted as it went.
    assert_eq!(globals.snapshot().counters.declarations, 1);
    Ok(())
}

#[test]
#[allow(unused_variables)]
fn one_instance_per_request() -> wasmtime::Result<()> {
    let engine = Engine::default();
    let globals = Globals::new();
    let (linker, module) = max_items_linker(&engine)?;
    let requests = 0..3;
    include!(concat!(env!("OUT_DIR"), "/readme/rust_3.rs"));
    // Each request's store went with its declarations.
    assert_eq!(globals.snapshot().names.len(), 0);
    Ok(())
}

/// The sources block: compiled, not run (it watches `globals.toml` in the working directory and
/// connects to an etcd at 10.0.0.1).
#[allow(dead_code, unused_variables)]
fn sources() -> Result<(), Box<dyn std::error::Error>> {
    include!(concat!(env!("OUT_DIR"), "/readme/rust_4.rs"));
    Ok(())
}

#[test]
fn snapshot() -> wasmtime::Result<()> {
    let globals = Globals::new();
    globals.set_u64("MAX_ITEMS", 5)?;
    include!(concat!(env!("OUT_DIR"), "/readme/rust_5.rs"));
    Ok(())
}

/// Builds the README's Rust guest as a `cdylib` crate of its own (the SDK by path, offline, as
/// a guest author would), for wasm32-unknown-unknown; returns the module's path.
fn build_readme_guest() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-guest");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"readme-guest\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n\
         wasmtime-global-guest = {{ path = {:?} }}\n\n[workspace]\n\n\
         [profile.release]\npanic = \"abort\"\n",
        root.join("guest")
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/lib.rs"), block("#![no_std]").code).unwrap();
    // The workspace's guests' lock: the same versions, all in the local cache.
    std::fs::copy(
        root.join("test-programs/Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for var in HOST_BUILD_VARS {
        cargo.env_remove(var);
    }
    let output = cargo
        .args([
            "build",
            "--offline",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .current_dir(&dir)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "the README's guest does not build:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    dir.join("target/wasm32-unknown-unknown/release/readme_guest.wasm")
}

#[test]
fn the_rust_guest_builds_and_runs() -> wasmtime::Result<()> {
    let wasm = build_readme_guest();
    let engine = Engine::default();
    let (linker, _) = max_items_linker(&engine)?;
    let globals = Globals::new();
    let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
    let instance = linker.instantiate(&mut store, &Module::from_file(&engine, &wasm)?)?;
    let test = instance.get_typed_func::<(), ()>(&mut store, "test")?;
    test.call(&mut store, ())?;
    let declared: Vec<(String, ValueType, Value)> = store
        .data()
        .declarations()
        .into_iter()
        .map(|d| (d.name, d.ty, d.default))
        .collect();
    assert_eq!(
        declared,
        [
            ("TEST_BOOL".into(), ValueType::Bool, Value::Bool(true)),
            ("TEST_UINT64".into(), ValueType::U64, Value::U64(42)),
            (
                "TEST_DURATION".into(),
                ValueType::Duration,
                Value::Duration(60_000_000_000)
            ),
        ]
    );
    Ok(())
}

/// The README's `go.mod` lines for a Go guest name the SDK's module as `guest/go/go.mod` does,
/// and require it as `test-programs/go/go.mod` (the repository's own Go guests) does.
#[test]
fn the_readme_go_mod_lines_are_the_repositorys() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let sdk = std::fs::read_to_string(root.join("guest/go/go.mod")).unwrap();
    let guests = std::fs::read_to_string(root.join("test-programs/go/go.mod")).unwrap();
    let module = sdk.lines().next().unwrap().strip_prefix("module ").unwrap();
    let block = readme::blocks(README)
        .into_iter()
        .find(|b| b.lang == "text" && b.code.contains("replace "))
        .unwrap();
    let mut lines = block.code.lines();
    let require = lines.next().unwrap();
    assert_eq!(require, format!("require {module} v0.0.0"));
    assert!(
        guests.lines().any(|l| l == require),
        "{require:?} is not in test-programs/go/go.mod"
    );
    let replace = lines.next().unwrap();
    assert!(
        replace.starts_with(&format!("replace {module} => ")),
        "{replace}"
    );
}

/// The README's WASI command, built as a crate of its own (the SDK by path, offline) for
/// wasm32-wasip1 (a core module) and wasm32-wasip2 (a component), each run under the library:
/// both print the registry's values, then their defaults.
#[test]
#[cfg_attr(
    component_skipped,
    ignore = "the WASI guests were not built (rustup target add wasm32-wasip2)"
)]
fn the_command_builds_both_ways() -> wasmtime::Result<()> {
    if let Some(why) = wasmtime_global_test_artifacts::guests::COMPONENT_SKIPPED {
        panic!("the WASI guests were not built: {why}");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-command");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"app\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
         [dependencies]\nwasmtime-global-guest = {{ path = {:?} }}\n\n[workspace]\n",
        root.join("guest")
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/main.rs"), block("fn main() {").code).unwrap();
    // The workspace's guests' lock: the same versions, all in the local cache.
    std::fs::copy(
        root.join("test-programs/Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    let mut built = Vec::new();
    for target in ["wasm32-wasip1", "wasm32-wasip2"] {
        let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        for var in HOST_BUILD_VARS {
            cargo.env_remove(var);
        }
        let output = cargo
            .args(["build", "--offline", "--release", "--target", target])
            .current_dir(&dir)
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "the README's command does not build for {target}:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        built.push(dir.join("target").join(target).join("release/app.wasm"));
    }
    let globals = Globals::new();
    globals.set_u64("MAX_ITEMS", 25)?;
    for (wasm, component) in built.iter().zip([false, true]) {
        let out = crate::components::run_command_at(&globals, wasm, component)?;
        assert_eq!(out, "MAX_ITEMS=25 BURST=2\n", "component: {component}");
    }
    globals.del("MAX_ITEMS")?;
    for (wasm, component) in built.iter().zip([false, true]) {
        let out = crate::components::run_command_at(&globals, wasm, component)?;
        assert_eq!(out, "MAX_ITEMS=10 BURST=2\n", "component: {component}");
    }
    Ok(())
}
