//! `wasmtime-global`: run a WASI guest with live globals, check a guest against the ABI, or
//! list what it declares.
//!
//! ```text
//! wasmtime-global run [--globals FILE] [--etcd ENDPOINTS --prefix P] [--invoke EXPORT]
//!                     [--dir HOST[::GUEST[::readonly]]]... [--env NAME=VALUE]...
//!                     [--log FILTER] GUEST.wasm [ARGS]...
//! wasmtime-global conformance GUEST.wasm
//! wasmtime-global inspect GUEST.wasm [--call EXPORT]... [--set NAME=BITS]...
//! ```

use std::process::ExitCode;
use wasmtime_global::Globals;
use wasmtime_global_conformance::{CHECKS, Guest, inspect, run};

mod run;

const USAGE: &str = "\
usage:
  wasmtime-global --version
  wasmtime-global run [--globals FILE] [--etcd ENDPOINTS --prefix P] [--invoke EXPORT]
                      [--dir HOST[::GUEST[::readonly]]]... [--env NAME=VALUE]...
                      [--log FILTER] [--] GUEST.wasm [ARGS]...
      Runs a WASI guest, as `wasmtime run` does, with live globals: from a TOML file
      (--globals, watched: every saved version applies at once), from an etcd prefix (--etcd
      http://HOST:PORT[,...] --prefix P, watched), or both (a name in the file wins; one it
      drops falls back to etcd's). A command runs _start; a reactor runs _initialize, then
      --invoke EXPORT (no parameters; its results are printed). The guest sees changes at
      every call and, while it runs, within milliseconds (epoch ticks); a guest with a shared
      memory sees them at once. --env gives the guest an environment variable, and --dir a
      host directory (as GUEST, or under its own name), read-write as in `wasmtime run`, or
      read-only with ::readonly. The guest gets nothing else: run refuses to start if the
      globals file is reached through a directory inside a read-write --dir (its own, or that
      of a link on its path), where the guest could put a link to another host file in its
      place; grant that directory ::readonly or keep the file out of it. The globals file is
      read only as a regular file of at most 1 MiB: write it by renaming a complete new one over
      it (a version written in place that drops names is applied only once it has been the same
      for 50 ms). A value takes the type its name's guests declared, or the type the file gives
      it in its [\"$types\"] table (NAME = \"U64\"; BOOL, U64, I64, F64, DURATION); a duration
      needs a unit (\"30s\"). A guest refused a declaration traps, and the error names it.
      Every version of the file and every etcd
      revision applied, and every one refused (with why: the last good values stay), is logged
      to stderr; --log FILTER (else RUST_LOG, as Rust tools read it) chooses what is logged,
      by default \"warn,wasmtime_global_sources=info\"; --log off says nothing. Exits with the
      guest's exit code, 1 if it traps, 2 if it cannot start. A component (WASI preview 2;
      told from a module by its header) runs with the project's interface
      (wasmtime-global:globals) and wasi:config/store: a command's wasi:cli run, or --invoke
      EXPORT; its reads are host calls that see each change at once.
  wasmtime-global conformance GUEST.wasm
      Runs every conformance check against a guest that implements the conformance profile
      (spec/CONFORMANCE.md). Prints PASS, FAIL (with the reason) or SKIP per check; exits 1 if
      any check fails.
  wasmtime-global inspect GUEST.wasm [--call EXPORT]... [--set NAME=BITS]...
      Instantiates any guest (with WASI preview 1 if it imports it), runs _initialize or _start,
      then each --call export (of type () -> ()), and lists the globals it declared: slot, name,
      type, default and current value. --set gives a name a value (64 bits, decimal or 0x hex)
      before the guest starts.
  wasmtime-global checks
      Lists the conformance checks.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => match run::Options::parse(&args[1..]) {
            Ok(options) if options.help => {
                print!("{USAGE}");
                ExitCode::SUCCESS
            }
            Ok(options) => match log_to_stderr(options.log.as_deref()) {
                Ok(()) => run::run(&options),
                Err(e) => {
                    eprintln!("error: --log: {e}");
                    ExitCode::from(2)
                }
            },
            Err(e) => {
                eprintln!("error: {e}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("conformance") if args.len() == 2 => conformance(&args[1]),
        Some("inspect") if args.len() >= 2 => inspect_guest(&args[1], &args[2..]),
        Some("checks") => {
            for check in CHECKS {
                println!("{:<20} {}", check.name, check.about);
            }
            ExitCode::SUCCESS
        }
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("{}", version());
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `wasmtime-global 0.1.0 (globals ABI 3)`: what `--version` prints.
fn version() -> String {
    format!(
        "wasmtime-global {} (globals ABI {})",
        env!("CARGO_PKG_VERSION"),
        wasmtime_global::abi::VERSION
    )
}

/// What `run` logs unless `--log` or `RUST_LOG` says otherwise: warnings, and what the sources
/// apply (each version of the file, each etcd revision).
const DEFAULT_LOG: &str = "warn,wasmtime_global_sources=info";

/// Logs `tracing` events to stderr, filtered by `filter`, else by `RUST_LOG`, else by
/// [`DEFAULT_LOG`]: without a subscriber, a refused version of the globals file went unsaid.
fn log_to_stderr(filter: Option<&str>) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let filter = match filter {
        Some(filter) => EnvFilter::try_new(filter).map_err(|e| format!("{filter:?}: {e}"))?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG)),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|e| e.to_string())
}

fn conformance(path: &str) -> ExitCode {
    let guest = match Guest::from_file(path) {
        Ok(guest) => guest,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let report = run(&guest);
    println!("{path}");
    print!("{report}");
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn inspect_guest(path: &str, options: &[String]) -> ExitCode {
    let globals = Globals::new();
    let mut calls = Vec::new();
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let result = match (option.as_str(), options.next()) {
            ("--call", Some(export)) => {
                calls.push(export.as_str());
                Ok(())
            }
            ("--set", Some(assignment)) => set(&globals, assignment),
            _ => Err(format!("unexpected argument {option:?}")),
        };
        if let Err(e) = result {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let inspection = Guest::from_file(path).and_then(|guest| inspect(&guest, &globals, &calls));
    match inspection {
        Ok(inspection) => {
            println!("{path}");
            print!("{inspection}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `NAME=BITS`, BITS decimal or `0x` hexadecimal.
fn set(globals: &Globals, assignment: &str) -> Result<(), String> {
    let (name, bits) = assignment
        .split_once('=')
        .ok_or_else(|| format!("--set {assignment:?}: expected NAME=BITS"))?;
    let bits = match bits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => bits.parse(),
    }
    .map_err(|e| format!("--set {assignment:?}: {e}"))?;
    globals.set(name, bits).map_err(|e| e.to_string())
}
