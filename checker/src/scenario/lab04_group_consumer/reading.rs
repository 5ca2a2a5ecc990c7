//! What lab 4's consumers read: the `Message from partition` lines, checked against what the
//! partitions hold.

use lab_contract::AssignmentLine;

use super::PARTITIONS;
use crate::broker::records::Stored;
use crate::scenario::{Failure, ProcessId, Run};

/// The `(partition, message)` pairs a consumer printed; any other line breaks the contract.
pub(super) fn messages(run: &Run<'_>, id: ProcessId) -> Result<Vec<(i32, String)>, Failure> {
    let process = run.process(id);
    let mut read = Vec::new();
    for line in process.lines() {
        if AssignmentLine::parse(&line).is_some() {
            continue;
        }
        let parsed = line
            .strip_prefix("Message from partition [")
            .and_then(|rest| rest.split_once("]: "))
            .and_then(|(partition, message)| Some((partition.parse().ok()?, message.to_string())));
        match parsed {
            Some(pair) => read.push(pair),
            None => {
                return Err(run.off_contract(
                    Some(process.label()),
                    &line,
                    "Message from partition [<p>]: <message>",
                ))
            }
        }
    }
    Ok(read)
}

/// A message as the contract prints it.
pub(super) fn line((partition, message): &(i32, String)) -> String {
    format!("Message from partition [{partition}]: {message}")
}

/// Within each partition, messages must arrive in the order they are stored.
pub(super) fn check_order(
    run: &Run<'_>,
    id: ProcessId,
    read: &[(i32, String)],
    stored: &[Stored],
) -> Result<(), Failure> {
    for partition in 0..PARTITIONS {
        let got: Vec<&String> = read
            .iter()
            .filter(|(p, _)| *p == partition)
            .map(|(_, m)| m)
            .collect();
        let offsets: Vec<i64> = got
            .iter()
            .filter_map(|m| stored.iter().find(|r| &&r.payload == m).map(|r| r.offset))
            .collect();
        if offsets.windows(2).any(|w| w[0] >= w[1]) {
            return Err(run.fail(format!(
                "{} read partition {partition} out of order: {got:?}",
                run.process(id).label()
            )));
        }
    }
    Ok(())
}

/// The group as a whole read every stored message exactly once, from its real partition.
pub(super) fn check_all_once(
    run: &Run<'_>,
    group: &str,
    read: &[(i32, String)],
    stored: &[Stored],
) -> Result<(), Failure> {
    for record in stored {
        let times = read.iter().filter(|(_, m)| *m == record.payload).count();
        if times != 1 {
            return Err(run.fail(format!(
                "{group} read {:?} {times} times; a group reads each message once",
                record.payload
            )));
        }
    }
    for (partition, message) in read {
        if !stored
            .iter()
            .any(|r| r.partition == *partition && r.payload == *message)
        {
            return Err(run.fail(format!(
                "{group} reported {message:?} from partition {partition}, which that partition does not hold"
            )));
        }
    }
    Ok(())
}
