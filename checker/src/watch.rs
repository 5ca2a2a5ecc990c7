//! Watch mode, what `cargo checker` starts on a terminal: check the current lab, check it
//! again each time one of its files is saved, and move on to the next lab once it passes.
//!
//! Keys: `h` hint, `l` list, `n` next lab (once the current one is done), `r` or Enter check
//! now, `x` reset the lab (asks first), `q` quit. With `--manual-run` no files are watched
//! and `r` or Enter checks; watch mode falls back to that by itself when it cannot watch.
//!
//! Watch mode needs a terminal to read keys from. With stdin not a terminal (CI, a pipe)
//! `cargo checker` does not start it: it checks the current lab once and prints the list.

mod files;
mod keys;
pub mod rules;

use std::collections::VecDeque;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use console::style;
use tokio::sync::mpsc::{self, UnboundedReceiver};

use crate::broker::{Broker, BrokerChoice};
use crate::info_file::{InfoFile, LabInfo, Variant};
use crate::report::{self, Audience};
use crate::state_file::{LabState, StateFile};
use crate::status::LiveStatus;
use crate::{hint, list, reset, verify};

pub use files::lab_of_change;
use rules::{Action, Key, Keys, Transition};

/// Something watch mode reacts to.
#[derive(Debug)]
pub enum Event {
    /// The learner pressed a key.
    Key(Key),
    /// A source file of this lab (its folder name, `01-orders`) changed.
    Changed(String),
    /// The file watcher reported an error.
    WatchFailed(String),
    /// Stdin ended: nobody is left to press keys.
    InputClosed,
}

/// How to run watch mode.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Watch no files: check only on `r` or Enter (for file systems where watching fails,
    /// such as some network or container mounts).
    pub manual_run: bool,
}

/// Runs watch mode until the learner quits or every lab is done.
///
/// Every lab process is gone when this returns (dropping a check kills them), and the
/// terminal is back as it was.
pub async fn run(
    choice: &BrokerChoice,
    info: &InfoFile,
    root: &Path,
    options: Options,
) -> Result<ExitCode> {
    let progress = StateFile::load(root);
    let Some(first) = list::current(info, &progress) else {
        list::print(info, &progress);
        return Ok(ExitCode::SUCCESS);
    };
    let broker = {
        let _status = LiveStatus::start(format!("Starting the {} broker", choice.kind()));
        Broker::connect(choice).await?
    };
    let (sender, mut events) = mpsc::unbounded_channel();
    let mut manual = options.manual_run;
    let _watcher = if manual {
        None
    } else {
        match files::watch(&root.join("labs"), sender.clone()) {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                manual = true;
                eprintln!(
                    "{} cannot watch labs/ for changes ({error}); press r or Enter to check \
                     instead (as with --manual-run).",
                    style("warning:").yellow().bold()
                );
                None
            }
        }
    };
    let _cbreak = keys::Cbreak::enable()?;
    keys::spawn_reader(sender);
    let mut session = Session {
        info,
        root,
        broker,
        progress,
        current: first,
        manual,
        keys: Keys::default(),
        reset_plan: None,
        deferred: VecDeque::new(),
    };
    let code = session.run(&mut events).await;
    // Deletes what the checks left on a broker that outlives watch mode, and removes a
    // container started for it.
    session.broker.shutdown().await;
    code
}

/// Whether watch mode goes on after something happened.
enum Flow {
    /// Keep waiting for events.
    Wait,
    /// Check the current lab.
    Check,
    /// Leave watch mode.
    Quit,
}

/// A watch mode session: the lab being watched and what is needed to check it.
struct Session<'a> {
    info: &'a InfoFile,
    root: &'a Path,
    broker: Broker,
    progress: StateFile,
    current: &'a LabInfo,
    manual: bool,
    keys: Keys,
    reset_plan: Option<reset::Plan>,
    // Events that arrived while a check ran, handled once it is over.
    deferred: VecDeque<Event>,
}

impl Session<'_> {
    async fn run(&mut self, events: &mut UnboundedReceiver<Event>) -> Result<ExitCode> {
        let mut flow = Flow::Check;
        loop {
            if let Flow::Quit = flow {
                println!(
                    "Bye! Run {} to pick up where you left off.",
                    cargo_checker()
                );
                return Ok(ExitCode::SUCCESS);
            }
            if let Flow::Check = flow {
                flow = self.check(events).await?;
                continue;
            }
            let event = match self.deferred.pop_front() {
                Some(event) => event,
                None => match events.recv().await {
                    Some(event) => event,
                    None => return Ok(ExitCode::SUCCESS),
                },
            };
            flow = match event {
                Event::Changed(dir) if dir == self.current.dir() => {
                    self.settle(events).await;
                    Flow::Check
                }
                // A save in another lab's folder: that lab is not the one being watched.
                Event::Changed(_) => Flow::Wait,
                Event::WatchFailed(error) => {
                    eprintln!(
                        "{} watching files failed: {error}. Press r or Enter to check.",
                        style("warning:").yellow().bold()
                    );
                    Flow::Wait
                }
                Event::InputClosed => Flow::Quit,
                Event::Key(key) => self.on_key(key)?,
            };
        }
    }

    /// Waits for the tail of a burst of saves (several files, or an editor writing twice),
    /// so that it gives one check, not two.
    async fn settle(&mut self, events: &mut UnboundedReceiver<Event>) {
        files::settle(events, &self.current.dir(), &mut self.deferred).await;
    }

    /// Checks the current lab, reports, records the verdict, and moves on if it passed.
    ///
    /// `q` during a check stops it at once (dropping the check kills its processes); other
    /// keys wait until it is over, and a save during the check means another check after it.
    async fn check(&mut self, events: &mut UnboundedReceiver<Event>) -> Result<Flow> {
        let lab = self.current;
        // A check started by a save answers no pending "reset it?" question.
        self.keys.cancel_reset();
        self.reset_plan = None;
        let term = console::Term::stdout();
        if term.is_term() {
            let _ = term.clear_screen();
        }
        let settings = verify::Settings {
            variant: Variant::Starter,
            compare_snapshot: true,
        };
        let mut changed = false;
        let result = {
            let check = verify::check(self.root, lab, &self.broker, settings);
            tokio::pin!(check);
            loop {
                tokio::select! {
                    result = &mut check => break result,
                    event = events.recv() => match event {
                        Some(Event::Key(Key::Quit)) | None => return Ok(Flow::Quit),
                        Some(Event::Changed(dir)) if dir == lab.dir() => changed = true,
                        Some(other) => self.deferred.push_back(other),
                    },
                }
            }
        };
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(error) => {
                eprintln!(
                    "{} could not check lab {}: {error:#}",
                    style("error:").red().bold(),
                    lab.number
                );
                self.prompt();
                return Ok(if changed { Flow::Check } else { Flow::Wait });
            }
        };
        report::print_for(lab, &outcome, Audience::Watch);
        // Another terminal may have changed the progress (`cargo checker hint`): merge.
        self.progress = StateFile::load(self.root);
        self.progress.record(&lab.dir(), outcome.passed());
        self.save_progress();
        match rules::after_verdict(self.info, &self.progress, lab) {
            Transition::Stay if changed => Ok(Flow::Check),
            Transition::Stay => {
                self.prompt();
                Ok(Flow::Wait)
            }
            Transition::MoveTo(number) => {
                self.move_to(number);
                Ok(Flow::Wait)
            }
            Transition::AllDone => {
                println!();
                list::print(self.info, &self.progress);
                Ok(Flow::Quit)
            }
        }
    }

    fn on_key(&mut self, key: Key) -> Result<Flow> {
        self.progress = StateFile::load(self.root);
        let done = self.progress.state(&self.current.dir()) == Some(LabState::Done);
        let lab = self.current;
        match self.keys.on_key(key, done) {
            Action::Run => return Ok(Flow::Check),
            Action::Quit => return Ok(Flow::Quit),
            Action::ShowHint => {
                println!();
                hint::reveal(lab, &mut self.progress);
                self.save_progress();
            }
            Action::ShowList => {
                println!();
                list::print(self.info, &self.progress);
            }
            Action::Advance => match list::current(self.info, &self.progress) {
                Some(next) => {
                    self.move_to(next.number);
                    return Ok(Flow::Wait);
                }
                None => {
                    println!("Every lab is done. Well played!");
                    return Ok(Flow::Quit);
                }
            },
            Action::NotDoneYet => println!(
                "\nLab {} is not done yet: {} moves on once it passes. Press {} for a hint.",
                lab.number,
                style("n").cyan().bold(),
                style("h").cyan().bold()
            ),
            Action::AskReset => match reset::plan(self.root, lab) {
                Ok(plan) => {
                    print!("\n{}", reset::describe(lab, &plan));
                    println!(
                        "Press {} to reset it, any other key to keep your work.",
                        style("y").cyan().bold()
                    );
                    self.reset_plan = Some(plan);
                    // No prompt: the next key answers the question.
                    return Ok(Flow::Wait);
                }
                Err(error) => {
                    self.keys.cancel_reset();
                    println!("\n{} {error:#}", style("Cannot reset:").red().bold());
                }
            },
            Action::Reset => {
                if let Some(plan) = self.reset_plan.take() {
                    match reset::apply(self.root, &plan) {
                        Ok(()) => {
                            self.progress.forget(&lab.dir());
                            self.save_progress();
                            println!(
                                "\n{} Lab {} is back to its starter.",
                                style("✓").green().bold(),
                                lab.number
                            );
                        }
                        Err(error) => println!("\n{} {error:#}", style("error:").red().bold()),
                    }
                }
            }
            Action::ResetCancelled => {
                self.reset_plan = None;
                println!("\nNothing was changed.");
            }
            Action::ShowKeys => {}
        }
        self.prompt();
        Ok(Flow::Wait)
    }

    /// Makes lab `number` the one watched, and says so with what the lab asks for.
    fn move_to(&mut self, number: usize) {
        let previous = self.current;
        let Some(next) = self.info.labs.iter().find(|lab| lab.number == number) else {
            return;
        };
        self.current = next;
        println!();
        if self.progress.state(&previous.dir()) == Some(LabState::Done) {
            println!(
                "{} Lab {} is done. On to lab {}: {}.",
                style("★").yellow().bold(),
                previous.number,
                next.number,
                style(&next.title).bold()
            );
        } else {
            println!("On to lab {}: {}.", next.number, style(&next.title).bold());
        }
        for (index, step) in next.steps.iter().enumerate() {
            println!("  {}. {step}", index + 1);
        }
        println!(
            "Edit labs/{}/ ({}, about {} min); the book's chapter on it explains the ideas.",
            next.dir(),
            next.difficulty,
            next.minutes
        );
        self.prompt();
    }

    /// Says which lab is watched and which keys there are.
    fn prompt(&self) {
        let lab = self.current;
        let done = self.progress.state(&lab.dir()) == Some(LabState::Done);
        println!();
        if self.manual {
            println!(
                "Lab {} · labs/{}/ — press {} or Enter to check it (files are not watched).",
                lab.number,
                lab.dir(),
                style("r").cyan().bold()
            );
        } else {
            println!(
                "Watching lab {} · labs/{}/ — save a file to check it again.",
                lab.number,
                lab.dir()
            );
        }
        let mut keys = vec![("h", "hint"), ("l", "list")];
        if done {
            keys.push(("n", "next lab"));
        }
        keys.extend([("r", "check now"), ("x", "reset lab"), ("q", "quit")]);
        let keys: Vec<String> = keys
            .iter()
            .map(|(key, what)| format!("{} {what}", style(key).cyan().bold()))
            .collect();
        println!("{}", keys.join(" · "));
    }

    fn save_progress(&self) {
        if let Err(error) = self.progress.save() {
            eprintln!("{} {error:#}", style("warning:").yellow().bold());
        }
    }
}

fn cargo_checker() -> console::StyledObject<&'static str> {
    style("cargo checker").cyan()
}
