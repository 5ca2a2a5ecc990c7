//! Live status for slow steps: a spinner on a terminal, plain lines otherwise.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A step in progress, such as building a crate or starting the broker.
pub struct LiveStatus {
    spinner: Option<ProgressBar>,
}

impl LiveStatus {
    /// Announces `message`: a spinner when stderr is a terminal, else one plain line.
    pub fn start(message: impl Into<String>) -> LiveStatus {
        let message = message.into();
        let spinner = if console::Term::stderr().is_term() {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {msg} {elapsed:.dim}")
                    .expect("valid template"),
            );
            spinner.set_message(message);
            spinner.enable_steady_tick(Duration::from_millis(100));
            Some(spinner)
        } else {
            eprintln!("{message}");
            None
        };
        LiveStatus { spinner }
    }

    /// Changes the message of a step still in progress.
    pub fn update(&self, message: impl Into<String>) {
        let message = message.into();
        match &self.spinner {
            Some(spinner) => spinner.set_message(message),
            None => eprintln!("{message}"),
        }
    }

    /// Prints a finished line above the spinner (or as a plain line), which keeps spinning.
    pub fn println(&self, line: impl AsRef<str>) {
        match &self.spinner {
            Some(spinner) => spinner.println(line),
            None => println!("{}", line.as_ref()),
        }
    }
}

impl Drop for LiveStatus {
    fn drop(&mut self) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
    }
}
