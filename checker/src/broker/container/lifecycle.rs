//! A Kafka container's lifecycle: started with the course's labels and environment, ready
//! once Kafka answers, removed when the run ends (or kept, for the session container).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::{
    kafka_env, ContainerInfo, Engine, BOOTSTRAP_LABEL, CONTAINER_PORT, IMAGE_LABEL, LABEL,
    PID_LABEL, ROLE_LABEL, SESSION_NAME, SESSION_PORT,
};
use crate::broker::probe;
use crate::broker::teardown::{Pending, Teardown};
use crate::broker::watchdog::Watchdog;

/// How long Apache Kafka may take to start (a JVM on a small machine, an image on `vfs`).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(180);

/// The arguments of `run` for a course container.
fn run_args(engine: &Engine, name: &str, image: &str, host_port: u16, role: &str) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "run".into(),
        "-d".into(),
        "--name".into(),
        name.into(),
        "--label".into(),
        format!("{LABEL}=1"),
        "--label".into(),
        format!("{ROLE_LABEL}={role}"),
        "--label".into(),
        format!("{BOOTSTRAP_LABEL}=127.0.0.1:{host_port}"),
        "--label".into(),
        format!("{PID_LABEL}={}", std::process::id()),
        "--label".into(),
        format!("{IMAGE_LABEL}={image}"),
        // Only this machine may reach the broker.
        "-p".into(),
        format!("127.0.0.1:{host_port}:{CONTAINER_PORT}"),
    ];
    for (key, value) in kafka_env(host_port) {
        args.push("-e".into());
        args.push(format!("{key}={value}"));
    }
    args.push(engine.qualify(image));
    args
}

/// A port of 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether nothing listens on `port` of 127.0.0.1 right now.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Removing a container, registered so that an interrupted checker still does it.
pub(in crate::broker) struct Removal {
    engine: Engine,
    name: String,
    watchdog: Watchdog,
}

impl Removal {
    /// Removes the container now, and lets the watchdog go.
    pub(in crate::broker) fn run(self) {
        self.engine.remove_blocking(&[&self.name]);
        self.disarm();
    }

    /// Lets the watchdog go without removing anything.
    fn disarm(self) {
        self.watchdog.disarm();
    }
}

/// Kafka in a container, ready to serve.
pub struct ContainerBroker {
    engine: Engine,
    name: String,
    image: String,
    bootstrap: String,
    session: bool,
    /// Removing the container (a run's), or deleting what runs created on it (the session's).
    teardown: Pending,
}

impl ContainerBroker {
    /// A broker for one run: the session container of `checker broker up` if one of
    /// `image` is running, else a new container of `image`, removed when the run ends.
    pub async fn start(image: &str) -> Result<ContainerBroker> {
        let engine = Engine::detect().await?;
        if let Some(session) = engine.inspect(SESSION_NAME).await {
            if session.running && session.role == "session" && session.image == image {
                let broker = ContainerBroker::session(engine, session);
                broker.wait_ready().await?;
                return Ok(broker);
            }
        }
        remove_orphans(&engine).await;
        engine.ensure_image(image).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            let name = format!("kafka-course-run-{}-{port}", std::process::id());
            match ContainerBroker::launch(&engine, &name, image, port, "run").await {
                Ok(broker) => return Ok(broker),
                // Another program took the port between our check and the engine's bind.
                Err(e) if attempt < 3 && e.to_string().contains("address already in use") => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The session container of `checker broker up`: the running one (whatever its
    /// image: see [`ContainerBroker::image`]), or a new one of `image` on 127.0.0.1:9092 if
    /// that port is free (the labs' default address), else on a free port. Returns whether
    /// it was running already. It outlives the checker.
    pub async fn up(image: &str) -> Result<(ContainerBroker, bool)> {
        let engine = Engine::detect().await?;
        if let Some(session) = engine.inspect(SESSION_NAME).await {
            if session.running && session.role == "session" && !session.bootstrap.is_empty() {
                let broker = ContainerBroker::session(engine, session);
                broker.wait_ready().await?;
                return Ok((broker, true));
            }
            // Stopped (after a reboot, say): its port may be taken now; start afresh.
            engine.remove_blocking(&[SESSION_NAME]);
        }
        engine.ensure_image(image).await?;
        let port = if port_is_free(SESSION_PORT) {
            SESSION_PORT
        } else {
            free_port()?
        };
        let broker = ContainerBroker::launch(&engine, SESSION_NAME, image, port, "session").await?;
        // Ready: from now on it stays when the checker exits.
        let starting = broker
            .teardown
            .replace(Teardown::topics_on(&broker.bootstrap));
        if let Some(removal) = starting.container {
            removal.disarm();
        }
        Ok((broker, false))
    }

    /// Removes every course container, running or not (`checker broker down`), and
    /// returns their names.
    pub async fn down() -> Result<Vec<String>> {
        let engine = Engine::detect().await?;
        let names: Vec<String> = engine
            .course_containers()
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        engine.remove_blocking(&refs);
        let left = engine.course_containers().await?;
        if !left.is_empty() {
            bail!(
                "{} did not remove {}",
                engine.name(),
                left.iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(names)
    }

    /// The running session container, used without being removed afterwards.
    fn session(engine: Engine, info: ContainerInfo) -> ContainerBroker {
        ContainerBroker {
            teardown: Pending::register(Teardown::topics_on(&info.bootstrap)),
            engine,
            name: info.name,
            image: info.image,
            bootstrap: info.bootstrap,
            session: true,
        }
    }

    /// Starts container `name` and waits until Kafka in it answers. Whatever goes wrong,
    /// the container does not stay behind.
    async fn launch(
        engine: &Engine,
        name: &str,
        image: &str,
        port: u16,
        role: &str,
    ) -> Result<ContainerBroker> {
        // Registered before `run`: a container that was created but failed to start
        // (a port conflict, say) is removed too.
        let watchdog = Watchdog::arm(&engine.program, &engine.remove_args(&[name]));
        let teardown = Pending::register(Teardown {
            container: Some(Removal {
                engine: engine.clone(),
                name: name.to_string(),
                watchdog,
            }),
            ..Teardown::default()
        });
        let broker = ContainerBroker {
            engine: engine.clone(),
            name: name.to_string(),
            image: image.to_string(),
            bootstrap: format!("127.0.0.1:{port}"),
            session: role == "session",
            teardown,
        };
        let args = run_args(engine, name, image, port, role);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        engine
            .run_ok(&args, Duration::from_secs(300))
            .await
            .map_err(|e| anyhow!("{} cannot start {image}: {e}", engine.name()))?;
        broker.wait_ready().await?;
        Ok(broker)
    }

    /// Waits until the broker answers a metadata request, or its container has stopped.
    async fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let bootstrap = self.bootstrap.clone();
            let answered =
                tokio::task::spawn_blocking(move || probe(&bootstrap, Duration::from_secs(2)))
                    .await?;
            if answered.is_ok() {
                return Ok(());
            }
            let running = self
                .engine
                .inspect(&self.name)
                .await
                .is_some_and(|c| c.running);
            if !running {
                bail!(
                    "the Kafka container {} stopped while starting. Its last lines:\n{}",
                    self.name,
                    self.engine.logs(&self.name).await
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "Kafka in container {} did not answer at {} within {} s. Its last lines:\n{}",
                    self.name,
                    self.bootstrap,
                    STARTUP_TIMEOUT.as_secs(),
                    self.engine.logs(&self.name).await
                );
            }
        }
    }

    /// Where clients reach it: `127.0.0.1:<port>`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The image it runs.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The engine running it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether this is the session container of `checker broker up` (which stays).
    pub fn is_session(&self) -> bool {
        self.session
    }

    /// A one-line description for status output.
    pub fn describe(&self) -> String {
        format!(
            "Kafka ({}) in {} container {} at {}",
            self.image,
            self.engine.name(),
            self.name,
            self.bootstrap
        )
    }

    /// What ending a run on it must undo.
    pub(in crate::broker) fn teardown(&self) -> &Pending {
        &self.teardown
    }
}

/// Removes run containers whose checker is gone (killed before its watchdog could act).
async fn remove_orphans(engine: &Engine) {
    let Ok(containers) = engine.course_containers().await else {
        return;
    };
    let orphans: Vec<&str> = containers
        .iter()
        .filter(|c| c.role == "run")
        .filter(|c| match c.pid {
            Some(pid) => !process_alive(pid),
            None => false,
        })
        .map(|c| c.name.as_str())
        .collect();
    engine.remove_blocking(&orphans);
}

fn process_alive(pid: i32) -> bool {
    use nix::errno::Errno;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::container::engine::test_engine;
    use crate::broker::container::EngineKind;

    #[test]
    fn the_container_is_published_on_loopback_and_labelled() {
        let args = run_args(&test_engine(EngineKind::Docker), "n", "img:1", 40123, "run");
        let text = args.join(" ");
        assert!(
            text.starts_with("run -d --name n --label kafka-course=1"),
            "{text}"
        );
        assert!(text.contains("-p 127.0.0.1:40123:9092"), "{text}");
        assert!(text.contains("--label kafka-course.bootstrap=127.0.0.1:40123"));
        assert!(text.contains(&format!("--label kafka-course.pid={}", std::process::id())));
        assert!(text.contains("--label kafka-course.image=img:1"));
        assert_eq!(args.last().unwrap(), "img:1");
    }

    #[test]
    fn kafka_gets_its_environment_as_options() {
        let args = run_args(&test_engine(EngineKind::Docker), "n", "img:1", 40123, "run");
        let options: Vec<String> = args
            .windows(2)
            .filter(|pair| pair[0] == "-e")
            .map(|pair| pair[1].clone())
            .collect();
        let expected: Vec<String> = kafka_env(40123)
            .into_iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        assert_eq!(options, expected);
    }

    #[test]
    fn a_free_port_is_free() {
        let port = free_port().unwrap();
        assert!(port_is_free(port));
        let _taken = TcpListener::bind(("127.0.0.1", port)).unwrap();
        assert!(!port_is_free(port));
    }
}
