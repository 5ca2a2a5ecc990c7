//! `kind: timeline`: one lane per member, time going right, drawn from lines of the lab
//! contract stamped with the second they were printed.

mod lanes;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};

use super::svg::{colour, n, Svg, ALERT, FAINT, INK};
use super::Block;
use lanes::{parse_lanes, Event, Lane};

/// The lanes' names column.
const GUTTER: f64 = 130.0;
/// The width of the time axis.
const PLOT_W: f64 = 600.0;
/// The height of one partition's strip in a lane.
const STRIP_H: f64 = 18.0;
/// The space above and below a lane's strips.
const LANE_PAD: f64 = 10.0;
/// The top of the first lane.
const TOP: f64 = 12.0;

/// Draws a timeline figure.
pub(super) fn draw(block: &Block<'_>, title: &str, chapter_dir: &Path) -> Result<String> {
    let (lanes, last) = parse_lanes(block, chapter_dir)?;
    let until: f64 = block.number("until")?.unwrap_or(last.ceil().max(1.0));
    if until < last {
        bail!("until: {until} is before the last event at {last}");
    }
    let scale = Scale { until };
    let mut svg = Svg::default();
    let mut legend = Legend::default();
    let mut y = TOP;
    for lane in &lanes {
        y += draw_lane(&mut svg, &scale, lane, y, &mut legend) + 6.0;
    }
    y = draw_axis(&mut svg, &scale, y);
    y = legend.draw(&mut svg, y);
    Ok(svg.finish(title, GUTTER + PLOT_W + 24.0, y + 10.0))
}

/// The time axis: seconds from 0 to `until`, mapped across the plot.
struct Scale {
    until: f64,
}

impl Scale {
    fn x(&self, t: f64) -> f64 {
        GUTTER + t / self.until * PLOT_W
    }
}

/// Which marks the picture uses, so that the legend explains only those.
#[derive(Default)]
struct Legend {
    band: bool,
    dot: bool,
    bar: bool,
}

impl Legend {
    /// Draws the legend below `y`; returns the new bottom.
    fn draw(&self, svg: &mut Svg, mut y: f64) -> f64 {
        let mut legend = Vec::new();
        if self.band {
            legend.push("pale band: partition owned");
        }
        if self.dot {
            legend.push("dot: a message");
        }
        if self.bar {
            legend.push("bar: one message, from start of processing to its commit (or finish)");
        }
        if !legend.is_empty() {
            svg.text(
                GUTTER,
                y + 8.0,
                &legend.join(" · "),
                &format!("font-size=\"11\" fill=\"{FAINT}\""),
            );
            y += 14.0;
        }
        y
    }
}

/// Where a lane sits: one strip per partition its events mention, in partition order.
struct Strips {
    top: f64,
    partitions: Vec<usize>,
    height: f64,
}

impl Strips {
    fn new(lane: &Lane, top: f64) -> Strips {
        let mut partitions: Vec<usize> = lane
            .events
            .iter()
            .flat_map(|(_, event)| event.partitions())
            .collect();
        partitions.sort_unstable();
        partitions.dedup();
        let height = LANE_PAD * 2.0 + partitions.len().max(1) as f64 * STRIP_H;
        Strips {
            top,
            partitions,
            height,
        }
    }

    /// The top of partition `p`'s strip.
    fn y(&self, p: usize) -> f64 {
        self.top
            + LANE_PAD
            + self.partitions.iter().position(|s| *s == p).unwrap_or(0) as f64 * STRIP_H
    }
}

/// Draws `lane` from `top`, noting in `legend` which marks it used; returns its height.
fn draw_lane(svg: &mut Svg, scale: &Scale, lane: &Lane, top: f64, legend: &mut Legend) -> f64 {
    let strips = Strips::new(lane, top);
    draw_background(svg, scale, lane, &strips);
    for (p, start, end) in bands(lane, scale.until) {
        legend.band = true;
        svg.rect(
            scale.x(start),
            strips.y(p) + 2.0,
            scale.x(end) - scale.x(start),
            STRIP_H - 4.0,
            &format!("fill=\"{}\" fill-opacity=\"0.35\"", colour(p)),
        );
    }
    for bar in bars(lane, scale.until) {
        legend.bar = true;
        bar.draw(svg, scale, &strips);
    }
    legend.dot |= draw_messages(svg, scale, lane, &strips);
    draw_notes(svg, scale, lane, &strips);
    strips.height
}

/// The lane, the time after its process is gone, its name and its partitions' labels.
fn draw_background(svg: &mut Svg, scale: &Scale, lane: &Lane, strips: &Strips) {
    let (y, lane_h) = (strips.top, strips.height);
    svg.rect(
        GUTTER,
        y,
        PLOT_W,
        lane_h,
        "fill=\"#fafafa\" stroke=\"#ddd\"",
    );
    if let Some((t, _)) = lane.events.iter().find(|(_, e)| *e == Event::Exited) {
        let x = scale.x(*t);
        svg.rect(x, y, scale.x(scale.until) - x, lane_h, "fill=\"#e9e9e9\"");
        svg.text(
            x + 6.0,
            y + lane_h - 5.0,
            "process gone",
            &format!("font-size=\"10\" fill=\"{FAINT}\" font-style=\"italic\""),
        );
    }
    svg.text(8.0, y + LANE_PAD + 13.0, &lane.name, "font-weight=\"bold\"");
    for &p in &strips.partitions {
        svg.text(
            GUTTER - 8.0,
            strips.y(p) + 13.0,
            &format!("P{p}"),
            "text-anchor=\"end\" font-size=\"11\"",
        );
    }
}

/// Ownership bands, `(partition, from, to)`: assigned adds partitions, revoked removes them
/// (for the eager protocol the lists are whole assignments, for the cooperative one the
/// changes), and the process exiting ends them all.
fn bands(lane: &Lane, until: f64) -> Vec<(usize, f64, f64)> {
    let mut open: BTreeMap<usize, f64> = BTreeMap::new();
    let mut bands = Vec::new();
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
    bands
}

/// One message's processing, from `started` to `committed`.
struct Bar {
    id: String,
    partition: usize,
    start: f64,
    end: f64,
    /// Whether it was committed; an open bar runs to the end of the axis, dashed.
    committed: bool,
}

impl Bar {
    fn draw(&self, svg: &mut Svg, scale: &Scale, strips: &Strips) {
        let (x, y) = (scale.x(self.start), strips.y(self.partition));
        let dash = if self.committed {
            ""
        } else {
            " stroke-dasharray=\"3 2\""
        };
        let w = (scale.x(self.end) - x).max(3.0);
        svg.rect(
            x,
            y + 3.0,
            w,
            STRIP_H - 6.0,
            &format!(
                "rx=\"3\" fill=\"{}\" stroke=\"#333\"{dash}",
                colour(self.partition)
            ),
        );
        svg.text(
            x + w / 2.0,
            y + 13.0,
            &self.id,
            "text-anchor=\"middle\" font-size=\"10\"",
        );
    }
}

/// The lane's processing bars: committed ones in commit order, then those still open.
fn bars(lane: &Lane, until: f64) -> Vec<Bar> {
    let mut started: Vec<(String, usize, f64)> = Vec::new();
    let mut bars = Vec::new();
    for (t, event) in &lane.events {
        match event {
            Event::Started { id, partition } => started.push((id.clone(), *partition, *t)),
            Event::Committed { id, partition } => {
                let index = started
                    .iter()
                    .position(|(i, p, _)| i == id && p == partition);
                let start = index.map_or(*t, |i| started.remove(i).2);
                bars.push(Bar {
                    id: id.clone(),
                    partition: *partition,
                    start,
                    end: *t,
                    committed: true,
                });
            }
            _ => {}
        }
    }
    bars.extend(started.into_iter().map(|(id, partition, start)| Bar {
        id,
        partition,
        start,
        end: until,
        committed: false,
    }));
    bars
}

/// The distance between the centres of two dots on one strip, at least: they touch.
const DOT_GAP: f64 = 11.0;
/// The width of a character of a dot's label (9 px type), for keeping labels apart.
const LABEL_CHAR_W: f64 = 5.0;

/// Draws the lane's messages as dots, nudged apart when they would overlap, each labelled
/// where the label has room (a recorded run's bursts would print over each other); returns
/// whether there were any.
fn draw_messages(svg: &mut Svg, scale: &Scale, lane: &Lane, strips: &Strips) -> bool {
    let mut any = false;
    let mut next_dot: BTreeMap<usize, f64> = BTreeMap::new();
    let mut next_label: BTreeMap<usize, f64> = BTreeMap::new();
    for (t, event) in &lane.events {
        if let Event::Message { label, partition } = event {
            any = true;
            let free = next_dot.entry(*partition).or_insert(0.0);
            let cx = scale.x(*t).max(*free);
            *free = cx + DOT_GAP;
            let cy = strips.y(*partition) + STRIP_H / 2.0;
            svg.raw(&format!(
                "<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\" stroke=\"#333\"/>",
                n(cx),
                n(cy),
                colour(*partition)
            ));
            let room = next_label.entry(*partition).or_insert(0.0);
            if cx + 7.0 >= *room {
                svg.text(cx + 7.0, cy - 3.0, label, "font-size=\"9\"");
                *room = cx + 7.0 + label.chars().count() as f64 * LABEL_CHAR_W + 4.0;
            }
        }
    }
    any
}

/// The width of a character of a note (10 px bold type), for keeping notes apart.
const NOTE_CHAR_W: f64 = 6.2;
/// The height of a row of notes.
const NOTE_ROW_H: f64 = 11.0;

/// Draws the lane's notes: a line across the lane, and the note beside its top. A note that
/// would run into the one before goes a row lower, while the lane has rows.
fn draw_notes(svg: &mut Svg, scale: &Scale, lane: &Lane, strips: &Strips) {
    let rows = ((strips.height / NOTE_ROW_H).floor() as usize).max(1);
    let mut row_ends = vec![f64::MIN; rows];
    for (t, event) in &lane.events {
        if let Event::Note(note) = event {
            let x = scale.x(*t);
            svg.line(
                x,
                strips.top,
                x,
                strips.top + strips.height,
                &format!("stroke=\"{ALERT}\" stroke-width=\"2\""),
            );
            // Right of the line, or left of it where it would run off the plot.
            let width = note.chars().count() as f64 * NOTE_CHAR_W;
            let (text_x, start, anchor) = if x + 4.0 + width > GUTTER + PLOT_W {
                (x - 4.0, x - 4.0 - width, "end")
            } else {
                (x + 4.0, x + 4.0, "start")
            };
            let row = row_ends
                .iter()
                .position(|end| *end <= start)
                .unwrap_or(rows - 1);
            row_ends[row] = row_ends[row].max(start + width + 4.0);
            svg.text(
                text_x,
                strips.top + 10.0 + row as f64 * NOTE_ROW_H,
                note,
                &format!(
                    "font-size=\"10\" font-weight=\"bold\" fill=\"{ALERT}\" text-anchor=\"{anchor}\""
                ),
            );
        }
    }
}

/// Draws the time axis at `y`, with a tick every round number of seconds; returns the new
/// bottom.
fn draw_axis(svg: &mut Svg, scale: &Scale, y: f64) -> f64 {
    let until = scale.until;
    let step = [0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0]
        .into_iter()
        .find(|step| until / step <= 16.0)
        .unwrap_or(until);
    svg.line(GUTTER, y, GUTTER + PLOT_W, y, &format!("stroke=\"{INK}\""));
    let ticks = (until / step).floor() as usize;
    for i in 0..=ticks {
        let t = i as f64 * step;
        svg.line(
            scale.x(t),
            y,
            scale.x(t),
            y + 5.0,
            &format!("stroke=\"{INK}\""),
        );
        svg.text(
            scale.x(t),
            y + 17.0,
            &n(t),
            "text-anchor=\"middle\" font-size=\"11\"",
        );
    }
    svg.text(
        GUTTER - 8.0,
        y + 17.0,
        "seconds",
        "text-anchor=\"end\" font-size=\"11\"",
    );
    y + 24.0
}
