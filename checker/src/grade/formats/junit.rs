//! JUnit XML, the shape CI systems read: `testsuites` > one `testsuite` per submission >
//! one `testcase` per lab, with a `failure` for each lab that did not pass.

use anyhow::Result;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use crate::grade::{LabResult, Report};

/// Renders `reports` as one JUnit document.
pub fn render(reports: &[Report]) -> Result<String> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let tests: usize = reports.iter().map(|r| cases(r).len()).sum();
    let failures: usize = reports.iter().map(failures).sum();
    let time: u64 = reports.iter().map(|r| r.took_ms).sum();
    writer.write_event(Event::Start(BytesStart::new("testsuites").with_attributes(
        [
            ("name", "checker grade"),
            ("tests", tests.to_string().as_str()),
            ("failures", failures.to_string().as_str()),
            ("errors", "0"),
            ("time", seconds(time).as_str()),
        ],
    )))?;
    for report in reports {
        suite(&mut writer, report)?;
    }
    writer.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let mut text = String::from_utf8(writer.into_inner())?;
    text.push('\n');
    Ok(text)
}

/// A test case: its name, class name, time, and its failure (type, message, evidence).
struct Case {
    name: String,
    classname: String,
    time_ms: u64,
    failure: Option<(String, String, String)>,
    output: Option<String>,
}

fn cases(report: &Report) -> Vec<Case> {
    let suite = xml_name(&report.submission);
    let mut cases: Vec<Case> = report
        .labs
        .iter()
        .map(|lab| Case {
            name: format!("lab {} {}", lab.number, lab.name),
            classname: format!("{suite}.lab{:02}-{}", lab.number, lab.name),
            time_ms: lab.took_ms,
            failure: failure(lab),
            output: lab.output.clone(),
        })
        .collect();
    // A changed submission folder is a failure of the run, not of a lab.
    if !report.integrity.unchanged {
        cases.push(Case {
            name: "the submission folder is unchanged".to_string(),
            classname: format!("{suite}.integrity"),
            time_ms: 0,
            failure: Some((
                "modified".to_string(),
                "the submission folder changed while it was graded".to_string(),
                report.integrity.changed.join("\n"),
            )),
            output: None,
        });
    }
    cases
}

fn failure(lab: &LabResult) -> Option<(String, String, String)> {
    let kind = lab.label().failure_type()?;
    let message = lab.message.clone().unwrap_or_else(|| kind.clone());
    Some((kind, message, lab.details.join("\n")))
}

fn failures(report: &Report) -> usize {
    cases(report).iter().filter(|c| c.failure.is_some()).count()
}

fn suite(writer: &mut Writer<Vec<u8>>, report: &Report) -> Result<()> {
    let cases = cases(report);
    let failed = cases.iter().filter(|c| c.failure.is_some()).count();
    writer.write_event(Event::Start(BytesStart::new("testsuite").with_attributes(
        [
            ("name", xml_text(&report.submission).as_str()),
            ("tests", cases.len().to_string().as_str()),
            ("failures", failed.to_string().as_str()),
            ("errors", "0"),
            ("skipped", "0"),
            ("time", seconds(report.took_ms).as_str()),
        ],
    )))?;
    writer.write_event(Event::Start(BytesStart::new("properties")))?;
    for (name, value) in [
        ("path", report.path.display().to_string()),
        ("score", report.score.to_string()),
        ("max_score", report.max_score.to_string()),
    ] {
        writer.write_event(Event::Empty(
            BytesStart::new("property")
                .with_attributes([("name", name), ("value", xml_text(&value).as_str())]),
        ))?;
    }
    writer.write_event(Event::End(BytesEnd::new("properties")))?;
    for case in cases {
        let start = BytesStart::new("testcase").with_attributes([
            ("name", xml_text(&case.name).as_str()),
            ("classname", xml_text(&case.classname).as_str()),
            ("time", seconds(case.time_ms).as_str()),
        ]);
        if case.failure.is_none() && case.output.is_none() {
            writer.write_event(Event::Empty(start))?;
            continue;
        }
        writer.write_event(Event::Start(start))?;
        if let Some((kind, message, details)) = &case.failure {
            writer.write_event(Event::Start(BytesStart::new("failure").with_attributes([
                ("message", xml_text(message).as_str()),
                ("type", xml_text(kind).as_str()),
            ])))?;
            writer.write_event(Event::Text(BytesText::new(&xml_text(details))))?;
            writer.write_event(Event::End(BytesEnd::new("failure")))?;
        }
        if let Some(output) = &case.output {
            writer.write_event(Event::Start(BytesStart::new("system-out")))?;
            writer.write_event(Event::Text(BytesText::new(&xml_text(output))))?;
            writer.write_event(Event::End(BytesEnd::new("system-out")))?;
        }
        writer.write_event(Event::End(BytesEnd::new("testcase")))?;
    }
    writer.write_event(Event::End(BytesEnd::new("testsuite")))?;
    Ok(())
}

/// `text` with the characters XML 1.0 forbids (most control characters, which a program's
/// output may hold) replaced.
fn xml_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// A name usable as a dotted class name: word characters only.
fn xml_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_do_not_reach_the_xml() {
        assert_eq!(xml_text("a\u{1b}[31mb\tc\n"), "a\u{FFFD}[31mb\tc\n");
    }
}
