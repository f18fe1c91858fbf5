//! Components (issue 23): `wasi:config/store` served live from a registry, to a component written
//! against the standard interface alone (`wat/config.wat`).

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};
use wasmtime_global::{Globals, GlobalsCtx, Value, ValueType};

struct Config {
    store: Store<GlobalsCtx>,
    read: wasmtime::component::TypedFunc<(String,), (String,)>,
    count: wasmtime::component::TypedFunc<(), (u32,)>,
}

impl Config {
    fn new(engine: &Engine, globals: &Globals) -> wasmtime::Result<Config> {
        let component = Component::new(engine, include_str!("wat/config.wat"))?;
        let mut linker = Linker::new(engine);
        wasmtime_global::config::add_to_linker(&mut linker, |ctx| ctx)?;
        let mut store = Store::new(engine, GlobalsCtx::new(globals));
        let instance = linker.instantiate(&mut store, &component)?;
        let read = instance.get_typed_func(&mut store, "read")?;
        let count = instance.get_typed_func(&mut store, "count")?;
        Ok(Config { store, read, count })
    }

    fn read(&mut self, key: &str) -> wasmtime::Result<String> {
        let (value,) = self.read.call(&mut self.store, (key.to_owned(),))?;
        Ok(value)
    }

    fn count(&mut self) -> wasmtime::Result<u32> {
        let (n,) = self.count.call(&mut self.store, ())?;
        Ok(n)
    }
}

/// Every call reads the registry as it is then: a set from another thread is seen by the next
/// `get`, a `del` gives `none` back, and values are value text that reads back as the value.
#[test]
fn a_wasi_config_component_reads_live_values() -> wasmtime::Result<()> {
    let engine = Engine::default();
    let globals = Globals::new();
    let mut config = Config::new(&engine, &globals)?;
    assert_eq!(config.read("MAX_ITEMS")?, "none");
    assert_eq!(config.count()?, 0);

    std::thread::scope(|s| {
        s.spawn(|| globals.set_u64("MAX_ITEMS", 100))
            .join()
            .unwrap()
    })?;
    assert_eq!(config.read("MAX_ITEMS")?, "100");
    let mut batch = globals.batch();
    batch
        .set_value("RATIO", Value::F64(0.25))
        .set_value("TIMEOUT", Value::Duration(90_000_000_000))
        .set_value("ON", Value::Bool(true))
        .set_value("DELTA", Value::I64(-7));
    batch.commit()?;
    assert_eq!(
        ["RATIO", "TIMEOUT", "ON", "DELTA"].map(|k| config.read(k).unwrap()),
        ["0.25", "90s", "true", "-7"]
    );
    assert_eq!(config.count()?, 5);
    globals.del("MAX_ITEMS")?;
    assert_eq!(
        config.read("MAX_ITEMS")?,
        "none",
        "its own default, in its own code"
    );

    // A defined default, with nothing set, is what it reads.
    globals.define("LIMIT", ValueType::U64, Some(Value::U64(8)))?;
    assert_eq!(config.read("LIMIT")?, "8");
    Ok(())
}

/// A tenant's component reads its own registry: its values over the fleet's.
#[test]
fn a_tenants_component_reads_its_registry_over_the_fleets() -> wasmtime::Result<()> {
    let engine = Engine::default();
    let fleet = Globals::new();
    let tenant = fleet.child();
    fleet.set_u64("LIMIT", 10)?;
    fleet.set_u64("BURST", 3)?;
    tenant.set_u64("LIMIT", 20)?;
    let mut fleet_config = Config::new(&engine, &fleet)?;
    let mut tenant_config = Config::new(&engine, &tenant)?;
    assert_eq!(
        [fleet_config.read("LIMIT")?, tenant_config.read("LIMIT")?],
        ["10", "20"]
    );
    assert_eq!(tenant_config.read("BURST")?, "3", "the fleet's, inherited");
    tenant.del("LIMIT")?;
    assert_eq!(tenant_config.read("LIMIT")?, "10", "the fleet's again");
    Ok(())
}
