//! `kind: log`: a topic's partitions as logs, one row per partition and one cell per record,
//! drawn from the block's data lines or from a section of a reviewed snapshot.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::contract::{field, partition_field};
use super::svg::{colour, wrap, Svg, FAINT};
use super::Block;

/// The partition names' column.
const GUTTER: f64 = 96.0;
const CELL_W: f64 = 92.0;
const CELL_H: f64 = 40.0;
/// The top of the first row, below the offsets.
const TOP: f64 = 34.0;

/// Draws a log figure. A `source:` is resolved against `chapter_dir`.
pub(super) fn draw(block: &Block<'_>, title: &str, chapter_dir: &Path) -> Result<String> {
    let records = data_lines(block, chapter_dir)?
        .iter()
        .map(|(line, text)| Record::parse(text).with_context(|| format!("line {line}: {text:?}")))
        .collect::<Result<Vec<_>>>()?;
    if records.is_empty() {
        bail!("a log figure needs data lines or a `source:`");
    }
    let max_partition = records.iter().map(|r| r.partition).max().unwrap_or(0);
    let partitions: usize = block.number("partitions")?.unwrap_or(max_partition + 1);
    if max_partition >= partitions {
        bail!("partition {max_partition} does not exist ({partitions} partitions)");
    }
    let keys = keys(&records);
    let columns = records.iter().map(|r| r.offset).max().unwrap_or(0) + 1;
    let width = GUTTER + columns as f64 * (CELL_W + 6.0) + 18.0;

    let mut svg = Svg::default();
    draw_header(&mut svg, columns);
    for p in 0..partitions {
        let y = TOP + p as f64 * (CELL_H + 8.0);
        draw_partition(&mut svg, p, y, width);
        for record in records.iter().filter(|r| r.partition == p) {
            record.draw(&mut svg, y, &keys);
        }
    }
    let height = TOP + partitions as f64 * (CELL_H + 8.0) + 4.0;
    let height = draw_legend(
        &mut svg,
        block.get("legend"),
        !keys.is_empty(),
        width,
        height,
    );
    Ok(svg.finish(title, width, height))
}

/// The lines to draw, numbered: the `source:` section's, or else the block's own.
pub(super) fn data_lines(block: &Block<'_>, chapter_dir: &Path) -> Result<Vec<(usize, String)>> {
    let Some(source) = block.get("source") else {
        return Ok(block
            .data
            .iter()
            .map(|(i, l)| (*i, l.to_string()))
            .collect());
    };
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
    Ok(lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .collect())
}

/// The lines of `## section` in `text` (all non-empty lines when `section` is `None`),
/// comments left out.
fn section_lines(text: &str, section: Option<&str>) -> Vec<String> {
    let mut inside = section.is_none();
    let mut lines = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            inside = section.is_some_and(|s| heading.trim() == s);
            continue;
        }
        // As in a block's own data lines, a `#` line is a comment (a recorded timeline's
        // header).
        if inside && !line.trim().is_empty() && !line.starts_with('#') {
            lines.push(line.trim().to_string());
        }
    }
    lines
}

/// One record: a line `<verb> <label> [key=<k>] partition=<p> offset=<o>`.
pub(super) struct Record {
    pub(super) label: String,
    pub(super) key: Option<String>,
    pub(super) partition: usize,
    pub(super) offset: usize,
}

impl Record {
    /// Parses a line of the lab contract about one record, such as lab 1's `sent` lines.
    pub(super) fn parse(text: &str) -> Result<Record> {
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

    /// Draws the record's cell in the row at `y`, coloured by its key's place in `keys` (or
    /// by partition when it has no key).
    fn draw(&self, svg: &mut Svg, y: f64, keys: &[&str]) {
        let cx = GUTTER + self.offset as f64 * (CELL_W + 6.0);
        let fill = match self.key.as_deref() {
            Some(key) => colour(keys.iter().position(|k| *k == key).unwrap_or(0)),
            None => colour(self.partition),
        };
        svg.rect(
            cx,
            y,
            CELL_W,
            CELL_H,
            &format!("rx=\"4\" fill=\"{fill}\" stroke=\"#555\""),
        );
        let label_y = if self.key.is_some() { 17.0 } else { 25.0 };
        svg.text(
            cx + CELL_W / 2.0,
            y + label_y,
            &self.label,
            "text-anchor=\"middle\" font-weight=\"bold\"",
        );
        if let Some(key) = &self.key {
            svg.text(
                cx + CELL_W / 2.0,
                y + 32.0,
                &format!("key={key}"),
                "text-anchor=\"middle\" font-size=\"11\"",
            );
        }
    }
}

/// The records' keys, in the order they first appear: one colour each.
fn keys(records: &[Record]) -> Vec<&str> {
    let mut keys: Vec<&str> = Vec::new();
    for key in records.iter().filter_map(|r| r.key.as_deref()) {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// The column headings: "partition", then each offset.
fn draw_header(svg: &mut Svg, columns: usize) {
    svg.text(12.0, 22.0, "partition", "font-weight=\"bold\"");
    for column in 0..columns {
        let cx = GUTTER + column as f64 * (CELL_W + 6.0) + CELL_W / 2.0;
        svg.text(
            cx,
            22.0,
            &format!("offset {column}"),
            &format!("text-anchor=\"middle\" font-size=\"11\" fill=\"{FAINT}\""),
        );
    }
}

/// Partition `p`'s name and its row's background, at `y`.
fn draw_partition(svg: &mut Svg, p: usize, y: f64, width: f64) {
    svg.text(12.0, y + 25.0, &format!("P{p}"), "font-weight=\"bold\"");
    svg.rect(
        GUTTER - 6.0,
        y - 3.0,
        width - GUTTER - 6.0,
        CELL_H + 6.0,
        "rx=\"4\" fill=\"#f7f7f7\" stroke=\"#ddd\"",
    );
}

/// The legend below `height`, wrapped to the picture's `width`; returns the new height.
/// `own` replaces the standard one, for a figure whose keys are not message keys.
fn draw_legend(svg: &mut Svg, own: Option<&str>, keyed: bool, width: f64, mut height: f64) -> f64 {
    let legend = if let Some(own) = own {
        own
    } else if keyed {
        "Each row is one partition's log: offsets grow to the right. One colour per key: \
         each key keeps to one partition."
    } else {
        "Each row is one partition's log: offsets grow to the right, in the order the \
         partition received its messages."
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
    height + 8.0
}
