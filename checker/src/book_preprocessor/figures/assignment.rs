//! `kind: assignment`: which member owns which partition, one panel per `state:` line.

/// The `state:` lines; the overview reads its `group:` lines with them.
pub(super) mod states;

use anyhow::Result;

use super::svg::{colour, n, wrap, Svg, FAINT, INK};
use super::Block;
use states::{Cell, Figure, State};

/// Width of one partition chip.
const CHIP_W: f64 = 30.0;
/// Height of one member's row.
const ROW_H: f64 = 30.0;
/// Space around the panels.
const MARGIN: f64 = 12.0;

/// Draws an assignment figure.
pub(super) fn draw(block: &Block<'_>, title: &str) -> Result<String> {
    let figure = Figure::parse(block)?;
    let unowned: Vec<Vec<usize>> = figure
        .states
        .iter()
        .map(|state| state.unowned(figure.partitions))
        .collect();
    let nobody_row = unowned.iter().any(|list| !list.is_empty());
    let layout = Layout::new(&figure, nobody_row);

    let mut svg = Svg::default();
    let mut moved_any = false;
    for (index, unowned) in unowned.iter().enumerate() {
        let panel = Panel::at(&layout, index);
        moved_any |= draw_panel(&mut svg, &figure, &panel, index, unowned);
        if figure.arrows && index + 1 < figure.states.len() {
            draw_arrow(&mut svg, &panel);
        }
    }
    let count = figure.states.len() as f64;
    let width = MARGIN * 2.0 + count * layout.panel_w + (count - 1.0) * layout.gap;
    let mut height = MARGIN * 2.0 + layout.panel_h;
    if moved_any {
        svg.text(
            MARGIN,
            height + 2.0,
            "A thick outline marks a partition that changed owner in that step.",
            &format!("font-size=\"11\" fill=\"{FAINT}\""),
        );
        height += 14.0;
    }
    Ok(svg.finish(title, width, height))
}

/// The sizes every panel shares, so that panels line up.
struct Layout {
    /// The member names' column.
    name_w: f64,
    panel_w: f64,
    panel_h: f64,
    /// The characters of a label's line.
    chars: usize,
    /// The labels' height, from the longest label.
    header_h: f64,
    /// The member rows of the fullest panel; the "nobody" row comes after them.
    member_rows: usize,
    nobody_row: bool,
    /// The space between panels, room for an arrow when they are steps.
    gap: f64,
}

impl Layout {
    fn new(figure: &Figure<'_>, nobody_row: bool) -> Layout {
        // The member names' column fits the longest name ("nobody" included).
        let name_w = figure
            .members
            .iter()
            .map(|m| m.chars().count())
            .chain([6])
            .max()
            .unwrap_or(6) as f64
            * 7.0
            + 14.0;
        let panel_w = f64::max(
            190.0,
            8.0 + name_w + figure.partitions as f64 * (CHIP_W + 4.0) + 6.0,
        );
        let chars = ((panel_w - 16.0) / 6.6) as usize;
        let header_lines = figure
            .states
            .iter()
            .map(|state| wrap(state.label, chars).len())
            .max()
            .unwrap_or(1)
            .max(1);
        let header_h = header_lines as f64 * 15.0 + 12.0;
        let member_rows = figure
            .states
            .iter()
            .map(|state| figure.rows(state).len())
            .max()
            .unwrap_or(0);
        let rows = member_rows + usize::from(nobody_row);
        Layout {
            name_w,
            panel_w,
            panel_h: header_h + rows as f64 * ROW_H + 8.0,
            chars,
            header_h,
            member_rows,
            nobody_row,
            gap: if figure.arrows { 36.0 } else { 16.0 },
        }
    }
}

/// Where one panel sits.
struct Panel<'l> {
    layout: &'l Layout,
    x0: f64,
    y0: f64,
}

impl Panel<'_> {
    fn at(layout: &Layout, index: usize) -> Panel<'_> {
        Panel {
            layout,
            x0: MARGIN + index as f64 * (layout.panel_w + layout.gap),
            y0: MARGIN,
        }
    }

    /// The top of row `row`.
    fn row_y(&self, row: usize) -> f64 {
        self.y0 + self.layout.header_h + row as f64 * ROW_H
    }

    /// The left edge of the chips' column.
    fn chips_x(&self) -> f64 {
        self.x0 + 8.0 + self.layout.name_w
    }

    /// The left edge of the chip in place `i` of a row.
    fn chip_x(&self, i: usize) -> f64 {
        self.chips_x() + i as f64 * (CHIP_W + 4.0)
    }
}

/// Draws the panel of state `index`; returns whether a partition in it changed owner.
fn draw_panel(
    svg: &mut Svg,
    figure: &Figure<'_>,
    panel: &Panel<'_>,
    index: usize,
    unowned: &[usize],
) -> bool {
    let layout = panel.layout;
    let state = &figure.states[index];
    svg.rect(
        panel.x0,
        panel.y0,
        layout.panel_w,
        layout.panel_h,
        "rx=\"5\" fill=\"#f7f7f7\" stroke=\"#bbb\"",
    );
    for (i, line) in wrap(state.label, layout.chars).iter().enumerate() {
        svg.text(
            panel.x0 + 8.0,
            panel.y0 + 17.0 + i as f64 * 15.0,
            line,
            "font-weight=\"bold\"",
        );
    }
    let previous = figure.previous(index);
    let mut moved_any = false;
    for (row, member) in figure.rows(state).into_iter().enumerate() {
        if let Some(cell) = state.cells.get(member) {
            moved_any |= draw_member(svg, panel, panel.row_y(row), member, cell, previous);
        }
    }
    if layout.nobody_row {
        draw_nobody(svg, panel, panel.row_y(layout.member_rows), unowned);
    }
    moved_any
}

/// Draws a member's row at `y`; returns whether one of its partitions changed owner since
/// `previous`.
fn draw_member(
    svg: &mut Svg,
    panel: &Panel<'_>,
    y: f64,
    member: &str,
    cell: &Cell,
    previous: Option<&State<'_>>,
) -> bool {
    svg.text(panel.x0 + 8.0, y + 19.0, member, "");
    match cell {
        Cell::Owns(list) if list.is_empty() => {
            svg.text(
                panel.chips_x(),
                y + 19.0,
                "idle",
                &format!("fill=\"{FAINT}\" font-style=\"italic\""),
            );
            false
        }
        Cell::Owns(list) => draw_chips(svg, panel, y, member, list, previous),
        Cell::Gone(word) => {
            svg.rect(
                panel.chips_x(),
                y + 5.0,
                panel.layout.panel_w - 16.0 - panel.layout.name_w,
                20.0,
                &format!("rx=\"4\" fill=\"none\" stroke=\"{FAINT}\" stroke-dasharray=\"4 3\""),
            );
            svg.text(
                panel.chips_x() + 8.0,
                y + 19.0,
                word,
                &format!("fill=\"{FAINT}\" font-style=\"italic\""),
            );
            false
        }
    }
}

/// Draws `member`'s partitions as chips, outlining those it did not own in `previous`;
/// returns whether it outlined any.
fn draw_chips(
    svg: &mut Svg,
    panel: &Panel<'_>,
    y: f64,
    member: &str,
    list: &[usize],
    previous: Option<&State<'_>>,
) -> bool {
    let mut sorted = list.to_vec();
    sorted.sort_unstable();
    let mut moved_any = false;
    for (i, &p) in sorted.iter().enumerate() {
        // Panels side by side without arrows are not steps: nothing moves.
        let moved = previous.is_some_and(|previous| previous.owner(p) != Some(member));
        moved_any |= moved;
        let stroke = if moved {
            format!("stroke=\"{INK}\" stroke-width=\"2.5\"")
        } else {
            "stroke=\"#666\"".to_string()
        };
        let style = format!("rx=\"4\" fill=\"{}\" {stroke}", colour(p));
        draw_chip(svg, panel, y, i, p, &style, "");
    }
    moved_any
}

/// Draws the "nobody" row at `y`: the partitions no member owns.
fn draw_nobody(svg: &mut Svg, panel: &Panel<'_>, y: f64, unowned: &[usize]) {
    svg.text(
        panel.x0 + 8.0,
        y + 19.0,
        "nobody",
        &format!("fill=\"{FAINT}\" font-style=\"italic\""),
    );
    let style = format!("rx=\"4\" fill=\"#fff\" stroke=\"{FAINT}\" stroke-dasharray=\"3 2\"");
    let label = format!(" fill=\"{FAINT}\"");
    for (i, &p) in unowned.iter().enumerate() {
        draw_chip(svg, panel, y, i, p, &style, &label);
    }
}

/// Draws partition `p` as the `i`-th chip of the row at `y`: a box drawn with `style`,
/// labelled `P<p>`; `label_style` adds to the label's attributes.
fn draw_chip(
    svg: &mut Svg,
    panel: &Panel<'_>,
    y: f64,
    i: usize,
    p: usize,
    style: &str,
    label_style: &str,
) {
    let cx = panel.chip_x(i);
    svg.rect(cx, y + 5.0, CHIP_W, 20.0, style);
    svg.text(
        cx + CHIP_W / 2.0,
        y + 19.0,
        &format!("P{p}"),
        &format!("text-anchor=\"middle\" font-size=\"11\"{label_style}"),
    );
}

/// Draws the arrow from `panel` to the next one.
fn draw_arrow(svg: &mut Svg, panel: &Panel<'_>) {
    let gap = panel.layout.gap;
    let ax = panel.x0 + panel.layout.panel_w + 6.0;
    let ay = panel.y0 + panel.layout.panel_h / 2.0;
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
