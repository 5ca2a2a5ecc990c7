//! The report as JSON: the [`Report`] structure, field for field.

use anyhow::Result;

use crate::grade::Report;

/// Renders `report` as pretty-printed JSON, ending in a newline.
pub fn render(report: &Report) -> Result<String> {
    Ok(serde_json::to_string_pretty(report)? + "\n")
}
