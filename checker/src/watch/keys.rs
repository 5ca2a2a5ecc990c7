//! Single-key input on the terminal, and putting the terminal back as it was.
//!
//! Watch mode puts the terminal in cbreak mode: keys arrive one at a time and are not echoed,
//! but output processing and signals stay as they are. Full raw mode (crossterm's) would
//! also turn off the newline translation that every report, list and spinner relies on, and
//! would turn Ctrl-C into a plain key; cbreak keeps both working, and the `nix` crate the
//! checker already uses for signals provides it.

use std::io::Read;

use anyhow::{Context, Result};
use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices};
use tokio::sync::mpsc::UnboundedSender;

use super::rules::Key;
use super::Event;
use crate::cleanup::{Registration, Stage};

/// Cbreak mode on stdin for as long as this value lives; the terminal is put back as it was
/// when it is dropped, or by the Ctrl-C handler, which exits without dropping it.
pub struct Cbreak {
    _restore: Registration,
}

impl Cbreak {
    /// Switches stdin (a terminal) to cbreak mode, remembering how it was.
    pub fn enable() -> Result<Cbreak> {
        let stdin = std::io::stdin();
        let original = termios::tcgetattr(&stdin).context("cannot read the terminal settings")?;
        let mut cbreak = original.clone();
        cbreak
            .local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO);
        // Every read returns as soon as one byte is there.
        cbreak.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        cbreak.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        let restore = Registration::new(Stage::Terminal, move || {
            let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &original);
        });
        termios::tcsetattr(&stdin, SetArg::TCSANOW, &cbreak)
            .context("cannot change the terminal settings")?;
        Ok(Cbreak { _restore: restore })
    }
}

/// Reads keys from stdin on a thread of its own and sends them as [`Event::Key`]; sends
/// [`Event::InputClosed`] when stdin ends.
///
/// A thread, not a task: reading a terminal blocks, and the thread simply ends with the
/// process when watch mode is over.
pub fn spawn_reader(events: UnboundedSender<Event>) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut byte = [0u8; 1];
        loop {
            match stdin.read(&mut byte) {
                // A signal (a resized window, say) interrupted the read: no key, read on.
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) | Err(_) => {
                    let _ = events.send(Event::InputClosed);
                    return;
                }
                Ok(_) => {
                    if let Some(key) = Key::from_byte(byte[0]) {
                        if events.send(Event::Key(key)).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
}
