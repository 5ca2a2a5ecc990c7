//! The `state:` lines of an assignment figure, parsed and checked.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};

use crate::book_preprocessor::figures::Block;

/// A member's cell in one panel.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::book_preprocessor::figures) enum Cell {
    /// The partitions the member owns; none draws an idle member.
    Owns(Vec<usize>),
    /// A member that is gone, with the word that says how (`left`, `crashed`).
    Gone(String),
}

impl Cell {
    /// Parses a cell's value: a partition list, or a word for a member that is gone.
    fn parse(value: &str, partitions: usize) -> Result<Cell> {
        if value.chars().next().is_some_and(char::is_alphabetic) {
            return Ok(Cell::Gone(value.to_string()));
        }
        let list = partition_list(value)?;
        if let Some(p) = list.iter().find(|p| **p >= partitions) {
            bail!("partition {p} does not exist ({partitions} partitions)");
        }
        Ok(Cell::Owns(list))
    }
}

/// Parses a partition list: `0, 1`, `[0, 1]`, `0 1` or nothing.
fn partition_list(text: &str) -> Result<Vec<usize>> {
    text.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split([',', ' '])
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse()
                .with_context(|| format!("{part:?} is not a partition number"))
        })
        .collect()
}

/// One `state:` line: a panel's label, and each member's cell.
pub(in crate::book_preprocessor::figures) struct State<'a> {
    pub(in crate::book_preprocessor::figures) label: &'a str,
    pub(in crate::book_preprocessor::figures) cells: BTreeMap<&'a str, Cell>,
}

impl<'a> State<'a> {
    /// Parses `label | member: partitions | ...`, adding members not seen before to `members`.
    pub(in crate::book_preprocessor::figures) fn parse(
        text: &'a str,
        partitions: usize,
        members: &mut Vec<&'a str>,
    ) -> Result<State<'a>> {
        let mut parts = text.split('|');
        let label = parts.next().unwrap_or_default().trim();
        let mut cells = BTreeMap::new();
        for part in parts {
            let (member, value) = part.split_once(':').with_context(|| {
                format!("state {label:?}: {part:?} is not `member: partitions`")
            })?;
            let member = member.trim();
            let cell = Cell::parse(value.trim(), partitions)
                .with_context(|| format!("state {label:?}"))?;
            if !members.contains(&member) {
                members.push(member);
            }
            if cells.insert(member, cell).is_some() {
                bail!("state {label:?}: {member} appears twice");
            }
        }
        Ok(State { label, cells })
    }

    /// Fails when two members own one partition.
    pub(in crate::book_preprocessor::figures) fn check_single_owners(
        &self,
        partitions: usize,
    ) -> Result<()> {
        let mut seen = vec![None; partitions];
        for (member, cell) in &self.cells {
            if let Cell::Owns(list) = cell {
                for &p in list {
                    if let Some(other) = seen[p].replace(*member) {
                        bail!(
                            "state {:?}: partition {p} is owned by both {other} and {member}",
                            self.label
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// The member that owns partition `p`.
    pub(in crate::book_preprocessor::figures) fn owner(&self, p: usize) -> Option<&'a str> {
        self.cells.iter().find_map(|(member, cell)| match cell {
            Cell::Owns(list) if list.contains(&p) => Some(*member),
            _ => None,
        })
    }

    /// The partitions nobody owns.
    pub(in crate::book_preprocessor::figures) fn unowned(&self, partitions: usize) -> Vec<usize> {
        (0..partitions)
            .filter(|p| self.owner(*p).is_none())
            .collect()
    }
}

/// The block, parsed and checked.
pub(super) struct Figure<'a> {
    pub(super) partitions: usize,
    /// Whether the panels are steps of one story, joined by arrows.
    pub(super) arrows: bool,
    /// Every member, in the order they first appear.
    pub(super) members: Vec<&'a str>,
    pub(super) states: Vec<State<'a>>,
}

impl<'a> Figure<'a> {
    pub(super) fn parse(block: &Block<'a>) -> Result<Figure<'a>> {
        let partitions: usize = block
            .number("partitions")?
            .context("an assignment figure needs `partitions:`")?;
        let arrows = match block.get("arrows") {
            None | Some("yes") => true,
            Some("no") => false,
            Some(other) => bail!("arrows: {other:?} must be yes or no"),
        };
        if let Some((line, text)) = block.data.first() {
            bail!("line {line}: {text:?} is not a `state:` line");
        }
        let mut members = Vec::new();
        let states = block
            .all("state")
            .map(|state| State::parse(state, partitions, &mut members))
            .collect::<Result<Vec<_>>>()?;
        if states.is_empty() {
            bail!("an assignment figure needs at least one `state:` line");
        }
        for state in &states {
            state.check_single_owners(partitions)?;
        }
        Ok(Figure {
            partitions,
            arrows,
            members,
            states,
        })
    }

    /// The members that get a row in `state`'s panel. Steps of one story keep each member on
    /// its own row in every panel; separate groups (no arrows) list only their own members.
    pub(super) fn rows(&self, state: &State<'_>) -> Vec<&'a str> {
        self.members
            .iter()
            .copied()
            .filter(|m| self.arrows || state.cells.contains_key(m))
            .collect()
    }

    /// The panel before `index`, when the panels are steps and there is one.
    pub(super) fn previous(&self, index: usize) -> Option<&State<'a>> {
        let previous = index.checked_sub(1).filter(|_| self.arrows)?;
        self.states.get(previous)
    }
}
