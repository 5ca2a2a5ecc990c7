//! What a crash cost, read off the program's lines and the group's committed offset: which
//! payments were lost, and which were processed twice.

use std::collections::BTreeSet;

use crate::scenario::lines::Fields;

/// The offsets a run of the program started and finished processing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Offsets with a `started` line.
    pub started: BTreeSet<i64>,
    /// Offsets with a `processed` line.
    pub processed: BTreeSet<i64>,
}

impl Progress {
    /// Reads `started <payment> partition=<p> offset=<o>` and `processed ...` lines.
    pub fn of(lines: &[String]) -> Progress {
        let mut progress = Progress::default();
        for line in lines {
            let fields = Fields::parse(line);
            let Some(offset) = fields.number("offset") else {
                continue;
            };
            match fields.words.first() {
                Some(&"started") => progress.started.insert(offset),
                Some(&"processed") => progress.processed.insert(offset),
                _ => false,
            };
        }
        progress
    }

    /// Offsets started and not processed: in processing when the run ended.
    pub fn in_flight(&self) -> BTreeSet<i64> {
        self.started.difference(&self.processed).copied().collect()
    }
}

/// The cost of one crash and restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Offsets below the committed offset at the crash that the crashed run never
    /// processed: the group counts them done, so nobody ever will.
    pub lost: BTreeSet<i64>,
    /// Offsets both runs processed.
    pub repeated: BTreeSet<i64>,
}

impl Tally {
    /// Counts from what the crashed run and its restart processed, and `committed`, the
    /// group's offset when the crashed run died (`None`: nothing committed).
    pub fn count(crashed: &Progress, restarted: &Progress, committed: Option<i64>) -> Tally {
        let committed = committed.unwrap_or(0);
        let lost = (0..committed)
            .filter(|o| !crashed.processed.contains(o))
            .collect();
        let repeated = crashed
            .processed
            .intersection(&restarted.processed)
            .copied()
            .collect();
        Tally { lost, repeated }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_commit_past_the_payment_in_processing_loses_it() {
        let crashed = Progress::of(&lines(
            "started p0 partition=0 offset=0\nprocessed p0 partition=0 offset=0\nstarted p1 partition=0 offset=1",
        ));
        assert_eq!(crashed.in_flight(), BTreeSet::from([1]));
        let restarted = Progress::of(&lines(
            "started p2 partition=0 offset=2\nprocessed p2 partition=0 offset=2",
        ));
        let tally = Tally::count(&crashed, &restarted, Some(2));
        assert_eq!(tally.lost, BTreeSet::from([1]));
        assert!(tally.repeated.is_empty());
    }

    #[test]
    fn work_since_the_last_commit_is_repeated() {
        let crashed = Progress::of(&lines(
            "processed a offset=0\nprocessed b offset=1\nprocessed c offset=2\nstarted d offset=3",
        ));
        let restarted = Progress::of(&lines(
            "processed b offset=1\nprocessed c offset=2\nprocessed d offset=3",
        ));
        let tally = Tally::count(&crashed, &restarted, Some(1));
        assert!(tally.lost.is_empty());
        assert_eq!(tally.repeated, BTreeSet::from([1, 2]));
        // Nothing committed: everything is read again.
        assert_eq!(Tally::count(&crashed, &restarted, None).repeated.len(), 2);
    }
}
