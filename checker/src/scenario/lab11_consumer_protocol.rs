//! Lab 11: the consumer protocol (KIP-848). Each member first asks the client about a list
//! of settings drawn per run (the three the protocol moved to the broker, with drawn values,
//! and two it keeps on the client, in a drawn order) and prints what the client said; the
//! checker asks librdkafka the same and holds every member to its answers. Then two members
//! split four partitions; a third joins and takes its share without the others revoking
//! anything they keep; and the third leaves again, its partitions added to the others'.

use std::time::Duration;

use lab_contract::{env, lab11, GroupTimers};
use rdkafka::consumer::BaseConsumer;
use rdkafka::ClientConfig;

use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::{Outgoing, Stored};
use crate::process::Launch;

/// The topic's partitions.
const PARTITIONS: usize = lab11::TOPIC.partitions as usize;

/// Values a classic consumer might give the settings the protocol moved to the broker.
const BROKER_SIDE_VALUES: [(&str, &[&str]); 3] = [
    ("session.timeout.ms", &["6000", "10000", "45000"]),
    ("heartbeat.interval.ms", &["500", "1000", "3000"]),
    (
        "partition.assignment.strategy",
        &["range", "roundrobin", "cooperative-sticky"],
    ),
];

/// Settings the consumer protocol leaves to the client, with values: two are drawn per run,
/// so that a program that answers "refused" without asking is caught.
const CLIENT_SIDE_VALUES: [(&str, &[&str]); 6] = [
    ("fetch.min.bytes", &["1", "64", "1024"]),
    ("auto.offset.reset", &["earliest", "latest"]),
    ("enable.auto.commit", &["true", "false"]),
    ("fetch.wait.max.ms", &["100", "250", "500"]),
    ("max.poll.interval.ms", &["300000", "600000"]),
    ("client.id", &["parcel-tracker", "tracker-7"]),
];

/// How many of [`CLIENT_SIDE_VALUES`] a run asks about.
const CLIENT_SIDE_ASKED: usize = 2;

/// The settings this run asks about: every broker-side one and [`CLIENT_SIDE_ASKED`]
/// client-side ones, values and order drawn.
fn draw_settings(rng: &mut fastrand::Rng) -> Vec<(String, String)> {
    let pick = |rng: &mut fastrand::Rng, (name, values): (&str, &[&str])| {
        (
            name.to_string(),
            values[rng.usize(..values.len())].to_string(),
        )
    };
    let mut client_side = CLIENT_SIDE_VALUES.to_vec();
    rng.shuffle(&mut client_side);
    let mut settings: Vec<(String, String)> = BROKER_SIDE_VALUES
        .into_iter()
        .chain(client_side.into_iter().take(CLIENT_SIDE_ASKED))
        .map(|setting| pick(rng, setting))
        .collect();
    rng.shuffle(&mut settings);
    settings
}

/// Whether librdkafka refuses to create a consumer-protocol consumer with `name=value`:
/// the answer every member is held to. No broker is asked; the check is the client's.
fn client_refuses(name: &str, value: &str) -> bool {
    ClientConfig::new()
        .set("group.id", "lab11-truth")
        .set("group.protocol", "consumer")
        .set(name, value)
        .create::<BaseConsumer>()
        .is_err()
}

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
    let settings = draw_settings(&mut fastrand::Rng::new());
    let asked = lab11::format_settings(&settings);
    let start = |run: &mut Run<'_>, name: &str| {
        let id = run.start(
            Launch::new(name, &[])
                .env(env::KAFKA_TOPIC, &topic)
                .env(env::KAFKA_GROUP_ID, &group)
                .env(env::SETTINGS, &asked),
        )?;
        run.mark(id, format!("drawn: {}={asked}", env::SETTINGS));
        Ok::<_, Failure>(id)
    };
    let a = start(run, "member A")?;
    let b = start(run, "member B")?;

    run.step(2);
    for id in [a, b] {
        check_refusals(run, id, &settings).await?;
    }

    run.step(1);
    wait_split(run, &[a, b], patience.formation(2) + reconcile).await?;
    let mut parcels = produce(run, &topic, 1).await?;
    run.wait_received(&[a, b], &parcels).await?;

    run.step(3);
    let before = run.owned_and_printed(&[a, b]);
    let c = start(run, "member C")?;
    check_refusals(run, c, &settings).await?;
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
            .map(|(setting, _)| format!("{setting}: refused by the client, in every member"))
            .chain([format!(
                "{CLIENT_SIDE_ASKED} settings it leaves to the client, drawn per run: accepted, \
                 in every member"
            )]),
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

/// Each member printed, before joining, the client's answer on every asked setting, and
/// each answer is librdkafka's.
async fn check_refusals(
    run: &Run<'_>,
    id: ProcessId,
    settings: &[(String, String)],
) -> Result<(), Failure> {
    let label = run.process(id).label().to_string();
    let answer = |lines: &[String], name: &str| -> Option<bool> {
        lines.iter().find_map(|l| {
            if l.starts_with(&format!("refused {name}:")) {
                Some(true)
            } else if *l == format!("accepted {name}") {
                Some(false)
            } else {
                None
            }
        })
    };
    let lines = run
        .wait_for(
            &format!("{label} to report the client's answer on each setting in SETTINGS"),
            EVENT_TIMEOUT,
            |run| {
                let lines = run.process(id).lines();
                let answered = settings
                    .iter()
                    .all(|(name, _)| answer(&lines, name).is_some());
                Ok(answered.then_some(lines))
            },
        )
        .await?;
    for (name, value) in settings {
        let refused = client_refuses(name, value);
        if answer(&lines, name) == Some(refused) {
            continue;
        }
        let failure = if refused {
            run.fail(format!(
                "{label} reports that the client accepted {name}={value} with \
                 group.protocol=consumer"
            ))
            .detail(
                "Set group.protocol=consumer in the consumer's settings, then add the \
                 setting: librdkafka refuses the three broker-side ones at creation (\"… is not \
                 supported for `group.protocol=consumer`\").",
            )
        } else {
            run.fail(format!(
                "{label} reports that the client refused {name}={value}, which it accepts with \
                 group.protocol=consumer"
            ))
            .detail(
                "Ask the client: create the consumer with the setting and see whether creation \
                 fails. The settings in SETTINGS are drawn per run, and some of them stay on the \
                 client under the consumer protocol.",
            )
        };
        return Err(failure);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_refuses_every_broker_side_value_and_accepts_every_client_side_one() {
        for (name, values) in BROKER_SIDE_VALUES {
            for value in values {
                assert!(client_refuses(name, value), "{name}={value}");
            }
        }
        for (name, values) in CLIENT_SIDE_VALUES {
            for value in values {
                assert!(!client_refuses(name, value), "{name}={value}");
            }
        }
    }

    #[test]
    fn a_draw_asks_every_broker_side_setting_and_two_others_in_a_drawn_order() {
        let mut rng = fastrand::Rng::with_seed(11);
        let mut orders = std::collections::HashSet::new();
        for _ in 0..20 {
            let drawn = draw_settings(&mut rng);
            assert_eq!(drawn.len(), BROKER_SIDE_VALUES.len() + CLIENT_SIDE_ASKED);
            for (name, _) in BROKER_SIDE_VALUES {
                assert!(drawn.iter().any(|(n, _)| n == name), "{drawn:?}");
            }
            let text = lab11::format_settings(&drawn);
            assert_eq!(lab11::parse_settings(&text), drawn);
            orders.insert(drawn.into_iter().map(|(n, _)| n).collect::<Vec<_>>());
        }
        assert!(orders.len() > 1, "the order is drawn");
    }
}
