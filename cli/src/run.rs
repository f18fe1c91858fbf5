//! `wasmtime-global run`: a WASI preview 1 guest with live globals, like `wasmtime run`.

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

/// The options of `run`.
#[derive(Debug, Default)]
pub struct Options {
    globals_file: Option<String>,
    etcd: Option<String>,
    prefix: Option<String>,
    invoke: Option<String>,
    /// `--dir HOST[::GUEST]`: directories the guest may open, as `wasmtime run` gives them.
    dirs: Vec<(String, String)>,
    /// `--env NAME=VALUE`.
    envs: Vec<(String, String)>,
    guest: String,
    args: Vec<String>,
}

impl Options {
    /// Parses `[OPTIONS] GUEST.wasm [ARGS]...`: the options end at the guest's path.
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match arg.as_str() {
                "--globals" => options.globals_file = Some(value("--globals")?),
                "--etcd" => options.etcd = Some(value("--etcd")?),
                "--prefix" => options.prefix = Some(value("--prefix")?),
                "--invoke" => options.invoke = Some(value("--invoke")?),
                "--dir" => {
                    let dir = value("--dir")?;
                    let (host, guest) = match dir.split_once("::") {
                        Some((host, guest)) => (host.to_owned(), guest.to_owned()),
                        None => (dir.clone(), dir),
                    };
                    options.dirs.push((host, guest));
                }
                "--env" => {
                    let env = value("--env")?;
                    let (name, value) = env
                        .split_once('=')
                        .ok_or_else(|| format!("--env {env:?}: expected NAME=VALUE"))?;
                    options.envs.push((name.to_owned(), value.to_owned()));
                }
                option if option.starts_with("--") => {
                    return Err(format!("unknown option {option:?}"));
                }
                guest => {
                    options.guest = guest.to_owned();
                    options.args = args.cloned().collect();
                    break;
                }
            }
        }
        if options.guest.is_empty() {
            return Err("no guest given".into());
        }
        if options.etcd.is_some() != options.prefix.is_some() {
            return Err("--etcd and --prefix go together".into());
        }
        Ok(options)
    }
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
    // The fleet (etcd) below, the machine's file above it: a value in the file wins, and a
    // name the file drops falls back to etcd's.
    let fleet = Globals::new();
    let local = fleet.child();
    let _mirror = match (&options.etcd, &options.prefix) {
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
    let _file = match &options.globals_file {
        Some(path) => Some(WatchedFile::start(path, &local).map_err(start(path))?),
        None => None,
    };

    let mut config = Config::new();
    config.epoch_interruption(true).shared_memory(true);
    let engine = Engine::new(&config).map_err(start("engine"))?;
    let module = Module::from_file(&engine, &options.guest).map_err(start(&options.guest))?;
    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |h: &mut Host| &mut h.globals)
        .map_err(start("linker"))?;
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h: &mut Host| &mut h.wasi)
        .map_err(start("linker"))?;
    let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
    wasi.inherit_stdio()
        .args(&[&options.guest])
        .args(&options.args);
    for (name, value) in &options.envs {
        wasi.env(name, value);
    }
    for (host, guest) in &options.dirs {
        wasi.preopened_dir(host, guest, wasmtime_wasi::FsPerms::ReadWrite)
            .map_err(start(&format!("--dir {host}")))?;
    }
    let wasi = wasi.build_p1();
    let mut store = Store::new(
        &engine,
        Host {
            wasi,
            globals: GlobalsCtx::new(&local),
        },
    );
    // Changes reach the guest at every call into it and, while it runs, at every epoch tick.
    wasmtime_global::sync_on_call(&mut store, |h: &mut Host| &mut h.globals);
    wasmtime_global::sync_on_epoch(&mut store, |h: &mut Host| &mut h.globals, 1)
        .map_err(start("epoch"))?;
    let ticker = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = ticker.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(TICK);
        }
    });

    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(start("instantiate"))?;
    let export = match &options.invoke {
        Some(name) => {
            if let Some(init) = instance.get_func(&mut store, "_initialize") {
                init.call(&mut store, &[], &mut [])
                    .map_err(Failure::Guest)?;
            }
            name.as_str()
        }
        None => "_start",
    };
    let func = instance
        .get_func(&mut store, export)
        .ok_or_else(|| Failure::Start(format!("the guest exports no function {export:?}")))?;
    let ty = func.ty(&store);
    if ty.params().len() != 0 {
        return Err(Failure::Start(format!(
            "{export:?} takes parameters; run invokes functions of none"
        )));
    }
    let mut results: Vec<Val> = ty
        .results()
        .map(|t| Val::default_for_ty(&t).unwrap_or(Val::I32(0)))
        .collect();
    match func.call(&mut store, &[], &mut results) {
        Ok(()) => {
            for result in results {
                match result {
                    Val::I32(v) => println!("{v}"),
                    Val::I64(v) => println!("{v}"),
                    Val::F32(v) => println!("{}", f32::from_bits(v)),
                    Val::F64(v) => println!("{}", f64::from_bits(v)),
                    other => println!("{other:?}"),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => Ok(ExitCode::from(u8::try_from(exit.0).unwrap_or(1))),
            None => Err(Failure::Guest(e)),
        },
    }
}
