//! Kafka's environment in the container: the apache/kafka image's settings, kept as data in
//! `kafka.env`, with this run's port filled in.

/// `kafka.env`, in docker's `--env-file` format plus the placeholder [`HOST_PORT`].
const ENV_FILE: &str = include_str!("kafka.env");
/// Where `kafka.env` wants the host port that Kafka is published on.
const HOST_PORT: &str = "{host_port}";

/// The environment of a single-node KRaft Apache Kafka whose clients reach it at
/// `127.0.0.1:<host_port>`: combined broker and controller, replication factor 1 for the
/// internal topics, and no initial rebalance delay (the course's groups form at once).
/// `group.min.session.timeout.ms` keeps its default (6000), as in any Kafka.
///
/// The variables and their values are those of `kafka.env`, in its order.
pub fn kafka_env(host_port: u16) -> Vec<(&'static str, String)> {
    let port = host_port.to_string();
    parse_env_file(ENV_FILE)
        .into_iter()
        .map(|(key, value)| (key, value.replace(HOST_PORT, &port)))
        .collect()
}

/// The container's `group.initial.rebalance.delay.ms`, as `kafka.env` sets it.
pub fn initial_rebalance_delay() -> std::time::Duration {
    env_millis("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", 3000)
}

/// The container's `group.consumer.heartbeat.interval.ms`: as `kafka.env` sets it, or
/// Kafka's default.
pub fn consumer_heartbeat_interval() -> std::time::Duration {
    env_millis("KAFKA_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS", 5000)
}

/// A duration `kafka.env` sets in milliseconds under `key`, or Kafka's `default`.
fn env_millis(key: &str, default: u64) -> std::time::Duration {
    let millis = parse_env_file(ENV_FILE)
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, value)| value.parse().expect("kafka.env: a number of milliseconds"))
        .unwrap_or(default);
    std::time::Duration::from_millis(millis)
}

/// The `KEY=value` lines of an env file, skipping blank lines and `#` comments. Values are
/// taken literally, as docker does (no quotes, no `$` expansion).
///
/// The file is compiled in, so a malformed line is the checker's own bug: it panics, and
/// the tests below catch it.
fn parse_env_file(text: &'static str) -> Vec<(&'static str, &'static str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_start()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(number, line)| {
            line.split_once('=')
                .filter(|(key, _)| !key.is_empty() && !key.contains(char::is_whitespace))
                .unwrap_or_else(|| panic!("kafka.env line {number} is not KEY=value: {line:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::container::CONTAINER_PORT;

    /// The value of Kafka's setting `name` (`advertised.listeners`) in `env`. The image
    /// reads setting `a.b` from the variable named like it after its prefix: `<PREFIX>_A_B`.
    fn setting<'a>(env: &'a [(&str, String)], name: &str) -> Option<&'a str> {
        let wanted = name.replace('.', "_").to_ascii_uppercase();
        env.iter()
            .find(|(key, _)| key.split_once('_').is_some_and(|(_, rest)| rest == wanted))
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn the_env_file_parses_and_every_placeholder_is_filled() {
        let env = kafka_env(40123);
        assert_eq!(env.len(), 17, "{env:?}");
        let mut keys: Vec<&str> = env.iter().map(|(key, _)| *key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), env.len(), "a variable is set twice");
        for (key, value) in &env {
            assert!(!value.contains(['{', '}']), "{key}={value}");
        }
    }

    #[test]
    fn comments_and_blank_lines_are_not_variables() {
        assert_eq!(
            parse_env_file("# a comment\n\n  A=1\nB=x=y\nC=\n"),
            [("A", "1"), ("B", "x=y"), ("C", "")]
        );
    }

    #[test]
    #[should_panic(expected = "line 2 is not KEY=value")]
    fn a_line_without_a_value_is_a_bug() {
        parse_env_file("A=1\nB\n");
    }

    #[test]
    fn kafka_is_configured_for_a_fast_single_node_course() {
        let env = kafka_env(40123);
        let get = |name: &str| setting(&env, name).unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(
            get("advertised.listeners"),
            "PLAINTEXT://127.0.0.1:40123,INTERNAL://localhost:9094"
        );
        assert!(get("listeners").contains(&format!("PLAINTEXT://:{CONTAINER_PORT}")));
        assert_eq!(get("process.roles"), "broker,controller");
        assert_eq!(get("group.initial.rebalance.delay.ms"), "0");
        assert_eq!(initial_rebalance_delay(), std::time::Duration::ZERO);
        assert_eq!(get("offsets.topic.replication.factor"), "1");
        assert_eq!(get("transaction.state.log.replication.factor"), "1");
        assert_eq!(get("transaction.state.log.min.isr"), "1");
        // The session timeout floor stays Kafka's own (6000 ms).
        assert!(setting(&env, "group.min.session.timeout.ms").is_none());
        // Every listener has a security protocol.
        for listener in get("listeners").split(',') {
            let name = listener.split("://").next().unwrap();
            assert!(
                get("listener.security.protocol.map").contains(&format!("{name}:")),
                "{name}"
            );
        }
    }

    #[test]
    fn the_cluster_id_is_a_kafka_uuid() {
        let env = kafka_env(40123);
        let (_, id) = env.iter().find(|(key, _)| *key == "CLUSTER_ID").unwrap();
        assert_eq!(id.len(), 22);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn the_compose_file_runs_kafka_as_the_checker_does() {
        let compose = include_str!("../../../compose.yaml");
        assert!(compose.contains(&format!("image: {}", crate::broker::DEFAULT_IMAGE)));
        assert!(compose.contains("\"127.0.0.1:9092:9092\""), "{compose}");
        for (key, value) in kafka_env(9092) {
            assert!(
                compose.contains(&format!("{key}: \"{value}\"")),
                "compose.yaml lacks {key}: \"{value}\""
            );
        }
    }
}
