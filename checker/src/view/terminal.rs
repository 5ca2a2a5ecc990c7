//! The group view for a terminal: `checker group GROUP --watch` reads the group every
//! [`INTERVAL`] and, on a terminal, redraws the report in place; piped, it prints the report
//! again only when it changed, under a time line, so the output stays greppable.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::consumer_group::{self, GroupDescriber};

/// How often the group is read.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Watches `group` on `bootstrap` until Ctrl-C. A group that is not there yet, or a broker
/// that cannot be reached, is said so, and read again.
pub async fn watch(bootstrap: &str, group: &str, topics: &[String]) -> Result<()> {
    let on_terminal = std::io::stdout().is_terminal();
    let mut last = String::new();
    // One pair of clients for the whole watch: they reconnect by themselves.
    let describer = Arc::new(GroupDescriber::new(bootstrap, group)?);
    loop {
        let (reading, wanted) = (describer.clone(), topics.to_vec());
        let read = tokio::task::spawn_blocking(move || reading.describe(&wanted))
            .await
            .context("the group reader stopped")?;
        let report = match read {
            Ok(report) => consumer_group::render(&report),
            Err(error) => format!("{error:#} (reading it again)\n"),
        };
        let clock = clock();
        let mut out = std::io::stdout().lock();
        if on_terminal {
            // Home, clear, then the report: redrawn in place.
            write!(
                out,
                "\x1b[H\x1b[2J{group} on {bootstrap} at {clock}, read every {} s (Ctrl-C stops)\n\n{report}",
                INTERVAL.as_secs()
            )?;
        } else if report != last {
            write!(out, "--- {clock} ---\n{report}")?;
        }
        out.flush()?;
        drop(out);
        last = report;
        // Ctrl-C is the checker's one handler's (`cleanup::exit_on_ctrl_c`): it exits 130.
        tokio::time::sleep(INTERVAL).await;
    }
}

/// The time of day (UTC), `HH:MM:SS`.
fn clock() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = seconds % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}
