//! `wasmtime-global`: the command line (clap: subcommands, help, `--version`), and the
//! subcommands that check a guest against the ABI or list what it declares; `run` (a WASI guest
//! with live globals) is `run.rs`'s.
//!
//! ```text
//! wasmtime-global run [--globals FILE] [--etcd ENDPOINTS --prefix PREFIX] [--invoke EXPORT]
//!                     [--dir HOST[::GUEST[::readonly]]]... [--env NAME=VALUE]...
//!                     [--log FILTER] [--] GUEST.wasm [ARGS]...
//! wasmtime-global conformance GUEST.wasm
//! wasmtime-global inspect GUEST.wasm [--call EXPORT]... [--set NAME=BITS]...
//! wasmtime-global checks
//! wasmtime-global help [SUBCOMMAND] | --help | --version
//! ```

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::sync::LazyLock;
use wasmtime_global::Globals;
use wasmtime_global_conformance::{CHECKS, Guest, inspect, run};

mod run;

/// `0.1.0 (globals ABI 3)`: clap prints it after the command's name for `--version`.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} (globals ABI {})",
        env!("CARGO_PKG_VERSION"),
        wasmtime_global_abi::VERSION
    )
});

/// Run a WASI guest with live globals, check a guest against the ABI, or list what it declares
///
/// Globals are named, typed values (BOOL, U64, I64, F64, DURATION) that a guest declares and
/// reads, and that the host changes while it runs. `run` serves them from a watched TOML file
/// and an etcd prefix; `conformance`, `inspect` and `checks` are for the authors of guests and
/// SDKs (spec/ABI.md, spec/CONFORMANCE.md).
///
/// `wasmtime-global help SUBCOMMAND` (or `SUBCOMMAND --help`) says what each one does.
#[derive(Debug, Parser)]
#[command(
    name = "wasmtime-global",
    version = VERSION.as_str(),
    verbatim_doc_comment,
    subcommand_required = true,
    arg_required_else_help = true,
    after_help = "A usage error exits with 2, before anything runs."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(run::Options),
    /// Check a guest that implements the conformance profile against the ABI
    ///
    /// Runs every conformance check (`wasmtime-global checks` lists them) against a guest that
    /// implements the conformance profile (spec/CONFORMANCE.md): a core module, binary or text,
    /// with its four exports. Prints the guest's path, then PASS, FAIL (with the reason) or
    /// SKIP (with why) per check, then the counts.
    #[command(
        verbatim_doc_comment,
        after_help = "\
Exit status: 0 if every check passed or was skipped, 1 if any check failed, 2 if the guest
cannot be read or compiled (a usage error included)."
    )]
    Conformance {
        /// The guest: a .wasm module, or its text (.wat)
        #[arg(value_name = "GUEST.wasm")]
        guest: String,
    },
    /// Instantiate any guest and list the globals it declared
    ///
    /// Instantiates the guest (with WASI preview 1 if it imports it), runs its _initialize or
    /// _start, then each --call export in order, and lists the globals it declared: slot, name,
    /// type, default and current value, and the declarations the host refused.
    #[command(
        verbatim_doc_comment,
        after_help = "\
Exit status: 0 when the guest was listed, 1 if it cannot be read or instantiated or a call
fails, 2 for a usage error or a --set the host refuses."
    )]
    Inspect {
        /// The guest: a .wasm module, or its text (.wat)
        #[arg(value_name = "GUEST.wasm")]
        guest: String,
        /// After the guest's initialisation, call EXPORT, of type () -> (); repeatable, in order
        #[arg(long = "call", value_name = "EXPORT")]
        calls: Vec<String>,
        /// Set NAME to BITS (64 bits, decimal or 0x hex) before the guest starts; repeatable
        #[arg(long = "set", value_name = "NAME=BITS", value_parser = parse_set, verbatim_doc_comment)]
        sets: Vec<(String, u64)>,
    },
    /// List the conformance checks: each one's name and what it checks
    #[command(verbatim_doc_comment)]
    Checks,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(options) => match log_to_stderr(options.log.as_deref()) {
            Ok(()) => run::run(&options),
            Err(e) => {
                eprintln!("error: --log: {e}");
                ExitCode::from(2)
            }
        },
        Command::Conformance { guest } => conformance(&guest),
        Command::Inspect { guest, calls, sets } => inspect_guest(&guest, &calls, &sets),
        Command::Checks => {
            for check in CHECKS.iter() {
                println!("{:<20} {}", check.name, check.about);
            }
            ExitCode::SUCCESS
        }
    }
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

fn inspect_guest(path: &str, calls: &[String], sets: &[(String, u64)]) -> ExitCode {
    let globals = Globals::new();
    for (name, bits) in sets {
        if let Err(e) = globals.set(name, *bits) {
            eprintln!("error: --set: {e}");
            return ExitCode::from(2);
        }
    }
    let calls: Vec<&str> = calls.iter().map(String::as_str).collect();
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

/// `--set NAME=BITS`, BITS decimal or `0x` hexadecimal: clap names the option and the value
/// given before this message.
fn parse_set(assignment: &str) -> Result<(String, u64), String> {
    let (name, bits) = assignment.split_once('=').ok_or("expected NAME=BITS")?;
    let bits = match bits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => bits.parse(),
    }
    .map_err(|e| format!("BITS {bits:?}: {e} (expected decimal, or hexadecimal after 0x)"))?;
    Ok((name.to_owned(), bits))
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// clap's own checks of the command line: names, conflicts, value names, positionals.
    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
