//! `checker book-preprocessor`: the mdBook preprocessor of the course book (`book/`).
//!
//! The book retypes nothing that the course already states elsewhere. Code comes from the lab
//! and solution crates through mdBook's own `{{#include file:anchor}}`; lab metadata comes
//! from `labs/info.toml` through the markers below, which this preprocessor replaces:
//!
//! | marker              | becomes                                                         |
//! |---------------------|-----------------------------------------------------------------|
//! | `{{#lab-title N}}`  | the chapter's `# Lab N: Title` heading; also names the chapter   |
//! | `{{#lab-name N}}`   | `Lab N: Title`, inline, for headings and links elsewhere         |
//! | `{{#lab-info N}}`   | difficulty, estimated time, learning objectives, where to work   |
//! | `{{#lab-steps N}}`  | the problem statement, as a numbered list                       |
//! | `{{#lab-output N}}` | the output contract: the lines the lab's program prints         |
//! | `{{#lab-hints N}}`  | every hint, each in a collapsed `<details>` block               |
//! | `{{#lab-snapshot N}}` | the reviewed snapshot of the solution's run, section by section |
//!
//! `N` is a lab number or name, as on the checker's command line. A marker written with a
//! backslash in front (`\{{#lab-info 1}}`) is left alone (mdBook then drops the backslash).
//!
//! Pictures are fenced code blocks whose info string is `lab-figure`; each one is replaced by
//! an inline SVG drawn from the data in the block (see [`figures`]). Read without the
//! preprocessor, on a forge say, the block still shows its data as text.
//!
//! # Protocol
//!
//! mdBook runs `checker book-preprocessor supports <renderer>` and expects exit status 0 for
//! a renderer the preprocessor handles (all of them: the output is plain Markdown and HTML).
//! Then it runs `checker book-preprocessor` with the JSON array `[context, book]` on stdin
//! and reads the processed book, as JSON, from stdout. Only the fields read and written here
//! are relied on, through [`serde_json::Value`]; everything else passes through untouched.

pub mod figures;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::info_file::{InfoFile, LabInfo};

/// The mdBook version the book is built and tested with (see `book/book.toml`).
pub const MDBOOK_VERSION: &str = "0.5.4";

/// Runs the preprocessor with the arguments that follow `book-preprocessor`.
pub fn run(args: &[String]) -> Result<()> {
    match args {
        // Every renderer is supported: the output is Markdown with inline HTML.
        [command, _renderer] if command == "supports" => Ok(()),
        [] => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("cannot read the book from stdin")?;
            let book = process(&input, &InfoFile::load())?;
            let mut stdout = std::io::stdout().lock();
            serde_json::to_writer(&mut stdout, &book).context("cannot write the book")?;
            stdout.flush()?;
            Ok(())
        }
        _ => bail!(
            "unexpected arguments {args:?}: mdBook runs `checker book-preprocessor` with no \
             arguments, or with `supports <renderer>`"
        ),
    }
}

/// Processes mdBook's `[context, book]` input and returns the book.
pub fn process(input: &str, info: &InfoFile) -> Result<Value> {
    let (context, mut book): (Value, Value) =
        serde_json::from_str(input).context("mdBook's input is not a [context, book] array")?;
    if let Some(version) = context.get("mdbook_version").and_then(Value::as_str) {
        let minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
        if minor(version) != minor(MDBOOK_VERSION) {
            eprintln!(
                "book-preprocessor: written for mdBook {MDBOOK_VERSION}, called by {version}"
            );
        }
    }
    let root = context
        .get("root")
        .and_then(Value::as_str)
        .map(PathBuf::from)
        .unwrap_or_default();
    let src = context
        .pointer("/config/book/src")
        .and_then(Value::as_str)
        .unwrap_or("src");
    let src_dir = root.join(src);
    // mdBook 0.5 calls the top-level list `items`; 0.4 called it `sections`.
    let items = ["items", "sections"]
        .into_iter()
        .find(|key| book.get(key).is_some())
        .context("the book has neither `items` nor `sections`")?;
    let items = book
        .get_mut(items)
        .and_then(Value::as_array_mut)
        .context("the book's item list is not an array")?;
    process_items(items, info, &src_dir)?;
    Ok(book)
}

fn process_items(items: &mut [Value], info: &InfoFile, src_dir: &Path) -> Result<()> {
    for item in items {
        let Some(chapter) = item.get_mut("Chapter").and_then(Value::as_object_mut) else {
            continue; // separators and part titles
        };
        let source = chapter
            .get("source_path")
            .or_else(|| chapter.get("path"))
            .and_then(Value::as_str)
            .map(PathBuf::from);
        if let Some(content) = chapter.get("content").and_then(Value::as_str) {
            let where_ = source.as_deref().map_or_else(
                || "a draft chapter".to_string(),
                |p| p.display().to_string(),
            );
            let chapter_dir = source
                .as_deref()
                .and_then(Path::parent)
                .map_or_else(|| src_dir.to_path_buf(), |dir| src_dir.join(dir));
            let expanded = expand(content, info, &chapter_dir)
                .with_context(|| format!("book chapter {where_}"))?;
            if let Some(title) = expanded.title {
                chapter.insert("name".into(), Value::String(title));
            }
            chapter.insert("content".into(), Value::String(expanded.content));
        }
        if let Some(sub_items) = chapter.get_mut("sub_items").and_then(Value::as_array_mut) {
            process_items(sub_items, info, src_dir)?;
        }
    }
    Ok(())
}

/// A chapter after its markers and figures are replaced.
#[derive(Debug, PartialEq, Eq)]
pub struct Expanded {
    /// The chapter text.
    pub content: String,
    /// The chapter name from a `{{#lab-title N}}` marker, if it has one.
    pub title: Option<String>,
}

/// Replaces the markers and figures of one chapter. `chapter_dir` is the folder of the
/// chapter's file, against which a figure's `source:` path is resolved.
pub fn expand(content: &str, info: &InfoFile, chapter_dir: &Path) -> Result<Expanded> {
    let content = figures::replace_figures(content, chapter_dir)?;
    let mut out = String::with_capacity(content.len());
    let mut title = None;
    let mut rest = content.as_str();
    while let Some(start) = rest.find("{{#lab-") {
        let escaped = rest[..start].ends_with('\\');
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after
            .find("}}")
            .with_context(|| format!("unclosed marker {:?}", first_line(after)))?;
        let marker = &after[..end + 2];
        rest = &after[end + 2..];
        if escaped {
            out.push_str(marker);
            continue;
        }
        let inner = &marker[3..marker.len() - 2]; // "lab-info 1"
        let mut words = inner.split_whitespace();
        let (Some(kind), Some(query), None) = (words.next(), words.next(), words.next()) else {
            bail!("marker {marker} must name one lab, as in {{{{#lab-info 1}}}}");
        };
        let lab = info
            .find(query)
            .with_context(|| format!("marker {marker}"))?;
        match kind {
            "lab-title" => {
                let name = format!("Lab {}: {}", lab.number, lab.title);
                out.push_str(&format!("# {name}"));
                title = Some(name);
            }
            "lab-name" => out.push_str(&format!("Lab {}: {}", lab.number, lab.title)),
            "lab-info" => out.push_str(&lab_info(lab)),
            "lab-steps" => out.push_str(&numbered(&lab.steps)),
            "lab-output" => out.push_str(&bullets(&lab.output)),
            "lab-hints" => out.push_str(&hints(lab)),
            "lab-snapshot" => out.push_str(&snapshot_sections(lab)?),
            other => bail!(
                "unknown marker {{{{#{other} ...}}}}: the markers are lab-title, lab-name, \
                 lab-info, lab-steps, lab-output, lab-hints and lab-snapshot"
            ),
        }
    }
    out.push_str(rest);
    Ok(Expanded {
        content: out,
        title,
    })
}

/// The reviewed snapshot of `lab` (`checker/snapshots/NN-name.snap`), each `## section` as
/// a bold heading over a `text` block of its lines. The checker tags what it writes with
/// the run's nonce, which the snapshot shows as `<run>`; a run by hand has none, so the tag
/// is left out.
fn snapshot_sections(lab: &LabInfo) -> Result<String> {
    let text = crate::snapshot::expected(&lab.dir()).with_context(|| {
        format!(
            "lab {} has no reviewed snapshot (checker/snapshots/{}.snap)",
            lab.number,
            lab.dir()
        )
    })?;
    let mut out = String::new();
    for section in text.split("## ").filter(|s| !s.trim().is_empty()) {
        let (heading, lines) = section.split_once('\n').unwrap_or((section, ""));
        let lines = lines.replace(" <run>", "").replace("<run>", "");
        out.push_str(&format!(
            "**{}**\n\n```text\n{}\n```\n\n",
            heading.trim(),
            lines.trim_end()
        ));
    }
    Ok(out.trim_end().to_string())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// `● Medium`, the dot coloured by level. A coloured U+25CF, not a coloured-circle emoji:
/// every text font has the black circle, while the emoji showed as a missing-glyph box
/// where no emoji font is installed (headless Chromium, many Linux desktops).
fn difficulty(level: &str) -> String {
    let colour = match level {
        "easy" => "#2e7d32",
        "medium" => "#b8860b",
        "hard" => "#c62828",
        _ => "#757575",
    };
    let mut name = level.to_string();
    if let Some(first) = name.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    format!("<span style=\"color: {colour}\" aria-hidden=\"true\">●</span> {name}")
}

fn lab_info(lab: &LabInfo) -> String {
    let based_on = match &lab.seed {
        Some(seed) => format!("*Based on: {}.*", seed.trim_end_matches('.')),
        None => "*Beyond the seeds: what production consumer groups need next.*".to_string(),
    };
    format!(
        "## Difficulty\n\n{}\n\n## Estimated time\n\n{} minutes\n\n## Learning objectives\n\n{}\n\
         Your crate is `labs/{dir}/`; the reference solution is `solutions/{dir}/`. Check your \
         work with `cargo checker verify {n}`, and ask for a hint with `cargo checker hint {n}`.\n\n\
         {based_on}",
        difficulty(&lab.difficulty),
        lab.minutes,
        bullets(&lab.objectives),
        dir = lab.dir(),
        n = lab.number,
    )
}

fn bullets(items: &[String]) -> String {
    items.iter().map(|item| format!("- {item}\n")).collect()
}

fn numbered(items: &[String]) -> String {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| format!("{}. {item}\n", i + 1))
        .collect()
}

fn hints(lab: &LabInfo) -> String {
    lab.hints
        .iter()
        .enumerate()
        .map(|(i, hint)| {
            format!(
                "<details>\n<summary>Hint {}</summary>\n\n{hint}\n\n</details>\n\n",
                i + 1
            )
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_shown_section_by_section_without_run_tags() {
        let info = InfoFile::load();
        let lab = info.find("4").unwrap();
        let text = snapshot_sections(lab).unwrap();
        assert!(text.starts_with("**TEST_GROUP, the member reading partition 0**\n\n```text\n"));
        assert!(
            text.contains("Message from partition [0]: message #1\n"),
            "{text}"
        );
        assert!(!text.contains("<run>"), "{text}");
        assert_eq!(text.matches("```text").count(), 3);
    }
    use serde_json::json;

    fn info() -> InfoFile {
        InfoFile::load()
    }

    fn chapter(content: &str, path: &str) -> Value {
        json!({"Chapter": {
            "name": "Lab 1", "content": content, "number": null, "sub_items": [],
            "path": path, "source_path": path, "parent_names": []
        }})
    }

    fn input(items: Vec<Value>) -> String {
        let context = json!({
            "root": "/nowhere/book",
            "config": {"book": {"title": "t", "src": "src"}},
            "renderer": "html",
            "mdbook_version": MDBOOK_VERSION
        });
        json!([context, {"items": items}]).to_string()
    }

    #[test]
    fn markers_are_replaced_from_the_manifest() {
        let info = info();
        let lab = &info.labs[0];
        let text = "{{#lab-title 1}}\n\n{{#lab-info 1}}\n\n{{#lab-steps 1}}\n{{#lab-output orders}}\n{{#lab-hints 01}}\n";
        let out = expand(text, &info, Path::new(".")).unwrap();
        assert!(!out.content.contains("{{#"), "{}", out.content);
        let name = format!("Lab 1: {}", lab.title);
        assert_eq!(out.title.as_deref(), Some(name.as_str()));
        assert!(out.content.starts_with(&format!("# {name}\n")));
        assert!(out.content.contains(&format!(
            "## Difficulty\n\n{}\n",
            difficulty(&lab.difficulty)
        )));
        assert_eq!(
            difficulty("easy"),
            "<span style=\"color: #2e7d32\" aria-hidden=\"true\">●</span> Easy"
        );
        assert!(out.content.contains(&format!("{} minutes", lab.minutes)));
        for objective in &lab.objectives {
            assert!(out.content.contains(&format!("- {objective}\n")));
        }
        assert!(out.content.contains(&format!("1. {}\n", lab.steps[0])));
        assert!(out.content.contains(&format!("- {}\n", lab.output[0])));
        for (i, hint) in lab.hints.iter().enumerate() {
            assert!(out.content.contains(&format!(
                "<details>\n<summary>Hint {}</summary>\n\n{hint}\n\n</details>",
                i + 1
            )));
        }
        assert!(out.content.contains("`cargo checker verify 1`"));
    }

    #[test]
    fn lab_name_is_inline_and_does_not_rename_the_chapter() {
        let info = info();
        let out = expand("### {{#lab-name 2}}\n", &info, Path::new(".")).unwrap();
        assert_eq!(out.content, format!("### Lab 2: {}\n", info.labs[1].title));
        assert_eq!(out.title, None);
    }

    #[test]
    fn an_unknown_lab_is_a_clear_error() {
        let error = expand("{{#lab-info 99}}", &info(), Path::new(".")).unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("{{#lab-info 99}}"), "{message}");
        assert!(
            message.contains("there is no lab called \"99\""),
            "{message}"
        );
        assert!(
            message.contains("orders"),
            "the known labs are listed: {message}"
        );
    }

    #[test]
    fn an_unknown_marker_or_a_missing_argument_is_an_error() {
        let error = expand("{{#lab-nonsense 1}}", &info(), Path::new(".")).unwrap_err();
        assert!(format!("{error:#}").contains("unknown marker"), "{error:#}");
        let error = expand("{{#lab-info}}", &info(), Path::new(".")).unwrap_err();
        assert!(
            format!("{error:#}").contains("must name one lab"),
            "{error:#}"
        );
        let error = expand("{{#lab-info 1", &info(), Path::new(".")).unwrap_err();
        assert!(
            format!("{error:#}").contains("unclosed marker"),
            "{error:#}"
        );
    }

    #[test]
    fn escaped_markers_are_left_alone() {
        let out = expand(r"see \{{#lab-info 1}} here", &info(), Path::new(".")).unwrap();
        assert_eq!(out.content, r"see \{{#lab-info 1}} here");
        assert_eq!(out.title, None);
    }

    #[test]
    fn the_protocol_round_trip_renames_titled_chapters_and_keeps_the_rest() {
        let sub = chapter("{{#lab-steps 1}}", "labs/sub.md");
        let mut main = chapter("{{#lab-title 1}}\n", "labs/01-orders.md");
        main["Chapter"]["sub_items"] = json!([sub, "Separator"]);
        let items = vec![json!({"PartTitle": "Labs"}), main, "Separator".into()];
        let book = process(&input(items), &info()).unwrap();
        let items = book["items"].as_array().unwrap();
        assert_eq!(items[0], json!({"PartTitle": "Labs"}));
        assert_eq!(items[2], json!("Separator"));
        let main = &items[1]["Chapter"];
        let name = format!("Lab 1: {}", info().labs[0].title);
        assert_eq!(main["name"], name.as_str());
        assert_eq!(main["content"], format!("# {name}\n"));
        assert_eq!(main["number"], Value::Null);
        let sub = &main["sub_items"][0]["Chapter"];
        assert!(sub["content"].as_str().unwrap().starts_with("1. "));
        assert_eq!(sub["name"], "Lab 1", "untitled chapters keep their name");
    }

    #[test]
    fn an_unknown_lab_names_the_chapter() {
        let items = vec![chapter("{{#lab-hints 42}}", "labs/42-nope.md")];
        let error = process(&input(items), &info()).unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("labs/42-nope.md"), "{message}");
        assert!(
            message.contains("there is no lab called \"42\""),
            "{message}"
        );
    }

    #[test]
    fn older_books_with_sections_are_processed_too() {
        let context = json!({"root": "/b", "config": {"book": {}}, "renderer": "html",
                             "mdbook_version": "0.4.52"});
        let text = json!([context, {"sections": [chapter("{{#lab-title 2}}", "a.md")],
                                     "__non_exhaustive": null}])
        .to_string();
        let book = process(&text, &info()).unwrap();
        let name = format!("Lab 2: {}", info().labs[1].title);
        assert_eq!(book["sections"][0]["Chapter"]["name"], name.as_str());
        assert!(book.get("__non_exhaustive").is_some());
    }

    #[test]
    fn supports_every_renderer_and_rejects_stray_arguments() {
        assert!(run(&["supports".into(), "html".into()]).is_ok());
        assert!(run(&["supports".into(), "markdown".into()]).is_ok());
        assert!(run(&["frobnicate".into()]).is_err());
    }
}
