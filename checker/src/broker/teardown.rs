//! What a run leaves on a broker, and taking it away again: the topics and groups it
//! created on a broker that outlives it, or the container the checker started for it.
//!
//! Each broker holds its [`Pending`] teardown, registered with [`crate::cleanup`] so that
//! Ctrl-C does it too. It runs once: when the run ends ([`super::Broker::shutdown`]), when
//! the broker is dropped (a run that failed or returned early), or on Ctrl-C.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use anyhow::{bail, Result};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;

use super::{client_config, container, CLEANUP_TIMEOUT};
use crate::cleanup::{Registration, Stage, Undo};

/// What must happen when a broker is done with.
#[derive(Default)]
pub(super) struct Teardown {
    /// Where to delete topics and groups (`None`: nothing to delete there).
    pub(super) bootstrap: Option<String>,
    /// Topics this run created.
    pub(super) topics: Vec<String>,
    /// A container to remove.
    pub(super) container: Option<container::Removal>,
}

impl Teardown {
    /// Deleting, on `bootstrap`, the topics a run will create there.
    pub(super) fn topics_on(bootstrap: &str) -> Teardown {
        Teardown {
            bootstrap: Some(bootstrap.to_string()),
            ..Teardown::default()
        }
    }

    /// Does it all, blocking; reports failures on stderr.
    fn run(self) {
        if let Some(container) = self.container {
            // Removing the container removes everything in it.
            container.run();
            return;
        }
        let Some(bootstrap) = self.bootstrap else {
            return;
        };
        if self.topics.is_empty() {
            return;
        }
        if let Err(error) = delete_run_data(&bootstrap, &self.topics) {
            eprintln!(
                "warning: could not delete this run's topics on {bootstrap} ({}): {error:#}",
                self.topics.join(", ")
            );
        }
    }
}

/// A broker's teardown, still to do: registered for Ctrl-C, and done when dropped.
pub(super) struct Pending {
    /// Shared with the registered work, which takes it when it runs.
    teardown: Arc<Mutex<Teardown>>,
    registration: Registration,
}

impl Pending {
    /// Registers `teardown`.
    pub(super) fn register(teardown: Teardown) -> Pending {
        let teardown = Arc::new(Mutex::new(teardown));
        let shared = teardown.clone();
        let registration = Registration::new(Stage::Brokers, move || {
            let teardown = std::mem::take(&mut *lock(&shared));
            teardown.run();
        });
        Pending {
            teardown,
            registration,
        }
    }

    /// Adds a topic the run created.
    pub(super) fn track_topic(&self, topic: &str) {
        lock(&self.teardown).topics.push(topic.to_string());
    }

    /// Puts `teardown` in place of what is to be done, and returns that.
    pub(super) fn replace(&self, teardown: Teardown) -> Teardown {
        std::mem::replace(&mut *lock(&self.teardown), teardown)
    }

    /// The teardown's work, for the caller to run now (once: later calls get `None`).
    pub(super) fn take(&self) -> Option<Undo> {
        self.registration.take()
    }
}

fn lock(teardown: &Mutex<Teardown>) -> MutexGuard<'_, Teardown> {
    teardown
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Deletes `topics` and the consumer groups of the same runs.
///
/// The scenarios name a run's topics and groups `<base>-<nonce>`; a group is the run's when
/// its name ends with the nonce of one of the run's topics.
fn delete_run_data(bootstrap: &str, topics: &[String]) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(bootstrap).create()?;
    let options = AdminOptions::new()
        .request_timeout(Some(CLEANUP_TIMEOUT))
        .operation_timeout(Some(CLEANUP_TIMEOUT));

    let groups = run_groups(bootstrap, topics);
    if !groups.is_empty() {
        let names: Vec<&str> = groups.iter().map(String::as_str).collect();
        // Best effort: a group that still has members, or a broker without DeleteGroups,
        // keeps it (Kafka expires empty groups by itself).
        let _ = block_on(admin.delete_groups(&names, &options));
    }

    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let results = block_on(admin.delete_topics(&names, &options))?;
    let failed: Vec<String> = results
        .into_iter()
        .filter_map(|result| match result {
            Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => None,
            Err((topic, code)) => Some(format!("{topic}: {code}")),
        })
        .collect();
    if !failed.is_empty() {
        bail!("{}", failed.join("; "));
    }
    Ok(())
}

/// The groups on `bootstrap` that belong to the runs that created `topics`.
fn run_groups(bootstrap: &str, topics: &[String]) -> Vec<String> {
    let suffixes: Vec<&str> = topics
        .iter()
        .filter_map(|topic| topic.rsplit_once('-').map(|(_, nonce)| nonce))
        .filter(|nonce| nonce.len() >= 6)
        .collect();
    if suffixes.is_empty() {
        return Vec::new();
    }
    let Ok(consumer) = client_config(bootstrap).create::<BaseConsumer>() else {
        return Vec::new();
    };
    let Ok(list) = consumer.fetch_group_list(None, CLEANUP_TIMEOUT) else {
        return Vec::new();
    };
    list.groups()
        .iter()
        .map(|group| group.name().to_string())
        .filter(|name| {
            suffixes
                .iter()
                .any(|nonce| name.strip_suffix(nonce).is_some_and(|s| s.ends_with('-')))
        })
        .collect()
}

/// Waits for `future` on the current thread. rdkafka's admin futures are completed by its
/// own background thread, so they need no async runtime: this works in `Drop` and in the
/// Ctrl-C handler, where awaiting is not possible.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = TaskContext::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn block_on_waits_for_another_thread() {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.send(7).unwrap();
        });
        assert_eq!(block_on(receiver).unwrap(), 7);
    }

    #[test]
    fn a_teardown_runs_once() {
        // Nothing to delete on this address, so running it touches no broker.
        let pending = Pending::register(Teardown::topics_on("127.0.0.1:1"));
        let work = pending.take().expect("registered");
        assert!(pending.take().is_none());
        work();
        drop(pending);
    }
}
