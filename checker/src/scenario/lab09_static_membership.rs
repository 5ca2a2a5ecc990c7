//! Lab 9: static membership. Two instances with `group.instance.id` split four partitions.
//! One restarts within the session timeout: it gets its partitions back and the other
//! instance sees no rebalance. Then a second process joins with a running instance's id: the
//! running one is fenced (it says so and exits), the newcomer takes its place, and again the
//! other instance sees no rebalance.

use std::time::Duration;

use lab_contract::{env, lab09, AssignmentLine};
use tokio::time::Instant;

use super::lines::payloads;
use super::patience::Patience;
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::{Outgoing, Stored};
use crate::process::Launch;

/// The partitions of the topic.
const PARTITIONS: i32 = lab09::TOPIC.partitions;
/// Page views written to each partition in each batch.
const VIEWS_PER_PARTITION: i32 = 2;

/// The two instance ids.
const FIRST: &str = "instance-a";
const SECOND: &str = "instance-b";

/// Plays the scenario: a split, a restart, a duplicate instance id.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    let patience = run.patience(lab09::TIMERS);
    run.step(1);
    let topic = run.topic(lab09::TOPIC).await?;
    let group = run.unique(lab09::GROUP);
    let start = |run: &mut Run<'_>, label: &str, instance: &str| {
        run.start(
            Launch::new(label, &[])
                .env(env::KAFKA_TOPIC, &topic)
                .env(env::KAFKA_GROUP_ID, &group)
                .env(env::INSTANCE_ID, instance),
        )
    };
    let a = start(run, FIRST, FIRST)?;
    let b = start(run, SECOND, SECOND)?;
    wait_split(run, a, b, patience.formation(2)).await?;
    check_instance_ids(run, &group).await?;
    let mut views = produce(run, &topic, 1).await?;
    run.wait_received(&[a, b], &views).await?;
    let before = run.owned(a);
    if before.is_empty() {
        return Err(run.fail(format!("{FIRST} owns no partition after the split")));
    }

    // A restart within the session timeout.
    run.step(2);
    let b_lines = run.process(b).lines().len();
    run.terminate(a);
    run.wait_success(a, EVENT_TIMEOUT).await?;
    let restarted_at = Instant::now();
    let a2 = start(run, &format!("{FIRST} (restarted)"), FIRST)?;
    wait_split(run, a2, b, patience.formation(1) + patience.session()).await?;
    let handover = restarted_at.elapsed();
    check_no_rebalance(run, b, b_lines, patience, "restarted").await?;
    check_owns(run, a2, &before, "restarted within the session timeout")?;
    views.extend(produce(run, &topic, 2).await?);
    run.wait_received(&[a, a2, b], &views).await?;
    check_once(run, &[a, a2, b], &views)?;
    run.transcript.section(
        format!("{FIRST} restarted within the session timeout"),
        [
            format!("{FIRST} got its {} partitions back", before.len()),
            format!("{SECOND} saw no rebalance"),
            "no page view was received twice".to_string(),
        ],
    );
    run.measured("restart: SIGTERM to the partitions owned again", handover);

    // A second process with the running instance's id.
    run.step(3);
    let b_lines = run.process(b).lines().len();
    run.expect_end(a2);
    let a3 = start(run, &format!("{FIRST} (duplicate)"), FIRST)?;
    wait_fenced(run, a2, patience).await?;
    wait_split(run, a3, b, patience.formation(1) + patience.session()).await?;
    check_no_rebalance(run, b, b_lines, patience, "was fenced").await?;
    check_owns(run, a3, &before, "joined with the running instance's id")?;
    views.extend(produce(run, &topic, 3).await?);
    run.wait_received(&[a, a2, a3, b], &views).await?;
    run.transcript.section(
        format!("a second process joined as {FIRST}"),
        [
            format!("the running {FIRST} was fenced: it printed `fenced` and exited"),
            format!("the newcomer owns {FIRST}'s partitions; {SECOND} saw no rebalance"),
        ],
    );

    for id in [a3, b] {
        run.terminate(id);
    }
    for id in [a3, b] {
        run.wait_success(id, EVENT_TIMEOUT).await?;
    }
    Ok(())
}

/// Waits until the two instances share the partitions.
async fn wait_split(
    run: &Run<'_>,
    a: ProcessId,
    b: ProcessId,
    ceiling: Duration,
) -> Result<(), Failure> {
    run.wait_split(
        &[a, b],
        PARTITIONS as usize,
        ceiling,
        "Each instance prints its rebalances with AssignmentPrinter { member: None } as its \
         consumer's context.",
    )
    .await
}

/// The group's members joined with the instance ids they were given, as the coordinator
/// holds them (DescribeGroups): a member without one is dynamic, and one with an id of its
/// own making is a new instance at every start; either way a restart is a rebalance.
async fn check_instance_ids(run: &Run<'_>, group: &str) -> Result<(), Failure> {
    let members = crate::broker::wire::instance_ids(run.broker.bootstrap(), group)
        .await
        .map_err(|e| {
            run.fail(format!(
                "the checker could not describe group {group}: {e:#}"
            ))
        })?;
    let mut held: Vec<String> = members
        .iter()
        .map(|(_, id)| id.clone().unwrap_or_else(|| "none".to_string()))
        .collect();
    held.sort();
    if held != [FIRST, SECOND] {
        return Err(run
            .fail(format!(
                "the group's members joined with group.instance.id {}, not {FIRST} and {SECOND} \
                 as given: read from the broker (DescribeGroups)",
                held.join(" and ")
            ))
            .detail(
                "Set group.instance.id to the INSTANCE_ID each process is given (`main` reads \
                 it into `instance`), the same at every start. Without it (`none`) a member is \
                 dynamic; with an id made anew at each start it is a new instance; either way \
                 a restart costs a rebalance.",
            ));
    }
    Ok(())
}

/// `id`, an instance that took over `instance-a`'s place, owns what `instance-a` had.
fn check_owns(run: &Run<'_>, id: ProcessId, partitions: &[i32], how: &str) -> Result<(), Failure> {
    let owned = run.owned(id);
    if owned != partitions {
        return Err(run
            .fail(format!(
                "{FIRST} owned {partitions:?}; the instance that {how} owns {owned:?}"
            ))
            .detail(
                "A static member that takes its instance's place gets that instance's partitions \
                 back, with no rebalance: set group.instance.id from INSTANCE_ID.",
            ));
    }
    Ok(())
}

/// Grace for a rebalance to show: the other member hears of it at its next heartbeat and
/// prints its revoke from its next poll.
fn rebalance_grace(patience: Patience) -> Duration {
    patience.heartbeat() * 2 + Duration::from_secs(1)
}

/// Fails if `id` printed an assignment line after its first `since` lines, within the
/// rebalance grace from now.
async fn check_no_rebalance(
    run: &Run<'_>,
    id: ProcessId,
    since: usize,
    patience: Patience,
    what: &str,
) -> Result<(), Failure> {
    tokio::time::sleep(rebalance_grace(patience)).await;
    let lines = run.process(id).lines();
    if let Some(line) = lines[since..]
        .iter()
        .find(|l| AssignmentLine::parse(l).is_some())
    {
        return Err(run
            .fail(format!(
                "{SECOND} went through a rebalance when {FIRST} {what}: it printed `{line}`"
            ))
            .detail(
                "A static member (group.instance.id) does not send LeaveGroup when it closes, and \
                 when it comes back within session.timeout.ms the coordinator hands it its old \
                 place and partitions without a rebalance. Without an instance id, every restart \
                 costs the whole group two rebalances: one for the leave, one for the join.",
            ));
    }
    Ok(())
}

/// Waits until the fenced process has printed `fenced` and exited.
async fn wait_fenced(run: &Run<'_>, id: ProcessId, patience: Patience) -> Result<(), Failure> {
    let label = run.process(id).label().to_string();
    run.wait_for(
        &format!("{label} to be fenced and exit"),
        patience.heartbeat() * 4 + patience.reading(),
        |run| {
            let process = run.process(id);
            Ok(process.exit_status().map(|_| process.lines()))
        },
    )
    .await
    .map_err(|failure| {
        failure.detail(
            "Another process joined with this instance's group.instance.id: the coordinator \
             fenced this one (FENCED_INSTANCE_ID), and librdkafka reports it as a fatal error \
             from recv(). Print `fenced` and return.",
        )
    })
    .and_then(|lines| {
        if lines.iter().any(|l| l == "fenced") {
            Ok(())
        } else {
            Err(run.fail(format!(
                "{label} exited without printing `fenced` when another process took its instance id"
            )))
        }
    })
}

/// Writes a batch of page views, `VIEWS_PER_PARTITION` to each partition.
async fn produce(run: &Run<'_>, topic: &str, batch: i32) -> Result<Vec<Stored>, Failure> {
    let outgoing: Vec<Outgoing> = (0..PARTITIONS * VIEWS_PER_PARTITION)
        .map(|i| {
            Outgoing::to_partition(
                i % PARTITIONS,
                format!("view{batch}.{}-{}", i + 1, run.nonce()),
            )
        })
        .collect();
    run.produce(topic, &outgoing).await
}

/// No view was received twice across `ids`: the restarted instance resumed where its
/// predecessor committed.
fn check_once(run: &Run<'_>, ids: &[ProcessId], views: &[Stored]) -> Result<(), Failure> {
    let got: Vec<String> = ids
        .iter()
        .flat_map(|id| payloads(&run.process(*id).lines(), "received"))
        .collect();
    for view in views {
        let times = got.iter().filter(|g| **g == view.payload).count();
        if times > 1 {
            return Err(run
                .fail(format!(
                    "{} was received {times} times; the restarted instance should resume where \
                     the stopped one committed",
                    view.payload
                ))
                .detail(
                    "Closing the consumer (dropping it) commits what it received, when \
                     enable.auto.commit is on, as it is by default.",
                ));
        }
    }
    Ok(())
}
