//! Single-key input on the terminal, and putting the terminal back as it was.
//!
//! Watch mode puts the terminal in cbreak mode: keys arrive one at a time and are not echoed,
//! but output processing and signals stay as they are. Full raw mode (crossterm's) would
//! also turn off the newline translation that every report, list and spinner relies on, and
//! would turn Ctrl-C into a plain key; cbreak keeps both working, and the `nix` crate the
//! checker already uses for signals provides it.

use std::io::Read;
use std::sync::Mutex;

use anyhow::{Context, Result};
use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};
use tokio::sync::mpsc::UnboundedSender;

use super::rules::Key;
use super::Event;

/// The terminal settings from before watch mode, while it has them changed.
static SAVED: Mutex<Option<Termios>> = Mutex::new(None);

/// Cbreak mode on stdin for as long as this value lives.
pub struct Cbreak(());

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
        *SAVED.lock().expect("terminal settings poisoned") = Some(original);
        termios::tcsetattr(&stdin, SetArg::TCSANOW, &cbreak)
            .context("cannot change the terminal settings")?;
        Ok(Cbreak(()))
    }
}

impl Drop for Cbreak {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Puts the terminal back as it was before watch mode; does nothing if watch mode did not
/// change it.
///
/// Called when watch mode ends and from the Ctrl-C handler, which exits without unwinding
/// and so without dropping [`Cbreak`].
pub fn restore_terminal() {
    let saved = SAVED.lock().map(|mut saved| saved.take());
    if let Ok(Some(original)) = saved {
        let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &original);
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
