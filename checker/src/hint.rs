//! `checker hint LAB`: the lab's hints, one more each time.

use console::style;

use crate::info_file::LabInfo;
use crate::state_file::StateFile;

/// Shows every hint revealed so far plus the next one, and remembers how far the learner got.
pub fn reveal(lab: &LabInfo, state: &mut StateFile) {
    let shown = state.hints_shown.get(&lab.dir()).copied().unwrap_or(0);
    let upto = (shown + 1).min(lab.hints.len());
    for (index, hint) in lab.hints.iter().take(upto).enumerate() {
        println!(
            "{} {hint}",
            style(format!("Hint {} of {}:", index + 1, lab.hints.len()))
                .yellow()
                .bold()
        );
    }
    if upto == lab.hints.len() {
        println!(
            "{}",
            style(format!(
                "That was the last hint. The solution is in solutions/{}/.",
                lab.dir()
            ))
            .dim()
        );
    }
    state.hints_shown.insert(lab.dir(), upto);
}
