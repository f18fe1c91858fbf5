//! Finds two distinct valid names with the same 64-bit FNV-1a hash, for the spec's collision
//! vector (`spec/ABI.md`, "Hash test vectors"). Takes a few minutes of one core.
//!
//! `cargo run --release -p wasmtime-global-abi --example fnv_collision`
//!
//! Method: parallel collision search with distinguished points (van Oorschot and Wiener). The walk
//! is `x -> fnv1a64(name(x))`, where `name(x)` spells the 64 bits of `x` as 13 base-32 letters;
//! walks end at a point whose low bits are zero. Two walks that end at the same point have merged,
//! and re-walking them in step finds the two names whose hashes are equal.

use std::collections::HashMap;
use wasmtime_global_abi::fnv1a64;

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const DP_MASK: u64 = (1 << 24) - 1;
const MAX_WALK: u64 = 40 << 24;
const LANES: usize = 8;

fn name(x: u64) -> [u8; 13] {
    let mut out = [0u8; 13];
    for (i, c) in out.iter_mut().enumerate() {
        *c = ALPHABET[((x >> (i * 5)) & 31) as usize];
    }
    out
}

fn step(x: u64) -> u64 {
    fnv1a64(&name(x))
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Re-walks two merged walks and returns the two distinct points whose steps agree, if they do.
fn resolve(mut a: u64, len_a: u64, mut b: u64, len_b: u64) -> Option<(u64, u64)> {
    let (mut la, mut lb) = (len_a, len_b);
    while la > lb {
        a = step(a);
        la -= 1;
    }
    while lb > la {
        b = step(b);
        lb -= 1;
    }
    while la > 0 {
        if a == b {
            return None;
        }
        let (na, nb) = (step(a), step(b));
        if na == nb {
            return Some((a, b));
        }
        a = na;
        b = nb;
        la -= 1;
    }
    None
}

fn main() {
    let mut seed = 0x5eed_u64;
    let mut ends: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut start = [0u64; LANES];
    let mut x = [0u64; LANES];
    let mut len = [0u64; LANES];
    for i in 0..LANES {
        start[i] = splitmix(&mut seed);
        x[i] = start[i];
    }
    let mut steps: u64 = 0;
    loop {
        for i in 0..LANES {
            x[i] = step(x[i]);
            len[i] += 1;
        }
        steps += LANES as u64;
        for i in 0..LANES {
            if x[i] & DP_MASK == 0 {
                if let Some(&(s2, l2)) = ends.get(&x[i])
                    && let Some((a, b)) = resolve(start[i], len[i], s2, l2)
                {
                    let (na, nb) = (name(a), name(b));
                    let (na, nb) = (std::str::from_utf8(&na), std::str::from_utf8(&nb));
                    println!("after {steps} steps:");
                    println!("{:?} {:#018x}", na, step(a));
                    println!("{:?} {:#018x}", nb, step(b));
                    return;
                }
                ends.insert(x[i], (start[i], len[i]));
            }
            if x[i] & DP_MASK == 0 || len[i] > MAX_WALK {
                start[i] = splitmix(&mut seed);
                x[i] = start[i];
                len[i] = 0;
            }
        }
    }
}
