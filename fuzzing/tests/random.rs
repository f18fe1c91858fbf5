//! Runs both fuzz targets over pseudo-random inputs on stable, so that `cargo test` keeps the
//! targets and their invariants working (`fuzz/` runs them under libFuzzer, with coverage).

use arbitrary::{Arbitrary, Unstructured};
use wasmtime_global_fuzzing::{Image, Op, OpsInput, Reached, SlotImage, TableInput, ops, table};

/// `n` inputs of `len` bytes each from a fixed-seed xorshift generator.
fn inputs(n: usize, len: usize, seed: u64) -> impl Iterator<Item = Vec<u8>> {
    let mut x = seed;
    (0..n).map(move |_| {
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    })
}

#[test]
fn table_target_holds_on_random_inputs() {
    let mut accepted = 0;
    for bytes in inputs(5_000, 512, 0x1234_5678) {
        if let Ok(input) = TableInput::arbitrary(&mut Unstructured::new(&bytes)) {
            table(&input);
            accepted += 1;
        }
    }
    assert!(accepted > 4_000, "{accepted}");
}

/// A valid table of four slots (`A`, `B`, `flag`, `x`) at 1024, so that random operations
/// reach declarations and syncs; the operations come from the random bytes.
fn valid_image(seed: u8) -> Image {
    let names = ["A", "B", "flag", "x"];
    Image {
        table_addr: 1024,
        capacity: 8,
        count: 4,
        wrong_header: None,
        generation: 0,
        slots: names
            .iter()
            .enumerate()
            .map(|(i, name)| SlotImage {
                name: name.as_bytes().to_vec(),
                name_addr: 4096 + 64 * i as u16,
                name_len: None,
                ty: (seed.wrapping_add(i as u8)) % 5 + 1,
                default: 7 * i as u64,
                value: 7 * i as u64,
                right_hash: true,
                reserved: None,
            })
            .collect(),
        patches: Vec::new(),
    }
}

#[test]
fn ops_target_holds_on_random_inputs() {
    let mut total = Reached::default();
    let mut runs = 0;
    for (k, bytes) in inputs(300, 1024, 0x8765_4321).enumerate() {
        let mut u = Unstructured::new(&bytes);
        let mut ops_list = Vec::new();
        while ops_list.len() < 64 {
            match Op::arbitrary(&mut u) {
                // Mostly slots that exist (0 to 3), sometimes the one past them.
                Ok(Op::Declare(i)) => ops_list.push(Op::Declare(i % 5)),
                Ok(op) => ops_list.push(op),
                Err(_) => break,
            }
        }
        let input = OpsInput {
            image: valid_image(k as u8),
            ops: ops_list,
        };
        let r = ops(&input);
        total.ops += r.ops;
        total.declared += r.declared;
        total.traps += r.traps;
        total.values_written += r.values_written;
        runs += 1;
    }
    // Also wholly arbitrary inputs, which mostly trap early.
    for bytes in inputs(300, 2048, 0x1357_9bdf) {
        if let Ok(input) = OpsInput::arbitrary(&mut Unstructured::new(&bytes)) {
            ops(&input);
            runs += 1;
        }
    }
    println!("{runs} runs: {total:?}");
    assert!(runs > 400, "{runs}");
    assert!(
        total.ops > 3000 && total.declared > 100 && total.traps > 10 && total.values_written > 20,
        "{total:?}"
    );
}

/// A header of the earlier version 2 is valid (spec/ABI.md §12): the target's invariant once
/// named version 3 only, and libFuzzer found a version-2 header patched in (CI, 2026-12-06).
#[test]
fn table_target_accepts_a_version_2_header() {
    for patched in [false, true] {
        let mut image = valid_image(0);
        if patched {
            // The input libFuzzer found: the version's low byte patched to 2.
            image.patches.push((1024 + 4, 2));
        } else {
            image.wrong_header = Some((
                wasmtime_global_abi::MAGIC,
                wasmtime_global_abi::VERSION_2,
                wasmtime_global_abi::SLOT_SIZE,
            ));
        }
        table(&TableInput {
            image,
            any_addr: None,
            index: 2,
            memory_len: 16384,
        });
    }
}
