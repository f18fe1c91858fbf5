//! What a store's guests can make the host log: each kind of event once, then counts.
//!
//! A guest that loops on a refused declaration made one `warn` event per call, as fast as it
//! could call. A store now logs the first event of each key (a refused name, a kind of trap) in
//! full, for up to [`KEYS`] keys; every other event of the store is counted (in
//! [`Stats`](crate::Stats) and the registry's [`Counters`](crate::Counters), as before) and
//! logged only as a count, when that count reaches a power of two: at most 64 such lines in a
//! store's life.

/// How many keys a store logs in full.
pub(crate) const KEYS: usize = 16;

/// A store's log budget.
#[derive(Debug, Default)]
pub(crate) struct LogBudget {
    /// The keys logged in full so far.
    logged: Vec<u64>,
    /// Events not logged in full.
    quiet: u64,
}

/// What to log of one event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The event, in full.
    Full,
    /// Only that this many events of the store have not been logged in full.
    Count(u64),
    /// Nothing.
    Quiet,
}

impl LogBudget {
    /// What to log of an event of `key`.
    pub(crate) fn verdict(&mut self, key: u64) -> Verdict {
        if !self.logged.contains(&key) && self.logged.len() < KEYS {
            self.logged.push(key);
            return Verdict::Full;
        }
        self.quiet += 1;
        if self.quiet.is_power_of_two() {
            Verdict::Count(self.quiet)
        } else {
            Verdict::Quiet
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_once_then_counts_at_powers_of_two() {
        let mut budget = LogBudget::default();
        assert_eq!(budget.verdict(7), Verdict::Full);
        let verdicts: Vec<Verdict> = (0..9).map(|_| budget.verdict(7)).collect();
        let counts: Vec<u64> = verdicts
            .iter()
            .filter_map(|v| match v {
                Verdict::Count(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(counts, [1, 2, 4, 8]);
        for key in 100..100 + KEYS as u64 - 1 {
            assert_eq!(budget.verdict(key), Verdict::Full);
        }
        // Past KEYS keys, a new key is only counted: the 10th to the 15th quiet events, then
        // the 16th, a power of two.
        for _ in 10..16 {
            assert_eq!(budget.verdict(1000), Verdict::Quiet);
        }
        assert_eq!(budget.verdict(1001), Verdict::Count(16));
    }
}
