//! Lab 5's commits: an offset is committed only after its message is processed, and every
//! processed message is committed.

use std::time::{Duration, Instant};

use super::{CONSUMERS, PROCESSING};
use crate::scenario::{group, Failure, ProcessId, Run};

/// How often the broker's committed offsets are sampled while a message is in processing.
const COMMIT_SAMPLE_INTERVAL: Duration = Duration::from_millis(50);

/// Samples the broker's committed offsets while the messages in flight at the signal are
/// being processed: none of them may be committed yet.
///
/// None of them was written before `written`, so a correct program cannot commit one
/// sooner than one processing slot after it: a sample that came back before then never
/// shows a correct program's commit, however late the program's lines reached the checker,
/// while a program that commits before it processes shows the new offset at once. Only
/// samples are compared, never arrival times. If not one sample came back in time (a
/// machine too busy to answer within a slot), the check has not happened, and says so.
pub(super) async fn check_not_committed_early(
    run: &Run<'_>,
    group: &str,
    topic: &str,
    in_flight: &[group::Handled],
    written: Instant,
) -> Result<(), Failure> {
    let deadline = written + PROCESSING;
    let mut samples = 0;
    loop {
        let committed = run.committed(group, topic).await?;
        if Instant::now() >= deadline {
            // This sample may have been taken after a correct commit: it proves nothing.
            break;
        }
        samples += 1;
        for message in in_flight {
            let Some(offset) = message.offset else {
                continue;
            };
            let at = committed.get(&message.partition).copied().flatten();
            if at.is_some_and(|at| at > offset) {
                return Err(run
                    .fail(format!(
                        "{} (partition {}, offset {offset}) was committed while it was still being \
                         processed: the broker held offset {} less than {} ms after the checker \
                         wrote the message, and processing takes {} ms",
                        message.payload,
                        message.partition,
                        at.unwrap_or_default(),
                        PROCESSING.as_millis(),
                        PROCESSING.as_millis()
                    ))
                    .detail(
                        "Commit a message after processing it. Committed first, it is lost if the \
                         program crashes mid-message: the group believes it done and never \
                         delivers it again.",
                    ));
            }
        }
        // Sampling a bounded window, not waiting for an event: the broker does not announce
        // commits.
        tokio::time::sleep(COMMIT_SAMPLE_INTERVAL).await;
    }
    if samples == 0 {
        return Err(run
            .fail(format!(
                "the checker could not read the group's committed offsets within {} ms of \
                 writing the messages, so it could not check that no message is committed \
                 before it is processed",
                PROCESSING.as_millis()
            ))
            .detail(
                "This is the checker's trouble, not the lab's: the machine was too busy to \
                 answer in time. Run the check again.",
            ));
    }
    Ok(())
}

/// The broker's committed offsets equal one past the last committed message of each
/// partition: nothing committed unprocessed, nothing processed left uncommitted.
pub(super) async fn check_committed(
    run: &Run<'_>,
    group: &str,
    topic: &str,
    id: ProcessId,
) -> Result<(), Failure> {
    let committed = run.committed(group, topic).await?;
    let reported = group::handled(&run.process(id).lines(), "committed");
    for partition in 0..CONSUMERS as i32 {
        let last = reported
            .iter()
            .filter(|h| h.partition == partition)
            .filter_map(|h| h.offset)
            .max();
        let expected = last.map(|o| o + 1);
        let actual = committed.get(&partition).copied().flatten();
        if actual != expected {
            return Err(run
                .fail(format!(
                    "partition {partition}: the group committed offset {} but the program reported processing up to {}",
                    actual.map_or("nothing".into(), |o| o.to_string()),
                    last.map_or("nothing".into(), |o| o.to_string())
                ))
                .detail("Commit each message right after processing it (commit_message), and never before."));
        }
    }
    Ok(())
}
