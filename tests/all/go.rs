//! The Go SDK (`guest/go/`): its own `go vet` and `go test`, wazero-global's test module ported to
//! it and driven as wazero-global's host test drives it, and which loads keep a Go loop honest
//! (spec/ABI.md §10.1). The conformance suite runs its conformance guest (`conformance.rs`).
//! Each test is ignored, with its reason, where Go was missing at build time (`cfg(go_skipped)`,
//! set by `tests/build.rs` from what `test-artifacts/build.rs` could not build); `.ci/run` requires Go.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Config, Engine, Instance, Linker, Module, Store};
use wasmtime_global::{Globals, GlobalsCtx};
use wasmtime_global_test_artifacts::guests;
use wasmtime_wasi::p1::WasiP1Ctx;

/// Fails if the Go guests are missing: a test that runs was not ignored (`cfg(go_skipped)`, where
/// the build found no Go), so they were built.
fn require_go() {
    assert!(
        !guests::GO_BIN.is_empty(),
        "the Go guests were not built: {}",
        guests::GO_SKIPPED.unwrap_or("Go was not found")
    );
}

struct Host {
    globals: GlobalsCtx,
    wasi: WasiP1Ctx,
}

/// A Go reactor with WASI preview 1 (nothing inherited) and the wasmtime-global import, after
/// its `_initialize` (which runs the packages' initializers; a reactor never runs `main`).
fn reactor(
    engine: &Engine,
    path: &str,
    globals: &Globals,
    more: impl FnOnce(&mut Linker<Host>) -> wasmtime::Result<()>,
) -> wasmtime::Result<(Store<Host>, Instance)> {
    let mut linker: Linker<Host> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h: &mut Host| &mut h.wasi)?;
    wasmtime_global::add_to_linker(&mut linker, |h: &mut Host| &mut h.globals)?;
    more(&mut linker)?;
    let host = Host {
        globals: GlobalsCtx::new(globals),
        wasi: wasmtime_wasi::WasiCtxBuilder::new().build_p1(),
    };
    let mut store = Store::new(engine, host);
    // On an engine with epoch interruption, the deadline comes from the test, not from here.
    store.set_epoch_deadline(1_000_000);
    let instance = linker.instantiate(&mut store, &Module::from_file(engine, path)?)?;
    instance
        .get_typed_func::<(), ()>(&mut store, "_initialize")?
        .call(&mut store, ())?;
    Ok((store, instance))
}

fn call<R: wasmtime::WasmResults>(
    store: &mut Store<Host>,
    instance: &Instance,
    name: &str,
) -> wasmtime::Result<R> {
    wasmtime_global::sync(&mut *store, |h| &mut h.globals)?;
    instance
        .get_typed_func::<(), R>(&mut *store, name)?
        .call(store, ())
}

#[test]
#[cfg_attr(
    go_skipped,
    ignore = "Go was not found when the tests were built; the README test command installs it in .venv-tools"
)]
fn the_go_sdk_and_guests_pass_go_vet_and_go_test() {
    require_go();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let runs: [(&str, &[&str], Option<&str>); 4] = [
        ("guest/go", &["vet", "./..."], None),
        ("guest/go", &["vet", "./..."], Some("wasip1")),
        ("guest/go", &["test", "-count=1", "./..."], None),
        ("test-programs/go", &["vet", "./..."], Some("wasip1")),
    ];
    for (dir, args, goos) in runs {
        let mut cmd = Command::new(guests::GO_BIN);
        cmd.args(args)
            .current_dir(root.join(dir))
            .env("GOFLAGS", "-mod=mod")
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("CGO_ENABLED", "0");
        if let Some(goos) = goos {
            cmd.env("GOOS", goos).env("GOARCH", "wasm");
        }
        let output = cmd.output().expect("go runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        println!("{dir}: go {} (GOOS={goos:?}):\n{text}", args.join(" "));
        assert!(
            output.status.success(),
            "{dir}: go {args:?} failed:\n{text}"
        );
    }
}

/// wazero-global's host test, on wasmtime-global: the guest reads its defaults, then what the
/// host sets (untyped, as wazero-global's `Set` takes a uint64), then its defaults again after
/// `Del`.
#[test]
#[cfg_attr(
    go_skipped,
    ignore = "Go was not found when the tests were built; the README test command installs it in .venv-tools"
)]
fn the_seed_test_module_reads_defaults_overrides_and_defaults_again() -> wasmtime::Result<()> {
    require_go();
    // The README gives its size, and what of it a Go reactor alone is: the bound catches the SDK
    // pulling in a large package (`fmt`, say).
    let size = std::fs::metadata(guests::GO_SEED)?.len();
    println!("the seed guest: {size} bytes");
    assert!(size < 2_300_000, "the seed guest grew to {size} bytes");
    let engine = Engine::default();
    let globals = Globals::new();
    let (mut store, guest) = reactor(&engine, guests::GO_SEED, &globals, |_| Ok(()))?;
    assert_eq!(store.data().globals.declarations().len(), 3);
    assert_eq!(call::<i32>(&mut store, &guest, "testErr")?, 0);
    assert_eq!(call::<i32>(&mut store, &guest, "testGet")?, 1);

    globals.set("TEST_BOOL", 0)?;
    globals.set("TEST_UINT64", 43)?;
    globals.set("TEST_DURATION", Duration::from_secs(1).as_nanos() as u64)?;
    assert_eq!(call::<i32>(&mut store, &guest, "testOverride")?, 1);
    assert_eq!(call::<i32>(&mut store, &guest, "testBool")?, 0);
    assert_eq!(call::<i64>(&mut store, &guest, "testUint64")?, 43);
    assert_eq!(
        call::<i64>(&mut store, &guest, "testDuration")?,
        1_000_000_000
    );

    for name in ["TEST_BOOL", "TEST_UINT64", "TEST_DURATION"] {
        globals.del(name)?;
    }
    assert_eq!(call::<i32>(&mut store, &guest, "testGet")?, 1);
    assert_eq!(
        call::<i64>(&mut store, &guest, "testDuration")?,
        60_000_000_000
    );
    Ok(())
}

/// The read rule (spec/ABI.md §10.1) in Go: a loop that reads a global through the SDK (a
/// Global's inlined load, and a reader function) sees a value that `sync_on_epoch` writes while
/// the loop runs, so the Go compiler does not keep the plain load out of the loop.
#[test]
#[cfg_attr(
    go_skipped,
    ignore = "Go was not found when the tests were built; the README test command installs it in .venv-tools"
)]
fn a_go_loop_sees_a_change_synced_while_it_runs() -> wasmtime::Result<()> {
    require_go();
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let globals = Globals::new();
    let get = |_: i32| -> i64 { 42 };
    let (mut store, guest) = reactor(&engine, guests::GO_BENCH, &globals, |linker| {
        linker.func_wrap("bench", "get_by_index", get)?;
        Ok(())
    })?;
    wasmtime_global::sync_on_epoch(&mut store, |h: &mut Host| &mut h.globals, 1)?;
    let ticking = Arc::new(AtomicBool::new(true));
    let ticker = {
        let (engine, ticking) = (engine.clone(), Arc::clone(&ticking));
        std::thread::spawn(move || {
            while ticking.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
                engine.increment_epoch();
            }
        })
    };
    let limit = 2_000_000_000;
    for export in ["spin_sdk", "spin_sdk_func"] {
        globals.del("PROBE")?;
        wasmtime_global::sync(&mut store, |h: &mut Host| &mut h.globals)?;
        let setter = {
            let globals = globals.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                globals.set_u64("PROBE", 1)
            })
        };
        let spin = guest.get_typed_func::<i32, i32>(&mut store, export)?;
        let reads = spin.call(&mut store, limit)?;
        setter.join().expect("the setter")?;
        println!("{export}: saw the change after {reads} reads");
        assert!(reads < limit, "{export} never saw the change");
    }
    ticking.store(false, Ordering::Relaxed);
    ticker.join().expect("the ticker");
    Ok(())
}

/// The README's Go example builds with the README's command and declares what it says.
#[test]
#[cfg_attr(
    go_skipped,
    ignore = "Go was not found when the tests were built; the README test command installs it in .venv-tools"
)]
fn the_readme_go_example_builds_and_declares_its_three_globals() -> wasmtime::Result<()> {
    require_go();
    let readme = include_str!("../../README.md");
    let example = readme
        .split("## Quick start: guest authors (Go)")
        .nth(1)
        .expect("the README has a Go quick start");
    let source = example
        .split("```go\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a go block");
    let command = example
        .split("```sh\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a sh block")
        .trim();
    assert_eq!(
        command,
        "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o guest.wasm ."
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-go");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("main.go"), source)?;
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest/go");
    std::fs::write(
        dir.join("go.mod"),
        format!(
            "module readme\n\ngo 1.24\n\nrequire github.com/wasmtime-global/wasmtime-global/guest/go v0.0.0\n\n\
             replace github.com/wasmtime-global/wasmtime-global/guest/go => {}\n",
            sdk.canonicalize()?.display()
        ),
    )?;
    let mut words = command.split_whitespace();
    let mut cmd = Command::new(guests::GO_BIN);
    for word in words.by_ref() {
        match word.split_once('=') {
            Some((var, value)) => {
                cmd.env(var, value);
            }
            None => break, // `go`
        }
    }
    let output = cmd
        .args(words)
        .current_dir(&dir)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .output()?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let engine = Engine::default();
    let globals = Globals::new();
    let wasm = dir.join("guest.wasm");
    let (mut store, guest) = reactor(&engine, wasm.to_str().expect("UTF-8"), &globals, |_| Ok(()))?;
    let names: Vec<String> = store
        .data()
        .globals
        .declarations()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["TEST_BOOL", "TEST_UINT64", "TEST_DURATION"]);
    call::<()>(&mut store, &guest, "test")?;
    Ok(())
}
