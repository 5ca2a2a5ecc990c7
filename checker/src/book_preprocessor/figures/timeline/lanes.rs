//! The data lines of a timeline, `<seconds> <lane>: <event>`, parsed into lanes of events.

use anyhow::{bail, Context, Result};
use lab_contract::AssignmentLine;

use crate::book_preprocessor::figures::contract::{field, partition_field};
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
    /// `committed id=<id> partition=<p>`: the bar of the same id ends.
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
        "started" | "committed" => {
            let id = field(&words, "id")
                .context("the event has no id=<id>")?
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
             started, committed, exited or `! note`"
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
pub(super) struct Lane<'a> {
    pub(super) name: &'a str,
    pub(super) events: Vec<(f64, Event)>,
}

/// The block's data lines as lanes, in the order they first appear, and the time of the
/// last event.
pub(super) fn parse_lanes<'a>(block: &Block<'a>) -> Result<(Vec<Lane<'a>>, f64)> {
    let mut lanes: Vec<Lane<'_>> = Vec::new();
    let mut last = 0.0f64;
    for (line, text) in &block.data {
        let (time, lane, event) =
            parse_data_line(text).with_context(|| format!("line {line}: {text:?}"))?;
        if time < last {
            bail!("line {line}: times must not go backwards ({time} after {last})");
        }
        last = time;
        match lanes.iter_mut().find(|l| l.name == lane) {
            Some(l) => l.events.push((time, event)),
            None => lanes.push(Lane {
                name: lane,
                events: vec![(time, event)],
            }),
        }
    }
    if lanes.is_empty() {
        bail!("a timeline needs data lines: `<seconds> <lane>: <event>`");
    }
    Ok((lanes, last))
}

/// Parses `<seconds> <lane>: <event>`.
fn parse_data_line(text: &str) -> Result<(f64, &str, Event)> {
    let (time, rest) = text
        .split_once(char::is_whitespace)
        .context("expected `<seconds> <lane>: <event>`")?;
    let time: f64 = time
        .parse()
        .with_context(|| format!("{time:?} is not a time in seconds"))?;
    let (lane, event) = rest
        .split_once(':')
        .context("expected `<seconds> <lane>: <event>`")?;
    Ok((time, lane.trim(), parse_event(event.trim())?))
}
