//! Lab 2: the members of one group share the partitions; parallelism is
//! min(group size, partitions), and members beyond the partition count stay idle.

use std::collections::BTreeMap;

use lab_contract::{env, lab02};

use super::group::{self, Owners};
use super::reading::Handling;
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::{Outgoing, Stored};
use crate::process::Launch;

/// Three partitions, so a group of two is uneven and a group of four has an idle member.
const PARTITIONS: i32 = lab02::TOPIC.partitions;
/// Orders the checker writes to each partition.
const ORDERS_PER_PARTITION: i32 = 2;

/// The group sizes: one smaller and one larger than the partition count.
const SIZES: [usize; 2] = [2, 4];

/// One group size's own topic, group and process.
struct Phase {
    size: usize,
    topic: String,
    group: String,
    id: ProcessId,
}

/// Plays the scenario for a group smaller and a group larger than the partition count. The
/// two are independent (a topic and a group each), so they run side by side.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    run.step(1);
    let patience = run.patience(lab02::TIMERS);
    let mut phases = Vec::new();
    for size in SIZES {
        phases.push(start(run, size).await?);
    }
    let mut owners = Vec::new();
    for phase in &phases {
        let expected = group::Expected {
            group: &phase.group,
            members: phase.size,
            partitions: PARTITIONS,
            patience,
        };
        owners.push(group::settle(run, phase.id, expected).await?);
    }

    run.step(2);
    let mut sent = Vec::new();
    for phase in &phases {
        sent.push(produce_orders(run, &phase.topic).await?);
    }
    for (phase, sent) in phases.iter().zip(&sent) {
        let id = phase.id;
        let handling = Handling {
            what: &format!("every order to be processed by the {}", label(phase.size)),
            ids: &[id],
            group: &phase.group,
            topic: &phase.topic,
            patience,
        };
        run.wait_handled(handling, |run| {
            let done = group::handled(&run.process(id).lines(), "processed");
            Ok(sent
                .iter()
                .all(|s| done.iter().any(|d| d.payload == s.payload))
                .then_some(()))
        })
        .await?;
    }
    for phase in &phases {
        run.terminate(phase.id);
    }
    for ((phase, owners), sent) in phases.iter().zip(&owners).zip(&sent) {
        run.step(2);
        run.wait_success(phase.id, EVENT_TIMEOUT).await?;
        let processed = check_processed(run, phase.id, owners, sent)?;
        run.step(3);
        check_parallelism(run, phase.size, owners, &processed, sent.len())?;
    }
    Ok(())
}

fn label(size: usize) -> String {
    format!("group of {size}")
}

/// Creates the topic and group of one size and starts its process.
async fn start(run: &mut Run<'_>, size: usize) -> Result<Phase, Failure> {
    let topic = run.tagged_topic(lab02::TOPIC, &size.to_string()).await?;
    let group = run.unique(&format!("{}-{size}", lab02::GROUP));
    let launch = Launch::new(label(size), &[])
        .env(env::KAFKA_TOPIC, &topic)
        .env(env::KAFKA_GROUP_ID, &group)
        .env(env::CONSUMER_GROUP_SIZE, size.to_string());
    let id = run.start(launch)?;
    Ok(Phase {
        size,
        topic,
        group,
        id,
    })
}

/// Exactly min(size, partitions) members own partitions; writes the size's section.
fn check_parallelism(
    run: &mut Run<'_>,
    size: usize,
    owners: &Owners,
    processed: &BTreeMap<usize, usize>,
    sent: usize,
) -> Result<(), Failure> {
    let busy = owners.values().filter(|owned| !owned.is_empty()).count();
    let expected_busy = size.min(PARTITIONS as usize);
    if busy != expected_busy {
        return Err(run.fail(format!(
            "{busy} of {size} consumers own partitions; with {PARTITIONS} partitions exactly {expected_busy} should"
        )));
    }
    let mut per_member: Vec<usize> = owners
        .keys()
        .map(|m| processed.get(m).copied().unwrap_or(0))
        .collect();
    per_member.sort_unstable_by(|a, b| b.cmp(a));
    run.transcript.section(
        format!("{size} consumers in one group, {PARTITIONS} partitions"),
        [
            format!("assignment: {}", group::shape(owners)),
            format!("busy consumers: {busy}, idle consumers: {}", size - busy),
            format!("orders processed: {sent}, each exactly once"),
            format!(
                "orders per consumer: {}",
                per_member
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(" + ")
            ),
        ],
    );
    Ok(())
}

/// Writes `ORDERS_PER_PARTITION` orders to each partition, round robin.
async fn produce_orders(run: &Run<'_>, topic: &str) -> Result<Vec<Stored>, Failure> {
    let outgoing: Vec<Outgoing> = (0..PARTITIONS * ORDERS_PER_PARTITION)
        .map(|i| Outgoing::to_partition(i % PARTITIONS, format!("order{}-{}", i + 1, run.nonce())))
        .collect();
    run.produce(topic, &outgoing).await
}

/// Checks every order was processed exactly once, by the owner of its partition, and
/// returns how many each member processed.
fn check_processed(
    run: &Run<'_>,
    id: ProcessId,
    owners: &Owners,
    sent: &[Stored],
) -> Result<BTreeMap<usize, usize>, Failure> {
    let lines = run.process(id).lines();
    if let Some(line) = group::unexpected(&lines, &["processed"]).first() {
        return Err(run.off_contract(
            None,
            line,
            "consumer <i> processed <order> partition=<p> offset=<o>",
        ));
    }
    let processed = group::handled(&lines, "processed");
    let mut per_member = BTreeMap::new();
    for record in sent {
        let handler = group::handled_once(&processed, &record.payload).map_err(|times| {
            run.fail(format!(
                "{} was processed {times} times; in one group every message is processed once",
                record.payload
            ))
        })?;
        if handler.partition != record.partition
            || handler.offset.is_some_and(|o| o != record.offset)
        {
            return Err(run.fail(format!(
                "consumer {} reported {} at partition {}, but the broker stored it at partition {} offset {}",
                handler.member, record.payload, handler.partition, record.partition, record.offset
            )));
        }
        if !owners
            .get(&handler.member)
            .is_some_and(|owned| owned.contains(&record.partition))
        {
            return Err(run.fail(format!(
                "consumer {} processed {} from partition {}, which it was not assigned",
                handler.member, record.payload, record.partition
            )));
        }
        *per_member.entry(handler.member).or_insert(0) += 1;
    }
    if let Some(stray) = processed
        .iter()
        .find(|h| !sent.iter().any(|s| s.payload == h.payload))
    {
        return Err(run.fail(format!(
            "consumer {} processed {}, which the checker never sent",
            stray.member, stray.payload
        )));
    }
    Ok(per_member)
}
