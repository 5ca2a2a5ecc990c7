//! Lab 12: a tool for a group's offsets. It must report each partition's committed offset,
//! end offset and lag as the broker holds them; move the offsets to the earliest, to a time
//! and by a shift (kept within each partition) while the group is empty; and refuse,
//! changing nothing, while the group has a member.

use std::collections::BTreeMap;
use std::time::Duration;

use lab_contract::{env, lab12, GroupTimers};
use rdkafka::consumer::{Consumer, StreamConsumer};

use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::Outgoing;
use crate::process::Launch;

/// Records the checker writes to each partition: the lags differ, and one partition is empty.
const RECORDS: [i32; 3] = [5, 3, 0];
/// What the group has committed before the tool runs: partition 2 nothing.
const COMMITTED: [(i32, i64); 2] = [(0, 2), (1, 3)];
/// How far apart in time each partition's records are: a minute on partition 0, half a
/// minute on partition 1, so that one time falls on different offsets.
const SPACING_MS: [i64; 3] = [60_000, 30_000, 0];
/// How long before the run the first record of each partition is stamped.
const HISTORY: Duration = Duration::from_secs(3600);

/// A reset the tool is asked for, and where it must leave partitions 0, 1 and 2.
struct Reset {
    args: Vec<String>,
    /// How the transcript names it: the same in every run, unlike a time.
    named: String,
    expected: [i64; 3],
}

impl Reset {
    fn new(args: &[&str], expected: [i64; 3]) -> Reset {
        Reset {
            args: args.iter().map(|a| a.to_string()).collect(),
            named: format!("reset {}", args.join(" ")),
            expected,
        }
    }

    /// `--to-datetime` the time `after` the first record of each partition.
    fn to_datetime(first: i64, after: Duration, expected: [i64; 3]) -> Reset {
        let time = std::time::UNIX_EPOCH + Duration::from_millis(first as u64) + after;
        Reset {
            args: vec![
                "--to-datetime".to_string(),
                humantime::format_rfc3339_millis(time).to_string(),
            ],
            named: format!("reset --to-datetime <first record + {} s>", after.as_secs()),
            expected,
        }
    }
}

/// Plays the scenario.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    run.step(1);
    let topic = run.topic(lab12::TOPIC).await?;
    let group = run.unique(lab12::GROUP);
    // A whole second, so the times the tool is given are too.
    let first = (std::time::SystemTime::now() - HISTORY)
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64 * 1000);
    let outgoing: Vec<Outgoing> = RECORDS
        .iter()
        .enumerate()
        .flat_map(|(partition, count)| (0..*count).map(move |i| (partition as i32, i)))
        .map(|(partition, i)| Outgoing {
            timestamp: Some(first + i64::from(i) * SPACING_MS[partition as usize]),
            ..Outgoing::to_partition(partition, format!("invoice{partition}.{i}-{}", run.nonce()))
        })
        .collect();
    run.produce(&topic, &outgoing).await?;
    commit_as_before(run, &group, &topic).await?;

    let lines = tool(run, &topic, &["describe", &group], "describe").await?;
    check_describe(run, &group, &topic, &lines, 0).await?;
    let mut section = vec![
        "members 0".to_string(),
        "lag partition=0 committed=2 end=5 lag=3".to_string(),
        "lag partition=1 committed=3 end=3 lag=0".to_string(),
        "lag partition=2 committed=- end=0 lag=-".to_string(),
    ];

    run.step(2);
    // Each leaves the offsets elsewhere than the one before, so doing nothing fails.
    // Partition 0's records are a minute apart, partition 1's half a minute, partition 2 has
    // none: 150 s in is offset 3 on partition 0 and later than all of partition 1 (its end,
    // 3); 60 s in is exactly the time of offset 1 and offset 2.
    for reset in [
        Reset::new(&["--shift-by", "-1"], [1, 2, 0]),
        Reset::new(&["--shift-by", "10"], [5, 3, 0]),
        Reset::new(&["--to-earliest"], [0, 0, 0]),
        Reset::to_datetime(first, Duration::from_secs(150), [3, 3, 0]),
        Reset::to_datetime(first, Duration::from_secs(60), [1, 2, 0]),
    ] {
        let mut call = vec!["reset", group.as_str()];
        call.extend(reset.args.iter().map(String::as_str));
        let what = format!("reset {}", reset.args.join(" "));
        let lines = tool(run, &topic, &call, &what).await?;
        check_reset(run, &group, &topic, &what, &lines, &reset.expected).await?;
        section.push(format!(
            "{}: {}",
            reset.named,
            reset
                .expected
                .iter()
                .enumerate()
                .map(|(p, o)| format!("partition {p} at {o}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    run.transcript.section("an empty group", section);

    run.step(3);
    // The offsets as the last reset left them; a member now joins.
    commit_as_before(run, &group, &topic).await?;
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

/// Commits [`COMMITTED`] for `group`, as the group's own consumers had.
async fn commit_as_before(run: &Run<'_>, group: &str, topic: &str) -> Result<(), Failure> {
    run.broker
        .commit_offsets(group, topic, &COMMITTED)
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
    let id = run.start(Launch::new(what, args).env(env::KAFKA_TOPIC, topic))?;
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
    group: &str,
    topic: &str,
    what: &str,
    lines: &[String],
    expected: &[i64; 3],
) -> Result<(), Failure> {
    let printed: Vec<String> = expected
        .iter()
        .enumerate()
        .map(|(p, o)| format!("reset partition={p} offset={o}"))
        .collect();
    if lines != printed {
        return Err(run
            .fail(format!(
                "`{what}` printed other offsets than the reset should give"
            ))
            .detail(crate::diff::render(&printed.join("\n"), &lines.join("\n")))
            .detail(
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
