//! Pictures drawn from data: every ```` ```lab-figure ```` block of a chapter becomes an
//! inline SVG.
//!
//! A block is a few `key: value` lines and, for some kinds, data lines written in the lab
//! contract's own output format, so a learner can draw a run of their own program. Blank
//! lines and lines starting with `#` are ignored. Three kinds:
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
//! (a bar from start to commit), `exited` (the process is gone), or `! <note>` (a marker,
//! such as a signal). `until:` sets the end of the time axis.
//!
//! **`kind: log`**: a topic's partitions as logs. Data lines are
//! `<verb> <label> [key=<k>] partition=<p> offset=<o>`, or they come from
//! `source: <file>#<section>`, a section (`## name`) of a file such as a reviewed snapshot,
//! resolved against the chapter's folder. Cells are coloured by key.
//!
//! The drawing is a pure function of the block, so the book's pictures are reproducible.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Fill colours, one per partition (or per key in a log).
const PALETTE: [&str; 8] = [
    "#f6a54c", "#6cc3ef", "#8fd175", "#e58fd6", "#f3dd5a", "#b7a6ea", "#f28b82", "#7fd8c9",
];
const INK: &str = "#222";
const FAINT: &str = "#777";
const ALERT: &str = "#c0392b";

fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

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

const KEYS: [&str; 8] = [
    "kind",
    "title",
    "partitions",
    "state",
    "arrows",
    "until",
    "source",
    "caption",
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

fn render(body: &[&str], chapter_dir: &Path) -> Result<String> {
    let block = Block::parse(body);
    let title = block
        .get("title")
        .context("a figure needs a `title:` line")?;
    let svg = match block.get("kind") {
        Some("assignment") => assignment(&block, title)?,
        Some("timeline") => timeline(&block, title)?,
        Some("log") => log(&block, title, chapter_dir)?,
        Some(other) => bail!("unknown figure kind {other:?}: use assignment, timeline or log"),
        None => bail!("a figure needs a `kind:` line (assignment, timeline or log)"),
    };
    let caption = match block.get("caption") {
        Some(caption) => format!("{title}. {caption}"),
        None => title.to_string(),
    };
    Ok(format!(
        "<figure class=\"lab-figure\">\n{svg}\n<figcaption>{}</figcaption>\n</figure>",
        escape(&caption)
    ))
}

// ---------------------------------------------------------------------------------------
// SVG writing

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Coordinates are written with at most one decimal, so output is stable across platforms.
fn n(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

#[derive(Default)]
struct Svg {
    body: String,
}

impl Svg {
    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, style: &str) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {style}/>",
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h)
        );
    }

    fn text(&mut self, x: f64, y: f64, text: &str, style: &str) {
        let space = if style.is_empty() { "" } else { " " };
        let _ = writeln!(
            self.body,
            "<text x=\"{}\" y=\"{}\"{space}{style}>{}</text>",
            n(x),
            n(y),
            escape(text)
        );
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, style: &str) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {style}/>",
            n(x1),
            n(y1),
            n(x2),
            n(y2)
        );
    }

    fn raw(&mut self, element: &str) {
        self.body.push_str(element);
        self.body.push('\n');
    }

    fn finish(self, title: &str, width: f64, height: f64) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{t}\" \
             viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" \
             font-size=\"12\" fill=\"{INK}\">\n<title>{t}</title>\n\
             <rect x=\"0.5\" y=\"0.5\" width=\"{w1}\" height=\"{h1}\" rx=\"6\" fill=\"#fff\" \
             stroke=\"#ccc\"/>\n{}</svg>",
            self.body.trim_end_matches('\n').to_string() + "\n",
            t = escape(title),
            w = n(width),
            h = n(height),
            w1 = n(width - 1.0),
            h1 = n(height - 1.0),
        )
    }
}

/// Breaks `text` into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
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

// ---------------------------------------------------------------------------------------
// kind: assignment

/// A member's cell in one panel.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Owns(Vec<usize>),
    Gone(String),
}

fn assignment(block: &Block<'_>, title: &str) -> Result<String> {
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
    let mut members: Vec<&str> = Vec::new();
    let mut states: Vec<(&str, BTreeMap<&str, Cell>)> = Vec::new();
    for state in block.all("state") {
        let mut parts = state.split('|');
        let label = parts.next().unwrap_or_default().trim();
        let mut cells = BTreeMap::new();
        for part in parts {
            let (member, value) = part.split_once(':').with_context(|| {
                format!("state {label:?}: {part:?} is not `member: partitions`")
            })?;
            let member = member.trim();
            let value = value.trim();
            let cell = if value.chars().next().is_some_and(char::is_alphabetic) {
                Cell::Gone(value.to_string())
            } else {
                let list = partition_list(value).with_context(|| format!("state {label:?}"))?;
                if let Some(p) = list.iter().find(|p| **p >= partitions) {
                    bail!(
                        "state {label:?}: partition {p} does not exist ({partitions} partitions)"
                    );
                }
                Cell::Owns(list)
            };
            if !members.contains(&member) {
                members.push(member);
            }
            if cells.insert(member, cell).is_some() {
                bail!("state {label:?}: {member} appears twice");
            }
        }
        states.push((label, cells));
    }
    if states.is_empty() {
        bail!("an assignment figure needs at least one `state:` line");
    }
    for (label, cells) in &states {
        let mut seen = vec![None; partitions];
        for (member, cell) in cells {
            if let Cell::Owns(list) = cell {
                for &p in list {
                    if let Some(other) = seen[p].replace(*member) {
                        bail!(
                            "state {label:?}: partition {p} is owned by both {other} and {member}"
                        );
                    }
                }
            }
        }
    }

    let owner = |cells: &BTreeMap<&str, Cell>, p: usize| -> Option<String> {
        cells.iter().find_map(|(member, cell)| match cell {
            Cell::Owns(list) if list.contains(&p) => Some(member.to_string()),
            _ => None,
        })
    };
    let unowned: Vec<Vec<usize>> = states
        .iter()
        .map(|(_, cells)| {
            (0..partitions)
                .filter(|p| owner(cells, *p).is_none())
                .collect()
        })
        .collect();
    let nobody_row = unowned.iter().any(|list| !list.is_empty());

    let chip_w = 30.0;
    // The member names' column fits the longest name ("nobody" included).
    let name_w = members
        .iter()
        .map(|m| m.chars().count())
        .chain([6])
        .max()
        .unwrap_or(6) as f64
        * 7.0
        + 14.0;
    let panel_w = f64::max(
        190.0,
        8.0 + name_w + partitions as f64 * (chip_w + 4.0) + 6.0,
    );
    let chars = ((panel_w - 16.0) / 6.6) as usize;
    let header_lines = states
        .iter()
        .map(|(label, _)| wrap(label, chars).len())
        .max()
        .unwrap_or(1)
        .max(1);
    let header_h = header_lines as f64 * 15.0 + 12.0;
    let row_h = 30.0;
    // Steps of one story keep each member on its own row in every panel; separate groups
    // (no arrows) list only their own members.
    let rows_of = |cells: &BTreeMap<&str, Cell>| -> Vec<&str> {
        members
            .iter()
            .copied()
            .filter(|m| arrows || cells.contains_key(m))
            .collect()
    };
    let member_rows = states
        .iter()
        .map(|(_, cells)| rows_of(cells).len())
        .max()
        .unwrap_or(0);
    let rows = member_rows + usize::from(nobody_row);
    let panel_h = header_h + rows as f64 * row_h + 8.0;
    let gap = if arrows { 36.0 } else { 16.0 };
    let margin = 12.0;
    let mut moved_any = false;

    let mut svg = Svg::default();
    for (index, (label, cells)) in states.iter().enumerate() {
        let x0 = margin + index as f64 * (panel_w + gap);
        let y0 = margin;
        svg.rect(
            x0,
            y0,
            panel_w,
            panel_h,
            "rx=\"5\" fill=\"#f7f7f7\" stroke=\"#bbb\"",
        );
        for (i, line) in wrap(label, chars).iter().enumerate() {
            svg.text(
                x0 + 8.0,
                y0 + 17.0 + i as f64 * 15.0,
                line,
                "font-weight=\"bold\"",
            );
        }
        let chip_x0 = x0 + 8.0 + name_w;
        let row_y = |row: usize| y0 + header_h + row as f64 * row_h;
        let panel_members = rows_of(cells);
        for (row, member) in panel_members.iter().enumerate() {
            let y = row_y(row);
            let Some(cell) = cells.get(member) else {
                continue;
            };
            svg.text(x0 + 8.0, y + 19.0, member, "");
            match cell {
                Cell::Owns(list) if list.is_empty() => {
                    svg.text(
                        chip_x0,
                        y + 19.0,
                        "idle",
                        &format!("fill=\"{FAINT}\" font-style=\"italic\""),
                    );
                }
                Cell::Owns(list) => {
                    let mut sorted = list.clone();
                    sorted.sort_unstable();
                    for (i, &p) in sorted.iter().enumerate() {
                        // Panels side by side without arrows are not steps: nothing moves.
                        let moved = arrows
                            && index > 0
                            && owner(&states[index - 1].1, p).as_deref() != Some(*member);
                        moved_any |= moved;
                        let stroke = if moved {
                            format!("stroke=\"{INK}\" stroke-width=\"2.5\"")
                        } else {
                            "stroke=\"#666\"".to_string()
                        };
                        let cx = chip_x0 + i as f64 * (chip_w + 4.0);
                        svg.rect(
                            cx,
                            y + 5.0,
                            chip_w,
                            20.0,
                            &format!("rx=\"4\" fill=\"{}\" {stroke}", colour(p)),
                        );
                        svg.text(
                            cx + chip_w / 2.0,
                            y + 19.0,
                            &format!("P{p}"),
                            "text-anchor=\"middle\" font-size=\"11\"",
                        );
                    }
                }
                Cell::Gone(word) => {
                    svg.rect(
                        chip_x0,
                        y + 5.0,
                        panel_w - 16.0 - name_w,
                        20.0,
                        &format!(
                            "rx=\"4\" fill=\"none\" stroke=\"{FAINT}\" stroke-dasharray=\"4 3\""
                        ),
                    );
                    svg.text(
                        chip_x0 + 8.0,
                        y + 19.0,
                        word,
                        &format!("fill=\"{FAINT}\" font-style=\"italic\""),
                    );
                }
            }
        }
        if nobody_row {
            let y = row_y(member_rows);
            svg.text(
                x0 + 8.0,
                y + 19.0,
                "nobody",
                &format!("fill=\"{FAINT}\" font-style=\"italic\""),
            );
            for (i, &p) in unowned[index].iter().enumerate() {
                let cx = chip_x0 + i as f64 * (chip_w + 4.0);
                svg.rect(
                    cx,
                    y + 5.0,
                    chip_w,
                    20.0,
                    &format!("rx=\"4\" fill=\"#fff\" stroke=\"{FAINT}\" stroke-dasharray=\"3 2\""),
                );
                svg.text(
                    cx + chip_w / 2.0,
                    y + 19.0,
                    &format!("P{p}"),
                    &format!("text-anchor=\"middle\" font-size=\"11\" fill=\"{FAINT}\""),
                );
            }
        }
        if arrows && index + 1 < states.len() {
            let ax = x0 + panel_w + 6.0;
            let ay = y0 + panel_h / 2.0;
            svg.line(
                ax,
                ay,
                ax + gap - 16.0,
                ay,
                &format!("stroke=\"{INK}\" stroke-width=\"2\""),
            );
            svg.raw(&format!(
                "<path d=\"M{} {} l-9 -5 v10 z\" fill=\"{INK}\"/>",
                n(ax + gap - 12.0),
                n(ay)
            ));
        }
    }
    let width = margin * 2.0 + states.len() as f64 * panel_w + (states.len() - 1) as f64 * gap;
    let mut height = margin * 2.0 + panel_h;
    if moved_any {
        svg.text(
            margin,
            height + 2.0,
            "A thick outline marks a partition that changed owner in that step.",
            &format!("font-size=\"11\" fill=\"{FAINT}\""),
        );
        height += 14.0;
    }
    Ok(svg.finish(title, width, height))
}

// ---------------------------------------------------------------------------------------
// kind: timeline

#[derive(Debug, Clone, PartialEq)]
enum Event {
    Assigned(Vec<usize>),
    Revoked(Vec<usize>),
    Message { label: String, partition: usize },
    Started { id: String, partition: usize },
    Committed { id: String, partition: usize },
    Exited,
    Note(String),
}

/// `key=value` fields of a contract line.
fn field<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    words
        .iter()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}

fn partition_field(words: &[&str]) -> Result<usize> {
    let text = field(words, "partition").context("the event has no partition=<p>")?;
    text.parse()
        .with_context(|| format!("partition={text} is not a number"))
}

fn parse_event(text: &str) -> Result<Event> {
    if let Some(note) = text.strip_prefix('!') {
        return Ok(Event::Note(note.trim().to_string()));
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let verb = words.first().copied().unwrap_or_default();
    let rest = text[verb.len()..].trim();
    Ok(match verb {
        "assigned" => Event::Assigned(partition_list(rest)?),
        "revoked" => Event::Revoked(partition_list(rest)?),
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

struct Lane<'a> {
    name: &'a str,
    events: Vec<(f64, Event)>,
}

fn timeline(block: &Block<'_>, title: &str) -> Result<String> {
    let mut lanes: Vec<Lane<'_>> = Vec::new();
    let mut last = 0.0f64;
    for (line, text) in &block.data {
        let parse = || -> Result<(f64, &str, Event)> {
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
        };
        let (time, lane, event) = parse().with_context(|| format!("line {line}: {text:?}"))?;
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
    let until: f64 = block.number("until")?.unwrap_or(last.ceil().max(1.0));
    if until < last {
        bail!("until: {until} is before the last event at {last}");
    }

    let gutter = 130.0;
    let plot_w = 600.0;
    let width = gutter + plot_w + 24.0;
    let x = |t: f64| gutter + t / until * plot_w;
    let strip_h = 18.0;
    let lane_pad = 10.0;
    let top = 12.0;

    let mut svg = Svg::default();
    let mut y = top;
    let (mut has_band, mut has_dot, mut has_bar) = (false, false, false);
    for lane in &lanes {
        let mut strips: Vec<usize> = Vec::new();
        for (_, event) in &lane.events {
            let ps: Vec<usize> = match event {
                Event::Assigned(list) | Event::Revoked(list) => list.clone(),
                Event::Message { partition, .. }
                | Event::Started { partition, .. }
                | Event::Committed { partition, .. } => vec![*partition],
                Event::Exited | Event::Note(_) => vec![],
            };
            strips.extend(ps);
        }
        strips.sort_unstable();
        strips.dedup();
        let lane_h = lane_pad * 2.0 + strips.len().max(1) as f64 * strip_h;
        let strip_y = |p: usize| {
            y + lane_pad + strips.iter().position(|s| *s == p).unwrap_or(0) as f64 * strip_h
        };
        // The lane, and the time after its process is gone.
        svg.rect(
            gutter,
            y,
            plot_w,
            lane_h,
            "fill=\"#fafafa\" stroke=\"#ddd\"",
        );
        if let Some((t, _)) = lane.events.iter().find(|(_, e)| *e == Event::Exited) {
            svg.rect(x(*t), y, x(until) - x(*t), lane_h, "fill=\"#e9e9e9\"");
            svg.text(
                x(*t) + 6.0,
                y + lane_h - 5.0,
                "process gone",
                &format!("font-size=\"10\" fill=\"{FAINT}\" font-style=\"italic\""),
            );
        }
        svg.text(8.0, y + lane_pad + 13.0, lane.name, "font-weight=\"bold\"");
        for &p in &strips {
            svg.text(
                gutter - 8.0,
                strip_y(p) + 13.0,
                &format!("P{p}"),
                "text-anchor=\"end\" font-size=\"11\"",
            );
        }
        // Ownership bands: assigned adds partitions, revoked removes them (for the eager
        // protocol the lists are whole assignments, for the cooperative one the changes).
        let mut open: BTreeMap<usize, f64> = BTreeMap::new();
        let mut bands: Vec<(usize, f64, f64)> = Vec::new();
        for (t, event) in &lane.events {
            match event {
                Event::Assigned(list) => {
                    for &p in list {
                        open.entry(p).or_insert(*t);
                    }
                }
                Event::Revoked(list) => {
                    for p in list {
                        if let Some(start) = open.remove(p) {
                            bands.push((*p, start, *t));
                        }
                    }
                }
                Event::Exited => {
                    bands.extend(open.iter().map(|(p, start)| (*p, *start, *t)));
                    open.clear();
                }
                _ => {}
            }
        }
        bands.extend(open.iter().map(|(p, start)| (*p, *start, until)));
        for (p, start, end) in bands {
            has_band = true;
            svg.rect(
                x(start),
                strip_y(p) + 2.0,
                x(end) - x(start),
                strip_h - 4.0,
                &format!("fill=\"{}\" fill-opacity=\"0.35\"", colour(p)),
            );
        }
        // Processing bars, from started to committed.
        let mut started: Vec<(String, usize, f64)> = Vec::new();
        let mut bars: Vec<(String, usize, f64, f64, bool)> = Vec::new();
        for (t, event) in &lane.events {
            match event {
                Event::Started { id, partition } => started.push((id.clone(), *partition, *t)),
                Event::Committed { id, partition } => {
                    let index = started
                        .iter()
                        .position(|(i, p, _)| i == id && p == partition);
                    let start = index.map_or(*t, |i| started.remove(i).2);
                    bars.push((id.clone(), *partition, start, *t, true));
                }
                _ => {}
            }
        }
        bars.extend(
            started
                .into_iter()
                .map(|(id, p, t)| (id, p, t, until, false)),
        );
        for (id, p, start, end, done) in bars {
            has_bar = true;
            let dash = if done {
                ""
            } else {
                " stroke-dasharray=\"3 2\""
            };
            let w = (x(end) - x(start)).max(3.0);
            svg.rect(
                x(start),
                strip_y(p) + 3.0,
                w,
                strip_h - 6.0,
                &format!("rx=\"3\" fill=\"{}\" stroke=\"#333\"{dash}", colour(p)),
            );
            svg.text(
                x(start) + w / 2.0,
                strip_y(p) + 13.0,
                &id,
                "text-anchor=\"middle\" font-size=\"10\"",
            );
        }
        // Messages, nudged apart when they would overlap.
        let mut next_free: BTreeMap<usize, f64> = BTreeMap::new();
        for (t, event) in &lane.events {
            if let Event::Message { label, partition } = event {
                has_dot = true;
                let free = next_free.entry(*partition).or_insert(0.0);
                let cx = x(*t).max(*free);
                *free = cx + 24.0;
                let cy = strip_y(*partition) + strip_h / 2.0;
                svg.raw(&format!(
                    "<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\" stroke=\"#333\"/>",
                    n(cx),
                    n(cy),
                    colour(*partition)
                ));
                svg.text(cx + 7.0, cy - 3.0, label, "font-size=\"9\"");
            }
        }
        // Notes: a line across the lane, and the note above it.
        for (t, event) in &lane.events {
            if let Event::Note(note) = event {
                svg.line(
                    x(*t),
                    y,
                    x(*t),
                    y + lane_h,
                    &format!("stroke=\"{ALERT}\" stroke-width=\"2\""),
                );
                svg.text(
                    x(*t) + 4.0,
                    y + 10.0,
                    note,
                    &format!("font-size=\"10\" font-weight=\"bold\" fill=\"{ALERT}\""),
                );
            }
        }
        y += lane_h + 6.0;
    }

    // Time axis.
    let step = [0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0]
        .into_iter()
        .find(|step| until / step <= 16.0)
        .unwrap_or(until);
    svg.line(gutter, y, gutter + plot_w, y, &format!("stroke=\"{INK}\""));
    let ticks = (until / step).floor() as usize;
    for i in 0..=ticks {
        let t = i as f64 * step;
        svg.line(x(t), y, x(t), y + 5.0, &format!("stroke=\"{INK}\""));
        svg.text(
            x(t),
            y + 17.0,
            &n(t),
            "text-anchor=\"middle\" font-size=\"11\"",
        );
    }
    svg.text(
        gutter - 8.0,
        y + 17.0,
        "seconds",
        "text-anchor=\"end\" font-size=\"11\"",
    );
    y += 24.0;
    let mut legend = Vec::new();
    if has_band {
        legend.push("pale band: partition owned");
    }
    if has_dot {
        legend.push("dot: a message");
    }
    if has_bar {
        legend.push("bar: one message, from start of processing to commit");
    }
    if !legend.is_empty() {
        svg.text(
            gutter,
            y + 8.0,
            &legend.join(" · "),
            &format!("font-size=\"11\" fill=\"{FAINT}\""),
        );
        y += 14.0;
    }
    Ok(svg.finish(title, width, y + 10.0))
}

// ---------------------------------------------------------------------------------------
// kind: log

struct Record {
    label: String,
    key: Option<String>,
    partition: usize,
    offset: usize,
}

fn parse_record(text: &str) -> Result<Record> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let label = words
        .get(1)
        .filter(|w| !w.contains('='))
        .context("expected `<verb> <label> partition=<p> offset=<o>`")?;
    let offset = field(&words, "offset").context("the line has no offset=<o>")?;
    Ok(Record {
        label: label.to_string(),
        key: field(&words, "key").map(str::to_string),
        partition: partition_field(&words)?,
        offset: offset
            .parse()
            .with_context(|| format!("offset={offset} is not a number"))?,
    })
}

/// The lines of `## section` in `text` (all non-empty lines when `section` is `None`).
fn section_lines(text: &str, section: Option<&str>) -> Vec<String> {
    let mut inside = section.is_none();
    let mut lines = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            inside = section.is_some_and(|s| heading.trim() == s);
            continue;
        }
        if inside && !line.trim().is_empty() {
            lines.push(line.trim().to_string());
        }
    }
    lines
}

fn log(block: &Block<'_>, title: &str, chapter_dir: &Path) -> Result<String> {
    let lines: Vec<(usize, String)> = match block.get("source") {
        Some(source) => {
            let (file, section) = match source.split_once('#') {
                Some((file, section)) => (file, Some(section)),
                None => (source, None),
            };
            let path = chapter_dir.join(file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("source: cannot read {}", path.display()))?;
            let lines = section_lines(&text, section);
            if lines.is_empty() {
                bail!(
                    "source: {} has no lines in section {section:?}",
                    path.display()
                );
            }
            lines
                .into_iter()
                .enumerate()
                .map(|(i, l)| (i + 1, l))
                .collect()
        }
        None => block
            .data
            .iter()
            .map(|(i, l)| (*i, l.to_string()))
            .collect(),
    };
    let records = lines
        .iter()
        .map(|(line, text)| parse_record(text).with_context(|| format!("line {line}: {text:?}")))
        .collect::<Result<Vec<_>>>()?;
    if records.is_empty() {
        bail!("a log figure needs data lines or a `source:`");
    }
    let max_partition = records.iter().map(|r| r.partition).max().unwrap_or(0);
    let partitions: usize = block.number("partitions")?.unwrap_or(max_partition + 1);
    if max_partition >= partitions {
        bail!("partition {max_partition} does not exist ({partitions} partitions)");
    }
    let mut keys: Vec<&str> = Vec::new();
    for record in &records {
        if let Some(key) = record.key.as_deref() {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let columns = records.iter().map(|r| r.offset).max().unwrap_or(0) + 1;
    let gutter = 96.0;
    let cell_w = 92.0;
    let cell_h = 40.0;
    let top = 34.0;
    let width = gutter + columns as f64 * (cell_w + 6.0) + 18.0;
    let mut svg = Svg::default();
    svg.text(12.0, 22.0, "partition", "font-weight=\"bold\"");
    for column in 0..columns {
        let cx = gutter + column as f64 * (cell_w + 6.0) + cell_w / 2.0;
        svg.text(
            cx,
            22.0,
            &format!("offset {column}"),
            &format!("text-anchor=\"middle\" font-size=\"11\" fill=\"{FAINT}\""),
        );
    }
    for p in 0..partitions {
        let y = top + p as f64 * (cell_h + 8.0);
        svg.text(12.0, y + 25.0, &format!("P{p}"), "font-weight=\"bold\"");
        svg.rect(
            gutter - 6.0,
            y - 3.0,
            width - gutter - 6.0,
            cell_h + 6.0,
            "rx=\"4\" fill=\"#f7f7f7\" stroke=\"#ddd\"",
        );
        for record in records.iter().filter(|r| r.partition == p) {
            let cx = gutter + record.offset as f64 * (cell_w + 6.0);
            let fill = match record.key.as_deref() {
                Some(key) => colour(keys.iter().position(|k| *k == key).unwrap_or(0)),
                None => colour(p),
            };
            svg.rect(
                cx,
                y,
                cell_w,
                cell_h,
                &format!("rx=\"4\" fill=\"{fill}\" stroke=\"#555\""),
            );
            let (label_y, key_y) = if record.key.is_some() {
                (17.0, 32.0)
            } else {
                (25.0, 0.0)
            };
            svg.text(
                cx + cell_w / 2.0,
                y + label_y,
                &record.label,
                "text-anchor=\"middle\" font-weight=\"bold\"",
            );
            if let Some(key) = &record.key {
                svg.text(
                    cx + cell_w / 2.0,
                    y + key_y,
                    &format!("key={key}"),
                    "text-anchor=\"middle\" font-size=\"11\"",
                );
            }
        }
    }
    let mut height = top + partitions as f64 * (cell_h + 8.0) + 4.0;
    let legend = if keys.is_empty() {
        "Each row is one partition's log: offsets grow to the right, in the order the \
         partition received its messages."
    } else {
        "Each row is one partition's log: offsets grow to the right. One colour per key: \
         each key keeps to one partition."
    };
    for line in wrap(legend, ((width - 24.0) / 5.8) as usize) {
        svg.text(
            12.0,
            height + 8.0,
            &line,
            &format!("font-size=\"11\" fill=\"{FAINT}\""),
        );
        height += 14.0;
    }
    height += 8.0;
    Ok(svg.finish(title, width, height))
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
                "kind: timeline\ntitle: t\n2 A: exited\n1 A: exited",
                "backwards",
            ),
            (
                "kind: timeline\ntitle: t\nuntil: 1\n2 A: exited",
                "before the last event",
            ),
            ("kind: log\ntitle: t\nsent x partition=0", "no offset"),
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
