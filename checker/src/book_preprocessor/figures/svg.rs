//! Drawing primitives: an SVG document written element by element, with the course's colours.
//!
//! Numbers are rounded to one decimal as they are written, so a picture is the same text on
//! every platform.

use std::fmt::Write as _;

/// Fill colours, one per partition (or per key in a log).
const PALETTE: [&str; 8] = [
    "#f6a54c", "#6cc3ef", "#8fd175", "#e58fd6", "#f3dd5a", "#b7a6ea", "#f28b82", "#7fd8c9",
];
/// Text and strokes.
pub(super) const INK: &str = "#222";
/// Secondary text: legends, idle members, partitions nobody owns.
pub(super) const FAINT: &str = "#777";
/// Signals and other notes on a timeline.
pub(super) const ALERT: &str = "#c0392b";

/// The fill colour of partition (or key) number `index`.
pub(super) fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// Escapes `text` for an attribute value or an element's content.
pub(super) fn escape(text: &str) -> String {
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
pub(super) fn n(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// About how wide `text` is, in pixels, at font size `size` in a sans-serif font such as
/// Arial, Helvetica or Liberation Sans, erring wide: browsers pick the font, so a picture
/// can only leave room for it.
pub(super) fn text_width(text: &str, size: f64) -> f64 {
    let ems: f64 = text
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | 'I' | 'f' | 't' | 'r' | ' ' | '.' | ',' | ':' | ';' | '\'' | '!'
            | '|' | '(' | ')' | '[' | ']' => 0.3,
            'm' | 'w' | 'M' | 'W' => 0.85,
            c if c.is_uppercase() => 0.72,
            _ => 0.56,
        })
        .sum();
    ems * size * 1.08
}

/// Breaks `text` into lines of at most `width` characters, at spaces.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
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

/// The elements of a picture, one per line, in drawing order. `style` arguments are extra
/// attributes written as they are.
#[derive(Default)]
pub(super) struct Svg {
    body: String,
}

impl Svg {
    pub(super) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, style: &str) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {style}/>",
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h)
        );
    }

    pub(super) fn text(&mut self, x: f64, y: f64, text: &str, style: &str) {
        let space = if style.is_empty() { "" } else { " " };
        let _ = writeln!(
            self.body,
            "<text x=\"{}\" y=\"{}\"{space}{style}>{}</text>",
            n(x),
            n(y),
            escape(text)
        );
    }

    /// A legend of small faint text below `y`, wrapped to a picture `width` wide and
    /// starting at `x`; returns the picture's height under it.
    pub(super) fn legend(&mut self, x: f64, mut y: f64, width: f64, text: &str) -> f64 {
        for line in wrap(text, ((width - 24.0) / 5.8) as usize) {
            self.text(
                x,
                y + 12.0,
                &line,
                &format!("font-size=\"11\" fill=\"{FAINT}\""),
            );
            y += 14.0;
        }
        y + 10.0
    }

    pub(super) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, style: &str) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {style}/>",
            n(x1),
            n(y1),
            n(x2),
            n(y2)
        );
    }

    /// An element written as it is, for shapes without a method here.
    pub(super) fn raw(&mut self, element: &str) {
        self.body.push_str(element);
        self.body.push('\n');
    }

    /// The `<svg>` element: a framed `width` × `height` picture titled `title` (for screen
    /// readers), with the elements drawn so far.
    pub(super) fn finish(self, title: &str, width: f64, height: f64) -> String {
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
