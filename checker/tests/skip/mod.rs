//! Skipping, loudly, a test that needs a tool this machine lacks.
//!
//! A skipped test still reads `ok` in cargo's summary. So that a local `cargo test` does
//! not read as a full pass, the first skip of a test binary prints a box that says why and
//! names the variable that turns skips into failures (CI sets it); every skip prints a
//! `SKIPPED` line that names its test.

use std::io::Write;
use std::sync::Once;

/// The width the box's text is wrapped to.
const WIDTH: usize = 76;

static EXPLAINED: Once = Once::new();

/// Announces that the running test checks nothing because `why`; `require` is the variable
/// that makes it fail instead (`REQUIRE_CONTAINER`).
pub fn announce(why: &str, require: &str) {
    // libtest names each test's thread after the test.
    let test = std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .unwrap_or("a test")
        .to_string();
    let mut text = String::new();
    EXPLAINED.call_once(|| {
        let mut lines = vec!["SKIPPED: these tests check nothing on this machine,".to_string()];
        lines.extend(wrap(&format!("because {why}.")));
        lines.push(format!("Set {require}=1 to make them fail instead."));
        let rule = "!".repeat(WIDTH + 4);
        text.push_str(&format!("\n{rule}\n"));
        for line in &lines {
            text.push_str(&format!("! {line:<WIDTH$} !\n"));
        }
        text.push_str(&format!("{rule}\n"));
    });
    text.push_str(&format!(
        "!! SKIPPED {test}: it checked nothing ({require} is not 1)\n"
    ));
    // Straight to stderr: libtest captures the print macros of a passing test.
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// A test cannot run because `why`: it fails when `require` (`REQUIRE_BOOK_TOOLS`) is 1,
/// as in CI, and otherwise skips, loudly. The caller returns after it.
pub fn missing(why: &str, require: &str) {
    if std::env::var(require).is_ok_and(|v| v == "1") {
        panic!("{why} ({require}=1 makes this a failure)");
    }
    announce(why, require);
}

/// `text` in lines of at most [`WIDTH`] characters, broken between words.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > WIDTH {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}
