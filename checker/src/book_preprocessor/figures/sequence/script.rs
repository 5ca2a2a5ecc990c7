//! The lines of a sequence figure, parsed and checked: the `actors:` line, then one step per
//! data line, top to bottom.

use anyhow::{bail, Context, Result};

use crate::book_preprocessor::figures::Block;

/// What a data line can be, for the error of a line that is none of them.
const EXPECTED: &str = "expected `<actor> -> <actor>: <request>`, `<actor> --> <actor>: \
                        <response>`, `note [<actor>, ...]: <text>` or `gap: <text>`";

/// One row of the diagram.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step<'a> {
    /// An arrow between two lifelines, given as indexes into the actors.
    Message {
        from: usize,
        to: usize,
        label: &'a str,
        /// A response (`-->`), drawn dashed; a request (`->`) is drawn solid.
        reply: bool,
        /// The label started with `!`: an error, drawn in the alert colour.
        alert: bool,
    },
    /// A box over the lifelines `first..=last`.
    Note {
        first: usize,
        last: usize,
        text: &'a str,
    },
    /// Time passing: the lifelines break, and `text` says how long.
    Gap(&'a str),
}

/// The block, parsed and checked.
pub(super) struct Script<'a> {
    /// The lifelines, left to right.
    pub(super) actors: Vec<&'a str>,
    pub(super) steps: Vec<Step<'a>>,
}

impl<'a> Script<'a> {
    pub(super) fn parse(block: &Block<'a>) -> Result<Script<'a>> {
        if block.all("actors").count() > 1 {
            bail!("a sequence figure has one `actors:` line");
        }
        let line = block
            .get("actors")
            .context("a sequence figure needs `actors: <name> | <name> | ...`")?;
        let actors: Vec<&str> = line.split('|').map(str::trim).collect();
        if actors.len() < 2 || actors.iter().any(|a| a.is_empty()) {
            bail!("actors: {line:?} must name two or more actors, separated by `|`");
        }
        if let Some((i, twice)) = actors
            .iter()
            .enumerate()
            .find(|(i, a)| actors[..*i].contains(a))
        {
            bail!("actors: {twice:?} appears twice (position {})", i + 1);
        }
        let steps = block
            .data
            .iter()
            .map(|(line, text)| {
                parse_step(text, &actors).with_context(|| format!("line {line}: {text:?}"))
            })
            .collect::<Result<Vec<_>>>()?;
        if !steps.iter().any(|s| matches!(s, Step::Message { .. })) {
            bail!("a sequence figure needs messages: `<actor> -> <actor>: <message>`");
        }
        Ok(Script { actors, steps })
    }
}

/// Parses one data line.
fn parse_step<'a>(text: &'a str, actors: &[&str]) -> Result<Step<'a>> {
    let (head, body) = text.split_once(':').context(EXPECTED)?;
    let (head, body) = (head.trim(), body.trim());
    if head == "gap" {
        return Ok(Step::Gap(body));
    }
    if let Some(names) = head.strip_prefix("note").filter(|rest| {
        // `note` alone or followed by actors; not an actor whose name starts with "note".
        rest.is_empty() || rest.starts_with(char::is_whitespace)
    }) {
        return parse_note(names, body, actors);
    }
    let (from, to, reply) = if let Some((from, to)) = head.split_once("-->") {
        (from, to, true)
    } else if let Some((from, to)) = head.split_once("->") {
        (from, to, false)
    } else {
        bail!(EXPECTED);
    };
    let (from, to) = (actor(from.trim(), actors)?, actor(to.trim(), actors)?);
    if from == to {
        bail!(
            "a message goes from one actor to another; for what {} does alone, write \
             `note {}: <text>`",
            actors[from],
            actors[from]
        );
    }
    let (label, alert) = match body.strip_prefix('!') {
        Some(label) => (label.trim(), true),
        None => (body, false),
    };
    if label.is_empty() {
        bail!("the message has no text after the `:`");
    }
    Ok(Step::Message {
        from,
        to,
        label,
        reply,
        alert,
    })
}

/// A note over the actors named in `names` (all of them when there are none), spanning from
/// the leftmost to the rightmost.
fn parse_note<'a>(names: &str, text: &'a str, actors: &[&str]) -> Result<Step<'a>> {
    if text.is_empty() {
        bail!("the note has no text after the `:`");
    }
    let named = names
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| actor(name, actors))
        .collect::<Result<Vec<_>>>()?;
    let (first, last) = match (named.iter().min(), named.iter().max()) {
        (Some(first), Some(last)) => (*first, *last),
        _ => (0, actors.len() - 1),
    };
    Ok(Step::Note { first, last, text })
}

/// The index of the actor called `name`.
fn actor(name: &str, actors: &[&str]) -> Result<usize> {
    actors.iter().position(|a| *a == name).with_context(|| {
        format!(
            "unknown actor {name:?}: the `actors:` line names {}",
            actors.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(data: &str) -> Result<Vec<Step<'_>>> {
        parse_step(data, &["A", "Coordinator", "consumer B"]).map(|s| vec![s])
    }

    #[test]
    fn messages_notes_and_gaps_are_read_in_their_own_words() {
        assert_eq!(
            steps("A -> Coordinator: JoinGroup").unwrap(),
            [Step::Message {
                from: 0,
                to: 1,
                label: "JoinGroup",
                reply: false,
                alert: false
            }]
        );
        assert_eq!(
            steps("Coordinator --> consumer B: ! REBALANCE_IN_PROGRESS: rejoin").unwrap(),
            [Step::Message {
                from: 1,
                to: 2,
                label: "REBALANCE_IN_PROGRESS: rejoin",
                reply: true,
                alert: true
            }]
        );
        assert_eq!(
            steps("note: everyone").unwrap(),
            [Step::Note {
                first: 0,
                last: 2,
                text: "everyone"
            }]
        );
        assert_eq!(
            steps("note consumer B, A: both").unwrap(),
            [Step::Note {
                first: 0,
                last: 2,
                text: "both"
            }]
        );
        assert_eq!(
            steps("note Coordinator: waits").unwrap(),
            [Step::Note {
                first: 1,
                last: 1,
                text: "waits"
            }]
        );
        assert_eq!(steps("gap: 3 s later").unwrap(), [Step::Gap("3 s later")]);
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        let cases = [
            (
                "A => Coordinator: JoinGroup",
                "expected `<actor> -> <actor>",
            ),
            ("A -> Coordinator", "expected `<actor> -> <actor>"),
            ("A -> Broker: JoinGroup", "unknown actor \"Broker\""),
            ("A -> A: assign", "write `note A: <text>`"),
            ("A -> Coordinator:  ", "no text"),
            ("A -> Coordinator: !", "no text"),
            ("note Z: x", "unknown actor \"Z\""),
            ("note A:", "the note has no text"),
        ];
        for (line, expected) in cases {
            let message = format!("{:#}", steps(line).unwrap_err());
            assert!(message.contains(expected), "{line:?}: {message}");
        }
    }
}
