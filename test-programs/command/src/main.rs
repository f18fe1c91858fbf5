//! One source, two builds: a WASI command that reads globals through the SDK. Built for
//! wasm32-wasip1 it is a core module, whose reads are loads of its own memory; built for
//! wasm32-wasip2 it is a component, whose reads are host calls through the project's WIT
//! interface. The tests run both and expect the same output.

use wasmtime_global_guest::{Bool, Duration, U64, consistent};

static MAX_ITEMS: U64 = U64::new("MAX_ITEMS", 10);
static VERBOSE: Bool = Bool::new("VERBOSE", false);
static TIMEOUT: Duration = Duration::new("TIMEOUT", core::time::Duration::from_secs(30));

fn main() {
    let (max, verbose, timeout) = consistent(|| (MAX_ITEMS.get(), VERBOSE.get(), TIMEOUT.get()));
    println!("MAX_ITEMS={max} VERBOSE={verbose} TIMEOUT={timeout:?}");
}
