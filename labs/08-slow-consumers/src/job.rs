//! A render job: an id and how long it takes.

use std::time::Duration;

/// One job, as the topic carries it: `<id> <milliseconds>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Which job.
    pub id: String,
    /// How long rendering it takes.
    pub takes: Duration,
}

impl Job {
    /// Reads a job from a message's value, or says why it is not one.
    pub fn parse(text: &str) -> Result<Job, String> {
        match text.split_whitespace().collect::<Vec<_>>().as_slice() {
            [id, ms] => ms
                .parse()
                .map(|ms| Job {
                    id: id.to_string(),
                    takes: Duration::from_millis(ms),
                })
                .map_err(|e| format!("{ms:?} is not a number of milliseconds: {e}")),
            _ => Err(format!("{text:?} is not `<id> <milliseconds>`")),
        }
    }
}

/// Renders `job`: simulated work that takes `job.takes`.
pub async fn render(job: &Job) {
    tokio::time::sleep(job.takes).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_an_id_and_milliseconds() {
        let job = Job::parse("render1 250").unwrap();
        assert_eq!(job.id, "render1");
        assert_eq!(job.takes, Duration::from_millis(250));
        assert!(Job::parse("render1").is_err());
        assert!(Job::parse("render1 soon").is_err());
    }
}
