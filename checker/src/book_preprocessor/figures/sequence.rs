//! `kind: sequence`: a protocol exchange, one lifeline per actor and one arrow per message,
//! time going down.

mod script;

use anyhow::Result;

use super::svg::{n, text_width, wrap, Svg, ALERT, FAINT, INK};
use super::Block;
use script::{Script, Step};

/// Space around the picture.
const MARGIN: f64 = 12.0;
/// The height of an actor's box at the top.
const HEAD_H: f64 = 28.0;
/// The height of one line of 11-pixel text.
const LINE_H: f64 = 14.0;
/// The space between two lifelines, at least and at most: past the most, a label wraps.
/// The book's column is 750 pixels wide, and a wider picture is scaled down to fit it, its
/// text with it: at most, three actors fit, or four when one gap is short.
const MIN_GAP: f64 = 120.0;
const MAX_GAP: f64 = 240.0;
/// How far a note over an outer lifeline reaches outwards, at most.
const OUTER_REACH: f64 = 64.0;
/// The length of an arrowhead.
const HEAD_LEN: f64 = 9.0;
/// Text written over lines stays legible: a white outline is painted under its letters.
const HALO: &str =
    "paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"4\" stroke-linejoin=\"round\"";

/// Draws a sequence figure.
pub(super) fn draw(block: &Block<'_>, title: &str) -> Result<String> {
    let script = Script::parse(block)?;
    let columns = Columns::new(&script);
    let rows = rows(&script, &columns);
    let bottom = rows.last().map_or(0.0, |row| row.top + row.height) + 6.0;

    let mut svg = Svg::default();
    draw_lifelines(&mut svg, &columns, &rows, bottom);
    draw_heads(&mut svg, &script, &columns);
    let mut legend = Legend::default();
    for row in &rows {
        row.draw(&mut svg, &columns, &mut legend);
    }
    let height = legend.draw(&mut svg, columns.width, bottom);
    Ok(svg.finish(title, columns.width, height))
}

/// The width of a label, bold when it is an error.
fn label_w(label: &str, bold: bool) -> f64 {
    text_width(label, 11.0) * if bold { 1.08 } else { 1.0 }
}

/// Wraps `text` into lines that fit `width`, counting in `text`'s own average letter, and
/// evens the lines out, so that a label does not end in one word on a line of its own.
fn wrap_to(text: &str, width: f64, bold: bool) -> Vec<String> {
    let letter = label_w(text, bold) / text.chars().count().max(1) as f64;
    let most = ((width / letter) as usize).max(8);
    let count = wrap(text, most).len();
    let even = (1..most)
        .rev()
        .take_while(|chars| wrap(text, *chars).len() == count)
        .last()
        .unwrap_or(most);
    wrap(text, even)
}

/// Where the lifelines stand.
struct Columns {
    /// Each lifeline's x, left to right.
    x: Vec<f64>,
    /// Each actor's box width.
    head_w: Vec<f64>,
    /// The space between each lifeline and the next.
    gaps: Vec<f64>,
    width: f64,
}

impl Columns {
    /// Spaces the lifelines so that each message's label fits on one line between its two
    /// ends, as far as `MAX_GAP` allows; shorter spans are settled first, since a long
    /// arrow's label can use the room they make.
    fn new(script: &Script<'_>) -> Columns {
        let head_w: Vec<f64> = script
            .actors
            .iter()
            .map(|a| (text_width(a, 12.0) * 1.08 + 24.0).max(72.0))
            .collect();
        let mut gaps: Vec<f64> = head_w
            .windows(2)
            .map(|pair| MIN_GAP.max((pair[0] + pair[1]) / 2.0 + 16.0))
            .collect();
        let mut messages: Vec<(usize, usize, &str, bool)> = script
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::Message {
                    from,
                    to,
                    label,
                    alert,
                    ..
                } => Some(((*from).min(*to), (*from).max(*to), *label, *alert)),
                _ => None,
            })
            .collect();
        messages.sort_by_key(|(left, right, ..)| right - left);
        for (left, right, label, bold) in messages {
            let need = label_w(label, bold) + 2.0 * HEAD_LEN + 12.0;
            let have: f64 = gaps[left..right].iter().sum();
            if have < need {
                let more = (need - have) / (right - left) as f64;
                for gap in &mut gaps[left..right] {
                    *gap = (*gap + more).min(MAX_GAP).max(*gap);
                }
            }
        }
        let mut columns = Columns {
            x: Vec::new(),
            head_w,
            width: 0.0,
            gaps,
        };
        // The outer actors' boxes and notes reach past their lifelines.
        let last = columns.gaps.len();
        let first = MARGIN + (columns.head_w[0] / 2.0).max(columns.reach(0).0);
        columns.x = std::iter::once(first)
            .chain(columns.gaps.iter().scan(first, |x, gap| {
                *x += gap;
                Some(*x)
            }))
            .collect();
        columns.width =
            columns.x[last] + (columns.head_w[last] / 2.0).max(columns.reach(last).1) + MARGIN;
        columns
    }

    /// How far a note over lifeline `i` reaches to its left and to its right: most of the way
    /// to each neighbour, so that notes over neighbours, drawn in turn, leave a space between
    /// them, and less past an outer lifeline, where the picture ends.
    fn reach(&self, i: usize) -> (f64, f64) {
        let left = i.checked_sub(1).map(|j| self.gaps[j] * 0.45);
        let right = self.gaps.get(i).map(|gap| gap * 0.45);
        let outer = |inner: Option<f64>| inner.unwrap_or(MIN_GAP * 0.45).min(OUTER_REACH);
        (
            left.unwrap_or_else(|| outer(right)),
            right.unwrap_or_else(|| outer(left)),
        )
    }

    /// The left and right edges of a note over lifelines `first..=last`.
    fn note_edges(&self, first: usize, last: usize) -> (f64, f64) {
        (
            self.x[first] - self.reach(first).0,
            self.x[last] + self.reach(last).1,
        )
    }
}

/// A step placed on the page: its top, its height and its text, already wrapped (a gap's
/// text is not: it stands alone in the middle of the picture).
struct Row<'a> {
    step: &'a Step<'a>,
    top: f64,
    height: f64,
    lines: Vec<String>,
}

/// The steps, placed one below the other.
fn rows<'a>(script: &'a Script<'a>, columns: &Columns) -> Vec<Row<'a>> {
    let mut top = MARGIN + HEAD_H + 10.0;
    let mut rows = Vec::new();
    for step in &script.steps {
        let (lines, height) = match step {
            Step::Message {
                from,
                to,
                label,
                alert,
                ..
            } => {
                let span = (columns.x[*from] - columns.x[*to]).abs() - 2.0 * HEAD_LEN - 8.0;
                let lines = wrap_to(label, span, *alert);
                let height = lines.len() as f64 * LINE_H + 14.0;
                (lines, height)
            }
            Step::Note { first, last, text } => {
                let (left, right) = columns.note_edges(*first, *last);
                let lines = wrap_to(text, right - left - 12.0, false);
                let height = lines.len() as f64 * LINE_H + 18.0;
                (lines, height)
            }
            Step::Gap(_) => (Vec::new(), 30.0),
        };
        rows.push(Row {
            step,
            top,
            height,
            lines,
        });
        top += height;
    }
    rows
}

impl Row<'_> {
    /// Draws the row, noting in `legend` which kinds of arrow it used.
    fn draw(&self, svg: &mut Svg, columns: &Columns, legend: &mut Legend) {
        match *self.step {
            Step::Message {
                from,
                to,
                reply,
                alert,
                ..
            } => {
                legend.request |= !reply;
                legend.response |= reply;
                legend.alert |= alert;
                let colour = if alert { ALERT } else { INK };
                let (x1, x2) = (columns.x[from], columns.x[to]);
                let y = self.top + self.lines.len() as f64 * LINE_H + 7.0;
                draw_arrow(svg, x1, x2, y, reply, colour);
                let weight = if alert { " font-weight=\"bold\"" } else { "" };
                for (i, line) in self.lines.iter().enumerate() {
                    svg.text(
                        (x1 + x2) / 2.0,
                        self.top + 13.0 + i as f64 * LINE_H,
                        line,
                        &format!(
                            "text-anchor=\"middle\" font-size=\"11\" fill=\"{colour}\"{weight} \
                             {HALO}"
                        ),
                    );
                }
            }
            Step::Note { first, last, .. } => {
                let (left, right) = columns.note_edges(first, last);
                svg.rect(
                    left,
                    self.top + 4.0,
                    right - left,
                    self.height - 8.0,
                    "rx=\"4\" fill=\"#fdf6d8\" stroke=\"#c9b458\"",
                );
                for (i, line) in self.lines.iter().enumerate() {
                    svg.text(
                        (left + right) / 2.0,
                        self.top + 18.0 + i as f64 * LINE_H,
                        line,
                        "text-anchor=\"middle\" font-size=\"11\"",
                    );
                }
            }
            Step::Gap(text) => {
                svg.text(
                    columns.width / 2.0,
                    self.top + 19.0,
                    text,
                    &format!(
                        "text-anchor=\"middle\" font-size=\"11\" font-style=\"italic\" \
                         fill=\"{FAINT}\" {HALO}"
                    ),
                );
            }
        }
    }
}

/// Draws an arrow at height `y` from lifeline `x1` to lifeline `x2`, its tip on `x2`. The
/// `arrowhead` class (like `lifeline`) names the mark, so that a test can find it.
fn draw_arrow(svg: &mut Svg, x1: f64, x2: f64, y: f64, reply: bool, colour: &str) {
    let direction = if x2 > x1 { 1.0 } else { -1.0 };
    let dash = if reply {
        " stroke-dasharray=\"6 4\""
    } else {
        ""
    };
    svg.line(
        x1,
        y,
        x2 - direction * HEAD_LEN,
        y,
        &format!("stroke=\"{colour}\" stroke-width=\"1.5\"{dash}"),
    );
    svg.raw(&format!(
        "<path class=\"arrowhead\" d=\"M{} {} l{} -4.5 v9 z\" fill=\"{colour}\"/>",
        n(x2),
        n(y),
        n(-direction * HEAD_LEN)
    ));
}

/// The lifelines from the actors' boxes down to `bottom`: solid, and dashed across a gap.
fn draw_lifelines(svg: &mut Svg, columns: &Columns, rows: &[Row<'_>], bottom: f64) {
    let mut spans = Vec::new();
    let mut from = MARGIN + HEAD_H;
    for row in rows.iter().filter(|r| matches!(r.step, Step::Gap(_))) {
        spans.push((from, row.top, false));
        spans.push((row.top, row.top + row.height, true));
        from = row.top + row.height;
    }
    spans.push((from, bottom, false));
    for &x in &columns.x {
        for &(y1, y2, dashed) in &spans {
            let style = if dashed {
                "stroke=\"#999\" stroke-dasharray=\"2 4\""
            } else {
                "stroke=\"#999\""
            };
            svg.line(x, y1, x, y2, &format!("class=\"lifeline\" {style}"));
        }
    }
}

/// Each actor's name in a box at the top of its lifeline.
fn draw_heads(svg: &mut Svg, script: &Script<'_>, columns: &Columns) {
    for (i, actor) in script.actors.iter().enumerate() {
        let (x, w) = (columns.x[i], columns.head_w[i]);
        svg.rect(
            x - w / 2.0,
            MARGIN,
            w,
            HEAD_H,
            "rx=\"5\" fill=\"#f7f7f7\" stroke=\"#bbb\"",
        );
        svg.text(
            x,
            MARGIN + 18.0,
            actor,
            "text-anchor=\"middle\" font-weight=\"bold\"",
        );
    }
}

/// Which arrows the picture uses, so that the legend explains only those.
#[derive(Default)]
struct Legend {
    request: bool,
    response: bool,
    alert: bool,
}

impl Legend {
    /// Draws the legend below `y`, wrapped to `width`; returns the picture's height.
    fn draw(&self, svg: &mut Svg, width: f64, y: f64) -> f64 {
        let mut parts = Vec::new();
        if self.request {
            parts.push("solid arrow: a request");
        }
        if self.response {
            parts.push("dashed arrow: a response");
        }
        if self.alert {
            parts.push("red: an error code");
        }
        parts.push("time goes down");
        svg.legend(MARGIN, y, width, &parts.join(" · "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book_preprocessor::figures::Block;

    fn script(body: &str) -> (Script<'_>, Columns) {
        let lines: Vec<&str> = body.lines().collect();
        let script = Script::parse(&Block::parse(&lines)).unwrap();
        let columns = Columns::new(&script);
        (script, columns)
    }

    #[test]
    fn lifelines_make_room_for_labels_up_to_a_limit_then_labels_wrap() {
        let (script, columns) = script(
            "actors: A | B | C\n\
             A -> B: x\n\
             B -> C: a label that pushes C away\n\
             C --> B: a label far too long to fit on one line between two lifelines, even at the widest\n\
             A -> C: z",
        );
        let gaps: Vec<f64> = columns.x.windows(2).map(|p| p[1] - p[0]).collect();
        assert_eq!(gaps[0], MIN_GAP, "a short label keeps the least gap");
        let rows = rows(&script, &columns);
        assert_eq!(rows[0].lines.len(), 1);
        assert_eq!(rows[1].lines.len(), 1, "{:?}", rows[1].lines);
        assert!(rows[2].lines.len() > 1, "the longest label wraps");
        assert_eq!(gaps[1], MAX_GAP, "{gaps:?}");
        for row in &rows {
            if let Step::Message { from, to, .. } = row.step {
                let span = (columns.x[*from] - columns.x[*to]).abs();
                for line in &row.lines {
                    assert!(label_w(line, false) < span, "{line:?} is wider than {span}");
                }
            }
        }
        assert!(columns.width <= 760.0, "{}", columns.width);
    }

    #[test]
    fn wrapped_lines_are_even() {
        let lines = wrap_to("JoinGroup response: leader A; no member list", 200.0, false);
        assert_eq!(lines, ["JoinGroup response:", "leader A; no member list"]);
    }

    #[test]
    fn notes_over_neighbours_leave_a_space_between_them() {
        let (_, columns) = script("actors: A | B | C\nA -> B: x\nB -> C: y");
        let (_, a_right) = columns.note_edges(0, 0);
        let (b_left, b_right) = columns.note_edges(1, 1);
        let (c_left, c_right) = columns.note_edges(2, 2);
        assert!(a_right < b_left && b_right < c_left);
        assert!(columns.note_edges(0, 2).0 >= MARGIN && c_right <= columns.width - MARGIN);
    }
}
