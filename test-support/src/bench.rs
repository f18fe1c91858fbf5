//! Shared by the benchmarks: a small timing harness in the manner of criterion (warm-up, a batch
//! size calibrated to the clock, many samples, a robust estimate with its spread), without its
//! per-benchmark reports, so that every row of a table is measured in the same run and printed
//! next to its ratio.
//!
//! Arguments after `--` (`cargo bench --bench reads -- --quick`):
//! - `--quick`: fewer, shorter samples; for a first look, not for figures to publish.

use std::fmt;
use std::time::{Duration, Instant};

/// Nanoseconds per operation over the samples of one benchmark.
#[derive(Clone, Copy, Debug)]
pub struct Estimate {
    /// The median sample.
    pub median: f64,
    /// The first and third quartiles of the samples: the spread a reader should expect.
    pub q1: f64,
    pub q3: f64,
    /// How many samples, and how many operations each timed.
    pub samples: usize,
    pub batch: u64,
}

impl Estimate {
    /// This median as a multiple of `base`'s.
    pub fn ratio(&self, base: &Estimate) -> f64 {
        self.median / base.median
    }
}

impl fmt::Display for Estimate {
    /// `12.3 ns (12.1–12.9)`: median, then the interquartile range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = match self.median {
            m if m < 10.0 => 2,
            m if m < 100.0 => 1,
            _ => 0,
        };
        let text = format!(
            "{:.*} ns ({:.*}–{:.*})",
            digits, self.median, digits, self.q1, digits, self.q3
        );
        f.pad(&text)
    }
}

/// How long to sample: from the command line.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// The batch size is doubled until one batch takes at least this long.
    pub batch_time: Duration,
    pub samples: usize,
}

impl Plan {
    pub fn from_args() -> Plan {
        if std::env::args().any(|a| a == "--quick") {
            Plan {
                batch_time: Duration::from_millis(2),
                samples: 7,
            }
        } else {
            Plan {
                batch_time: Duration::from_millis(10),
                samples: 21,
            }
        }
    }

    /// Times `batch(n)` (which must do `n` operations): doubles `n` from 1 until a batch takes
    /// `batch_time` (this is also the warm-up), then takes `samples` batches of that size.
    pub fn measure(&self, mut batch: impl FnMut(u64)) -> Estimate {
        let mut n = 1u64;
        loop {
            let start = Instant::now();
            batch(n);
            if start.elapsed() >= self.batch_time || n >= 1 << 30 {
                break;
            }
            n *= 2;
        }
        self.measure_prepared(n, |_| (), |(), n| batch(n))
    }

    /// Times `samples` batches of exactly `n` operations, after one warm-up batch. Each batch
    /// first gets something from `prepare(n)`, not timed, which `run` uses up (criterion's
    /// `iter_batched`); it is dropped after the clock stops.
    pub fn measure_prepared<S>(
        &self,
        n: u64,
        mut prepare: impl FnMut(u64) -> S,
        mut run: impl FnMut(&mut S, u64),
    ) -> Estimate {
        let mut sample = || {
            let mut input = prepare(n);
            let start = Instant::now();
            run(&mut input, n);
            let ns = start.elapsed().as_nanos() as f64 / n as f64;
            drop(input);
            ns
        };
        sample();
        let mut per_op: Vec<f64> = (0..self.samples).map(|_| sample()).collect();
        per_op.sort_by(f64::total_cmp);
        let at = |q: f64| per_op[((per_op.len() - 1) as f64 * q).round() as usize];
        Estimate {
            median: at(0.5),
            q1: at(0.25),
            q3: at(0.75),
            samples: per_op.len(),
            batch: n,
        }
    }
}

/// What the figures were measured on, for the header of each bench's output.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}

/// The header every bench prints first.
pub fn preamble(plan: &Plan) {
    println!("machine: {}", machine());
    println!(
        "each figure: median of {} samples (interquartile range), batches of at least {} ms",
        plan.samples,
        plan.batch_time.as_millis()
    );
    println!();
}

/// How a bench reports a target: met, or MISSED in capitals so that it stands out.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// The median and the 99th percentile of latency samples.
pub fn quantiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

/// A latency in milliseconds, as the latency benches print it.
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}
