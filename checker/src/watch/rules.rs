//! Watch mode's rules: what it does with each key and where it goes after each verdict,
//! kept apart from the terminal and the broker so the rules can be tested on their own.

use crate::info_file::{InfoFile, LabInfo};
use crate::list;
use crate::state_file::StateFile;

/// A key the learner pressed, as watch mode understands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `h`: show the next hint.
    Hint,
    /// `l`: show every lab and the progress.
    List,
    /// `n`: go on to the next lab (once the current one is done).
    Next,
    /// `r` or Enter: check the lab again now.
    Run,
    /// `x`: reset the lab to its starter (asks first).
    Reset,
    /// `y`: the answer to "reset it?".
    Yes,
    /// `q` or Ctrl-D: leave watch mode.
    Quit,
    /// Any other letter or digit: shows which keys there are.
    Other(char),
}

impl Key {
    /// The key a byte read from the terminal stands for; `None` for bytes to ignore, such as
    /// the rest of an escape sequence.
    pub fn from_byte(byte: u8) -> Option<Key> {
        Some(match byte {
            b'h' => Key::Hint,
            b'l' => Key::List,
            b'n' => Key::Next,
            b'r' | b'\r' | b'\n' => Key::Run,
            b'x' => Key::Reset,
            b'y' => Key::Yes,
            // Ctrl-D: with the terminal in cbreak mode it arrives as a byte, not as an end of
            // input, and learners use it to leave programs.
            b'q' | 0x04 => Key::Quit,
            other if other.is_ascii_alphanumeric() => Key::Other(char::from(other)),
            _ => return None,
        })
    }
}

/// What watch mode should do in answer to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Verify the current lab again.
    Run,
    /// Reveal the current lab's next hint.
    ShowHint,
    /// Print the list of labs.
    ShowList,
    /// Move to the next lab not done: the current one is done.
    Advance,
    /// `n` was pressed but the current lab is not done yet.
    NotDoneYet,
    /// Show what a reset would discard and ask for `y`.
    AskReset,
    /// The learner confirmed: reset the current lab.
    Reset,
    /// The learner did not confirm: nothing changes.
    ResetCancelled,
    /// Leave watch mode.
    Quit,
    /// An unknown key: show the keys.
    ShowKeys,
}

/// Watch mode's memory between keys: whether a reset awaits its confirmation.
#[derive(Debug, Default)]
pub struct Keys {
    confirming_reset: bool,
}

impl Keys {
    /// The action for `key`, given whether the current lab is done.
    ///
    /// After `x` the very next key answers the question: only `y` resets, any other key
    /// (even `q`) just cancels, so a stray key can never both cancel and do something else.
    pub fn on_key(&mut self, key: Key, current_done: bool) -> Action {
        if std::mem::take(&mut self.confirming_reset) {
            return if key == Key::Yes {
                Action::Reset
            } else {
                Action::ResetCancelled
            };
        }
        match key {
            Key::Hint => Action::ShowHint,
            Key::List => Action::ShowList,
            Key::Run => Action::Run,
            Key::Next if current_done => Action::Advance,
            Key::Next => Action::NotDoneYet,
            Key::Reset => {
                self.confirming_reset = true;
                Action::AskReset
            }
            Key::Quit => Action::Quit,
            Key::Yes | Key::Other(_) => Action::ShowKeys,
        }
    }

    /// Forgets a pending reset question (when the reset turned out to be impossible).
    pub fn cancel_reset(&mut self) {
        self.confirming_reset = false;
    }
}

/// Where watch mode goes after a verdict on the lab it watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The lab is not done: keep watching it.
    Stay,
    /// The lab is done: watch this lab (by number) next.
    MoveTo(usize),
    /// Every lab is done.
    AllDone,
}

/// Where to go after lab `current` was verified, with `state` already holding the verdict.
///
/// The next lab is the first one not done, as for `cargo checker`: after lab 3 passes with
/// lab 2 still failing, that is lab 2, not lab 4.
pub fn after_verdict(info: &InfoFile, state: &StateFile, current: &LabInfo) -> Transition {
    if state.state(&current.dir()) != Some(crate::state_file::LabState::Done) {
        return Transition::Stay;
    }
    match list::current(info, state) {
        Some(next) => Transition::MoveTo(next.number),
        None => Transition::AllDone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_map_to_keys() {
        assert_eq!(Key::from_byte(b'h'), Some(Key::Hint));
        assert_eq!(Key::from_byte(b'\n'), Some(Key::Run));
        assert_eq!(Key::from_byte(b'\r'), Some(Key::Run));
        assert_eq!(Key::from_byte(0x04), Some(Key::Quit));
        assert_eq!(Key::from_byte(b'z'), Some(Key::Other('z')));
        assert_eq!(Key::from_byte(0x1b), None, "escape starts a sequence");
        assert_eq!(Key::from_byte(b'['), None);
    }

    #[test]
    fn next_only_when_the_lab_is_done() {
        let mut keys = Keys::default();
        assert_eq!(keys.on_key(Key::Next, false), Action::NotDoneYet);
        assert_eq!(keys.on_key(Key::Next, true), Action::Advance);
    }

    #[test]
    fn reset_needs_a_yes_right_after_x() {
        let mut keys = Keys::default();
        assert_eq!(keys.on_key(Key::Reset, false), Action::AskReset);
        assert_eq!(keys.on_key(Key::Yes, false), Action::Reset);

        assert_eq!(keys.on_key(Key::Reset, false), Action::AskReset);
        assert_eq!(keys.on_key(Key::Quit, false), Action::ResetCancelled);
        // The question is over: `y` alone does nothing, `q` quits again.
        assert_eq!(keys.on_key(Key::Yes, false), Action::ShowKeys);
        assert_eq!(keys.on_key(Key::Quit, false), Action::Quit);

        assert_eq!(keys.on_key(Key::Reset, false), Action::AskReset);
        keys.cancel_reset();
        assert_eq!(keys.on_key(Key::Yes, false), Action::ShowKeys);
    }

    #[test]
    fn other_keys_do_what_they_say() {
        let mut keys = Keys::default();
        assert_eq!(keys.on_key(Key::Hint, false), Action::ShowHint);
        assert_eq!(keys.on_key(Key::List, false), Action::ShowList);
        assert_eq!(keys.on_key(Key::Run, true), Action::Run);
        assert_eq!(keys.on_key(Key::Other('z'), false), Action::ShowKeys);
    }

    #[test]
    fn a_pass_moves_to_the_first_lab_not_done() {
        let info = InfoFile::load();
        let lab = |n: usize| &info.labs[n - 1];
        let mut state = StateFile::default();

        state.record(&lab(1).dir(), false);
        assert_eq!(after_verdict(&info, &state, lab(1)), Transition::Stay);

        state.record(&lab(1).dir(), true);
        assert_eq!(after_verdict(&info, &state, lab(1)), Transition::MoveTo(2));

        // Lab 3 passes while lab 2 still fails: back to lab 2.
        state.record(&lab(3).dir(), true);
        assert_eq!(after_verdict(&info, &state, lab(3)), Transition::MoveTo(2));

        for lab in &info.labs {
            state.record(&lab.dir(), true);
        }
        let last = info.labs.last().unwrap();
        assert_eq!(after_verdict(&info, &state, last), Transition::AllDone);
    }
}
