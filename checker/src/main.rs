//! The course checker: runs each lab's program against a Kafka broker it starts itself and
//! tells the learner what is right and what is not.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use checker::broker::{Broker, BrokerChoice};
use checker::info_file::InfoFile;
use checker::lab::{self, Variant};
use checker::state_file::StateFile;
use checker::{hint, list, process, report, scenario, status, verify};

/// Learn Kafka consumer groups by doing: verify your labs against a real Kafka-protocol broker.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The broker: `embedded` (default, nothing to install) or a bootstrap address.
    #[arg(long, global = true, default_value = "embedded")]
    broker: BrokerChoice,
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
        /// Check the reference solution instead of your crate.
        #[arg(long)]
        solution: bool,
    },
    /// Show the next hint for a lab.
    Hint {
        /// The lab, by number or name.
        lab: String,
    },
    /// Run a broker for running labs by hand.
    #[command(subcommand)]
    Broker(BrokerCommand),
    /// The book's mdBook preprocessor (run by mdbook, see book/book.toml).
    #[command(hide = true)]
    BookPreprocessor {
        /// What mdbook passes (`supports <renderer>`, or nothing).
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum BrokerCommand {
    /// Start the broker in the foreground, create the course's topics, print its address.
    Up,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Lab processes live in their own process groups, so the terminal's Ctrl-C does not
    // reach them: the checker must end them itself.
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            process::kill_all();
            eprintln!("\nInterrupted: every lab process has been stopped.");
            std::process::exit(130);
        }
    });
    let result = run(cli).await;
    process::kill_all();
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{} {error:#}", console::style("error:").red().bold());
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let info = InfoFile::load();
    let root = lab::course_root()?;
    let mut state = StateFile::load(&root);
    match cli.command {
        Some(Command::List) => {
            list::print(&info, &state);
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Hint { lab }) => {
            let lab = lab::find(&info, &lab)?;
            hint::reveal(lab, &mut state);
            state.save()?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Verify { lab, solution }) => {
            verify_one(&cli.broker, &info, &mut state, lab.as_deref(), solution).await
        }
        None => {
            let code = verify_one(&cli.broker, &info, &mut state, None, false).await?;
            println!();
            list::print(&info, &state);
            Ok(code)
        }
        Some(Command::Broker(BrokerCommand::Up)) => broker_up(&cli.broker).await,
        Some(Command::BookPreprocessor { args }) => {
            checker::book_preprocessor::run(&args).map(|()| ExitCode::SUCCESS)
        }
    }
}

async fn verify_one(
    choice: &BrokerChoice,
    info: &InfoFile,
    state: &mut StateFile,
    query: Option<&str>,
    solution: bool,
) -> Result<ExitCode> {
    let lab = match query {
        Some(query) => lab::find(info, query)?,
        None => match list::current(info, state) {
            Some(lab) => lab,
            None => {
                println!("Every lab is done. Well played!");
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    let root = lab::course_root()?;
    let broker = {
        let _status = status::Status::start("Starting the broker");
        Broker::connect(choice).await?
    };
    let variant = if solution {
        Variant::Solution
    } else {
        Variant::Starter
    };
    let settings = verify::Settings {
        variant,
        compare_snapshot: true,
        target_dir: None,
    };
    let outcome = verify::check(&root, lab, &broker, settings).await?;
    report::print(lab, &outcome, solution);
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

async fn broker_up(choice: &BrokerChoice) -> Result<ExitCode> {
    let broker = Broker::connect(choice).await?;
    for (topic, partitions) in scenario::COURSE_TOPICS {
        broker.create_topic(topic, *partitions).await?;
    }
    println!("The {} is up, with the course's topics:", broker.describe());
    for (topic, partitions) in scenario::COURSE_TOPICS {
        println!("  {topic} ({partitions} partitions)");
    }
    println!(
        "\nIn another terminal:\n  export KAFKA_BOOTSTRAP_SERVERS={}",
        broker.bootstrap()
    );
    println!("Press Ctrl-C to stop it.");
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}
