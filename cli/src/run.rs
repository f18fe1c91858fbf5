//! `wasmtime-global run`: its options (clap) and help, and a WASI guest with live globals, like
//! `wasmtime run`: a core module with WASI preview 1 and the ABI's imports, or a component with
//! WASI preview 2, the project's WIT interface and `wasi:config/store`.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use wasmtime::{Config, Engine, Linker, Module, Store, Val};
use wasmtime_global::{Globals, GlobalsCtx};
use wasmtime_global_sources::etcd::{EtcdConfig, EtcdMirror};
use wasmtime_global_sources::file::WatchedFile;
use wasmtime_wasi::p1::WasiP1Ctx;

/// How often the epoch ticks, so that a guest in a loop sees changes.
const TICK: Duration = Duration::from_millis(5);

/// How long `run` waits for the first list of an etcd prefix before it starts the guest anyway.
const ETCD_WAIT: Duration = Duration::from_secs(5);

/// Run a WASI guest, as `wasmtime run` does, with live globals from a file and etcd
///
/// Runs a WASI guest with live globals: from a TOML file (--globals, watched: every saved
/// version applies at once), from an etcd prefix (--etcd with --prefix, watched), or both (a
/// name in the file wins; one it drops falls back to etcd's).
///
/// A core module runs with WASI preview 1 and the globals ABI: a command runs _start; a
/// reactor runs _initialize, then --invoke EXPORT (no parameters; its results are printed).
/// The guest sees changes at every call and, while it runs, within milliseconds (epoch
/// ticks); a guest with a shared memory sees them at once. A component (WASI preview 2; told
/// from a module by its header) runs with the project's interface (wasmtime-global:globals)
/// and wasi:config/store: a command's wasi:cli run, or --invoke EXPORT; its reads are host
/// calls that see each change at once. A guest refused a declaration traps, and the error
/// names the declaration and why.
///
/// The guest gets its arguments (those after GUEST.wasm, even ones that start with -), each
/// --env and each --dir: nothing else of the host.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment, after_help = AFTER_HELP, after_long_help = AFTER_LONG_HELP)]
pub struct Options {
    /// A TOML file of values, watched: every saved version applies at once
    ///
    /// Write it by renaming a complete new version over it: a version written in place that
    /// drops names is applied only once it has been the same for 50 ms. It is read only as a
    /// regular file of at most 1 MiB (a FIFO, a device or a larger file is refused, and the
    /// last good values stay). A value takes the type its name's guests declared, or the type
    /// the file gives it in its ["$types"] table (NAME = "U64"; BOOL, U64, I64, F64, DURATION);
    /// a duration needs a unit ("30s"). It may not be reached through a read-write --dir
    /// (below).
    #[arg(long = "globals", value_name = "FILE", verbatim_doc_comment)]
    globals_file: Option<String>,
    /// etcd's endpoints, http://HOST:PORT[,...], to read values from (with --prefix)
    ///
    /// The keys under --prefix are values. The prefix is listed before the guest starts (run
    /// waits up to 5 s for it, then starts without its values, which arrive when etcd answers)
    /// and watched from then on.
    #[arg(
        long,
        value_name = "ENDPOINTS",
        requires = "prefix",
        verbatim_doc_comment
    )]
    etcd: Option<String>,
    /// The etcd key prefix (with --etcd): the key PREFIX + NAME gives the global NAME
    #[arg(long, value_name = "PREFIX", requires = "etcd", verbatim_doc_comment)]
    prefix: Option<String>,
    /// Call EXPORT (of no parameters; its results are printed) instead of _start
    ///
    /// A module's _initialize (a reactor's) runs first. A component's EXPORT is called instead
    /// of its wasi:cli run.
    #[arg(long, value_name = "EXPORT", verbatim_doc_comment)]
    invoke: Option<String>,
    /// Give the guest the host directory HOST (as GUEST if given); repeatable
    ///
    /// Read-write, as `wasmtime run` gives it, or read-only with ::readonly (::readwrite says
    /// the default). A mode needs GUEST, so that a directory named readonly is never taken for
    /// one. A read-write --dir may not hold the globals file (below).
    #[arg(
        long = "dir",
        value_name = "HOST[::GUEST[::readonly]]",
        value_parser = Dir::parse,
        verbatim_doc_comment
    )]
    dirs: Vec<Dir>,
    /// Give the guest the environment variable NAME; repeatable
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env, verbatim_doc_comment)]
    envs: Vec<(String, String)>,
    /// What is logged to stderr (else RUST_LOG, else warn,wasmtime_global_sources=info)
    ///
    /// A filter as RUST_LOG takes it. By default every version of the globals file and every
    /// etcd revision that is applied is logged, and every one that is refused, with why (the
    /// last good values stay in force); --log off says nothing.
    #[arg(long, value_name = "FILTER", verbatim_doc_comment)]
    pub log: Option<String>,
    /// The guest (a core module or a component, binary or text), then its arguments
    ///
    /// Everything after the guest's path is the guest's, even what starts with -; `--` before
    /// the path lets it start with - too.
    #[arg(
        value_names = ["GUEST.wasm", "ARGS"],
        num_args = 1..,
        required = true,
        trailing_var_arg = true,
        verbatim_doc_comment
    )]
    command: Vec<String>,
}

/// What `run -h` says after the options.
const AFTER_HELP: &str = "\
Exit status: the guest's (0 when it returns), 1 if it traps, 2 if it cannot start.
`run --help` says more, and why a globals file may not be in a read-write --dir.";

/// What `run --help` says after the options: the rule of the globals file and `--dir`, and the
/// exit codes.
const AFTER_LONG_HELP: &str = "\
The globals file and --dir:
  run refuses to start if the globals file is reached through a directory inside a read-write
  --dir (the file's own directory, or that of a link on its path): there the guest could put a
  link to another host file, or a file of its own, in the globals file's place. Grant that
  directory ::readonly, or keep the globals file out of it. In a read-only --dir the guest may
  read the file but not replace it.

Exit status:
  the guest's exit code (0 when it returns; 1 when a component's wasi:cli run returns an
  error), 1 if it traps, 2 if it cannot start (a usage error included).";

impl Options {
    /// The guest's path: the first of the positional arguments, which clap requires.
    fn guest(&self) -> &str {
        &self.command[0]
    }

    /// The guest's arguments, after its path.
    fn args(&self) -> &[String] {
        &self.command[1..]
    }
}

/// `--env NAME=VALUE`: clap names the option and the value given before this message.
fn parse_env(env: &str) -> Result<(String, String), String> {
    let (name, value) = env.split_once('=').ok_or("expected NAME=VALUE")?;
    Ok((name.to_owned(), value.to_owned()))
}

/// A `--dir`: a host directory the guest may open, under the name `guest`.
#[derive(Clone, Debug)]
struct Dir {
    host: String,
    guest: String,
    /// Whether the guest may create, delete, rename, link and write there (`wasmtime run`'s
    /// only kind), or only read.
    writable: bool,
}

impl Dir {
    /// `HOST`, `HOST::GUEST`, `HOST::GUEST::readonly` or `HOST::GUEST::readwrite`. `wasmtime
    /// run` (48) has the first two, both read-write; a mode needs the guest's name, so that a
    /// directory named `readonly` is never taken for one. The value parser of `--dir`: clap
    /// names the option and the value given before the message.
    fn parse(text: &str) -> Result<Dir, String> {
        let parts: Vec<&str> = text.split("::").collect();
        let (host, guest, writable) = match parts[..] {
            [host] => (host, host, true),
            [host, guest] | [host, guest, "readwrite"] => (host, guest, true),
            [host, guest, "readonly"] => (host, guest, false),
            _ => {
                return Err(
                    "expected HOST, HOST::GUEST or HOST::GUEST::readonly (or ::readwrite)".into(),
                );
            }
        };
        Ok(Dir {
            host: host.to_owned(),
            guest: guest.to_owned(),
            writable,
        })
    }
}

/// Refuses a globals file that the guest could replace: one whose path, through every link it
/// takes, reads an entry of a directory inside a read-write `--dir`. There the guest could
/// rename a link of its own over that entry, to a host file it must not read, or a FIFO or a
/// device for the watch to read, or simply write the globals itself. A file the guest cannot
/// reach this way is read with links followed (a Kubernetes ConfigMap's links work): no link
/// on its path is one the guest made, or can make.
fn check_globals_file(globals: &str, dirs: &[Dir]) -> Result<(), String> {
    // A grant that cannot be opened fails below, when it is given to the guest.
    let writable: Vec<(PathBuf, &Dir)> = dirs
        .iter()
        .filter(|d| d.writable)
        .filter_map(|d| Some((std::fs::canonicalize(&d.host).ok()?, d)))
        .collect();
    // The last such directory is the one nearest the file, the clearest to name.
    let inside = resolution_dirs(Path::new(globals))
        .into_iter()
        .rev()
        .find_map(|dir| {
            let (_, grant) = writable.iter().find(|(host, _)| dir.starts_with(host))?;
            Some((dir, grant))
        });
    match inside {
        None => Ok(()),
        Some((dir, grant)) => Err(format!(
            "--globals {globals} is reached through {}, inside --dir {host}, which the guest \
             may write: it could put a link or a file of its own in the globals file's place; \
             grant {host} read-only (--dir {host}::{guest}::readonly) or keep the globals file \
             out of it",
            dir.display(),
            host = grant.host,
            guest = grant.guest,
        )),
    }
}

/// One step of resolving a path.
enum Step {
    Root,
    Parent,
    Name(OsString),
}

fn steps(path: &Path) -> impl DoubleEndedIterator<Item = Step> + '_ {
    path.components().filter_map(|c| match c {
        Component::RootDir => Some(Step::Root),
        Component::ParentDir => Some(Step::Parent),
        Component::Normal(name) => Some(Step::Name(name.to_owned())),
        Component::CurDir | Component::Prefix(_) => None,
    })
}

/// The directories whose entries resolving `path` reads, in order, canonical: each directory
/// of the path, and for every symbolic link on the way, those of its target, as the kernel
/// resolves them. It stops where the path cannot be followed (a missing file: starting the
/// watch then says why).
fn resolution_dirs(path: &Path) -> Vec<PathBuf> {
    /// The kernel's own limit of links in one resolution (`MAXSYMLINKS`).
    const MAX_LINKS: u32 = 40;
    let mut dirs = Vec::new();
    let mut current = if path.is_absolute() {
        PathBuf::from("/")
    } else {
        match std::env::current_dir().and_then(std::fs::canonicalize) {
            Ok(dir) => dir,
            Err(_) => return dirs,
        }
    };
    let mut pending: std::collections::VecDeque<Step> = steps(path).collect();
    let mut links = 0;
    while let Some(step) = pending.pop_front() {
        let name = match step {
            Step::Root => {
                current = PathBuf::from("/");
                continue;
            }
            Step::Parent => {
                current.pop();
                continue;
            }
            Step::Name(name) => name,
        };
        dirs.push(current.clone());
        let next = current.join(&name);
        match std::fs::symlink_metadata(&next) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                links += 1;
                let Ok(target) = std::fs::read_link(&next) else {
                    break;
                };
                if links > MAX_LINKS {
                    break;
                }
                // The target's steps come next, from the link's directory (or the root).
                for step in steps(&target).rev() {
                    pending.push_front(step);
                }
            }
            Ok(_) => current = next,
            Err(_) => break,
        }
    }
    dirs
}

struct Host {
    wasi: WasiP1Ctx,
    globals: GlobalsCtx,
}

/// Runs the guest; the exit code is the guest's (`proc_exit`), 0 when it returns, 1 when it
/// traps, 2 when it cannot start.
pub fn run(options: &Options) -> ExitCode {
    match run_guest(options) {
        Ok(code) => code,
        Err(Failure::Start(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Guest(e)) => {
            eprintln!("error: {e:?}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    /// Before the guest ran.
    Start(String),
    /// The guest trapped.
    Guest(wasmtime::Error),
}

fn start<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> Failure {
    move |e| Failure::Start(format!("{what}: {e}"))
}

fn run_guest(options: &Options) -> Result<ExitCode, Failure> {
    // Before anything starts: a globals file the guest could replace is refused.
    if let Some(path) = &options.globals_file {
        check_globals_file(path, &options.dirs).map_err(Failure::Start)?;
    }
    // Started before the guest, and stopped only after it has ended.
    let sources = Sources::start(options)?;
    let bytes = std::fs::read(options.guest()).map_err(start(options.guest()))?;
    if is_component(&bytes) {
        return run_component(options, &bytes, &sources.local);
    }
    run_module(options, &bytes, &sources.local)
}

/// The started sources of values (etcd's mirror, the watched file); dropping them stops them.
struct Sources {
    /// The registry the guest reads: the file's values over etcd's.
    local: Globals,
    /// Stopped before the mirror: fields are dropped in order.
    _file: Option<WatchedFile>,
    _mirror: Option<EtcdMirror>,
}

impl Sources {
    /// Starts the etcd mirror (awaiting its first list) and the file watch the options name.
    fn start(options: &Options) -> Result<Sources, Failure> {
        // The fleet (etcd) below, the machine's file above it: a value in the file wins, and a
        // name the file drops falls back to etcd's.
        let fleet = Globals::new();
        let local = fleet.child();
        let mirror = match (&options.etcd, &options.prefix) {
            (Some(endpoints), Some(prefix)) => {
                let config = EtcdConfig::new(endpoints.split(','), prefix.as_str());
                let mirror = EtcdMirror::start(config, &fleet).map_err(start("etcd"))?;
                let (status, listed) = mirror.wait_for(ETCD_WAIT, |s| s.lists > 0);
                if !listed {
                    eprintln!(
                        "warning: etcd has not answered within {ETCD_WAIT:?} ({:?}); starting \
                         without its values, which arrive when it does",
                        status.connection
                    );
                }
                Some(mirror)
            }
            _ => None,
        };
        let file = match &options.globals_file {
            Some(path) => Some(WatchedFile::start(path, &local).map_err(start(path))?),
            None => None,
        };
        Ok(Sources {
            local,
            _file: file,
            _mirror: mirror,
        })
    }
}

/// Runs a core module with WASI preview 1: `_start`, or `_initialize` then `--invoke`'s export.
fn run_module(options: &Options, bytes: &[u8], globals: &Globals) -> Result<ExitCode, Failure> {
    let mut config = Config::new();
    config.epoch_interruption(true).shared_memory(true);
    let engine = Engine::new(&config).map_err(start("engine"))?;
    let module = Module::new(&engine, bytes).map_err(start(options.guest()))?;
    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |h: &mut Host| &mut h.globals)
        .map_err(start("linker"))?;
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h: &mut Host| &mut h.wasi)
        .map_err(start("linker"))?;
    let wasi = wasi_ctx(options)?.build_p1();
    let mut store = Store::new(
        &engine,
        Host {
            wasi,
            globals: GlobalsCtx::new(globals),
        },
    );
    // Changes reach the guest at every call into it and, while it runs, at every epoch tick.
    wasmtime_global::sync_on_call(&mut store, |h: &mut Host| &mut h.globals);
    wasmtime_global::sync_on_epoch(&mut store, |h: &mut Host| &mut h.globals, 1)
        .map_err(start("epoch"))?;
    let _ticker = wasmtime_global::EpochTicker::start(&engine, TICK);

    // A failure of the guest's own code says why any declaration was refused
    // (`GlobalsCtx::explain`): an SDK traps with a bare `unreachable` at a refused global.
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|e| instantiate_failure(&mut store.data_mut().globals, e))?;
    let export = match &options.invoke {
        Some(name) => {
            if let Some(init) = instance.get_func(&mut store, "_initialize")
                && let Err(e) = init.call(&mut store, &[], &mut [])
            {
                return Err(Failure::Guest(store.data_mut().globals.explain(e)));
            }
            name.as_str()
        }
        None => "_start",
    };
    invoke_module(&mut store, &instance, export)
}

/// Calls a module's `export` (of no parameters) and prints its results.
fn invoke_module(
    store: &mut Store<Host>,
    instance: &wasmtime::Instance,
    export: &str,
) -> Result<ExitCode, Failure> {
    let func = instance
        .get_func(&mut *store, export)
        .ok_or_else(|| Failure::Start(format!("the guest exports no function {export:?}")))?;
    let ty = func.ty(&*store);
    no_parameters(export, ty.params().len())?;
    let mut results: Vec<Val> = ty
        .results()
        .map(|t| Val::default_for_ty(&t).unwrap_or(Val::I32(0)))
        .collect();
    let called = func.call(&mut *store, &[], &mut results);
    print_results(
        called,
        results,
        print_module_value,
        &mut store.data_mut().globals,
    )
}

/// Prints a module's result as `run` shows it: a number as a number.
fn print_module_value(result: Val) {
    match result {
        Val::I32(v) => println!("{v}"),
        Val::I64(v) => println!("{v}"),
        Val::F32(v) => println!("{}", f32::from_bits(v)),
        Val::F64(v) => println!("{}", f64::from_bits(v)),
        other => println!("{other:?}"),
    }
}

/// Refuses an export that takes parameters: `run` has none to give it.
fn no_parameters(export: &str, params: usize) -> Result<(), Failure> {
    if params != 0 {
        return Err(Failure::Start(format!(
            "{export:?} takes parameters; run invokes functions of none"
        )));
    }
    Ok(())
}

/// Why the guest could not be instantiated, with why any declaration was refused.
fn instantiate_failure(globals: &mut GlobalsCtx, e: wasmtime::Error) -> Failure {
    let e = globals.explain(e);
    Failure::Start(format!("instantiate: {e:#}"))
}

/// Prints a call's results, one a line, or ends as a failed call does ([`exit_code`]).
fn print_results<V>(
    called: wasmtime::Result<()>,
    results: Vec<V>,
    print: fn(V),
    globals: &mut GlobalsCtx,
) -> Result<ExitCode, Failure> {
    match called {
        Ok(()) => {
            for result in results {
                print(result);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => exit_code(globals, e),
    }
}

/// A failed call's end: a WASI exit's code (1 if it does not fit), else the trap, explained.
fn exit_code(globals: &mut GlobalsCtx, e: wasmtime::Error) -> Result<ExitCode, Failure> {
    match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        Some(exit) => Ok(ExitCode::from(u8::try_from(exit.0).unwrap_or(1))),
        None => Err(Failure::Guest(globals.explain(e))),
    }
}

/// What the guest gets of the host: its arguments, environment, directories and stdio.
fn wasi_ctx(options: &Options) -> Result<wasmtime_wasi::WasiCtxBuilder, Failure> {
    let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
    wasi.inherit_stdio()
        .args(&[options.guest()])
        .args(options.args());
    for (name, value) in &options.envs {
        wasi.env(name, value);
    }
    for dir in &options.dirs {
        let perms = if dir.writable {
            wasmtime_wasi::FsPerms::ReadWrite
        } else {
            wasmtime_wasi::FsPerms::ReadOnly
        };
        wasi.preopened_dir(&dir.host, &dir.guest, perms)
            .map_err(start(&format!("--dir {}", dir.host)))?;
    }
    Ok(wasi)
}

/// Whether `bytes` is a component, binary (the preamble's layer field is 1) or text (its first
/// form is `(component`); else it is taken for a core module.
fn is_component(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\0asm") {
        return bytes.get(6..8) == Some(&[1, 0]);
    }
    let text = String::from_utf8_lossy(bytes);
    let mut rest = text.trim_start();
    // Line comments before the first form.
    while let Some(after) = rest.strip_prefix(";;") {
        rest = after.split_once('\n').map_or("", |(_, r)| r).trim_start();
    }
    rest.strip_prefix('(')
        .is_some_and(|r| r.trim_start().starts_with("component"))
}

/// A component's store data: WASI preview 2 and the globals.
struct ComponentHost {
    wasi: wasmtime_wasi::WasiCtx,
    table: wasmtime::component::ResourceTable,
    globals: GlobalsCtx,
}

impl wasmtime_wasi::WasiView for ComponentHost {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Runs a component: a `wasi:cli` command (its `run`), or `--invoke` of an export of no
/// parameters. It reads globals through the project's interface or `wasi:config/store`, live:
/// a change is seen by its next read, with no sync and no epoch ticks.
fn run_component(options: &Options, bytes: &[u8], globals: &Globals) -> Result<ExitCode, Failure> {
    use wasmtime::component::{Component, Linker, ResourceTable};
    let engine = Engine::new(&Config::new()).map_err(start("engine"))?;
    let component = Component::new(&engine, bytes).map_err(start(options.guest()))?;
    let mut linker: Linker<ComponentHost> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(start("linker"))?;
    wasmtime_global::component::add_to_linker(&mut linker, |h| &mut h.globals)
        .map_err(start("linker"))?;
    wasmtime_global::config::add_to_linker(&mut linker, |h| &mut h.globals)
        .map_err(start("linker"))?;
    let host = ComponentHost {
        wasi: wasi_ctx(options)?.build(),
        table: ResourceTable::new(),
        globals: GlobalsCtx::new(globals),
    };
    let mut store = Store::new(&engine, host);
    match &options.invoke {
        None => run_command(&mut store, &component, &linker),
        Some(name) => invoke_component(&mut store, &component, &linker, name),
    }
}

/// Runs a component's `wasi:cli` run; an error it returns is exit code 1.
fn run_command(
    store: &mut Store<ComponentHost>,
    component: &wasmtime::component::Component,
    linker: &wasmtime::component::Linker<ComponentHost>,
) -> Result<ExitCode, Failure> {
    let command =
        wasmtime_wasi::p2::bindings::sync::Command::instantiate(&mut *store, component, linker)
            .map_err(|e| instantiate_failure(&mut store.data_mut().globals, e))?;
    match command.wasi_cli_run().call_run(&mut *store) {
        Ok(Ok(())) => Ok(ExitCode::SUCCESS),
        Ok(Err(())) => Ok(ExitCode::FAILURE),
        Err(e) => exit_code(&mut store.data_mut().globals, e),
    }
}

/// Calls a component's export `name` (of no parameters) and prints its results.
fn invoke_component(
    store: &mut Store<ComponentHost>,
    component: &wasmtime::component::Component,
    linker: &wasmtime::component::Linker<ComponentHost>,
    name: &str,
) -> Result<ExitCode, Failure> {
    use wasmtime::component::Val;
    let instance = linker
        .instantiate(&mut *store, component)
        .map_err(|e| instantiate_failure(&mut store.data_mut().globals, e))?;
    let func = instance
        .get_func(&mut *store, name)
        .ok_or_else(|| Failure::Start(format!("the component exports no function {name:?}")))?;
    let ty = func.ty(&*store);
    no_parameters(name, ty.params().len())?;
    let mut results = vec![Val::Bool(false); ty.results().len()];
    let called = func.call(&mut *store, &[], &mut results);
    print_results(
        called,
        results,
        print_component_value,
        &mut store.data_mut().globals,
    )
}

/// Prints a component's result as `run` shows it: a number, a bool or a string as itself.
fn print_component_value(result: wasmtime::component::Val) {
    use wasmtime::component::Val;
    match result {
        Val::U64(v) => println!("{v}"),
        Val::S64(v) => println!("{v}"),
        Val::U32(v) => println!("{v}"),
        Val::S32(v) => println!("{v}"),
        Val::Float64(v) => println!("{v}"),
        Val::Bool(v) => println!("{v}"),
        Val::String(v) => println!("{v}"),
        other => println!("{other:?}"),
    }
}
