//! `checker doctor`: which brokers the checker can use on this machine, and why not.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use console::style;

use crate::broker::container::{self, ContainerInfo, Engine};
use crate::broker::{local, probe, BrokerChoice};
use crate::broker_choice::{Selection, BROKER_VAR, FILE_NAME};
use crate::confinement::Enforced;

/// One backend's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `embedded`, `container`, `local` or `external`.
    pub backend: &'static str,
    /// `Some(true)`: usable; `Some(false)`: not usable; `None`: not configured.
    pub usable: Option<bool>,
    /// What was found, one line each.
    pub lines: Vec<String>,
}

/// Checks every backend and prints a report. Fails only when the broker that would be
/// used (`selection`) is not usable, so scripts can rely on the exit code.
pub async fn run(selection: &Selection) -> Result<()> {
    let findings = vec![
        embedded().await,
        container_backend(&selection.image).await,
        local_backend(
            selection.kafka_home.as_deref(),
            matches!(selection.choice, BrokerChoice::Local { .. }),
        )
        .await,
        external(selection).await,
    ];
    println!("Brokers the checker can use on this machine:\n");
    for finding in &findings {
        let verdict = match finding.usable {
            Some(true) => style("usable").green().bold(),
            Some(false) => style("not usable").red().bold(),
            None => style("not set").dim(),
        };
        let mut lines = finding.lines.iter();
        println!(
            "  {:<10} {:<10}  {}",
            finding.backend,
            verdict,
            lines.next().map(String::as_str).unwrap_or("")
        );
        for line in lines {
            println!("  {:<10} {:<10}  {line}", "", "");
        }
    }
    println!(
        "\nSelected: {} (from {}). Choose with --broker, {BROKER_VAR} or `broker = ...` in {FILE_NAME}.",
        selection.choice, selection.source
    );
    println!(
        "Sandbox of programs graded by `checker grade`: {}.",
        Enforced::here().describe()
    );
    let selected = findings
        .iter()
        .find(|f| f.backend == selection.choice.kind())
        .expect("every backend is checked");
    if selected.usable != Some(true) && !matches!(selection.choice, BrokerChoice::External(_)) {
        bail!(
            "the selected broker ({}) is not usable here",
            selection.choice.kind()
        );
    }
    if let BrokerChoice::External(address) = &selection.choice {
        if selected.usable != Some(true) {
            bail!("the selected broker at {address} does not answer");
        }
    }
    Ok(())
}

/// The mock cluster: started and asked for metadata.
pub async fn embedded() -> Finding {
    let result = tokio::task::spawn_blocking(|| {
        let broker = crate::broker::embedded::start()?;
        probe(broker.bootstrap(), Duration::from_secs(5))
    })
    .await
    .map_err(anyhow::Error::from)
    .and_then(|r| r);
    match result {
        Ok(()) => Finding {
            backend: "embedded",
            usable: Some(true),
            lines: vec!["librdkafka's mock cluster inside the checker; nothing to install".into()],
        },
        Err(e) => Finding {
            backend: "embedded",
            usable: Some(false),
            lines: vec![format!("the mock cluster did not start: {e:#}")],
        },
    }
}

/// Docker or Podman: installed? answering? the image here? course containers?
pub async fn container_backend(image: &str) -> Finding {
    let reports = container::survey().await;
    let mut lines = Vec::new();
    for report in &reports {
        let place = report
            .program
            .as_ref()
            .map(|p| format!(" ({})", p.display()))
            .unwrap_or_default();
        match &report.status {
            Ok(engine) => lines.push(format!(
                "{}{place}: answers ({} {})",
                report.name,
                engine.name(),
                engine.version()
            )),
            Err(why) if report.program.is_some() => {
                lines.push(format!("{}{place}: does not answer: {why}", report.name))
            }
            Err(why) => lines.push(format!("{}: {why}", report.name)),
        }
    }
    let engine = match container::pick(reports) {
        Ok(engine) => engine,
        Err(e) => {
            lines.push(e.to_string());
            return Finding {
                backend: "container",
                usable: Some(false),
                lines,
            };
        }
    };
    lines.push(format!("uses {}", engine.name()));
    lines.push(image_line(&engine, image).await);
    if let Ok(containers) = engine.course_containers().await {
        lines.extend(containers.iter().map(describe_container));
    }
    Finding {
        backend: "container",
        usable: Some(true),
        lines,
    }
}

async fn image_line(engine: &Engine, image: &str) -> String {
    if engine.has_image(image).await {
        format!("image {image} is here")
    } else {
        format!(
            "image {image} is not here yet: the first run pulls it (this needs the network; \
             `{} pull {}` does it now)",
            engine.name(),
            engine.qualify(image)
        )
    }
}

fn describe_container(info: &ContainerInfo) -> String {
    let state = if info.running { "running" } else { "stopped" };
    match info.role.as_str() {
        "session" => format!(
            "session container {} ({}) is {state} at {} (`checker broker down` removes it)",
            info.name, info.image, info.bootstrap
        ),
        _ => format!(
            "container {} is {state} (left by checker process {}; `checker broker down` removes it)",
            info.name,
            info.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
        ),
    }
}

/// An Apache Kafka installed here: its Java, its installation, and, when it is the selected
/// broker, whether it starts (a JVM broker takes some seconds, so only then).
pub async fn local_backend(home: Option<&Path>, selected: bool) -> Finding {
    let mut lines = Vec::new();
    let not_usable = |mut lines: Vec<String>, why: String| {
        lines.push(why);
        Finding {
            backend: "local",
            usable: Some(false),
            lines,
        }
    };
    let java = match local::Java::find() {
        Ok(java) => java,
        Err(e) => return not_usable(lines, e.to_string()),
    };
    let place = match java.program.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => java.program.display().to_string(),
        _ => format!("{} on the PATH", java.program.display()),
    };
    lines.push(format!(
        "Java {} at {place} ({})",
        java.version, java.banner
    ));
    let home = match local::require_home(home) {
        Ok(home) => home,
        Err(e) => {
            lines.push(e.to_string());
            return Finding {
                backend: "local",
                usable: None,
                lines,
            };
        }
    };
    let installation = match local::Installation::open(&home) {
        Ok(installation) => installation,
        Err(e) => return not_usable(lines, e.to_string()),
    };
    lines.push(format!(
        "Apache Kafka {} at {}",
        installation.version,
        installation.home.display()
    ));
    if selected {
        let started = Instant::now();
        match local::LocalKafka::start(installation, java, local::Port::Any).await {
            Ok(kafka) => {
                lines.push(format!(
                    "started and answered in {:.1} s",
                    started.elapsed().as_secs_f64()
                ));
                kafka.stop();
            }
            Err(e) => return not_usable(lines, format!("does not start: {e:#}")),
        }
    }
    Finding {
        backend: "local",
        usable: Some(true),
        lines,
    }
}

/// An existing cluster, if the command line, the environment or the file names one.
pub async fn external(selection: &Selection) -> Finding {
    let named = match (&selection.choice, &selection.configured_external) {
        (BrokerChoice::External(address), _) => Some((address.clone(), selection.source.clone())),
        (_, Some((address, source))) => Some((address.clone(), source.clone())),
        _ => None,
    };
    let Some((address, source)) = named else {
        return Finding {
            backend: "external",
            usable: None,
            lines: vec![format!(
                "name a cluster with --broker HOST:PORT, {BROKER_VAR}=HOST:PORT or \
                 `broker = \"HOST:PORT\"` in {FILE_NAME}"
            )],
        };
    };
    let target = address.clone();
    let answered =
        tokio::task::spawn_blocking(move || probe(&target, Duration::from_secs(5))).await;
    match answered {
        Ok(Ok(())) => Finding {
            backend: "external",
            usable: Some(true),
            lines: vec![format!("Kafka at {address} (from {source}) answers")],
        },
        Ok(Err(e)) => Finding {
            backend: "external",
            usable: Some(false),
            lines: vec![format!(
                "Kafka at {address} (from {source}) does not answer: {e}"
            )],
        },
        Err(e) => Finding {
            backend: "external",
            usable: Some(false),
            lines: vec![format!("cannot check {address}: {e}")],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker_choice::{resolve_with, ConfigFile, Flags};

    #[tokio::test]
    async fn the_embedded_broker_is_always_usable() {
        let finding = embedded().await;
        assert_eq!(finding.usable, Some(true), "{finding:?}");
    }

    #[tokio::test]
    async fn an_external_cluster_is_checked_only_when_named() {
        let none = resolve_with(Flags::default(), |_| None, &ConfigFile::default(), None).unwrap();
        assert_eq!(external(&none).await.usable, None);

        let file = ConfigFile::parse("broker = \"127.0.0.1:1\"").unwrap();
        let flags = Flags {
            broker: Some(BrokerChoice::Embedded),
            ..Flags::default()
        };
        let named = resolve_with(flags, |_| None, &file, None).unwrap();
        let finding = external(&named).await;
        assert_eq!(finding.usable, Some(false));
        assert!(
            finding.lines[0].contains("127.0.0.1:1 (from checker.toml) does not answer"),
            "{finding:?}"
        );
        // Embedded is selected and usable, so the doctor succeeds.
        run(&named).await.unwrap();

        let selected = resolve_with(Flags::default(), |_| None, &file, None).unwrap();
        let error = run(&selected).await.unwrap_err();
        assert!(
            error.to_string().contains("127.0.0.1:1 does not answer"),
            "{error}"
        );
    }

    #[test]
    fn course_containers_are_described() {
        let session = ContainerInfo {
            name: "kafka-course".into(),
            running: true,
            role: "session".into(),
            bootstrap: "127.0.0.1:9092".into(),
            pid: None,
            image: "apache/kafka:4.3.1".into(),
        };
        assert_eq!(
            describe_container(&session),
            "session container kafka-course (apache/kafka:4.3.1) is running at 127.0.0.1:9092 \
             (`checker broker down` removes it)"
        );
    }
}
