//! Guests that push the limits: one that declares past its capacity, one that declares the same
//! slot over and over. Each fails clearly, or costs nothing, and leaves the host as it was.

use wasmtime::Module;
use wasmtime_global::{Error, Globals};
use wasmtime_global_test_support::{Guest, engine};

const REFERENCE: &str = include_str!("../../spec/reference/conformance.wat");

/// The reference conformance guest (capacity 16) with its capacity check removed, and two more
/// exports: `runaway` declares fresh slots until something stops it; `again(n)` declares slot
/// 0 `n` times.
fn pushy() -> String {
    let check =
        "(if (i32.ge_u (local.get $i) (global.get $capacity)) (then (return (i32.const -1))))";
    assert_eq!(REFERENCE.matches(check).count(), 1);
    let exports = r#"
  (func (export "runaway")
    (loop $more
      (drop (call $declare_next (i32.const 4096) (i32.const 9) (i32.const 1) (i64.const 0)))
      (br $more)))
  (func (export "again") (param $n i32)
    (loop $more
      (if (call $declare (global.get $table) (i32.const 0)) (then unreachable))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $more (local.get $n))))
)"#;
    let body = REFERENCE.replace(check, "").trim_end().to_owned();
    format!(
        "{}{exports}",
        body.strip_suffix(')').expect("the module closes")
    )
}

/// Syncs, then reads global `i` with the profile's `wgc_get`.
fn read(guest: &mut Guest, i: i32) -> wasmtime::Result<i64> {
    wasmtime_global::sync(&mut guest.store, |h| &mut h.globals)?;
    guest.call("wgc_get", i)
}

#[test]
fn a_guest_that_declares_past_its_capacity_traps_and_the_host_is_unaffected() -> wasmtime::Result<()>
{
    let engine = engine();
    let module = Module::new(&engine, pushy())?;
    let globals = Globals::new();
    let mut guest = Guest::new(&engine, &module, &globals)?;
    guest.call::<(), ()>("wgc_init", ())?;
    let err = guest
        .call::<(), ()>("runaway", ())
        .expect_err("the 17th slot of 16 must trap");
    assert_eq!(
        err.downcast_ref::<Error>(),
        Some(&Error::CountTooLarge {
            count: 17,
            capacity: 16
        })
    );
    // 10 from wgc_init (one declare_range), 6 from runaway; the 17th was refused.
    assert_eq!(guest.store.data().globals.declarations().len(), 16);
    assert_eq!(guest.host_calls(), 1 + 7);
    // The host is unaffected: the registry serves the other names, a fresh instance works.
    globals.set_u64("conf.u64", 5)?;
    let mut fresh = Guest::new(&engine, &module, &globals)?;
    fresh.call::<(), ()>("wgc_init", ())?;
    assert_eq!(read(&mut fresh, 1)?, 5);
    Ok(())
}

#[test]
fn a_guest_that_declares_one_slot_in_a_loop_costs_the_host_nothing() -> wasmtime::Result<()> {
    let engine = engine();
    let module = Module::new(&engine, pushy())?;
    let globals = Globals::new();
    let mut guest = Guest::new(&engine, &module, &globals)?;
    guest.call::<(), ()>("wgc_init", ())?;
    let declarations = guest.store.data().globals.declarations();
    let names = globals.len();
    guest.call::<i32, ()>("again", 100_000)?;
    assert_eq!(
        guest.host_calls(),
        1 + 100_000,
        "wgc_init's one declare_range, then again's"
    );
    assert_eq!(guest.store.data().globals.declarations(), declarations);
    assert_eq!(globals.len(), names);
    globals.set_bool("conf.bool", false)?;
    assert_eq!(read(&mut guest, 0)?, 0, "slot 0 is still live");
    Ok(())
}
