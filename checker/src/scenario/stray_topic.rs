//! Where a program's records went when they are not in the run's topic: a program that
//! ignores KAFKA_TOPIC writes to a topic of its own naming, and the broker can say which at
//! once, from the partition and offset the program itself reported.

use super::{Failure, Run};
use crate::broker::records::Stored;

impl Run<'_> {
    /// `failure`, or, where the first record a program reported sending (`reported`) is in
    /// another topic than `topic`, the failure that names that topic.
    pub async fn explain_wrong_topic(
        &self,
        failure: Failure,
        topic: &str,
        reported: &[Stored],
    ) -> Failure {
        let Some(first) = reported.first() else {
            return failure;
        };
        match self.broker.topics_holding(topic, first).await {
            Ok(found) if !found.is_empty() => self
                .fail(format!(
                    "the producer wrote to topic {}, not to this run's topic {topic}: its record \
                     `{}` is there at partition {} offset {}, where it reported it",
                    found.join(", "),
                    first.payload,
                    first.partition,
                    first.offset
                ))
                .detail(
                    "Write to the topic the program is given (KAFKA_TOPIC, through \
                     lab_contract::topic), not to one of your own naming.",
                ),
            _ => failure,
        }
    }
}
