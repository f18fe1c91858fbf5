//! Shared by the benchmarks: timing without a framework, so that every row of a table is
//! measured in the same run and printed as a ratio.

use std::time::Instant;

/// Nanoseconds per operation: the median of `rounds` batches of `n` operations, after one
/// warm-up batch.
pub fn measure(rounds: usize, n: u64, mut batch: impl FnMut(u64)) -> f64 {
    batch(n);
    let mut per_op: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            batch(n);
            start.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    per_op.sort_by(f64::total_cmp);
    per_op[per_op.len() / 2]
}
