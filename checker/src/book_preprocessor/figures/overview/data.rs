//! What an overview shows, parsed and checked: the producer, the topic and its records, and
//! the groups, whose `group:` lines are read like an assignment figure's `state:` lines.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::book_preprocessor::figures::assignment::states::{Cell, State};
use crate::book_preprocessor::figures::log::{data_lines, Record};
use crate::book_preprocessor::figures::Block;

/// One consumer group: its name and its members, each with the partitions it owns.
pub(super) struct Group<'a> {
    pub(super) name: &'a str,
    /// In the order the `group:` line names them; every partition appears exactly once.
    pub(super) members: Vec<(&'a str, Vec<usize>)>,
}

/// The block, parsed and checked.
pub(super) struct Overview<'a> {
    pub(super) producer: &'a str,
    pub(super) topic: &'a str,
    pub(super) partitions: usize,
    pub(super) records: Vec<Record>,
    pub(super) groups: Vec<Group<'a>>,
}

impl<'a> Overview<'a> {
    /// Parses the block; its records come from its data lines or from a `source:`,
    /// resolved against `chapter_dir`, as in a log figure.
    pub(super) fn parse(block: &Block<'a>, chapter_dir: &Path) -> Result<Overview<'a>> {
        let producer = block
            .get("producer")
            .context("an overview needs `producer: <name>`")?;
        let partitions: usize = block
            .number("partitions")?
            .context("an overview needs `partitions:`")?;
        if partitions == 0 {
            bail!("partitions: a topic has at least one partition");
        }
        let records = data_lines(block, chapter_dir)?
            .iter()
            .map(|(line, text)| {
                Record::parse(text).with_context(|| format!("line {line}: {text:?}"))
            })
            .collect::<Result<Vec<_>>>()?;
        if records.is_empty() {
            bail!(
                "an overview needs records: `sent <label> key=<k> partition=<p> offset=<o>` \
                 lines, or a `source:`"
            );
        }
        check_records(&records, partitions)?;
        let groups = block
            .all("group")
            .map(|line| parse_group(line, partitions))
            .collect::<Result<Vec<_>>>()?;
        if groups.is_empty() {
            bail!("an overview needs a `group: <name> | <member>: <partitions> | ...` line");
        }
        Ok(Overview {
            producer,
            topic: block.get("topic").unwrap_or("topic"),
            partitions,
            records,
            groups,
        })
    }

    /// The widest log, in records.
    pub(super) fn columns(&self) -> usize {
        self.records.iter().map(|r| r.offset + 1).max().unwrap_or(1)
    }

    /// Whether the records have keys, so that the legend says what keys do.
    pub(super) fn keyed(&self) -> bool {
        self.records.iter().any(|r| r.key.is_some())
    }
}

/// Fails on a record outside the topic, two records at one offset, or a key in two
/// partitions: the picture shows what Kafka's default partitioner does, which sends every
/// record of a key to one partition.
fn check_records(records: &[Record], partitions: usize) -> Result<()> {
    let mut keys: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, record) in records.iter().enumerate() {
        let (p, offset) = (record.partition, record.offset);
        if p >= partitions {
            bail!(
                "record {}: partition {p} does not exist ({partitions} partitions)",
                record.label
            );
        }
        if records[..i]
            .iter()
            .any(|r| r.partition == p && r.offset == offset)
        {
            bail!("two records at partition {p} offset {offset}");
        }
        if let Some(key) = record.key.as_deref() {
            if let Some(other) = keys.insert(key, p).filter(|other| *other != p) {
                bail!("key {key} is in partitions {other} and {p}: one key goes to one partition");
            }
        }
    }
    Ok(())
}

/// Parses `name | member: partitions | ...`: every member owns partitions (an overview shows
/// a group at rest), and each partition has exactly one owner.
fn parse_group(line: &str, partitions: usize) -> Result<Group<'_>> {
    let mut names = Vec::new();
    let state = State::parse(line, partitions, &mut names)?;
    let name = state.label;
    if name.is_empty() {
        bail!("group: {line:?} starts with the group's name");
    }
    if state.cells.is_empty() {
        bail!("group {name:?} has no members: write `{name} | <member>: <partitions>`");
    }
    state.check_single_owners(partitions)?;
    if let Some(p) = state.unowned(partitions).first() {
        bail!("group {name:?}: partition {p} has no owner; in a group at rest every partition has one");
    }
    let members = names
        .into_iter()
        .map(|member| match &state.cells[member] {
            Cell::Owns(list) => Ok((member, list.clone())),
            Cell::Gone(word) => bail!(
                "group {name:?}: {member} is {word:?}; an overview shows members that own \
                 partitions (an empty list for an idle one)"
            ),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Group { name, members })
}
