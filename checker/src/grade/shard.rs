//! A class across machines: `--shard K/N` grades every N-th student of the class, and
//! `checker grade merge` puts the shards' JSON summaries back together into the summary
//! one machine would have printed.
//!
//! A shard is chosen by the student's place in the class's sorted list of submissions, so
//! every machine that has the same class folder (a checkout of the same commit) picks the
//! same students, and the shards differ in size by one at most.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};

use super::class::Summary;

/// One shard of N: its number K, from 1 to N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, from 1.
    pub index: usize,
    /// N.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N`, with 1 <= K <= N.
    fn from_str(text: &str) -> Result<Shard, String> {
        let wrong = || format!("a shard is K/N with 1 <= K <= N, such as 1/4; not {text:?}");
        let (index, count) = text.split_once('/').ok_or_else(wrong)?;
        let index: usize = index.trim().parse().map_err(|_| wrong())?;
        let count: usize = count.trim().parse().map_err(|_| wrong())?;
        if index == 0 || index > count {
            return Err(wrong());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// This shard's students of `students` (sorted, as `class::submissions` gives them).
    pub fn pick<T: Clone>(&self, students: &[T]) -> Vec<T> {
        students
            .iter()
            .enumerate()
            .filter(|(place, _)| place % self.count == self.index - 1)
            .map(|(_, student)| student.clone())
            .collect()
    }
}

/// Reads the shards' JSON summaries and merges them: every student once, by name, as one
/// run would have listed them; the wall time is the slowest shard's. Every shard of the
/// same N must be there exactly once.
pub fn merge(reports: &[PathBuf]) -> Result<Summary> {
    if reports.is_empty() {
        bail!("name the shards' JSON summaries: checker grade merge SHARD.json...");
    }
    let mut summaries: Vec<Summary> = reports
        .iter()
        .map(|path| read(path))
        .collect::<Result<_>>()?;
    let shards: Vec<Option<Shard>> = summaries
        .iter()
        .map(|s| s.shard.as_deref().map(str::parse).transpose())
        .collect::<Result<_, String>>()
        .map_err(anyhow::Error::msg)?;
    let count = match shards.first().copied().flatten() {
        Some(first) => first.count,
        None => bail!(
            "{} is not a shard's summary (graded without --shard)",
            reports[0].display()
        ),
    };
    for (shard, path) in shards.iter().zip(reports) {
        match shard {
            Some(shard) if shard.count == count => {}
            Some(shard) => bail!(
                "{} is shard {shard}, but the first is one of {count}",
                path.display()
            ),
            None => bail!(
                "{} is not a shard's summary (graded without --shard)",
                path.display()
            ),
        }
    }
    for index in 1..=count {
        let found = shards
            .iter()
            .filter(|s| s.is_some_and(|s| s.index == index))
            .count();
        match found {
            1 => {}
            0 => bail!("shard {index}/{count} is missing"),
            _ => bail!("shard {index}/{count} is given {found} times"),
        }
    }
    let took_ms = summaries.iter().map(|s| s.took_ms).max().unwrap_or(0);
    let mut students: Vec<_> = summaries
        .iter_mut()
        .flat_map(|s| s.students.drain(..))
        .collect();
    students.sort_by(|a, b| a.student.cmp(&b.student));
    Ok(Summary {
        students,
        took_ms,
        shard: None,
    })
}

fn read(path: &Path) -> Result<Summary> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the shard's summary {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a class summary from `checker grade --class --format json`",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_parsed_and_refused_clearly() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        for wrong in ["0/3", "4/3", "3", "a/b", "1/0"] {
            let error = wrong.parse::<Shard>().unwrap_err();
            assert!(error.contains("K/N"), "{wrong}: {error}");
        }
    }

    #[test]
    fn the_shards_pick_every_student_once() {
        let students: Vec<usize> = (0..10).collect();
        let mut all: Vec<usize> = (1..=3)
            .flat_map(|index| Shard { index, count: 3 }.pick(&students))
            .collect();
        assert_eq!(Shard { index: 1, count: 3 }.pick(&students), [0, 3, 6, 9]);
        all.sort();
        assert_eq!(all, students);
    }
}
