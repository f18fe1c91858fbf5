//! Shared by the benchmarks: a small timing harness in the manner of criterion (warm-up, a batch
//! size calibrated to the clock, many samples, a robust estimate with its spread), without its
//! per-benchmark reports, so that every row of a table is measured in the same run and printed
//! next to its ratio.
//!
//! Arguments after `--` (`cargo bench --bench reads -- --quick`):
//! - `--quick`: fewer, shorter samples; for a first look, not for figures to publish.
//!
//! A bench prints with [`say!`](crate::say) and ends with
//! [`write_figures`](crate::bench::write_figures): what it printed goes to `figures/<bench>.txt`
//! at the workspace's root, the one place the figures of the last run live. Code comments give
//! the reason and the command, never the numbers.

use std::fmt;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the bench printed so far, for [`write_figures`].
static PRINTED: Mutex<String> = Mutex::new(String::new());

/// Prints a line, as `println!` does, and keeps it for the bench's figures file
/// ([`write_figures`](crate::bench::write_figures)).
#[macro_export]
macro_rules! say {
    () => {
        $crate::bench::say_line(::std::format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::bench::say_line(::std::format_args!($($arg)*))
    };
}

/// [`say!`](crate::say)'s body.
pub fn say_line(line: fmt::Arguments<'_>) {
    println!("{line}");
    let mut printed = PRINTED.lock().unwrap_or_else(|e| e.into_inner());
    let _ = writeln!(printed, "{line}");
}

/// Writes what the bench printed with [`say!`](crate::say) to `figures/<bench>.txt` at the
/// workspace's root, under a line that says how it was run, when and at which commit: call it
/// at the end of a bench's `main` as `write_figures(env!("CARGO_PKG_NAME"),
/// env!("CARGO_CRATE_NAME"))`. A quick run (`--quick`) writes `figures/<bench>.quick.txt`, so
/// that it never stands in for a full run's figures.
pub fn write_figures(package: &str, bench: &str) {
    write_figures_with_features(package, bench, "");
}

/// [`write_figures`] for a bench built with cargo features `features` (comma-separated; empty
/// for none): its file is `figures/<bench>.features-<features>.txt`, beside the default build's.
pub fn write_figures_with_features(package: &str, bench: &str, features: &str) {
    let quick = std::env::args().any(|a| a == "--quick");
    let support = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = support.parent().unwrap_or(support).join("figures");
    let variant = if features.is_empty() {
        String::new()
    } else {
        format!(".features-{}", features.replace(',', "-"))
    };
    let quick_file = if quick { ".quick" } else { "" };
    let file = dir.join(format!("{bench}{variant}{quick_file}.txt"));
    let run = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };
    let date = run("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let commit = run("git", &["describe", "--always", "--dirty"]);
    let features = if features.is_empty() {
        String::new()
    } else {
        format!(" --features {features}")
    };
    let how = if quick { " -- --quick" } else { "" };
    let printed = PRINTED.lock().unwrap_or_else(|e| e.into_inner());
    let text = format!(
        "# cargo bench -p {package} --bench {bench}{features}{how}\n# {date}, at {commit}\n\n{printed}"
    );
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, text)) {
        Ok(()) => println!("(these figures are in {})", file.display()),
        Err(e) => eprintln!("cannot write {}: {e}", file.display()),
    }
}

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
    crate::say!("machine: {}", machine());
    crate::say!(
        "each figure: median of {} samples (interquartile range), batches of at least {} ms",
        plan.samples,
        plan.batch_time.as_millis()
    );
    crate::say!();
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
