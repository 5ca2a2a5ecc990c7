//! Steps 1 and 3: the group of workers, and stopping it without cutting a message in half.

use std::time::Duration;

use tokio::sync::watch;

use crate::worker;

/// Runs `consumers` workers of `group` on `topic` until SIGINT or SIGTERM, then lets every
/// message in flight finish and be committed, and closes the consumers. Returns once all
/// have left the group.
pub async fn run(topic: &str, group: &str, consumers: usize, work: Duration) {
    // ANCHOR: todo
    // TODO (step 1): one consumer processes every partition here, one message at a time.
    // Start `consumers` of them, each with its own member number and its own tokio task.
    let _ = consumers;
    // TODO (step 3): nothing ever raises this stop flag. On the signal, raise it, wait for
    // every worker to finish its current message and hand its consumer back, then close
    // them all. As written, the signal drops the worker wherever it is, even mid-message.
    let (_stop, stopping) = watch::channel(false);
    let consumer = worker::join(0, topic, group);
    tokio::select! {
        _ = worker::consume(0, consumer, stopping, work) => {}
        _ = lab_contract::shutdown_signal() => {}
    }
    // ANCHOR_END: todo
}
