//! Lab 12: a tool for a group's offsets. It must report each partition's committed offset,
//! end offset and lag as the broker holds them; move the offsets to the earliest, to a time
//! and by a shift (kept within each partition) while the group is empty; and refuse,
//! changing nothing, while the group has a member. The log, the group's offsets, the shifts
//! and the times are drawn per run ([`Drawn`]), and one partition's log no longer starts at
//! offset 0, as after retention.

use std::collections::BTreeMap;
use std::time::Duration;

use lab_contract::{env, lab12, GroupTimers};
use rdkafka::consumer::{Consumer, StreamConsumer};

use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::Outgoing;
use crate::process::Launch;

/// How far apart in time each partition's records are: a minute on partition 0, half a
/// minute on partition 1, so that one time falls on different offsets.
const SPACING_MS: [i64; 3] = [60_000, 30_000, 0];
/// How long before the run the first record of each partition is stamped.
const HISTORY: Duration = Duration::from_secs(3600);

/// The log and the group's offsets, drawn per run, so that no offset can be known in
/// advance: partition 0 no longer starts at offset 0 (its oldest records deleted, as
/// retention would) and its group lags; partition 1 starts at 0 and its group is at the
/// end; partition 2 is empty and the group has committed nothing on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Drawn {
    /// Records written to each partition.
    records: [i64; 3],
    /// Each partition's log start once the oldest records are deleted.
    log_start: [i64; 3],
    /// What the group has committed on partition 0 (partition 1: its end; 2: nothing).
    committed: i64,
    /// How far back the first shift goes: past partition 0's log start, not past 0 on
    /// partition 1.
    back: i64,
    /// How far the second shift goes: past every partition's end.
    beyond: i64,
    /// The two times reset to, in seconds after the first record: one between two records
    /// of partition 0, one on a record's own time.
    between: i64,
    on_record: i64,
}

impl Drawn {
    fn draw() -> Drawn {
        // Partition 1's last record is stamped 120 s in at the latest: both times fall
        // after it, and the first shift, 3 at most, stays inside it.
        let records = [fastrand::i64(6..=9), fastrand::i64(4..=5), 0];
        let start = fastrand::i64(2..=3);
        let committed = start + fastrand::i64(1..=2);
        let after = fastrand::i64(start..=records[0] - 2);
        let on = loop {
            let on = fastrand::i64(start + 1..=records[0] - 1);
            if on != after + 1 {
                break on;
            }
        };
        Drawn {
            records,
            log_start: [start, 0, 0],
            committed,
            back: committed - start + 1,
            beyond: records[0] + fastrand::i64(1..=5),
            between: after * 60 + 30,
            on_record: on * 60,
        }
    }

    /// What the group has committed before the tool runs.
    fn commits(&self) -> [(i32, i64); 2] {
        [(0, self.committed), (1, self.records[1])]
    }

    /// The first offset of `partition` still in the log whose record is stamped `seconds`
    /// or more after the first record; its end where none is.
    fn at_or_after(&self, partition: usize, seconds: i64) -> i64 {
        (self.log_start[partition]..self.records[partition])
            .find(|i| i * SPACING_MS[partition] >= seconds * 1000)
            .unwrap_or(self.records[partition])
    }

    /// The resets the tool is asked for, in order: each leaves the offsets elsewhere than
    /// the one before, so doing nothing fails.
    fn resets(&self, first: i64) -> Vec<Reset> {
        let committed = [self.committed, self.records[1], self.log_start[2]];
        let shifted: [i64; 3] = std::array::from_fn(|p| {
            (committed[p] - self.back).clamp(self.log_start[p], self.records[p])
        });
        let times = |seconds: i64| std::array::from_fn(|p| self.at_or_after(p, seconds));
        vec![
            Reset::new(
                &["--shift-by", &(-self.back).to_string()],
                "--shift-by -<past partition 0's log start>",
                shifted,
            ),
            Reset::new(
                &["--shift-by", &self.beyond.to_string()],
                "--shift-by <more than any partition holds>",
                self.records,
            ),
            Reset::new(&["--to-earliest"], "--to-earliest", self.log_start),
            Reset::to_datetime(
                first,
                self.between,
                "<between two records of partition 0>",
                times(self.between),
            ),
            Reset::to_datetime(
                first,
                self.on_record,
                "<the time of a record of partition 0>",
                times(self.on_record),
            ),
        ]
    }

    /// How the transcript names the log: the same in every run.
    fn described() -> Vec<String> {
        vec![
            "the log: partition 0 starts past offset 0 (its oldest records deleted), \
             partition 1 at 0, partition 2 is empty"
                .to_string(),
            "describe: members 0".to_string(),
            "partition 0: committed, lagging".to_string(),
            "partition 1: committed at its end, lag 0".to_string(),
            "partition 2: nothing committed, lag -".to_string(),
        ]
    }
}

/// A reset the tool is asked for, and where it must leave partitions 0, 1 and 2.
struct Reset {
    args: Vec<String>,
    /// How the transcript names it: the same in every run, unlike its numbers.
    named: String,
    expected: [i64; 3],
}

impl Reset {
    fn new(args: &[&str], named: &str, expected: [i64; 3]) -> Reset {
        Reset {
            args: args.iter().map(|a| a.to_string()).collect(),
            named: format!("reset {named}"),
            expected,
        }
    }

    /// `--to-datetime` the time `seconds` after the first record of each partition.
    fn to_datetime(first: i64, seconds: i64, named: &str, expected: [i64; 3]) -> Reset {
        let time = std::time::UNIX_EPOCH + Duration::from_millis((first + seconds * 1000) as u64);
        Reset {
            args: vec![
                "--to-datetime".to_string(),
                humantime::format_rfc3339_millis(time).to_string(),
            ],
            named: format!("reset --to-datetime {named}"),
            expected,
        }
    }

    /// Where it leaves each partition, in the transcript's words: the same in every run.
    fn outcome(&self, drawn: &Drawn) -> String {
        (0..3)
            .map(|p| {
                let at = self.expected[p];
                let place = if drawn.records[p] == 0 {
                    "0 (empty)"
                } else if at == drawn.records[p] {
                    "its end"
                } else if at == drawn.log_start[p] && at > 0 {
                    "its log start"
                } else if at == 0 {
                    "0"
                } else {
                    "a record inside"
                };
                format!("partition {p} at {place}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Plays the scenario.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    run.step(1);
    let topic = run.topic(lab12::TOPIC).await?;
    let group = run.unique(lab12::GROUP);
    let drawn = Drawn::draw();
    // A whole second, so the times the tool is given are too.
    let first = (std::time::SystemTime::now() - HISTORY)
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64 * 1000);
    let outgoing: Vec<Outgoing> = drawn
        .records
        .iter()
        .enumerate()
        .flat_map(|(partition, count)| (0..*count).map(move |i| (partition as i32, i)))
        .map(|(partition, i)| Outgoing {
            timestamp: Some(first + i * SPACING_MS[partition as usize]),
            ..Outgoing::to_partition(partition, format!("invoice{partition}.{i}-{}", run.nonce()))
        })
        .collect();
    run.produce(&topic, &outgoing).await?;
    run.broker
        .delete_records(&topic, &[(0, drawn.log_start[0])])
        .await
        .map_err(|e| {
            run.fail(format!(
                "the checker could not delete the oldest records: {e:#}"
            ))
        })?;
    commit_as_before(run, &group, &topic, &drawn).await?;

    let id = start_tool(run, &topic, &["describe", &group], "describe")?;
    run.mark(
        id,
        format!(
            "drawn: records {:?}, log starts {:?}, committed {:?}",
            drawn.records,
            drawn.log_start,
            drawn.commits()
        ),
    );
    let lines = finish_tool(run, id).await?;
    check_describe(run, &group, &topic, &lines, 0).await?;
    let mut section = Drawn::described();

    run.step(2);
    for reset in drawn.resets(first) {
        let mut call = vec!["reset", group.as_str()];
        call.extend(reset.args.iter().map(String::as_str));
        let what = format!("reset {}", reset.args.join(" "));
        let lines = tool(run, &topic, &call, &what).await?;
        let names = (group.as_str(), topic.as_str());
        check_reset(run, names, &what, &lines, &reset.expected, &drawn.log_start).await?;
        section.push(format!("{}: {}", reset.named, reset.outcome(&drawn)));
    }
    run.transcript.section("an empty group", section);

    run.step(3);
    // The offsets as they were; a member now joins.
    commit_as_before(run, &group, &topic, &drawn).await?;
    let member = join(run, &group, &topic).await?;
    let lines = tool(run, &topic, &["describe", &group], "describe").await?;
    let described = check_describe(run, &group, &topic, &lines, 1).await;
    let refused = match described {
        Ok(()) => check_refused(run, &group, &topic).await,
        Err(failure) => Err(failure),
    };
    // The member leaves whatever the verdict: closing blocks, so off the runtime.
    let _ = tokio::task::spawn_blocking(move || drop(member)).await;
    refused?;
    run.transcript.section(
        "a group with a member",
        [
            "describe: members 1".to_string(),
            "reset --to-earliest: refused, exit status 1, the offsets unchanged".to_string(),
        ],
    );
    Ok(())
}

/// Commits the drawn offsets for `group`, as the group's own consumers had.
async fn commit_as_before(
    run: &Run<'_>,
    group: &str,
    topic: &str,
    drawn: &Drawn,
) -> Result<(), Failure> {
    run.broker
        .commit_offsets(group, topic, &drawn.commits())
        .await
        .map_err(|e| {
            run.fail(format!(
                "the checker could not commit the group's offsets: {e:#}"
            ))
        })
}

/// Runs the tool with `args` and waits for it to succeed; returns its lines.
async fn tool(
    run: &mut Run<'_>,
    topic: &str,
    args: &[&str],
    what: &str,
) -> Result<Vec<String>, Failure> {
    let id = start_tool(run, topic, args, what)?;
    finish_tool(run, id).await
}

fn start_tool(
    run: &mut Run<'_>,
    topic: &str,
    args: &[&str],
    what: &str,
) -> Result<ProcessId, Failure> {
    run.start(Launch::new(what, args).env(env::KAFKA_TOPIC, topic))
}

/// Waits for the tool `id` to succeed; returns its lines.
async fn finish_tool(run: &mut Run<'_>, id: ProcessId) -> Result<Vec<String>, Failure> {
    run.wait_success(id, EVENT_TIMEOUT).await?;
    Ok(run.process(id).lines())
}

/// The `describe` lines match the broker: the member count, then each partition's
/// committed offset, end offset and lag, in partition order.
async fn check_describe(
    run: &Run<'_>,
    group: &str,
    topic: &str,
    lines: &[String],
    members: usize,
) -> Result<(), Failure> {
    let committed = run.committed(group, topic).await?;
    let ends = run.end_offsets(topic).await?;
    let mut expected = vec![format!("members {members}")];
    for (partition, end) in &ends {
        let done = committed.get(partition).copied().flatten();
        let dash = || "-".to_string();
        expected.push(format!(
            "lag partition={partition} committed={} end={end} lag={}",
            done.map_or_else(dash, |c| c.to_string()),
            done.map_or_else(dash, |c| (end - c).to_string())
        ));
    }
    if lines != expected {
        return Err(run
            .fail("`describe` does not match what the broker holds")
            .detail(crate::diff::render(&expected.join("\n"), &lines.join("\n")))
            .detail(
                "The committed offset is what OffsetFetch returns for the group (committed_offsets); \
                 the end offset is the partition's high watermark (fetch_watermarks); the lag is \
                 their difference, `-` where the group has committed nothing.",
            ));
    }
    Ok(())
}

/// The `reset` lines say where each partition now stands, and the broker agrees.
async fn check_reset(
    run: &Run<'_>,
    (group, topic): (&str, &str),
    what: &str,
    lines: &[String],
    expected: &[i64; 3],
    log_start: &[i64; 3],
) -> Result<(), Failure> {
    let printed: Vec<String> = expected
        .iter()
        .enumerate()
        .map(|(p, o)| format!("reset partition={p} offset={o}"))
        .collect();
    if lines != printed {
        let mut failure = run
            .fail(format!(
                "`{what}` printed other offsets than the reset should give"
            ))
            .detail(crate::diff::render(&printed.join("\n"), &lines.join("\n")));
        if let Some((partition, offset)) = below_log_start(lines, log_start) {
            failure = failure.detail(format!(
                "Partition {partition} no longer starts at offset 0: its records before offset \
                 {} are deleted (as retention or DeleteRecords does), so offset {offset} is \
                 gone. Its earliest offset is its low watermark, not 0.",
                log_start[partition as usize]
            ));
        }
        return Err(failure.detail(
            "The earliest offset is the partition's low watermark. A time gives, per \
                 partition, the first offset whose record is stamped at or after it \
                 (offsets_for_times), and the end offset (high watermark) where no record is that \
                 late, as kafka-consumer-groups does. A shift moves the committed offset (or the \
                 earliest, where none is committed) and stays within the low and high watermarks.",
        ));
    }
    let committed = run.committed(group, topic).await?;
    let on_broker: BTreeMap<i32, Option<i64>> = committed;
    for (p, o) in expected.iter().enumerate() {
        let held = on_broker.get(&(p as i32)).copied().flatten();
        if held != Some(*o) {
            return Err(run.fail(format!(
                "after `{what}`, the broker holds {} for partition {p}, not {o}: the new offsets \
                 were not committed",
                held.map_or("nothing".to_string(), |h| h.to_string())
            )));
        }
    }
    Ok(())
}

/// The first partition `lines` (`reset partition=P offset=O`) put before its log start.
fn below_log_start(lines: &[String], log_start: &[i64; 3]) -> Option<(i32, i64)> {
    lines.iter().find_map(|line| {
        let rest = line.strip_prefix("reset partition=")?;
        let (partition, offset) = rest.split_once(" offset=")?;
        let (partition, offset): (i32, i64) = (partition.parse().ok()?, offset.parse().ok()?);
        let start = *log_start.get(usize::try_from(partition).ok()?)?;
        (offset < start).then_some((partition, offset))
    })
}

/// A reset while the group has a member is refused, with status 1, and changes nothing.
async fn check_refused(run: &mut Run<'_>, group: &str, topic: &str) -> Result<(), Failure> {
    let before = run.committed(group, topic).await?;
    let id: ProcessId = run.start(
        Launch::new(
            "reset --to-earliest (group active)",
            &["reset", group, "--to-earliest"],
        )
        .env(env::KAFKA_TOPIC, topic),
    )?;
    run.expect_end(id);
    let status = run
        .wait_for(
            "the reset of an active group to end",
            EVENT_TIMEOUT,
            |run| Ok(run.process(id).exit_status()),
        )
        .await?;
    let lines = run.process(id).lines();
    let after = run.committed(group, topic).await?;
    if after != before {
        return Err(run
            .fail("the tool moved the offsets of a group that has an active member")
            .detail(
                "A member would overwrite them with its own commits. Check the member count first \
                 (the coordinator's description of the group) and refuse.",
            ));
    }
    let said = format!("refused: group {group} has 1 active member(s)");
    if status.code() != Some(1) || lines != [said.clone()] {
        let failure = run.fail(format!(
            "with a member in the group, the reset should print `{said}` and exit with status 1; \
             it printed {lines:?} and exited with {status}"
        ));
        return Err(match run.process(id).panic() {
            Some(panic) => failure.detail(format!(
                "it panicked (the broker refuses a commit from outside a group that has members):\n{panic}"
            )),
            None => failure,
        });
    }
    Ok(())
}

/// Joins `group` on `topic` with a consumer of the checker's own, and waits until the
/// broker shows it a member.
async fn join(run: &Run<'_>, group: &str, topic: &str) -> Result<StreamConsumer, Failure> {
    let consumer: StreamConsumer = crate::broker::client_config(run.broker.bootstrap())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create()
        .map_err(|e| run.fail(format!("the checker could not create its member: {e}")))?;
    consumer
        .subscribe(&[topic])
        .map_err(|e| run.fail(format!("the checker's member could not subscribe: {e}")))?;
    // The consumer joins only while it is polled: poll it in the background until dropped.
    let patience = run.patience(GroupTimers::FAST);
    let polled = async {
        loop {
            let _ = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await;
        }
    };
    tokio::select! {
        joined = run.wait_joined("the checker's member", group, topic, patience.formation(1)) => joined?,
        _ = polled => unreachable!("the poll loop never ends"),
    }
    Ok(consumer)
}

#[cfg(test)]
mod tests {
    use super::*;

    static FIRST_DRAWN: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

    #[test]
    fn every_draw_tells_the_right_resets_from_the_usual_wrong_ones() {
        for _ in 0..2000 {
            let drawn = Drawn::draw();
            let resets = drawn.resets(0);
            // Doing nothing fails: each reset moves the offsets the one before left.
            let mut before = [drawn.committed, drawn.records[1], 0];
            for reset in &resets {
                assert_ne!(reset.expected, before, "{drawn:?} {}", reset.named);
                before = reset.expected;
            }
            // The first shift stops at partition 0's log start, not at 0 and not below it.
            let [shift, _, earliest, between, on_record] = &resets[..] else {
                panic!("five resets");
            };
            assert_eq!(shift.expected[0], drawn.log_start[0]);
            assert!(drawn.committed - drawn.back < drawn.log_start[0]);
            assert!(
                drawn.records[1] - drawn.back >= 0,
                "partition 1 does not clamp"
            );
            assert_eq!(earliest.expected, [drawn.log_start[0], 0, 0]);
            // Both times land inside partition 0's log, on different records.
            for time in [between, on_record] {
                let at = time.expected[0];
                assert!(
                    drawn.log_start[0] < at && at < drawn.records[0],
                    "{drawn:?}"
                );
            }
            assert_ne!(between.expected[0], on_record.expected[0]);
            // The transcript names the same outcomes in every run.
            let named: Vec<String> = resets.iter().map(|r| r.outcome(&drawn)).collect();
            let first = FIRST_DRAWN.get_or_init(|| named.clone());
            assert_eq!(&named, first, "{drawn:?}");
            // The group lags on partition 0 only.
            assert!(drawn.log_start[0] < drawn.committed && drawn.committed < drawn.records[0]);
        }
    }

    #[test]
    fn a_time_on_a_record_counts_that_record() {
        let drawn = Drawn {
            records: [6, 3, 0],
            log_start: [2, 0, 0],
            committed: 3,
            back: 2,
            beyond: 8,
            between: 150,
            on_record: 240,
        };
        assert_eq!(drawn.at_or_after(0, 150), 3);
        assert_eq!(drawn.at_or_after(0, 240), 4);
        assert_eq!(
            drawn.at_or_after(0, 0),
            2,
            "the search starts at the log start"
        );
        assert_eq!(drawn.at_or_after(1, 60), 2);
        assert_eq!(drawn.at_or_after(1, 61), 3, "none that late: the end");
        assert_eq!(drawn.at_or_after(2, 0), 0);
    }
}
