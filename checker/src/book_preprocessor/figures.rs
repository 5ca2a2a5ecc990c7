//! Pictures drawn from data: every ```` ```lab-figure ```` block of a chapter becomes an
//! inline SVG.
//!
//! A block is a few `key: value` lines and, for some kinds, data lines written in the lab
//! contract's own output format, so a learner can draw a run of their own program. Blank
//! lines and lines starting with `#` are ignored. Five kinds:
//!
//! **`kind: assignment`**: which member owns which partition, step by step.
//!
//! ```text
//! kind: assignment
//! title: Range, then B leaves
//! partitions: 3
//! state: Before | A: 0, 1 | B: 2
//! state: After B left | A: 0, 1, 2 | B: left
//! ```
//!
//! Each `state:` is a panel: a label, then `member: partitions` cells. An empty list draws an
//! idle member; a word (`left`, `crashed`) draws a member that is gone. Partitions nobody owns
//! appear in a "nobody" row, and a partition whose owner changed since the previous panel is
//! outlined. `arrows: no` draws the panels side by side without arrows (for groups that are
//! not steps of one story).
//!
//! **`kind: timeline`**: one lane per member, time going right. Data lines are
//! `<seconds> <lane>: <event>`, where the event is a line of the lab contract:
//! `assigned [..]` / `revoked [..]` (ownership bands), `received|processed|sent <x>
//! partition=<p>` (a dot), `started id=<id> partition=<p>` and `committed id=<id> ...`
//! (a bar from start to commit; `finished <label> ...` ends the bar of that label too),
//! `exited` (the process is gone), or `! <note>` (a marker, such as a signal). `until:` sets
//! the end of the time axis. The lines may instead come from a run the checker recorded
//! with a lab's reviewed snapshot, `source: <path>/checker/snapshots/<lab>.timeline`, with
//! `lanes: <lane> as <name> | ...` picking and renaming the lanes to draw, and
//! `omit: <word> | ...` leaving out the events that start with those words (a recorded
//! line no picture draws is a marker).
//!
//! **`kind: log`**: a topic's partitions as logs. Data lines are
//! `<verb> <label> [key=<k>] partition=<p> offset=<o>`, or they come from
//! `source: <file>#<section>`, a section (`## name`) of a file such as a reviewed snapshot,
//! resolved against the chapter's folder. Cells are coloured by key. `legend:` replaces the
//! standard legend, for keys that are not message keys (who processed a message).
//!
//! **`kind: sequence`**: a protocol exchange, one lifeline per actor, time going down.
//!
//! ```text
//! kind: sequence
//! title: A joins
//! actors: A | Coordinator
//! A -> Coordinator: JoinGroup
//! note Coordinator: waits for the other members
//! Coordinator --> A: ! REBALANCE_IN_PROGRESS
//! gap: 3 s later
//! ```
//!
//! `actors:` names the lifelines, left to right. Each data line is a row: `->` a request
//! (a solid arrow), `-->` a response (dashed), a text starting with `!` an error (red);
//! `note: <text>` a box across every lifeline, `note <actor>[, <actor>]: <text>` one over
//! those actors and the ones between; `gap: <text>` time passing. The lifelines are spaced
//! so that each message's text fits over its arrow; a longer one wraps.
//!
//! **`kind: overview`**: the course in one picture: a producer, a topic's partitions as logs,
//! and groups whose members own them.
//!
//! ```text
//! kind: overview
//! title: One topic, two groups
//! producer: order service
//! topic: orders
//! partitions: 3
//! group: billing | consumer 0: 0, 1 | consumer 1: 2
//! group: analytics | consumer 0: 0, 1, 2
//! sent order1 key=alice partition=0 offset=0
//! ```
//!
//! Records are data lines or a `source:`, as in a log figure; a key must keep to one
//! partition. `group:` lines are written like an assignment's `state:` lines, the group's
//! name first; in each group every partition has exactly one owner, and an arrow goes from
//! it to that member. `topic:` names the topic.
//!
//! The drawing is a pure function of the block, so the book's pictures are reproducible.
//!
//! The modules follow the kinds: `assignment`, `timeline`, `log`, `sequence` and `overview`
//! each read and draw one (the overview reads its lines with the assignment's and the log's
//! parsers); `contract` reads the lab contract's lines they share, and `svg` writes the
//! elements.

mod assignment;
mod contract;
mod log;
mod overview;
mod sequence;
mod svg;
mod timeline;

use std::path::Path;

use anyhow::{bail, Context, Result};

/// Replaces every `lab-figure` fenced block of `content` with its picture.
pub fn replace_figures(content: &str, chapter_dir: &Path) -> Result<String> {
    let mut out = String::with_capacity(content.len());
    let mut lines = content.split_inclusive('\n').enumerate();
    while let Some((number, line)) = lines.next() {
        if line.trim() != "```lab-figure" {
            out.push_str(line);
            continue;
        }
        let mut body = Vec::new();
        let mut closed = false;
        for (_, line) in lines.by_ref() {
            if line.trim() == "```" {
                closed = true;
                break;
            }
            body.push(line.trim_end_matches(['\n', '\r']));
        }
        if !closed {
            bail!(
                "the lab-figure block at line {} has no closing ```",
                number + 1
            );
        }
        let figure = render(&body, chapter_dir)
            .with_context(|| format!("the lab-figure block at line {}", number + 1))?;
        out.push('\n');
        out.push_str(&figure);
        out.push_str("\n\n");
    }
    Ok(out)
}

/// One parsed block: its `key: value` fields in order, and its data lines.
struct Block<'a> {
    fields: Vec<(&'a str, &'a str)>,
    data: Vec<(usize, &'a str)>,
}

const KEYS: [&str; 15] = [
    "kind",
    "title",
    "partitions",
    "state",
    "arrows",
    "until",
    "source",
    "caption",
    "actors",
    "legend",
    "producer",
    "topic",
    "group",
    "lanes",
    "omit",
];

impl<'a> Block<'a> {
    fn parse(body: &[&'a str]) -> Block<'a> {
        let mut fields = Vec::new();
        let mut data = Vec::new();
        for (index, line) in body.iter().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once(':') {
                Some((key, value)) if KEYS.contains(&key.trim()) => {
                    fields.push((key.trim(), value.trim()));
                }
                _ => data.push((index + 1, line)),
            }
        }
        Block { fields, data }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn all(&self, key: &'a str) -> impl Iterator<Item = &'a str> + '_ {
        self.fields
            .iter()
            .filter(move |(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>> {
        self.get(key)
            .map(|text| {
                text.parse()
                    .map_err(|_| anyhow::anyhow!("{key}: {text:?} is not a number"))
            })
            .transpose()
    }
}

/// The kinds, for the errors that list them.
const KINDS: &str = "assignment, timeline, log, sequence or overview";

fn render(body: &[&str], chapter_dir: &Path) -> Result<String> {
    let block = Block::parse(body);
    let title = block
        .get("title")
        .context("a figure needs a `title:` line")?;
    let svg = match block.get("kind") {
        Some("assignment") => assignment::draw(&block, title)?,
        Some("timeline") => timeline::draw(&block, title, chapter_dir)?,
        Some("log") => log::draw(&block, title, chapter_dir)?,
        Some("sequence") => sequence::draw(&block, title)?,
        Some("overview") => overview::draw(&block, title, chapter_dir)?,
        Some(other) => bail!("unknown figure kind {other:?}: use {KINDS}"),
        None => bail!("a figure needs a `kind:` line ({KINDS})"),
    };
    let caption = match block.get("caption") {
        Some(caption) => format!("{title}. {caption}"),
        None => title.to_string(),
    };
    Ok(format!(
        "<figure class=\"lab-figure\">\n{svg}\n<figcaption>{}</figcaption>\n</figure>",
        svg::escape(&caption)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(body: &str) -> Result<String> {
        replace_figures(
            &format!("before\n\n```lab-figure\n{body}\n```\n\nafter\n"),
            Path::new("."),
        )
    }

    #[test]
    fn an_assignment_figure_draws_every_state_and_outlines_moves() {
        let out = figure(
            "kind: assignment\ntitle: Range & B leaves\npartitions: 3\n\
             state: Before | A: 0, 1 | B: 2\n\
             state: Eager: all revoked | A: | B: left\n\
             state: After | A: 0 1 2 | B: left",
        )
        .unwrap();
        assert!(
            out.starts_with("before\n\n\n<figure class=\"lab-figure\">\n<svg "),
            "{out}"
        );
        assert!(out.ends_with("</figure>\n\n\nafter\n"), "{out}");
        assert!(out.contains("<title>Range &amp; B leaves</title>"));
        assert!(out.contains(">Eager: all revoked</text>"));
        assert!(out.contains(">idle</text>"));
        assert!(out.contains(">left</text>"));
        assert!(
            out.contains(">nobody</text>"),
            "the revoked partitions belong to nobody"
        );
        assert!(
            out.contains("stroke-width=\"2.5\""),
            "moved partitions are outlined"
        );
        assert!(out.contains("<figcaption>Range &amp; B leaves</figcaption>"));
        // An HTML block ends at a blank line: the picture must have none.
        let html = &out[out.find("<figure").unwrap()..out.find("</figure>").unwrap()];
        assert!(!html.contains("\n\n"), "{html}");
    }

    #[test]
    fn figures_are_deterministic() {
        let body = "kind: timeline\ntitle: t\n0 A: assigned [0, 1]\n1.5 A: received c1 partition=0 offset=0\n2 A: ! SIGTERM\n2.1 A: revoked [0, 1]\n2.2 A: exited";
        assert_eq!(figure(body).unwrap(), figure(body).unwrap());
    }

    #[test]
    fn a_timeline_draws_bands_dots_bars_and_notes() {
        let out = figure(
            "kind: timeline\ntitle: Two consumers\nuntil: 4\n\
             0.0 consumer 0: assigned [0]\n0.0 consumer 1: assigned [1]\n\
             0.1 consumer 0: started id=0 partition=0 offset=0\n\
             0.2 consumer 1: received c1 partition=1 offset=0\n\
             1.1 consumer 0: committed id=0 partition=0 offset=0\n\
             2.0 consumer 1: ! SIGKILL\n2.0 consumer 1: exited",
        )
        .unwrap();
        assert!(out.contains(">consumer 0</text>") && out.contains(">consumer 1</text>"));
        assert!(out.contains("fill-opacity=\"0.35\""), "ownership band");
        assert!(out.contains("<circle"), "message dot");
        assert!(out.contains(">SIGKILL</text>"), "note");
        assert!(out.contains(">process gone</text>"));
        assert!(out.contains(">0</text>"), "bar label");
        assert!(out.contains(">seconds</text>"));
    }

    #[test]
    fn a_log_figure_reads_contract_lines() {
        let out = figure(
            "kind: log\ntitle: Orders\npartitions: 3\n\
             sent order1 key=alice partition=2 offset=0\n\
             sent order2 key=erin partition=0 offset=0\n\
             sent order3 key=alice partition=2 offset=1",
        )
        .unwrap();
        assert!(out.contains(">order3</text>") && out.contains(">key=alice</text>"));
        assert!(out.contains(">offset 1</text>") && out.contains(">P1</text>"));
    }

    #[test]
    fn a_log_figure_reads_a_snapshot_section() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
        let out = replace_figures(
            "```lab-figure\nkind: log\ntitle: t\nsource: 01-orders.snap#producer\n```\n",
            &dir,
        )
        .unwrap();
        assert!(out.contains(">order5</text>"), "{out}");
        let error = replace_figures(
            "```lab-figure\nkind: log\ntitle: t\nsource: 01-orders.snap#nothing\n```\n",
            &dir,
        )
        .unwrap_err();
        assert!(
            format!("{error:#}").contains("has no lines in section"),
            "{error:#}"
        );
    }

    #[test]
    fn a_timeline_draws_the_chosen_lanes_of_a_recorded_run() {
        let dir = std::env::temp_dir().join(format!("recorded-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("09.timeline"),
            "# snapshot fingerprint: 0123\n\
             0.71 instance-b: assigned [2, 3]\n\
             0.71 instance-a: assigned [0, 1]\n\
             0.81 other: assigned [0]\n\
             3.48 instance-a: fenced\n\
             3.48 instance-b: refused session.timeout.ms\n\
             3.48 instance-a: exited\n",
        )
        .unwrap();
        let block = |lanes: &str| {
            format!(
                "```lab-figure\nkind: timeline\ntitle: t\nsource: 09.timeline\nlanes: {lanes}\nomit: refused\n```\n"
            )
        };
        let out = replace_figures(&block("instance-a as A | instance-b as B"), &dir).unwrap();
        let (a, b) = (out.find(">A</text>"), out.find(">B</text>"));
        assert!(
            a.is_some() && b.is_some() && a < b,
            "lanes in the order listed: {out}"
        );
        assert!(
            !out.contains(">other</text>"),
            "an unchosen lane is drawn: {out}"
        );
        assert!(
            out.contains("fenced"),
            "a recorded line no picture draws is a marker: {out}"
        );
        assert!(!out.contains("refused"), "an omitted line is drawn: {out}");
        let error = replace_figures(&block("instance-c as C"), &dir).unwrap_err();
        assert!(
            format!("{error:#}").contains("no events in lane"),
            "{error:#}"
        );
        // Hand-written data lines stay strict.
        let error = figure("kind: timeline\ntitle: t\n0.1 A: fenced").unwrap_err();
        assert!(format!("{error:#}").contains("unknown event"), "{error:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The x of every lifeline and the tip of every arrowhead in a drawn figure.
    fn lifelines_and_tips(svg: &str) -> (Vec<String>, Vec<String>) {
        let attribute = |line: &str, name: &str| {
            let start = line.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            line[start..].split('"').next().unwrap().to_string()
        };
        let mut lifelines: Vec<String> = svg
            .lines()
            .filter(|l| l.contains("class=\"lifeline\""))
            .map(|l| attribute(l, "x1"))
            .collect();
        lifelines.dedup();
        let tips = svg
            .lines()
            .filter(|l| l.contains("class=\"arrowhead\""))
            .map(|l| {
                attribute(l, "d")[1..]
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        (lifelines, tips)
    }

    #[test]
    fn a_sequence_figure_draws_a_lifeline_per_actor_and_an_arrow_per_message() {
        let out = figure(
            "kind: sequence\ntitle: Join & sync\nactors: A | Coordinator | B\n\
             A -> Coordinator: JoinGroup\nB -> Coordinator: JoinGroup\n\
             note Coordinator: waits group.initial.rebalance.delay.ms\n\
             Coordinator --> A: JoinGroup response: leader A, members A, B\n\
             Coordinator --> B: JoinGroup response: leader A\n\
             gap: every heartbeat.interval.ms\n\
             Coordinator --> B: ! REBALANCE_IN_PROGRESS\n\
             note: everyone rejoins\n\
             A -> B: crosses the coordinator's lifeline",
        )
        .unwrap();
        let (lifelines, tips) = lifelines_and_tips(&out);
        assert_eq!(lifelines.len(), 3, "{lifelines:?}");
        assert_eq!(tips.len(), 6, "one arrowhead per message");
        let targets = [1, 1, 0, 2, 2, 2];
        for (tip, target) in tips.iter().zip(targets) {
            assert_eq!(tip, &lifelines[target], "an arrow ends on its lifeline");
        }
        assert_eq!(
            out.matches("stroke-dasharray=\"6 4\"").count(),
            3,
            "responses"
        );
        assert_eq!(
            out.matches("stroke-dasharray=\"2 4\"").count(),
            3,
            "the gap breaks each lifeline"
        );
        assert!(out.contains(">REBALANCE_IN_PROGRESS</text>"));
        assert!(out.contains("fill=\"#c0392b\""), "the error is red");
        assert!(out.contains(">everyone rejoins</text>"));
        assert!(out.contains(">every heartbeat.interval.ms</text>"));
        assert!(out.contains("<title>Join &amp; sync</title>"));
        assert!(
            out.contains("red: an error code"),
            "the legend names the red"
        );
    }

    #[test]
    fn an_overview_draws_the_producer_the_logs_and_an_arrow_to_each_owner() {
        let out = figure(
            "kind: overview\ntitle: The big picture\nproducer: orders service\n\
             topic: orders\npartitions: 3\n\
             group: billing | consumer 0: 0, 1 | consumer 1: 2\n\
             group: audit | auditor: 2, 0, 1\n\
             sent order1 key=alice partition=0 offset=0\n\
             sent order2 key=bob partition=2 offset=0\n\
             sent order3 key=alice partition=0 offset=1\n\
             sent order4 key=erin partition=1 offset=0",
        )
        .unwrap();
        assert!(out.contains(">topic orders</text>") && out.contains(">orders service</text>"));
        assert!(out.contains(">group billing</text>") && out.contains(">group audit</text>"));
        assert_eq!(out.matches(">alice</text>").count(), 2, "cells show keys");
        // 3 arrows from the producer, then one per partition and group.
        let heads: Vec<&str> = out
            .lines()
            .filter(|l| l.contains("class=\"arrowhead\""))
            .collect();
        assert_eq!(heads.len(), 3 + 3 + 3);
        for (head, p) in heads[3..].iter().zip([0, 1, 2, 0, 1, 2]) {
            assert!(
                head.contains(&format!("fill=\"{}\"", svg::colour(p))),
                "an ownership arrow has its partition's colour: {head}"
            );
        }
        assert!(
            out.contains("key picks the partition"),
            "keys are explained"
        );
    }

    #[test]
    fn bad_figures_are_clear_errors() {
        let cases = [
            ("title: t", "needs a `kind:`"),
            ("kind: pie\ntitle: t", "unknown figure kind"),
            (
                "kind: assignment\npartitions: 2\nstate: s | A: 0",
                "needs a `title:`",
            ),
            (
                "kind: assignment\ntitle: t\npartitions: 2\nstate: s | A: 5",
                "does not exist",
            ),
            (
                "kind: assignment\ntitle: t\npartitions: 2\nstate: s | A: 0 | B: 0",
                "owned by both",
            ),
            ("kind: timeline\ntitle: t\n1 A: jumped", "unknown event"),
            (
                "kind: timeline\ntitle: t\n1 A: assigned 0, 1",
                "expected `assigned [<partition>, ...]`",
            ),
            (
                "kind: timeline\ntitle: t\n1 A: consumer 1 revoked [1]",
                "the lane names the member",
            ),
            (
                "kind: timeline\ntitle: t\n2 A: exited\n1 A: exited",
                "backwards",
            ),
            (
                "kind: timeline\ntitle: t\nuntil: 1\n2 A: exited",
                "before the last event",
            ),
            ("kind: log\ntitle: t\nsent x partition=0", "no offset"),
            ("kind: sequence\ntitle: t\nA -> B: x", "needs `actors:"),
            (
                "kind: sequence\ntitle: t\nactors: A | B | A\nA -> B: x",
                "\"A\" appears twice",
            ),
            ("kind: sequence\ntitle: t\nactors: A | B\nnote: x", "needs messages"),
            (
                "kind: sequence\ntitle: t\nactors: A | B\nA -> C: x",
                "line 4: \"A -> C: x\": unknown actor \"C\"",
            ),
            (
                "kind: sequence\ntitle: t\nactors: A | B\nA ~> B: x",
                "expected `<actor> -> <actor>",
            ),
            (
                "kind: overview\ntitle: t\npartitions: 1\ngroup: g | a: 0\nsent x partition=0 offset=0",
                "needs `producer:",
            ),
            (
                "kind: overview\ntitle: t\nproducer: p\npartitions: 2\ngroup: g | a: 0\n\
                 sent x partition=0 offset=0",
                "partition 1 has no owner",
            ),
            (
                "kind: overview\ntitle: t\nproducer: p\npartitions: 1\ngroup: g | a: 0 | b: 0\n\
                 sent x partition=0 offset=0",
                "owned by both",
            ),
            (
                "kind: overview\ntitle: t\nproducer: p\npartitions: 1\ngroup: g | a: left\n\
                 sent x partition=0 offset=0",
                "has no owner",
            ),
            (
                "kind: overview\ntitle: t\nproducer: p\npartitions: 2\ngroup: g | a: 0, 1\n\
                 sent x key=k partition=0 offset=0\nsent y key=k partition=1 offset=0",
                "key k is in partitions 0 and 1",
            ),
            (
                "kind: overview\ntitle: t\nproducer: p\npartitions: 1\n\
                 sent x partition=0 offset=0",
                "needs a `group:",
            ),
        ];
        for (body, expected) in cases {
            let error = figure(body).unwrap_err();
            let message = format!("{error:#}");
            assert!(message.contains(expected), "{body:?}: {message}");
            assert!(message.contains("lab-figure block at line 3"), "{message}");
        }
        let error = replace_figures("```lab-figure\nkind: log\n", Path::new(".")).unwrap_err();
        assert!(format!("{error:#}").contains("no closing"), "{error:#}");
    }

    #[test]
    fn other_code_blocks_are_untouched() {
        let text = "```rust\nfn main() {}\n```\n";
        assert_eq!(replace_figures(text, Path::new(".")).unwrap(), text);
    }
}
