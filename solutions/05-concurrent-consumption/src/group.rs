//! Steps 1 and 3: the group of workers, and stopping it without cutting a message in half.

use std::time::Duration;

use tokio::sync::watch;

use crate::worker;

/// Runs `consumers` workers of `group` on `topic` until SIGINT or SIGTERM, then lets every
/// message in flight finish and be committed, and closes the consumers. Returns once all
/// have left the group.
pub async fn run(topic: &str, group: &str, consumers: usize, work: Duration) {
    // ANCHOR: solution
    let (stop, stopping) = watch::channel(false);
    // One consumer per task: the group gives each its own partitions, and the tasks run
    // concurrently while each stays sequential within its partitions.
    let workers: Vec<_> = (0..consumers)
        .map(|member| {
            let consumer = worker::join(member, topic, group);
            tokio::spawn(worker::consume(member, consumer, stopping.clone(), work))
        })
        .collect();

    lab_contract::shutdown_signal().await;
    // Raising the flag interrupts nothing: each worker sees it only when it next waits for
    // a message, that is, after its current message is processed and committed.
    stop.send_replace(true);
    let mut idle = Vec::with_capacity(workers.len());
    for worker in workers {
        idle.push(worker.await.expect("a worker panicked"));
    }
    // Closing a consumer sends LeaveGroup, which starts a rebalance. Once the new generation
    // has formed, a commit from the old one is refused (ILLEGAL_GENERATION), and under an
    // eager assignor the members give up their partitions first.
    // So none is closed while any worker still has a message to commit.
    // Together: closed one by one, a member could wait in the rebalance that the previous
    // one started for members that have not begun to close (see close_together).
    lab_contract::close_together(idle).await;
    // ANCHOR_END: solution
}
