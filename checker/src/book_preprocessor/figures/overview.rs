//! `kind: overview`: the course in one picture. A producer writes keyed records into a
//! topic's partitions, and each group's members read them, every partition owned by one
//! member of each group.

mod data;

use std::path::Path;

use anyhow::Result;

use super::svg::{colour, n, text_width, wrap, Svg, FAINT, INK};
use super::Block;
use data::{Group, Overview};

/// Space around the picture.
const MARGIN: f64 = 12.0;
/// The producer's box; it grows taller for a long name.
const PRODUCER_W: f64 = 104.0;
const PRODUCER_H: f64 = 40.0;
/// The room for the producer's arrows, between its box and the topic.
const WRITE_W: f64 = 56.0;
/// The room for the ownership arrows, between the topic and the groups.
const READ_W: f64 = 110.0;
/// The topic's title and offsets, above its first partition.
const TOPIC_HEADER: f64 = 44.0;
/// The partition names' column inside the topic.
const GUTTER: f64 = 40.0;
/// A record's cell, at least as wide as this, and a partition's row.
const CELL_W: f64 = 56.0;
const CELL_H: f64 = 26.0;
const ROW_H: f64 = 34.0;
/// A group's title, above its first member.
const GROUP_HEADER: f64 = 26.0;
/// A member's box, and one of its partitions in it.
const MEMBER_H: f64 = 30.0;
const CHIP_W: f64 = 30.0;
/// The length of an arrowhead.
const HEAD_LEN: f64 = 9.0;

/// Draws an overview figure. A `source:` is resolved against `chapter_dir`.
pub(super) fn draw(block: &Block<'_>, title: &str, chapter_dir: &Path) -> Result<String> {
    let overview = Overview::parse(block, chapter_dir)?;
    let layout = Layout::new(&overview);
    let mut svg = Svg::default();
    draw_topic(&mut svg, &overview, &layout);
    draw_producer(&mut svg, &overview, &layout);
    let mut top = MARGIN;
    for group in &overview.groups {
        top = draw_group(&mut svg, group, &layout, top) + 12.0;
    }
    let bottom = layout.topic_bottom(&overview).max(top - 12.0);
    let height = draw_legend(&mut svg, overview.keyed(), layout.width, bottom + 6.0);
    Ok(svg.finish(title, layout.width, height))
}

/// Where the three columns stand: producer, topic, groups.
struct Layout {
    topic_x: f64,
    topic_w: f64,
    /// A record's cell: wide enough for the longest key.
    cell_w: f64,
    group_x: f64,
    group_w: f64,
    /// The member names' column inside a member's box.
    name_w: f64,
    width: f64,
}

impl Layout {
    /// Sizes the boxes to their text, measured as it will be drawn: names in 12 pixels, bold
    /// titles a little wider, keys in 11.
    fn new(overview: &Overview<'_>) -> Layout {
        let bold = |text: &str| text_width(text, 12.0) * 1.08;
        let cell_w = overview
            .records
            .iter()
            .map(|r| text_width(r.key.as_deref().unwrap_or(&r.label), 11.0) + 10.0)
            .fold(CELL_W, f64::max);
        let topic_x = MARGIN + PRODUCER_W + WRITE_W;
        let topic_w = (GUTTER + overview.columns() as f64 * (cell_w + 4.0) + 6.0)
            .max(bold(&format!("topic {}", overview.topic)) + 16.0);
        let group_x = topic_x + topic_w + READ_W;
        let members = overview.groups.iter().flat_map(|g| &g.members);
        let name_w = members
            .clone()
            .map(|(name, _)| text_width(name, 12.0) + 14.0)
            .fold(0.0, f64::max);
        let chips = members.map(|(_, list)| list.len()).max().unwrap_or(0) as f64;
        let titles = overview
            .groups
            .iter()
            .map(|g| bold(&format!("group {}", g.name)) + 16.0)
            .fold(0.0, f64::max);
        let group_w = (16.0 + name_w + chips * (CHIP_W + 4.0) + 8.0)
            .max(titles)
            .max(150.0);
        Layout {
            topic_x,
            topic_w,
            cell_w,
            group_x,
            group_w,
            name_w,
            width: group_x + group_w + MARGIN,
        }
    }

    /// The middle of partition `p`'s row.
    fn row_y(&self, p: usize) -> f64 {
        MARGIN + TOPIC_HEADER + p as f64 * ROW_H + ROW_H / 2.0
    }

    /// The bottom of the topic's box.
    fn topic_bottom(&self, overview: &Overview<'_>) -> f64 {
        MARGIN + TOPIC_HEADER + overview.partitions as f64 * ROW_H + 6.0
    }
}

/// The topic: its name, the offsets, and one log per partition.
fn draw_topic(svg: &mut Svg, overview: &Overview<'_>, layout: &Layout) {
    let x = layout.topic_x;
    svg.rect(
        x,
        MARGIN,
        layout.topic_w,
        layout.topic_bottom(overview) - MARGIN,
        "rx=\"5\" fill=\"#f7f7f7\" stroke=\"#bbb\"",
    );
    svg.text(
        x + 8.0,
        MARGIN + 17.0,
        &format!("topic {}", overview.topic),
        "font-weight=\"bold\"",
    );
    let faint = format!("font-size=\"10\" fill=\"{FAINT}\"");
    svg.text(x + 8.0, MARGIN + 36.0, "offset", &faint);
    for column in 0..overview.columns() {
        svg.text(
            cell_x(layout, column) + layout.cell_w / 2.0,
            MARGIN + 36.0,
            &column.to_string(),
            &format!("text-anchor=\"middle\" {faint}"),
        );
    }
    for p in 0..overview.partitions {
        svg.text(
            x + 8.0,
            layout.row_y(p) + 4.0,
            &format!("P{p}"),
            "font-weight=\"bold\"",
        );
    }
    for record in &overview.records {
        let (cx, cy) = (
            cell_x(layout, record.offset),
            layout.row_y(record.partition),
        );
        svg.rect(
            cx,
            cy - CELL_H / 2.0,
            layout.cell_w,
            CELL_H,
            &format!(
                "rx=\"4\" fill=\"{}\" stroke=\"#555\"",
                colour(record.partition)
            ),
        );
        svg.text(
            cx + layout.cell_w / 2.0,
            cy + 4.0,
            record.key.as_deref().unwrap_or(&record.label),
            "text-anchor=\"middle\" font-size=\"11\"",
        );
    }
}

/// The left edge of the cell at `offset`.
fn cell_x(layout: &Layout, offset: usize) -> f64 {
    layout.topic_x + GUTTER + offset as f64 * (layout.cell_w + 4.0)
}

/// The producer, level with the middle of the topic, and an arrow to every partition.
fn draw_producer(svg: &mut Svg, overview: &Overview<'_>, layout: &Layout) {
    let middle = (layout.row_y(0) + layout.row_y(overview.partitions - 1)) / 2.0;
    let lines = wrap(overview.producer, 14);
    let height = PRODUCER_H.max(lines.len() as f64 * 14.0 + 12.0);
    svg.rect(
        MARGIN,
        middle - height / 2.0,
        PRODUCER_W,
        height,
        "rx=\"5\" fill=\"#fff\" stroke=\"#666\" stroke-width=\"1.5\"",
    );
    let first = middle + 4.0 - (lines.len() as f64 - 1.0) * 7.0;
    for (i, line) in lines.iter().enumerate() {
        svg.text(
            MARGIN + PRODUCER_W / 2.0,
            first + i as f64 * 14.0,
            line,
            "text-anchor=\"middle\" font-weight=\"bold\"",
        );
    }
    for p in 0..overview.partitions {
        arrow(
            svg,
            (MARGIN + PRODUCER_W, middle),
            (layout.topic_x, layout.row_y(p)),
            INK,
            "1.5",
        );
    }
}

/// Draws `group` from `top`: its name and a box per member with the partitions it owns, and
/// an arrow from each of those partitions to the box. Returns the group's bottom.
fn draw_group(svg: &mut Svg, group: &Group<'_>, layout: &Layout, top: f64) -> f64 {
    let x = layout.group_x;
    let height = GROUP_HEADER + group.members.len() as f64 * (MEMBER_H + 6.0) + 2.0;
    svg.rect(
        x,
        top,
        layout.group_w,
        height,
        "rx=\"5\" fill=\"#f7f7f7\" stroke=\"#bbb\"",
    );
    svg.text(
        x + 8.0,
        top + 17.0,
        &format!("group {}", group.name),
        "font-weight=\"bold\"",
    );
    for (i, (member, owned)) in group.members.iter().enumerate() {
        let y = top + GROUP_HEADER + i as f64 * (MEMBER_H + 6.0);
        svg.rect(
            x + 8.0,
            y,
            layout.group_w - 16.0,
            MEMBER_H,
            "rx=\"4\" fill=\"#fff\" stroke=\"#999\"",
        );
        svg.text(x + 16.0, y + 19.0, member, "");
        if owned.is_empty() {
            svg.text(
                x + 16.0 + layout.name_w,
                y + 19.0,
                "idle",
                &format!("fill=\"{FAINT}\" font-style=\"italic\""),
            );
        }
        let mut sorted = owned.clone();
        sorted.sort_unstable();
        for (k, &p) in sorted.iter().enumerate() {
            let cx = x + 16.0 + layout.name_w + k as f64 * (CHIP_W + 4.0);
            svg.rect(
                cx,
                y + 5.0,
                CHIP_W,
                20.0,
                &format!("rx=\"4\" fill=\"{}\" stroke=\"#666\"", colour(p)),
            );
            svg.text(
                cx + CHIP_W / 2.0,
                y + 19.0,
                &format!("P{p}"),
                "text-anchor=\"middle\" font-size=\"11\"",
            );
            // Arrows into one box arrive a little apart, so each can be followed.
            let spread = (k as f64 - (sorted.len() as f64 - 1.0) / 2.0) * 7.0;
            arrow(
                svg,
                (layout.topic_x + layout.topic_w, layout.row_y(p)),
                (x + 8.0, y + MEMBER_H / 2.0 + spread),
                colour(p),
                "2.5",
            );
        }
    }
    top + height
}

/// An arrow from `from` to `to`, its tip on `to`.
fn arrow(svg: &mut Svg, from: (f64, f64), to: (f64, f64), colour: &str, width: &str) {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let length = dx.hypot(dy).max(1.0);
    let (ux, uy) = (dx / length, dy / length);
    let base = (to.0 - ux * HEAD_LEN, to.1 - uy * HEAD_LEN);
    svg.line(
        from.0,
        from.1,
        base.0,
        base.1,
        &format!("stroke=\"{colour}\" stroke-width=\"{width}\""),
    );
    // The head's two back corners, either side of the shaft.
    let (px, py) = (-uy * 4.5, ux * 4.5);
    svg.raw(&format!(
        "<path class=\"arrowhead\" d=\"M{} {} L{} {} L{} {} z\" fill=\"{colour}\" stroke=\"#555\" stroke-width=\"0.5\"/>",
        n(to.0),
        n(to.1),
        n(base.0 + px),
        n(base.1 + py),
        n(base.0 - px),
        n(base.1 - py)
    ));
}

/// The legend below `y`, wrapped to `width`; returns the picture's height.
fn draw_legend(svg: &mut Svg, keyed: bool, width: f64, y: f64) -> f64 {
    let keys = if keyed {
        " The producer's key picks the partition, so a key always lands in the same one."
    } else {
        ""
    };
    let legend = format!(
        "Each row is one partition's log, offsets growing to the right.{keys} An arrow from \
         a partition to a member: the member owns it in its group. Each group reads every \
         partition."
    );
    svg.legend(MARGIN, y, width, &legend)
}
