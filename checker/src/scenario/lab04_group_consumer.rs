//! Lab 4: two members of TEST_GROUP split a two-partition topic, while the single member of
//! OTHER_GROUP reads everything: groups are independent readers of one log.

mod commits;
mod reading;

use std::collections::BTreeSet;

use lab_contract::{env, lab04};

use super::reading::Reader;
use super::{Failure, Run, EVENT_TIMEOUT};
use crate::broker::records::Stored;
use crate::process::Launch;
use commits::check_test_group_committed;
use reading::{check_all_once, check_order, line, messages};

/// The seed's topic has two partitions.
const PARTITIONS: i32 = lab04::TOPIC.partitions;
/// The seed's messages, by partition: #1 and #2 to partition 0, #3 and #4 to partition 1.
const MESSAGES: [(i32, &str); 4] = [
    (0, "message #1"),
    (0, "message #2"),
    (1, "message #3"),
    (1, "message #4"),
];

/// Plays the scenario: start the three consumers, wait for their assignments, run the four
/// producers, then check who read what.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    run.step(2);
    let topic = run.topic(lab04::TOPIC).await?;
    let test_group = run.unique(lab04::TEST_GROUP);
    let other_group = run.unique(lab04::OTHER_GROUP);
    let consumer = |label: &str, group: &str, count: usize| {
        Launch::new(label, &["consumer", group, &count.to_string()]).env(env::KAFKA_TOPIC, &topic)
    };
    let first = run.start(consumer("TEST_GROUP consumer 1", &test_group, 2))?;
    let second = run.start(consumer("TEST_GROUP consumer 2", &test_group, 2))?;
    let other = run.start(consumer("OTHER_GROUP consumer", &other_group, 4))?;
    // The seed starts the consumers first: a message produced before both TEST_GROUP members
    // have joined could be read by the first one alone.
    let reported = run.wait_for(
        "the three consumers to report their assignments",
        EVENT_TIMEOUT,
        |run| {
            let (a, b, o) = (run.owned(first), run.owned(second), run.owned(other));
            // Lines of two processes come through two pipes, so an overlap can be a moment of
            // a rebalance read out of order: it means "not yet", never a failure.
            let split = a.len() == 1 && b.len() == 1 && a != b;
            Ok((split && o == [0, 1]).then_some(()))
        },
    );
    // A consumer in a group of its own naming is named from the broker at once.
    let expected = [test_group.as_str(), other_group.as_str()];
    let strayed = run.strayed(&topic, &expected);
    let reported = tokio::select! {
        reported = reported => reported,
        stray = strayed => return Err(stray),
    };
    reported.map_err(|failure| {
        if run.printed_assignment(&[first, second, other]) {
            failure.detail(
                "TEST_GROUP's two members should own one partition each, and OTHER_GROUP's \
                 member both. Join the group named by the first argument.",
            )
        } else {
            failure.detail(
                "No consumer printed an assignment: create the consumer with \
                 AssignmentPrinter { member: None } as its context (create_with_context).",
            )
        }
    })?;

    run.step(1);
    let stored = produce(run, &topic).await?;

    run.step(2);
    for (id, group) in [
        (first, &test_group),
        (second, &test_group),
        (other, &other_group),
    ] {
        run.wait_reading(Reader {
            id,
            group,
            topic: &topic,
            patience: run.patience(lab04::TIMERS),
        })
        .await?;
    }
    let mut sections = Vec::new();
    let mut test_partitions = BTreeSet::new();
    let mut test_messages = Vec::new();
    for id in [first, second] {
        let read = messages(run, id)?;
        let partitions: BTreeSet<i32> = read.iter().map(|(p, _)| *p).collect();
        if partitions.len() != 1 {
            return Err(run.fail(format!(
                "{} read from partitions {partitions:?}; each TEST_GROUP member should read one partition",
                run.process(id).label()
            )));
        }
        test_partitions.extend(partitions.iter().copied());
        test_messages.extend(read.iter().cloned());
        check_order(run, id, &read, &stored)?;
        let partition = read[0].0;
        sections.push((
            format!("TEST_GROUP, the member reading partition {partition}"),
            read.iter().map(line).collect::<Vec<_>>(),
        ));
    }
    if test_partitions.len() != 2 {
        return Err(run.fail(
            "both TEST_GROUP members read the same partition: one message set was read twice",
        ));
    }
    check_all_once(run, "TEST_GROUP", &test_messages, &stored)?;

    run.step(3);
    let mut read = messages(run, other)?;
    check_all_once(run, "OTHER_GROUP", &read, &stored)?;
    check_order(run, other, &read, &stored)?;
    run.check_committed_to_end("OTHER_GROUP", &other_group, &topic)
        .await?;
    run.step(2);
    check_test_group_committed(run, &test_group, &topic).await?;
    sections.sort();
    for (heading, lines) in sections {
        run.transcript.section(heading, lines);
    }
    // Across partitions the interleaving varies; within one it may not.
    read.sort_by_key(|(partition, _)| *partition);
    run.transcript
        .section("OTHER_GROUP, its one member", read.iter().map(line));
    Ok(())
}

/// Runs the producer once per message: each partition's two in order, the partitions side
/// by side so both TEST_GROUP members get their messages at about the same time.
async fn produce(run: &mut Run<'_>, topic: &str) -> Result<Vec<Stored>, Failure> {
    for round in 0..2 {
        let mut started = Vec::new();
        for partition in 0..PARTITIONS {
            let (_, message) = MESSAGES
                .iter()
                .filter(|(p, _)| *p == partition)
                .nth(round)
                .expect("two per partition");
            let text = format!("{message} {}", run.nonce());
            let launch = Launch::new(
                format!("producer {partition} '{message}'"),
                &["producer", &partition.to_string(), &text],
            )
            .env(env::KAFKA_TOPIC, topic);
            started.push(run.start(launch)?);
        }
        for id in started {
            run.wait_success(id, EVENT_TIMEOUT).await?;
        }
    }
    let stored = run.records(topic).await?;
    for partition in 0..PARTITIONS {
        let want: Vec<String> = MESSAGES
            .iter()
            .filter(|(p, _)| *p == partition)
            .map(|(_, m)| format!("{m} {}", run.nonce()))
            .collect();
        let got: Vec<String> = stored
            .iter()
            .filter(|r| r.partition == partition)
            .map(|r| r.payload.clone())
            .collect();
        if got != want {
            return Err(run
                .fail(format!(
                    "partition {partition} should hold exactly the messages sent to it, in order"
                ))
                .detail(format!("it holds {got:?}"))
                .detail(format!("expected {want:?}")));
        }
    }
    if stored.len() != MESSAGES.len() {
        return Err(run.fail(format!(
            "the topic holds {} messages; the producer ran 4 times",
            stored.len()
        )));
    }
    Ok(stored)
}
