//! The course checker: runs each lab's program against a Kafka broker it starts itself and
//! tells the learner what is right and what is not.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use checker::broker::records::Outgoing;
use checker::broker::{self, Broker, BrokerChoice, ContainerBroker};
use checker::cleanup::{self, Stage};
use checker::info_file::{self, InfoFile, Variant};
use checker::state_file::StateFile;
use checker::{broker_choice, doctor, hint, list, report, status, verify};

/// Learn Kafka consumer groups by doing: verify your labs against a real Kafka-protocol broker.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The broker: `embedded` (default, nothing to install), `container` (Apache Kafka in
    /// Docker or Podman), `local` (an Apache Kafka installed here, see --kafka-home) or a
    /// bootstrap address. Default: $CHECKER_BROKER, then checker.toml.
    #[arg(long, global = true)]
    broker: Option<BrokerChoice>,
    /// The Apache Kafka installation `--broker local` runs: the folder with its libs/
    /// (default: $KAFKA_HOME, then checker.toml).
    #[arg(long, global = true, value_name = "DIR")]
    kafka_home: Option<std::path::PathBuf>,
    /// The image `--broker container` runs (default: $CHECKER_IMAGE, checker.toml, then
    /// apache/kafka:4.3.1).
    #[arg(long, global = true, value_name = "IMAGE")]
    image: Option<String>,
    /// Watch mode without watching files: check only when you press r or Enter (for file
    /// systems where watching fails).
    #[arg(long)]
    manual_run: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Show every lab and your progress.
    List,
    /// Check a lab (default: the first one not done).
    Verify {
        /// The lab, by number or name.
        lab: Option<String>,
        /// Check every lab, side by side on one broker, and print a summary.
        #[arg(long, conflicts_with = "lab")]
        all: bool,
        /// Check the reference solution instead of your crate.
        #[arg(long)]
        solution: bool,
        /// Also print the run's timeline: every line the programs printed, the checker's
        /// signals and the exits, with the time of each.
        #[arg(long, short, conflicts_with = "all")]
        verbose: bool,
        /// Serve the group view of the run's broker on 127.0.0.1 and open it, to watch the
        /// scenario's groups while the lab is judged; it stays up after the verdict until
        /// Enter or Ctrl-C.
        #[arg(long, conflicts_with = "all")]
        view: bool,
        /// The port of that view (default: a free one).
        #[arg(long, requires = "view", default_value_t = 0)]
        view_port: u16,
    },
    /// Put a lab back to its starter code from git (asks first); no other lab is touched.
    Reset {
        /// The lab, by number or name.
        lab: String,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Show the next hint for a lab.
    Hint {
        /// The lab, by number or name.
        lab: String,
    },
    /// Run a broker for running labs by hand.
    #[command(subcommand)]
    Broker(BrokerCommand),
    /// Show which brokers the checker can use on this machine, and why not.
    Doctor,
    /// Describe a consumer group: its state, members, and each partition's committed
    /// offset, end offset and lag (like `kafka-consumer-groups.sh --describe`).
    Group {
        /// The group id.
        group: String,
        /// The broker (default: $KAFKA_BOOTSTRAP_SERVERS, else localhost:9092, as the labs).
        #[arg(long, value_name = "HOST:PORT")]
        bootstrap: Option<String>,
        /// Also show the group's offsets on this topic (for an empty group).
        #[arg(long)]
        topic: Vec<String>,
        /// Keep reading the group every second and redraw it in place, until Ctrl-C (the
        /// group view for a terminal).
        #[arg(long)]
        watch: bool,
    },
    /// Serve a live view of a broker's groups and topics on 127.0.0.1 (members, partitions,
    /// lag, and each group's timeline), for any broker. Read-only.
    View {
        /// The broker (default: $KAFKA_BOOTSTRAP_SERVERS, else localhost:9092, as the labs).
        #[arg(long, value_name = "HOST:PORT")]
        bootstrap: Option<String>,
        /// The port the page is served on (default: a free one).
        #[arg(long, default_value_t = 0)]
        view_port: u16,
    },
    /// Write messages to a topic, one after another, and print where each landed: for
    /// running labs by hand (`sent <message> partition=<p> offset=<o>`).
    Produce {
        /// The topic.
        topic: String,
        /// The messages, one record each.
        #[arg(required = true)]
        messages: Vec<String>,
        /// Write every message to this partition (default: the producer's partitioner).
        #[arg(long)]
        partition: Option<i32>,
        /// Give every message this key.
        #[arg(long)]
        key: Option<String>,
        /// The broker (default: $KAFKA_BOOTSTRAP_SERVERS, else localhost:9092, as the labs).
        #[arg(long, value_name = "HOST:PORT")]
        bootstrap: Option<String>,
    },
    /// Grade a submission, or a class of them (for instructors): build in a sandbox, run
    /// every lab, report as text, JSON, JUnit, Exercism or GitHub Classroom results.
    Grade(checker::grade::Args),
    /// The book's mdBook preprocessor (run by mdbook, see book/book.toml).
    #[command(hide = true)]
    BookPreprocessor {
        /// What mdbook passes (`supports <renderer>`, or nothing).
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum BrokerCommand {
    /// Start a broker, create the course's topics, print its address (the embedded and the
    /// local broker run in the foreground; a container keeps running until `broker down`).
    Up {
        /// The port the local broker listens on (default: 9092 if it is free, else any).
        #[arg(long)]
        port: Option<u16>,
        /// The port of the group view the broker serves while it runs (default: a free one).
        #[arg(long, default_value_t = 0)]
        view_port: u16,
    },
    /// Remove the course's Kafka containers.
    Down,
    /// Serve the embedded broker on a fixed port: the broker of a stand-in Kafka image.
    #[command(hide = true)]
    Serve {
        /// The port to listen on (default: from KAFKA_LISTENERS, else 9092).
        #[arg(long)]
        port: Option<u16>,
        /// The HOST:PORT to announce (default: from KAFKA_ADVERTISED_LISTENERS).
        #[arg(long, value_name = "HOST:PORT")]
        advertise: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    cleanup::exit_on_ctrl_c();
    let result = run(cli).await;
    // No lab process outlives the checker, whatever `run` left behind.
    cleanup::run_stage(Stage::Processes);
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{} {error:#}", console::style("error:").red().bold());
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    // These two work outside the course (`serve` runs inside a container image).
    match &cli.command {
        Some(Command::Broker(BrokerCommand::Serve { port, advertise })) => {
            let options = broker::serve::ServeOptions {
                port: *port,
                advertise: advertise.clone(),
            };
            broker::serve::run(options).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Broker(BrokerCommand::Down)) => return broker_down().await,
        Some(Command::Group {
            group,
            bootstrap,
            topic,
            watch,
        }) => {
            let bootstrap = bootstrap
                .clone()
                .unwrap_or_else(lab_contract::bootstrap_servers);
            if *watch {
                checker::view::terminal::watch(&bootstrap, group, topic).await?;
                return Ok(ExitCode::SUCCESS);
            }
            let (group, topics) = (group.clone(), topic.clone());
            let report = tokio::task::spawn_blocking(move || {
                checker::consumer_group::describe(&bootstrap, &group, &topics)
            })
            .await??;
            print!("{}", checker::consumer_group::render(&report));
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::View {
            bootstrap,
            view_port,
        }) => {
            let bootstrap = bootstrap
                .clone()
                .unwrap_or_else(lab_contract::bootstrap_servers);
            checker::view::run(&bootstrap, *view_port).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Produce {
            topic,
            messages,
            partition,
            key,
            bootstrap,
        }) => {
            let bootstrap = bootstrap
                .clone()
                .unwrap_or_else(lab_contract::bootstrap_servers);
            let records: Vec<Outgoing> = messages
                .iter()
                .map(|message| Outgoing {
                    key: key.clone(),
                    partition: *partition,
                    payload: message.clone(),
                    timestamp: None,
                })
                .collect();
            for sent in broker::records::produce(&bootstrap, topic, &records).await? {
                println!(
                    "sent {} partition={} offset={}",
                    sent.payload, sent.partition, sent.offset
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let info = InfoFile::load();
    let root = info_file::course_root()?;
    let mut state = StateFile::load(&root);
    // Which broker: --broker/--image, then CHECKER_BROKER/CHECKER_IMAGE, then checker.toml.
    let flags = broker_choice::Flags {
        broker: cli.broker,
        image: cli.image,
        kafka_home: cli.kafka_home,
    };
    let manual_run = cli.manual_run;
    let select = || broker_choice::resolve(flags.clone(), Some(&root));
    match cli.command {
        Some(Command::List) => {
            list::print(&info, &state);
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Hint { lab }) => {
            let lab = info.find(&lab)?;
            hint::reveal(lab, &mut state);
            state.save()?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Verify {
            all: true,
            solution,
            ..
        }) => {
            let variant = if solution {
                Variant::Solution
            } else {
                Variant::Starter
            };
            let choice = select()?.choice;
            let passed =
                checker::verify_all::run(&choice, &root, &info, &mut state, variant).await?;
            Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Some(Command::Verify {
            lab,
            solution,
            verbose,
            view,
            view_port,
            ..
        }) => {
            let choice = select()?.choice;
            let shown = Shown {
                solution,
                verbose,
                view: view.then_some(view_port),
            };
            verify_one(&choice, &info, &mut state, lab.as_deref(), shown).await
        }
        Some(Command::Reset { lab, yes }) => {
            checker::reset::run(&root, &info, &mut state, &lab, yes)
        }
        // Watch mode reads keys, so it needs a terminal; without one (CI, a pipe) this
        // checks the current lab once and shows the progress, and never waits for input.
        None if std::io::stdin().is_terminal() => {
            let options = checker::watch::Options { manual_run };
            let choice = select()?.choice;
            checker::watch::run(&choice, &info, &root, options).await
        }
        None => {
            let choice = select()?.choice;
            let shown = Shown {
                solution: false,
                verbose: false,
                view: None,
            };
            let code = verify_one(&choice, &info, &mut state, None, shown).await?;
            println!();
            list::print(&info, &state);
            Ok(code)
        }
        Some(Command::Broker(BrokerCommand::Up { port, view_port })) => {
            broker_up(&select()?.choice, port, view_port).await
        }
        Some(
            Command::Broker(BrokerCommand::Down | BrokerCommand::Serve { .. })
            | Command::Group { .. }
            | Command::View { .. }
            | Command::Produce { .. },
        ) => {
            unreachable!("handled above")
        }
        Some(Command::Doctor) => doctor::run(&select()?).await.map(|()| ExitCode::SUCCESS),
        Some(Command::Grade(args)) => checker::grade::run(args, &root, &select()?.choice).await,
        Some(Command::BookPreprocessor { args }) => {
            checker::book_preprocessor::run(&args).map(|()| ExitCode::SUCCESS)
        }
    }
}

/// What `checker verify LAB` checks and shows.
#[derive(Debug, Clone, Copy)]
struct Shown {
    /// The reference solution instead of the learner's crate.
    solution: bool,
    /// The run's whole timeline after the verdict.
    verbose: bool,
    /// Serve the group view during the run, on this port (0: a free one).
    view: Option<u16>,
}

async fn verify_one(
    choice: &BrokerChoice,
    info: &InfoFile,
    state: &mut StateFile,
    query: Option<&str>,
    Shown {
        solution,
        verbose,
        view,
    }: Shown,
) -> Result<ExitCode> {
    let lab = match query {
        Some(query) => info.find(query)?,
        None => match list::current(info, state) {
            Some(lab) => lab,
            None => {
                println!("Every lab is done. Well played!");
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    let root = info_file::course_root()?;
    let broker = {
        let _status = status::LiveStatus::start(format!("Starting the {} broker", choice.kind()));
        Broker::connect(choice).await?
    };
    let view = match view {
        Some(port) => Some(open_view(&broker, port).await?),
        None => None,
    };
    let variant = if solution {
        Variant::Solution
    } else {
        Variant::Starter
    };
    let settings = verify::Settings {
        variant,
        compare_snapshot: true,
    };
    let outcome = verify::check(&root, lab, &broker, settings).await;
    if let Ok(outcome) = &outcome {
        report::print(lab, outcome, solution);
        if verbose {
            print!("{}", report::timeline(outcome));
        }
    }
    if let Some(view) = &view {
        // The broker stays up with it: the page keeps showing what the groups did.
        keep_view_up(view).await;
    }
    drop(view);
    // Deletes the run's topics and groups on a broker that outlives it, removes a
    // container started for the run (also done on the error path, when `broker` drops).
    broker.shutdown().await;
    let outcome = outcome?;
    if !solution {
        state.record(&lab.dir(), outcome.passed());
        state.save()?;
    }
    Ok(if outcome.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn broker_up(choice: &BrokerChoice, port: Option<u16>, view_port: u16) -> Result<ExitCode> {
    if port.is_some() && !matches!(choice, BrokerChoice::Local { .. }) {
        anyhow::bail!("--port is for the local broker: add --broker local");
    }
    if let BrokerChoice::Container { image } = choice {
        let (container, was_running) = {
            let _status =
                status::LiveStatus::start(format!("Starting Kafka ({image}) in a container"));
            ContainerBroker::up(image).await?
        };
        let broker = Broker::Container(container);
        for topic in lab_contract::TOPICS {
            broker.ensure_topic(topic.name, topic.partitions).await?;
        }
        let state = if was_running {
            "was already up"
        } else {
            "is up"
        };
        println!("{} {state}, with the course's topics:", broker.describe());
        for topic in lab_contract::TOPICS {
            println!("  {} ({} partitions)", topic.name, topic.partitions);
        }
        println!(
            "\nIn another terminal:\n  export {}={}",
            lab_contract::env::KAFKA_BOOTSTRAP_SERVERS,
            broker.bootstrap()
        );
        println!("It runs in the background until `cargo checker broker down`.");
        println!(
            "To watch its groups live: cargo checker view --bootstrap {}",
            broker.bootstrap()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let broker = match choice {
        BrokerChoice::Local { home } => {
            // The labs' default address when it is free, so they need no variable, as the
            // container's session does.
            let port = match port {
                Some(port) => broker::local::Port::Fixed(port),
                None if broker::container::port_is_free(broker::container::SESSION_PORT) => {
                    broker::local::Port::Fixed(broker::container::SESSION_PORT)
                }
                None => broker::local::Port::Any,
            };
            let _status = status::LiveStatus::start("Starting Apache Kafka".to_string());
            Broker::Local(broker::LocalBroker::start(home.as_deref(), port).await?)
        }
        _ => Broker::connect(choice).await?,
    };
    for topic in lab_contract::TOPICS {
        broker.ensure_topic(topic.name, topic.partitions).await?;
    }
    let view = checker::view::ViewServer::of(&broker, view_port).await?;
    println!("The {} is up, with the course's topics:", broker.describe());
    if let Broker::Local(local) = &broker {
        println!("Its log: {}", local.kafka().log().display());
    }
    for topic in lab_contract::TOPICS {
        println!("  {} ({} partitions)", topic.name, topic.partitions);
    }
    println!(
        "\nIn another terminal:\n  export {}={}",
        lab_contract::env::KAFKA_BOOTSTRAP_SERVERS,
        broker.bootstrap()
    );
    println!(
        "Watch its groups live (members, partitions, lag, every rebalance): {}",
        view.url()
    );
    println!("Press Ctrl-C to stop it.");
    // Ctrl-C is the checker's one handler's (`cleanup::exit_on_ctrl_c`): it stops the broker
    // and exits 130. A second listener here would race it for the exit status.
    let _serving = view;
    std::future::pending::<()>().await;
    unreachable!("only Ctrl-C ends it")
}

/// Serves the group view of `broker` and asks the desktop to open it.
async fn open_view(broker: &Broker, port: u16) -> Result<checker::view::ViewServer> {
    let view = checker::view::ViewServer::of(broker, port).await?;
    let opened = checker::view::open_in_browser(&view.url());
    println!(
        "The group view of this run: {}{}",
        view.url(),
        if opened { " (opening it)" } else { "" }
    );
    Ok(view)
}

/// After the verdict, keeps the view (and its broker) up until Enter or Ctrl-C, so the
/// learner can read what the groups did. Without a terminal it does not wait.
async fn keep_view_up(view: &checker::view::ViewServer) {
    if !std::io::stdin().is_terminal() {
        return;
    }
    println!(
        "The group view stays up at {}: press Enter or Ctrl-C to stop it.",
        view.url()
    );
    // Ctrl-C is the checker's one handler's (`cleanup::exit_on_ctrl_c`): it stops the
    // broker and exits 130.
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await;
}

async fn broker_down() -> Result<ExitCode> {
    let removed = ContainerBroker::down().await?;
    if removed.is_empty() {
        println!("No course container was running.");
    } else {
        println!("Removed {}.", removed.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
