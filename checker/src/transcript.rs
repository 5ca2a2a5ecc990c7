//! The normalised transcript of a run: what the snapshot holds.
//!
//! Scenarios put into it only what must be the same on every correct run and every broker:
//! lines in a canonical order, members named by role rather than id, and the run's nonce
//! replaced by `<run>`. Everything that varies legitimately is checked by invariants instead.

/// Sections of normalised lines, in the order the scenario wrote them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Transcript {
    sections: Vec<(String, Vec<String>)>,
}

impl Transcript {
    /// Adds a section with a heading and its lines.
    pub fn section<I, S>(&mut self, heading: impl Into<String>, lines: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sections
            .push((heading.into(), lines.into_iter().map(Into::into).collect()));
    }

    /// The transcript as text, with `nonce` replaced by `<run>` everywhere.
    pub fn render(&self, nonce: &str) -> String {
        let mut text = String::new();
        for (heading, lines) in &self.sections {
            text.push_str(&format!("## {heading}\n"));
            for line in lines {
                text.push_str(&normalise_line(line, nonce));
                text.push('\n');
            }
        }
        text
    }
}

/// Replaces the run's nonce with `<run>` and trims trailing whitespace.
pub fn normalise_line(line: &str, nonce: &str) -> String {
    let line = line.trim_end();
    if nonce.is_empty() {
        line.to_string()
    } else {
        line.replace(nonce, "<run>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sections_and_hides_the_nonce() {
        let mut transcript = Transcript::default();
        transcript.section("producer", ["sent click-1-ab12cd  ", "done"]);
        transcript.section("empty", Vec::<String>::new());
        assert_eq!(
            transcript.render("ab12cd"),
            "## producer\nsent click-1-<run>\ndone\n## empty\n"
        );
    }

    #[test]
    fn an_empty_nonce_changes_nothing() {
        assert_eq!(normalise_line("a b ", ""), "a b");
    }
}
