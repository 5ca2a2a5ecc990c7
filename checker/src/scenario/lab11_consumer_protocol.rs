//! Lab 11: the consumer protocol (KIP-848). Each member first shows the client refusing the
//! settings the protocol moved to the broker. Then two members split four partitions; a
//! third joins and takes its share without the others revoking anything they keep; and the
//! third leaves again, its partitions added to the others'.

use std::time::Duration;

use lab_contract::{env, lab11, GroupTimers};

use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::{Outgoing, Stored};
use crate::process::Launch;

/// The topic's partitions.
const PARTITIONS: usize = lab11::TOPIC.partitions as usize;

/// Plays the scenario.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    // A consumer-protocol member hears of every change in a heartbeat's answer, at the
    // pace the broker sets (`group.consumer.heartbeat.interval.ms`).
    let heartbeat = run.broker.consumer_heartbeat_interval();
    let patience = run.patience(GroupTimers {
        session_timeout_ms: 45_000,
        heartbeat_interval_ms: heartbeat.as_millis() as u64,
    });
    // A change reaches the member that gives a partition up at its next heartbeat, and the
    // one that takes it at a heartbeat after the first has let go.
    let reconcile = patience.heartbeat() * 4 + patience.rebalance();

    run.step(1);
    let topic = run.topic(lab11::TOPIC).await?;
    let group = run.unique(lab11::GROUP);
    let start = |run: &mut Run<'_>, name: &str| {
        run.start(
            Launch::new(name, &[])
                .env(env::KAFKA_TOPIC, &topic)
                .env(env::KAFKA_GROUP_ID, &group),
        )
    };
    let a = start(run, "member A")?;
    let b = start(run, "member B")?;

    run.step(2);
    for id in [a, b] {
        check_refusals(run, id).await?;
    }

    run.step(1);
    wait_split(run, &[a, b], patience.formation(2) + reconcile).await?;
    let mut parcels = produce(run, &topic, 1).await?;
    run.wait_received(&[a, b], &parcels).await?;

    run.step(3);
    let before = run.owned_and_printed(&[a, b]);
    let c = start(run, "member C")?;
    check_refusals(run, c).await?;
    wait_split(run, &[a, b, c], patience.formation(1) + reconcile).await?;
    check_incremental(run, &[a, b], &before, "member C joined")?;
    parcels.extend(produce(run, &topic, 2).await?);
    run.wait_received(&[a, b, c], &parcels).await?;

    run.step(4);
    let before = run.owned_and_printed(&[a, b]);
    run.terminate(c);
    run.wait_success(c, EVENT_TIMEOUT).await?;
    wait_split(run, &[a, b], reconcile).await?;
    check_incremental(run, &[a, b], &before, "member C left")?;
    for (id, (owned, _)) in [a, b].iter().zip(&before) {
        let now = run.owned(*id);
        if !owned.iter().all(|p| now.contains(p)) {
            return Err(run.fail(format!(
                "{} owned {owned:?} and now owns {now:?}: when a member leaves, the others keep \
                 what they had and are only added its partitions",
                run.process(*id).label()
            )));
        }
    }

    run.transcript.section(
        "settings the consumer protocol moved to the broker",
        lab11::BROKER_SIDE_SETTINGS
            .iter()
            .map(|(setting, _)| format!("{setting}: refused by the client, in every member")),
    );
    run.transcript.section(
        format!("2 members, then 3, then 2, on {PARTITIONS} partitions"),
        [
            "member C joined: A and B gave up only the partitions C took, and kept consuming the rest"
                .to_string(),
            "member C left: its partitions were added to A and B, who revoked nothing".to_string(),
            "every parcel was received".to_string(),
        ],
    );
    for id in [a, b] {
        run.terminate(id);
    }
    for id in [a, b] {
        run.wait_success(id, EVENT_TIMEOUT).await?;
    }
    Ok(())
}

/// Each member printed, before joining, that the client refused every broker-side setting.
async fn check_refusals(run: &Run<'_>, id: ProcessId) -> Result<(), Failure> {
    let label = run.process(id).label().to_string();
    let settings: Vec<&str> = lab11::BROKER_SIDE_SETTINGS
        .iter()
        .map(|(s, _)| *s)
        .collect();
    let lines = run
        .wait_for(
            &format!("{label} to report the client's answer on each broker-side setting"),
            EVENT_TIMEOUT,
            |run| {
                let lines = run.process(id).lines();
                let answered = settings.iter().all(|s| {
                    lines.iter().any(|l| {
                        l.starts_with(&format!("refused {s}:")) || *l == format!("accepted {s}")
                    })
                });
                Ok(answered.then_some(lines))
            },
        )
        .await?;
    for setting in settings {
        if lines.iter().any(|l| *l == format!("accepted {setting}")) {
            return Err(run
                .fail(format!(
                    "{label} reports that the client accepted {setting} with group.protocol=consumer"
                ))
                .detail(
                    "Set group.protocol=consumer in the consumer's settings, then add the \
                     setting: librdkafka refuses the three at creation (\"… is not supported for \
                     `group.protocol=consumer`\").",
                ));
        }
    }
    Ok(())
}

/// Waits until `ids` share the partitions.
async fn wait_split(run: &Run<'_>, ids: &[ProcessId], ceiling: Duration) -> Result<(), Failure> {
    run.wait_split(
        ids,
        PARTITIONS,
        ceiling,
        "Each member joins with group.protocol=consumer and prints its assignment changes \
         with AssignmentPrinter { member: None } as its consumer's context.",
    )
    .await
}

/// Since `before`, each member revoked only partitions it no longer owns: a change is
/// incremental, and what a member keeps it never stops consuming.
fn check_incremental(
    run: &Run<'_>,
    ids: &[ProcessId],
    before: &[(Vec<i32>, usize)],
    what: &str,
) -> Result<(), Failure> {
    for (id, (_, from)) in ids.iter().zip(before) {
        let label = run.process(*id).label().to_string();
        let now = run.owned(*id);
        let revoked = run.revoked_since(*id, *from);
        if let Some(kept) = revoked.iter().find(|p| now.contains(p)) {
            return Err(run
                .fail(format!(
                    "when {what}, {label} revoked partition {kept}, which it owns again now"
                ))
                .detail(
                    "Under the consumer protocol every change is incremental: a member gives up \
                     only what moves. Revoking everything and taking it back is the classic eager \
                     protocol; is group.protocol=consumer set?",
                ));
        }
    }
    Ok(())
}

/// Writes a batch of parcels, two to each partition.
async fn produce(run: &Run<'_>, topic: &str, batch: usize) -> Result<Vec<Stored>, Failure> {
    let outgoing: Vec<Outgoing> = (0..PARTITIONS * 2)
        .map(|i| {
            Outgoing::to_partition(
                (i % PARTITIONS) as i32,
                format!("parcel{batch}.{}-{}", i + 1, run.nonce()),
            )
        })
        .collect();
    run.produce(topic, &outgoing).await
}
