//! The data lines of a timeline, `<seconds> <lane>: <event>`, parsed into lanes of events.

use std::path::Path;

use anyhow::{bail, Context, Result};
use lab_contract::AssignmentLine;

use crate::book_preprocessor::figures::contract::{field, partition_field};
use crate::book_preprocessor::figures::log::data_lines;
use crate::book_preprocessor::figures::Block;

/// What happens in a lane at one moment: a line of the lab contract.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Event {
    /// `assigned [..]`: the lane takes these partitions.
    Assigned(Vec<usize>),
    /// `revoked [..]`: the lane gives these partitions up.
    Revoked(Vec<usize>),
    /// `received`, `processed` or `sent <label> partition=<p>`: a dot.
    Message { label: String, partition: usize },
    /// `started id=<id> partition=<p>`: a bar begins.
    Started { id: String, partition: usize },
    /// `committed id=<id> partition=<p>` or `finished <label> partition=<p>`: the bar of
    /// the same id ends.
    Committed { id: String, partition: usize },
    /// `exited`: the process is gone.
    Exited,
    /// `! <note>`: a marker, such as a signal.
    Note(String),
}

impl Event {
    /// The partitions the event is about, each of which gets a strip in the lane.
    pub(super) fn partitions(&self) -> Vec<usize> {
        match self {
            Event::Assigned(list) | Event::Revoked(list) => list.clone(),
            Event::Message { partition, .. }
            | Event::Started { partition, .. }
            | Event::Committed { partition, .. } => vec![*partition],
            Event::Exited | Event::Note(_) => vec![],
        }
    }
}

/// Parses the event of a data line, the part after `<lane>:`.
fn parse_event(text: &str) -> Result<Event> {
    if let Some(note) = text.strip_prefix('!') {
        return Ok(Event::Note(note.trim().to_string()));
    }
    if let Some(line) = AssignmentLine::parse(text.trim()) {
        return assignment_event(line);
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let verb = words.first().copied().unwrap_or_default();
    Ok(match verb {
        "assigned" | "revoked" => bail!("expected `{verb} [<partition>, ...]`"),
        "exited" => Event::Exited,
        "received" | "processed" | "sent" => Event::Message {
            label: words.get(1).copied().unwrap_or_default().to_string(),
            partition: partition_field(&words)?,
        },
        "started" | "committed" | "finished" => {
            // `id=<id>` names the message; lab 8's jobs are named by their label instead.
            let id = match field(&words, "id") {
                Some(id) => id,
                None if words.len() > 2 => words[1],
                None => bail!("the event has no id=<id>"),
            }
            .to_string();
            let partition = partition_field(&words)?;
            if verb == "started" {
                Event::Started { id, partition }
            } else {
                Event::Committed { id, partition }
            }
        }
        other => bail!(
            "unknown event {other:?}: use assigned, revoked, received, processed, sent, \
             started, committed, finished, exited or `! note`"
        ),
    })
}

/// The event of an assignment line; its lane already names the member.
fn assignment_event(line: AssignmentLine) -> Result<Event> {
    if let Some(member) = line.member {
        bail!("the lane names the member: write `<seconds> consumer {member}: <event>`");
    }
    let partitions = line
        .partitions
        .into_iter()
        .map(|p| usize::try_from(p).with_context(|| format!("{p} is not a partition number")))
        .collect::<Result<Vec<_>>>()?;
    Ok(match line.event {
        lab_contract::Event::Assigned => Event::Assigned(partitions),
        lab_contract::Event::Revoked => Event::Revoked(partitions),
    })
}

/// A member's lane: its events in time order.
pub(super) struct Lane {
    pub(super) name: String,
    pub(super) events: Vec<(f64, Event)>,
}

/// The lanes to draw, in the order they first appear (or as `lanes:` lists them), and the
/// time of the last event.
///
/// The data lines are the block's own, or a recorded timeline's (`source:`, such as
/// `checker/snapshots/06-click-processors.timeline`). `lanes: <lane> as <name> | ...` keeps
/// only those lanes, renamed. A recorded run holds lines no picture draws (`fenced`, the
/// assignor a program reports): those become markers, where a hand-written line would be
/// an error.
pub(super) fn parse_lanes(block: &Block<'_>, chapter_dir: &Path) -> Result<(Vec<Lane>, f64)> {
    let sourced = block.get("source").is_some();
    let chosen = chosen_lanes(block);
    // `omit: refused | started`: events, by their first word, that the picture leaves out.
    let omitted: Vec<&str> = block
        .get("omit")
        .map(|list| list.split('|').map(str::trim).collect())
        .unwrap_or_default();
    let mut lanes: Vec<Lane> = Vec::new();
    let mut last = 0.0f64;
    for (line, text) in data_lines(block, chapter_dir)? {
        let (time, lane, said, event) =
            parse_data_line(&text, sourced).with_context(|| format!("line {line}: {text:?}"))?;
        // A marker is omitted by its first word too: `omit: after` leaves out `! after ...`.
        let said = said.trim_start_matches('!');
        if omitted.contains(&said.split_whitespace().next().unwrap_or_default()) {
            continue;
        }
        let name = match &chosen {
            None => lane.to_string(),
            Some(chosen) => match chosen.iter().find(|(from, _)| *from == lane) {
                Some((_, name)) => name.to_string(),
                None => continue,
            },
        };
        if time < last {
            bail!("line {line}: times must not go backwards ({time} after {last})");
        }
        last = time;
        match lanes.iter_mut().find(|l| l.name == name) {
            Some(l) => l.events.push((time, event)),
            None => lanes.push(Lane {
                name,
                events: vec![(time, event)],
            }),
        }
    }
    if let Some(chosen) = &chosen {
        for (from, name) in chosen {
            if !lanes.iter().any(|l| l.name == *name) {
                bail!("lanes: no events in lane {from:?}");
            }
        }
        lanes.sort_by_key(|l| chosen.iter().position(|(_, name)| *name == l.name));
    }
    if lanes.is_empty() {
        bail!("a timeline needs data lines: `<seconds> <lane>: <event>`");
    }
    Ok((lanes, last))
}

/// `lanes: <lane> as <name> | ...`: which lanes to draw, and what to call them.
fn chosen_lanes<'a>(block: &Block<'a>) -> Option<Vec<(&'a str, &'a str)>> {
    let list = block.get("lanes")?;
    let chosen = list
        .split('|')
        .map(|cell| {
            let cell = cell.trim();
            match cell.rsplit_once(" as ") {
                Some((from, name)) => (from.trim(), name.trim()),
                None => (cell, cell),
            }
        })
        .collect();
    Some(chosen)
}

/// Parses `<seconds> <lane>: <event>` into the time, the lane, the event as written and as
/// read; in a recorded run, an event no picture draws is a marker.
fn parse_data_line(text: &str, recorded: bool) -> Result<(f64, &str, &str, Event)> {
    let (time, rest) = text
        .split_once(char::is_whitespace)
        .context("expected `<seconds> <lane>: <event>`")?;
    let time: f64 = time
        .parse()
        .with_context(|| format!("{time:?} is not a time in seconds"))?;
    let (lane, event) = rest
        .split_once(':')
        .context("expected `<seconds> <lane>: <event>`")?;
    let event = event.trim();
    let parsed = match parse_event(event) {
        Err(_) if recorded => Event::Note(event.to_string()),
        other => other?,
    };
    Ok((time, lane.trim(), event, parsed))
}
