//! The course book in `book/`.
//!
//! Always: every lab has a chapter in SUMMARY.md, every `{{#include}}` names an existing
//! file and anchor, and every chapter goes through the book preprocessor (markers, figures).
//!
//! With the tools installed: mdBook builds the book without a warning, every internal link
//! and `#anchor` of the built HTML resolves, and a headless Chromium renders the
//! introduction and a lab chapter with its title, code and picture. Without `mdbook` (the
//! pinned version) or `chromium` these tests say why and skip, with a boxed SKIPPED notice
//! on stderr. With `REQUIRE_BOOK_TOOLS=1`, as CI sets, a missing tool fails them instead.

mod browser;
mod skip;
mod tools;

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use checker::book_preprocessor::{self, MDBOOK_VERSION};
use checker::info_file::{InfoFile, LabInfo};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("checker/ has a parent")
        .to_path_buf()
}

fn book() -> PathBuf {
    root().join("book")
}

fn src() -> PathBuf {
    book().join("src")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every Markdown file under `book/src`, sorted.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = files_with_extension(&src(), "md");
    files.sort();
    files
}

fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Without tools

#[test]
fn the_summary_walks_the_course_parts_in_order() {
    let summary = read(&src().join("SUMMARY.md"));
    let info = InfoFile::load();
    let mut from = 0;
    for part in &info.parts {
        let heading = format!("\n# {}\n", part.title);
        let at = summary
            .find(&heading)
            .unwrap_or_else(|| panic!("SUMMARY.md has no part heading {heading:?}"));
        assert!(at >= from, "{:?} is out of order in SUMMARY.md", part.title);
        let first = info
            .labs
            .iter()
            .find(|lab| lab.number == part.first_lab)
            .expect("a part starts at a lab");
        let chapter = format!("(labs/{}.md)", first.dir());
        let listed = summary.find(&chapter).expect("every lab is listed");
        assert!(
            listed > at
                && summary[at + heading.len()..listed]
                    .matches("](labs/")
                    .count()
                    == 0,
            "lab {} must be the first chapter under {:?}",
            part.first_lab,
            part.title
        );
        from = at;
    }
}

#[test]
fn every_lab_has_a_chapter_in_the_summary() {
    let summary = read(&src().join("SUMMARY.md"));
    for lab in InfoFile::load().labs {
        let chapter = format!("labs/{}.md", lab.dir());
        assert!(
            summary.contains(&format!("({chapter})")),
            "SUMMARY.md does not list {chapter}"
        );
        let text = read(&src().join(&chapter));
        let n = lab.number;
        for marker in [
            "lab-title",
            "lab-info",
            "lab-steps",
            "lab-output",
            "lab-hints",
        ] {
            assert!(
                text.contains(&format!("{{{{#{marker} {n}}}}}")),
                "{chapter} lacks {{{{#{marker} {n}}}}}"
            );
        }
        for (folder, anchor) in [("labs", "todo"), ("solutions", "solution")] {
            let prefix = format!("{{{{#include ../../../{folder}/{}/", lab.dir());
            assert!(
                text.lines()
                    .any(|l| l.starts_with(&prefix) && l.ends_with(&format!(":{anchor}}}}}"))),
                "{chapter} includes no `{anchor}` anchor from {folder}/{}",
                lab.dir()
            );
        }
        assert!(
            text.contains("```lab-figure"),
            "{chapter} has no picture (a lab-figure block)"
        );
    }
}

/// The `{{#include path[:anchor]}}` links of a chapter: (line number, path, anchor).
fn includes(text: &str) -> Vec<(usize, String, Option<String>)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{#") {
            let escaped = rest[..start].ends_with('\\');
            let after = &rest[start + 3..];
            let Some(end) = after.find("}}") else { break };
            let inner = after[..end].trim();
            rest = &after[end + 2..];
            if escaped {
                continue;
            }
            let Some(target) = inner
                .strip_prefix("include ")
                .or_else(|| inner.strip_prefix("rustdoc_include "))
            else {
                continue;
            };
            let target = target.trim();
            let (path, selector) = match target.split_once(':') {
                Some((path, selector)) => (path, Some(selector)),
                None => (target, None),
            };
            // `file:10:20` selects lines, `file:name` an anchor.
            let anchor = selector
                .filter(|s| !s.chars().all(|c| c.is_ascii_digit() || c == ':'))
                .map(str::to_string);
            found.push((number + 1, path.to_string(), anchor));
        }
    }
    found
}

#[test]
fn every_include_resolves_to_an_existing_anchor() {
    let mut problems = Vec::new();
    let mut count = 0;
    for chapter in markdown_files() {
        let text = read(&chapter);
        let dir = chapter.parent().expect("chapter folder");
        for (line, path, anchor) in includes(&text) {
            count += 1;
            let here = format!("{}:{line}", chapter.strip_prefix(root()).unwrap().display());
            let target = normalise(&dir.join(&path));
            let Ok(source) = std::fs::read_to_string(&target) else {
                problems.push(format!("{here}: {path} does not exist"));
                continue;
            };
            let Some(anchor) = anchor else { continue };
            let start = source
                .lines()
                .position(|l| anchor_name(l, "ANCHOR:") == Some(anchor.as_str()));
            let end = source
                .lines()
                .position(|l| anchor_name(l, "ANCHOR_END:") == Some(anchor.as_str()));
            match (start, end) {
                (Some(start), Some(end)) if start < end => {
                    let body: Vec<&str> = source
                        .lines()
                        .skip(start + 1)
                        .take(end - start - 1)
                        .collect();
                    if body.iter().all(|l| l.trim().is_empty()) {
                        problems.push(format!("{here}: anchor `{anchor}` in {path} is empty"));
                    }
                }
                (None, _) => problems.push(format!("{here}: {path} has no `ANCHOR: {anchor}`")),
                (_, None) => problems.push(format!("{here}: {path} has no `ANCHOR_END: {anchor}`")),
                _ => problems.push(format!(
                    "{here}: `ANCHOR_END: {anchor}` comes before its start in {path}"
                )),
            }
        }
    }
    assert!(count > 0, "no includes found: is book/src empty?");
    assert!(
        problems.is_empty(),
        "broken includes:\n{}",
        problems.join("\n")
    );
}

/// The anchor named on `line` after `marker`, as mdBook reads it.
fn anchor_name<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let after = line.split_once(marker)?.1.trim_start();
    let end = after
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(after.len());
    (end > 0).then(|| &after[..end])
}

#[test]
fn every_chapter_goes_through_the_preprocessor() {
    let info = InfoFile::load();
    let mut figures = 0;
    for chapter in markdown_files() {
        let text = read(&chapter);
        let expanded = book_preprocessor::expand(&text, &info, chapter.parent().unwrap())
            .unwrap_or_else(|e| panic!("{}: {e:#}", chapter.display()));
        assert!(
            !expanded.content.contains("{{#lab-"),
            "{}: a marker was left",
            chapter.display()
        );
        assert!(!expanded.content.contains("```lab-figure"));
        figures += expanded
            .content
            .matches("<figure class=\"lab-figure\">")
            .count();
    }
    assert!(figures >= 6, "only {figures} pictures in the book");
}

// ---------------------------------------------------------------------------------------
// With tools

/// Says why a test cannot run. It skips, loudly, or fails when REQUIRE_BOOK_TOOLS=1.
fn missing(reason: &str) {
    skip::missing(reason, "REQUIRE_BOOK_TOOLS");
}

/// Runs `command` to completion or until `limit`, returning (success, stdout, stderr).
fn run(command: &mut Command, limit: Duration) -> (bool, String, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let read_all = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let (out, err) = (read_all(Box::new(out)), read_all(Box::new(err)));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    match status {
        Some(status) => (status.success(), out, err),
        None => panic!("{command:?} did not finish within {limit:?}\nstderr:\n{err}"),
    }
}

struct Built {
    html: PathBuf,
    stderr: String,
}

/// Builds the book once per test process, with the checker binary of this build as its
/// preprocessor. `None` when mdBook is missing (after saying so).
fn built() -> Option<&'static Built> {
    static BUILT: OnceLock<Result<Built, String>> = OnceLock::new();
    let result = BUILT.get_or_init(|| {
        let Some(mdbook) = tools::find("MDBOOK", &["mdbook"]) else {
            return Err(format!(
                "mdbook is not installed (cargo install mdbook --version {MDBOOK_VERSION} --locked)"
            ));
        };
        let (_, version, _) = run(
            Command::new(&mdbook).arg("--version"),
            Duration::from_secs(30),
        );
        if version.trim() != format!("mdbook v{MDBOOK_VERSION}") {
            return Err(format!(
                "{} is {:?}, the book is pinned to mdbook v{MDBOOK_VERSION}",
                mdbook.display(),
                version.trim()
            ));
        }
        let checker = env!("CARGO_BIN_EXE_checker");
        let (wired, _, _) = run(
            Command::new(checker).args(["book-preprocessor", "supports", "html"]),
            Duration::from_secs(30),
        );
        if !wired {
            return Err(format!(
                "{checker} has no `book-preprocessor` subcommand: wire \
                 checker::book_preprocessor::run into checker/src/main.rs"
            ));
        }
        let html = Path::new(env!("CARGO_TARGET_TMPDIR")).join("book-html");
        let _ = std::fs::remove_dir_all(&html);
        let preprocessor = format!("{checker} book-preprocessor");
        let (ok, stdout, stderr) = run(
            Command::new(&mdbook)
                .arg("build")
                .arg(book())
                .arg("--dest-dir")
                .arg(&html)
                .env("MDBOOK_PREPROCESSOR__LABS__COMMAND", preprocessor)
                .env_remove("RUST_LOG"),
            Duration::from_secs(300),
        );
        assert!(
            ok,
            "mdbook build failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        Ok(Built { html, stderr })
    });
    match result {
        Ok(built) => Some(built),
        Err(reason) => {
            missing(reason);
            None
        }
    }
}

#[test]
fn the_book_builds_without_warnings() {
    let Some(built) = built() else { return };
    let complaints: Vec<&str> = built
        .stderr
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("warn") || l.contains("error")
        })
        .collect();
    assert!(
        complaints.is_empty(),
        "mdbook build complained:\n{}",
        built.stderr
    );
    for lab in InfoFile::load().labs {
        assert!(
            built
                .html
                .join(format!("labs/{}.html", lab.dir()))
                .is_file(),
            "no page for lab {}",
            lab.number
        );
    }
}

/// The values of `attribute="..."` in `html`.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let needle = format!(" {attribute}=\"");
    let mut values = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&needle) {
        let after = &rest[start + needle.len()..];
        let Some(end) = after.find('"') else { break };
        values.push(&after[..end]);
        rest = &after[end..];
    }
    values
}

fn ids(html: &str) -> BTreeSet<String> {
    attribute_values(html, "id")
        .into_iter()
        .map(str::to_string)
        .collect()
}

#[test]
fn internal_links_and_anchors_resolve() {
    let Some(built) = built() else { return };
    let mut problems = Vec::new();
    let mut checked = 0;
    let pages = files_with_extension(&built.html, "html");
    for page in &pages {
        let name = page
            .strip_prefix(&built.html)
            .unwrap()
            .display()
            .to_string();
        if name == "404.html" {
            continue; // its links are relative to the site's root URL, wherever it is served
        }
        let html = read(page);
        if html.contains("{{#") {
            problems.push(format!("{name}: an include or marker was not replaced"));
        }
        for (index, _) in html.match_indices("<code class=\"language-") {
            let after = &html[index..];
            let body_start = after.find('>').map_or(0, |i| i + 1);
            let body_end = after.find("</code>").unwrap_or(body_start);
            if after[body_start..body_end].trim().is_empty() {
                problems.push(format!("{name}: an empty code block (a missing anchor?)"));
            }
        }
        let here_ids = ids(&html);
        for link in attribute_values(&html, "href")
            .into_iter()
            .chain(attribute_values(&html, "src"))
        {
            let external = ["http:", "https:", "mailto:", "javascript:", "data:", "//"]
                .iter()
                .any(|p| link.starts_with(p));
            if external || link.is_empty() {
                continue;
            }
            checked += 1;
            let link = link.split('?').next().unwrap();
            let (path, fragment) = match link.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (link, None),
            };
            let target_ids = if path.is_empty() {
                here_ids.clone()
            } else {
                let mut target = normalise(&page.parent().unwrap().join(path));
                if link.ends_with('/') {
                    target.push("index.html");
                }
                if !target.exists() {
                    problems.push(format!("{name}: broken link {link}"));
                    continue;
                }
                match (fragment, target.extension().is_some_and(|e| e == "html")) {
                    (Some(_), true) => ids(&read(&target)),
                    _ => continue,
                }
            };
            if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
                if !target_ids.contains(fragment) {
                    problems.push(format!("{name}: no #{fragment} for link {link}"));
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} links checked in {} pages",
        pages.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The DOM of `page` after Chromium has run its scripts. `None` when Chromium is missing.
fn render(page: &Path) -> Option<String> {
    let Some(chromium) = browser::find() else {
        missing("chromium is not installed (Debian: apt-get install chromium)");
        return None;
    };
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "chromium-profile-{}",
        page.file_stem().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let (ok, dom, stderr) = run(
        Command::new(chromium)
            .args(browser::HEADLESS)
            .arg("--virtual-time-budget=5000")
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(format!("file://{}", page.display())),
        Duration::from_secs(120),
    );
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        ok && dom.contains("</html>"),
        "chromium failed on {}:\n{stderr}",
        page.display()
    );
    Some(dom)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn heading_text(dom: &str, level: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (index, _) in dom.match_indices(&format!("<{level}")) {
        let after = &dom[index..];
        if let Some(end) = after.find(&format!("</{level}>")) {
            // Strip the tags inside (mdBook wraps headings in a link).
            let mut text = String::new();
            let mut in_tag = false;
            for c in after[..end].chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            found.push(text.trim().to_string());
        }
    }
    found
}

#[test]
fn chromium_renders_the_introduction_and_a_lab_chapter() {
    let Some(built) = built() else { return };
    let info = InfoFile::load();

    let Some(index) = render(&built.html.join("index.html")) else {
        return;
    };
    assert!(
        heading_text(&index, "h1")
            .iter()
            .any(|h| h == "Introduction"),
        "the index page has no Introduction heading"
    );
    // The sidebar is built by a script: every lab is listed under its manifest title.
    for lab in &info.labs {
        let name = html_escape(&format!("Lab {}: {}", lab.number, lab.title));
        assert!(index.contains(&name), "the sidebar does not list {name:?}");
    }

    let lab: &LabInfo = info.labs.last().expect("labs");
    let Some(chapter) = render(&built.html.join(format!("labs/{}.html", lab.dir()))) else {
        return;
    };
    let title = format!("Lab {}: {}", lab.number, lab.title);
    assert!(
        heading_text(&chapter, "h1").contains(&title),
        "no <h1> {title:?} in the chapter"
    );
    assert!(
        chapter.contains(&format!("<title>{} - ", html_escape(&title))),
        "the page title is not the chapter title"
    );
    // A highlighted Rust code block with something in it.
    let code = chapter
        .find("<code class=\"language-rust")
        .expect("a Rust code block");
    let code_end = chapter[code..].find("</code>").expect("closed code block");
    assert!(
        chapter[code..code + code_end].contains("hljs"),
        "highlight.js did not run on the code"
    );
    // A picture drawn by the preprocessor, as inline SVG with shapes and text.
    let figure = chapter
        .find("<figure class=\"lab-figure\">")
        .expect("a picture");
    let svg = &chapter[figure..];
    let svg = &svg[..svg.find("</figure>").expect("closed figure")];
    assert!(svg.contains("<svg") && svg.contains("<rect") && svg.contains("<text"));
    assert!(svg.contains("<figcaption>"), "the picture has a caption");
    // Hints and solution are folded.
    assert!(chapter.contains("<summary>Hint 1</summary>"));
    assert!(chapter.contains("<summary>Show the solution</summary>"));
    // The difficulty's dot is a text glyph every font has, not an emoji that renders as a
    // missing-glyph box where no emoji font is installed.
    assert!(
        ["Easy", "Medium", "Hard"]
            .iter()
            .any(|level| chapter.contains(&format!("●</span> {level}"))),
        "no difficulty dot in the chapter"
    );
    assert!(!chapter.contains('🟢') && !chapter.contains('🟡'));
}
