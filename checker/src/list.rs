//! `checker list`: every lab in course order, with the learner's progress.

use console::style;

use crate::info_file::InfoFile;
use crate::state_file::{LabState, StateFile};

/// Prints the labs with their state and a progress line.
pub fn print(info: &InfoFile, state: &StateFile) {
    let done = info
        .labs
        .iter()
        .filter(|lab| state.state(&lab.dir()) == Some(LabState::Done))
        .count();
    println!("{}", style("Kafka consumer groups, lab by lab").bold());
    for lab in &info.labs {
        let label = match state.state(&lab.dir()) {
            Some(LabState::Done) => style("done     ").green(),
            Some(LabState::NotDone) => style("not done ").yellow(),
            None => style("not tried").dim(),
        };
        println!(
            "  {:>2}  {label}  {:<24} {:<42} {:<6} {:>3} min",
            lab.number, lab.name, lab.title, lab.difficulty, lab.minutes
        );
    }
    println!("Progress: {done}/{} labs done", info.labs.len());
    if let Some(next) = current(info, state) {
        println!(
            "Next: lab {} ({}). Edit labs/{}/ and run {}",
            next.number,
            next.title,
            next.dir(),
            style(format!("cargo checker verify {}", next.number)).cyan()
        );
    }
}

/// The first lab that is not done, the one a learner works on now.
pub fn current<'a>(info: &'a InfoFile, state: &StateFile) -> Option<&'a crate::info_file::LabInfo> {
    info.labs
        .iter()
        .find(|lab| state.state(&lab.dir()) != Some(LabState::Done))
}
