//! Lab 1: orders keyed by customer land on one partition per customer, and come back in
//! order per customer.

use std::collections::BTreeMap;

use lab_contract::{env, lab01};

use super::lines::Fields;
use super::reading::Reader;
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::Stored;
use crate::process::Launch;

/// What the lab must send, in this order: (order, customer).
const ORDERS: [(&str, &str); 5] = [
    ("order1", "alice"),
    ("order2", "erin"),
    ("order3", "alice"),
    ("order4", "trent"),
    ("order5", "erin"),
];

/// Plays the scenario: run `produce`, check the topic; run `consume`, check what it read.
///
/// The topic has [`lab01::TOPIC`]'s three partitions for three customers, whose names
/// librdkafka's CRC32 partitioner maps to partitions 2, 0 and 1: the keys spread, and each
/// key keeps to one partition.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    run.step(1);
    let topic = run.topic(lab01::TOPIC).await?;
    let producer =
        run.start(Launch::new("producer", &["produce"]).env(env::KAFKA_TOPIC, &topic))?;
    run.wait_success(producer, EVENT_TIMEOUT).await?;
    let sent = reports(run, producer, "sent")?;
    let stored = run.records(&topic).await?;
    if let Err(failure) = check_topic(run, &stored) {
        return Err(run.explain_wrong_topic(failure, &topic, &sent).await);
    }
    check_sent(run, &sent, &stored)?;
    run.transcript
        .section("producer", run.process(producer).lines());

    run.step(2);
    let group = run.unique(lab01::GROUP);
    let consumer = run.start(
        Launch::new("consumer", &["consume"])
            .env(env::KAFKA_TOPIC, &topic)
            .env(env::KAFKA_GROUP_ID, &group),
    )?;
    let reading = run.wait_reading(Reader {
        id: consumer,
        group: &group,
        topic: &topic,
        patience: run.patience(lab01::TIMERS),
    });
    // A consumer in a group of its own naming is named from the broker at once.
    let expected = [group.as_str()];
    tokio::select! {
        read = reading => read?,
        stray = run.strayed(&topic, &expected) => return Err(stray),
    }
    let received = reports(run, consumer, "received")?;
    check_received(run, &received, &stored)?;
    if let Err(failure) = run
        .check_committed_to_end("the group", &group, &topic)
        .await
    {
        return Err(run.explain_stray(failure, &topic, &expected).await);
    }

    run.step(3);
    check_order_per_key(run, &received)?;
    let mut lines: Vec<(i32, i64, String)> = received
        .iter()
        .zip(run.process(consumer).lines())
        .map(|(record, line)| (record.partition, record.offset, line))
        .collect();
    lines.sort();
    run.transcript.section(
        "consumer, sorted by partition and offset",
        lines.into_iter().map(|(_, _, line)| line),
    );
    Ok(())
}

/// Parses every stdout line of `id` as `<verb> <order> key=<k> partition=<p> offset=<o>`.
fn reports(run: &Run<'_>, id: ProcessId, verb: &str) -> Result<Vec<Stored>, Failure> {
    let process = run.process(id);
    process
        .lines()
        .iter()
        .map(|line| {
            let fields = Fields::parse(line);
            let parsed = match (
                fields.words.as_slice(),
                fields.text("key"),
                fields.number("partition"),
                fields.number("offset"),
            ) {
                ([word, order], Some(key), Some(partition), Some(offset)) if *word == verb => {
                    Some(Stored {
                        partition: partition as i32,
                        offset,
                        key: key.to_string(),
                        payload: order.to_string(),
                    })
                }
                _ => None,
            };
            parsed.ok_or_else(|| {
                run.off_contract(
                    Some(process.label()),
                    line,
                    &format!("{verb} <order> key=<customer> partition=<p> offset=<o>"),
                )
            })
        })
        .collect()
}

fn check_topic(run: &Run<'_>, stored: &[Stored]) -> Result<(), Failure> {
    let mut in_topic: Vec<(String, String)> = stored
        .iter()
        .map(|r| (r.payload.clone(), r.key.clone()))
        .collect();
    in_topic.sort();
    let expected: Vec<(String, String)> = ORDERS
        .iter()
        .map(|(o, c)| (o.to_string(), c.to_string()))
        .collect();
    if in_topic != expected {
        let found = stored
            .iter()
            .map(|r| format!("{} key={:?} partition={}", r.payload, r.key, r.partition))
            .collect::<Vec<_>>();
        return Err(run
            .fail(format!(
                "the topic should hold the five orders, each keyed by its customer; it holds {} record(s)",
                stored.len()
            ))
            .detail(if found.is_empty() { "(the topic is empty)".to_string() } else { found.join("\n") }));
    }
    let mut partition_of: BTreeMap<&str, i32> = BTreeMap::new();
    for record in stored {
        let first = *partition_of.entry(&record.key).or_insert(record.partition);
        if first != record.partition {
            return Err(run.fail(format!(
                "orders of {} landed on partitions {first} and {}: one key must map to one partition",
                record.key, record.partition
            )));
        }
    }
    Ok(())
}

fn check_sent(run: &Run<'_>, sent: &[Stored], stored: &[Stored]) -> Result<(), Failure> {
    let sending_order: Vec<&str> = sent.iter().map(|r| r.payload.as_str()).collect();
    let expected: Vec<&str> = ORDERS.iter().map(|(o, _)| *o).collect();
    if sending_order != expected {
        return Err(run
            .fail("the producer must report every order once, in the order it sent them")
            .detail(format!("reported: {sending_order:?}"))
            .detail(format!("expected: {expected:?}")));
    }
    for record in sent {
        if !stored.contains(record) {
            return Err(run
                .fail("the producer reported a delivery that is not what the broker stored")
                .detail(format!(
                    "reported {} key={} partition={} offset={}",
                    record.payload, record.key, record.partition, record.offset
                )));
        }
    }
    for (order, customer) in ORDERS {
        // Within one partition, the offsets must follow the sending order.
        let offsets: Vec<i64> = stored
            .iter()
            .filter(|r| r.key == customer)
            .map(|r| r.offset)
            .collect();
        let mut in_order = offsets.clone();
        in_order.sort_unstable();
        if offsets != in_order {
            return Err(run.fail(format!(
                "{customer}'s orders are stored out of order around {order}: await each send before the next"
            )));
        }
    }
    Ok(())
}

fn check_received(run: &Run<'_>, received: &[Stored], stored: &[Stored]) -> Result<(), Failure> {
    for record in received {
        if !stored.contains(record) {
            return Err(run
                .fail("the consumer reported a message the topic does not hold")
                .detail(format!(
                    "reported {} key={} partition={} offset={}",
                    record.payload, record.key, record.partition, record.offset
                )));
        }
    }
    let missing: Vec<&str> = stored
        .iter()
        .filter(|r| received.iter().filter(|x| x == r).count() != 1)
        .map(|r| r.payload.as_str())
        .collect();
    if !missing.is_empty() || received.len() != stored.len() {
        return Err(run.fail(format!(
            "the consumer must read each of the five orders exactly once; it read {} message(s), \
             and these were missing or repeated: {missing:?}",
            received.len()
        )));
    }
    Ok(())
}

fn check_order_per_key(run: &Run<'_>, received: &[Stored]) -> Result<(), Failure> {
    for (_, customer) in ORDERS {
        let got: Vec<&str> = received
            .iter()
            .filter(|r| r.key == customer)
            .map(|r| r.payload.as_str())
            .collect();
        let sent: Vec<&str> = ORDERS
            .iter()
            .filter(|(_, c)| *c == customer)
            .map(|(o, _)| *o)
            .collect();
        if got != sent {
            return Err(run
                .fail(format!("{customer}'s orders came back out of order"))
                .detail(format!("received {got:?}, sent {sent:?}")));
        }
    }
    Ok(())
}
