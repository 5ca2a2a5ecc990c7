//! `checker list`: every lab in course order, with the learner's progress.

use console::style;

use crate::info_file::{InfoFile, LabInfo};
use crate::state_file::{LabState, StateFile};

/// Width of the progress bar, in characters.
const BAR_WIDTH: usize = 30;

/// Prints the labs with their state, a progress bar and what to do next.
pub fn print(info: &InfoFile, state: &StateFile) {
    let dirs: Vec<String> = info.labs.iter().map(LabInfo::dir).collect();
    let done = state.done_count(dirs.iter().map(String::as_str));
    let working_on = current(info, state).map(|lab| lab.number);
    println!("{}", style("Kafka consumer groups, lab by lab").bold());
    // Columns as wide as their longest entry, so every row lines up.
    let name_w = info
        .labs
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(0);
    let title_w = info
        .labs
        .iter()
        .map(|l| l.title.chars().count())
        .max()
        .unwrap_or(0);
    for lab in &info.labs {
        if let Some(part) = info.parts.iter().find(|p| p.first_lab == lab.number) {
            println!("\n{}", style(&part.title).bold().underlined());
        }
        let label = match state.state(&lab.dir()) {
            Some(LabState::Done) => style("done     ").green(),
            Some(LabState::NotDone) => style("not done ").yellow(),
            None => style("not tried").dim(),
        };
        // The lab to work on now gets an arrow, so the eye finds it in a long list.
        let marker = if working_on == Some(lab.number) {
            "→"
        } else {
            " "
        };
        println!(
            "{marker} {:>2}  {label}  {:<name_w$} {:<title_w$} {:<6} {:>3} min",
            lab.number, lab.name, lab.title, lab.difficulty, lab.minutes
        );
    }
    let fancy = console::Term::stdout().is_term();
    println!(
        "\nProgress: {} {done}/{} labs done",
        progress_bar(done, info.labs.len(), BAR_WIDTH, fancy),
        info.labs.len()
    );
    match current(info, state) {
        Some(next) => println!(
            "Next: lab {} ({}). Edit labs/{}/ and run {}",
            next.number,
            next.title,
            next.dir(),
            style(format!("cargo checker verify {}", next.number)).cyan()
        ),
        None => println!("Every lab is done. Well played!"),
    }
}

/// A progress bar `done` of `total` long, `width` characters wide.
///
/// On a terminal it is drawn with block characters in colour; otherwise with `#` and `-`
/// between brackets, so a log stays plain ASCII and greppable.
pub fn progress_bar(done: usize, total: usize, width: usize, fancy: bool) -> String {
    // No labs at all counts as all done: a full bar.
    let filled = (done.min(total) * width)
        .checked_div(total)
        .unwrap_or(width);
    let empty = width - filled;
    if fancy {
        format!(
            "{}{}",
            style("█".repeat(filled)).green(),
            style("░".repeat(empty)).dim()
        )
    } else {
        format!("[{}{}]", "#".repeat(filled), "-".repeat(empty))
    }
}

/// The first lab that is not done, the one a learner works on now.
pub fn current<'a>(info: &'a InfoFile, state: &StateFile) -> Option<&'a LabInfo> {
    info.labs
        .iter()
        .find(|lab| state.state(&lab.dir()) != Some(LabState::Done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_bar_is_ascii_and_proportional() {
        assert_eq!(progress_bar(0, 6, 12, false), "[------------]");
        assert_eq!(progress_bar(3, 6, 12, false), "[######------]");
        assert_eq!(progress_bar(6, 6, 12, false), "[############]");
        // More done than labs (a lab removed from the course) never overflows the bar.
        assert_eq!(progress_bar(7, 6, 12, false), "[############]");
        assert_eq!(progress_bar(0, 0, 4, false), "[####]");
    }

    #[test]
    fn the_current_lab_is_the_first_not_done() {
        let info = InfoFile::load();
        let mut state = StateFile::default();
        assert_eq!(current(&info, &state).unwrap().number, 1);
        state.record(&info.labs[0].dir(), true);
        state.record(&info.labs[2].dir(), true);
        assert_eq!(current(&info, &state).unwrap().number, 2);
        for lab in &info.labs {
            state.record(&lab.dir(), true);
        }
        assert!(current(&info, &state).is_none());
    }
}
