//! Lab 3: the toy plan "order i goes to consumer i % size", and a real group that agrees
//! with it: order i goes to partition i % partitions, and the roundrobin assignor deals the
//! partitions out like cards.
//!
//! The topic has four partitions for a group of two. Roundrobin gives the members [0, 2]
//! and [1, 3], so each member's orders are exactly one plan consumer's; range would give
//! [0, 1] and [2, 3] and mix them. That is the point of the lab.
//!
//! Besides the exercise's plans (2 and 3 consumers, five orders), one plan is asked for a
//! group size and orders drawn per run (`CONSUMER_GROUP_SIZE`, `ORDERS`), so that printed
//! lines cannot stand in for the rule.

use std::collections::BTreeSet;

use lab_contract::{env, lab03};

use super::group::{self, Owners};
use super::lines::Fields;
use super::reading::Handling;
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::Stored;
use crate::process::Launch;

/// The orders of the interactive exercise.
const ORDERS: [&str; 5] = lab03::ORDERS;
/// Members of the real group.
const GROUP_SIZE: usize = 2;
/// Partitions of the topic: a multiple of the group size, more than the group size.
const PARTITIONS: i32 = lab03::TOPIC.partitions;

/// Plays the scenario: the plan for two sizes, then the group against the plan.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    run.step(1);
    let exercise: Vec<String> = ORDERS.iter().map(|o| o.to_string()).collect();
    for size in [GROUP_SIZE, 3] {
        let printed = check_plan(run, size, &exercise, None).await?;
        run.transcript
            .section(format!("plan, {size} consumers"), printed);
    }
    let (size, orders) = draw_plan(&mut fastrand::Rng::new());
    check_plan(run, size, &orders, Some(&orders.join(","))).await?;
    run.transcript.section(
        "plan, for a group size and orders drawn per run",
        ["every order went to consumer index % size".to_string()],
    );

    run.step(3);
    let topic = run.topic(lab03::TOPIC).await?;
    let group = run.unique(lab03::GROUP);
    let launch = Launch::new("consume", &["consume"])
        .env(env::KAFKA_TOPIC, &topic)
        .env(env::KAFKA_GROUP_ID, &group)
        .env(env::CONSUMER_GROUP_SIZE, GROUP_SIZE.to_string());
    let patience = run.patience(lab03::TIMERS);
    let expected = group::Expected {
        group: &group,
        members: GROUP_SIZE,
        partitions: PARTITIONS,
        patience,
    };
    let (consumers, owners) = group::start_settled(run, launch, expected).await?;

    run.step(2);
    let stored = check_producer(run, &topic).await?;

    run.step(3);
    let handling = Handling {
        what: "every order to be processed",
        ids: &[consumers],
        group: &group,
        topic: &topic,
        patience,
    };
    run.wait_handled(handling, |run| {
        let done = group::handled(&run.process(consumers).lines(), "processed");
        Ok(ORDERS
            .iter()
            .all(|o| done.iter().any(|d| d.payload == *o))
            .then_some(()))
    })
    .await?;
    run.terminate(consumers);
    run.wait_success(consumers, EVENT_TIMEOUT).await?;
    let groups = check_consumed(run, consumers, &owners, &stored)?;

    run.step(4);
    check_agreement(run, &owners, &groups)
}

/// A group size and orders for one plan, drawn: 4 to 6 consumers, 7 to 12 orders named as
/// no exercise names them.
fn draw_plan(rng: &mut fastrand::Rng) -> (usize, Vec<String>) {
    let size = rng.usize(4..=6);
    let count = rng.usize(7..=12);
    let mut next = rng.u32(100..900);
    let orders = (0..count)
        .map(|_| {
            next += rng.u32(1..9);
            format!("order{next}")
        })
        .collect();
    (size, orders)
}

/// Runs `plan` for `size` consumers (with `drawn` orders in `ORDERS`, or the exercise's)
/// and checks it deals `orders` out by index; returns what it printed.
async fn check_plan(
    run: &mut Run<'_>,
    size: usize,
    orders: &[String],
    drawn: Option<&str>,
) -> Result<Vec<String>, Failure> {
    let mut launch = Launch::new(format!("plan for {size}"), &["plan"])
        .env(env::CONSUMER_GROUP_SIZE, size.to_string());
    if let Some(list) = drawn {
        launch = launch.env(env::ORDERS, list);
    }
    let plan = run.start(launch)?;
    if let Some(list) = drawn {
        run.mark(
            plan,
            format!(
                "drawn: {}={size}, {}={list}",
                env::CONSUMER_GROUP_SIZE,
                env::ORDERS
            ),
        );
    }
    run.wait_success(plan, EVENT_TIMEOUT).await?;
    let expected: Vec<String> = orders
        .iter()
        .enumerate()
        .map(|(index, order)| format!("Order {order} is processed by consumer {}", index % size))
        .collect();
    let printed = run.process(plan).lines();
    if printed != expected {
        return Err(run
            .fail(format!(
                "the plan for CONSUMER_GROUP_SIZE={size} is not index % {size}"
            ))
            .detail(crate::diff::render(
                &expected.join("\n"),
                &printed.join("\n"),
            )));
    }
    Ok(printed)
}

async fn check_producer(run: &mut Run<'_>, topic: &str) -> Result<Vec<Stored>, Failure> {
    let producer = run.start(Launch::new("produce", &["produce"]).env(env::KAFKA_TOPIC, topic))?;
    run.wait_success(producer, EVENT_TIMEOUT).await?;
    let stored = run.records(topic).await?;
    for (index, order) in ORDERS.iter().enumerate() {
        let want = index as i32 % PARTITIONS;
        match stored.iter().find(|r| r.payload == *order) {
            Some(record) if record.partition == want => {}
            Some(record) => {
                return Err(run.fail(format!(
                "{order} (index {index}) is in partition {}, but index % {PARTITIONS} = {want}: \
                     choose the partition explicitly instead of hashing a key",
                record.partition
            )))
            }
            None => return Err(run.fail(format!("{order} is not in the topic"))),
        }
    }
    if stored.len() != ORDERS.len() {
        return Err(run.fail(format!(
            "the topic holds {} records; send each order once",
            stored.len()
        )));
    }
    let printed = run.process(producer).lines();
    for line in &printed {
        let fields = Fields::parse(line);
        let matches_a_record = match (
            fields.words.as_slice(),
            fields.number("partition"),
            fields.number("offset"),
        ) {
            (["sent", order], Some(partition), Some(offset)) => stored.iter().any(|r| {
                r.payload == *order && r.partition as i64 == partition && r.offset == offset
            }),
            _ => false,
        };
        if !matches_a_record {
            return Err(run
                .fail("the producer printed a line that is not a delivery the broker stored")
                .detail(format!("the line: {line:?}"))
                .detail("expected: sent <order> partition=<p> offset=<o>"));
        }
    }
    if printed.len() != ORDERS.len() {
        return Err(run.fail("the producer must print one `sent` line per order"));
    }
    run.transcript.section("producer", printed);
    Ok(stored)
}

/// Checks each order was processed once by the owner of its partition; returns the orders
/// each member processed.
fn check_consumed(
    run: &Run<'_>,
    id: ProcessId,
    owners: &Owners,
    stored: &[Stored],
) -> Result<Vec<BTreeSet<String>>, Failure> {
    let lines = run.process(id).lines();
    if let Some(line) = group::unexpected(&lines, &["processed"]).first() {
        return Err(run.off_contract(None, line, "consumer <i> processed <order> partition=<p>"));
    }
    let processed = group::handled(&lines, "processed");
    for record in stored {
        let handler = group::handled_once(&processed, &record.payload).map_err(|times| {
            run.fail(format!(
                "{} was processed {times} times, not once",
                record.payload
            ))
        })?;
        if handler.partition != record.partition
            || !owners[&handler.member].contains(&record.partition)
        {
            return Err(run.fail(format!(
                "consumer {} reported {} from partition {}, but it is in partition {} and owned by another member",
                handler.member, record.payload, handler.partition, record.partition
            )));
        }
    }
    Ok(owners
        .keys()
        .map(|member| {
            processed
                .iter()
                .filter(|h| h.member == *member)
                .map(|h| h.payload.clone())
                .collect()
        })
        .collect())
}

fn check_agreement(
    run: &mut Run<'_>,
    owners: &Owners,
    groups: &[BTreeSet<String>],
) -> Result<(), Failure> {
    let plan: Vec<BTreeSet<String>> = (0..GROUP_SIZE)
        .map(|consumer| {
            ORDERS
                .iter()
                .enumerate()
                .filter(|(index, _)| index % GROUP_SIZE == consumer)
                .map(|(_, order)| order.to_string())
                .collect()
        })
        .collect();
    let real: BTreeSet<&BTreeSet<String>> = groups.iter().collect();
    let planned: BTreeSet<&BTreeSet<String>> = plan.iter().collect();
    let describe = |sets: &BTreeSet<&BTreeSet<String>>| {
        sets.iter()
            .map(|set| format!("{{{}}}", set.iter().cloned().collect::<Vec<_>>().join(", ")))
            .collect::<Vec<_>>()
            .join(" and ")
    };
    if real != planned {
        let assignment = owners
            .values()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(" and ");
        return Err(run
            .fail("the group did not process the orders the way the plan says")
            .detail(format!("plan:  {}", describe(&planned)))
            .detail(format!("group: {} (partitions {assignment})", describe(&real)))
            .detail("With 4 partitions and 2 members, only roundrobin gives each member the partitions of one plan consumer."));
    }
    let mut lines: Vec<String> = owners
        .iter()
        .zip(groups)
        .map(|((_, partitions), orders)| {
            format!(
                "member with partitions {partitions:?} processed {}",
                orders.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    lines.sort();
    lines.push(format!("plan and group agree: {}", describe(&planned)));
    run.transcript.section(
        format!("group of {GROUP_SIZE} on {PARTITIONS} partitions"),
        lines,
    );
    Ok(())
}
