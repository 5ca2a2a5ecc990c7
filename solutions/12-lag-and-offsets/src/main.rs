//! Lab 12: lag and offsets.
//!
//! A small tool for one group on the topic (default `invoices`), in the manner of
//! `kafka-consumer-groups.sh`:
//!
//! - `describe GROUP` prints how many members the group has, then each partition's committed
//!   offset, end offset and lag;
//! - `reset GROUP --to-earliest`, `--to-datetime 2026-12-01T09:00:00.000Z` or `--shift-by N`
//!   moves the group's committed offsets, only while the group has no active member, and
//!   prints where each partition now stands; with members, it refuses and exits with
//!   status 1.

mod offsets;

use lab_contract::lab12;
use offsets::Target;

/// How to call this program, printed when the arguments do not fit.
const USAGE: &str = "usage: lab12-lag-and-offsets describe GROUP
       lab12-lag-and-offsets reset GROUP --to-earliest|--to-datetime TIME|--shift-by N
TIME is written as kafka-consumer-groups takes it: YYYY-MM-DDThh:mm:ss.sss, then Z,
+hh:mm or nothing for UTC, such as 2026-12-01T09:00:00.000Z";

fn main() {
    let topic = lab_contract::topic(lab12::TOPIC.name);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["describe", group] => {
            let tool = offsets::Tool::new(group, &topic);
            println!("members {}", tool.active_members());
            for lag in tool.describe() {
                println!("{lag}");
            }
            0
        }
        ["reset", group, how @ ..] => {
            let Some(target) = Target::parse(how) else {
                usage()
            };
            let tool = offsets::Tool::new(group, &topic);
            match tool.active_members() {
                0 => {
                    for (partition, offset) in tool.reset(target) {
                        println!("reset partition={partition} offset={offset}");
                    }
                    0
                }
                members => {
                    println!("refused: group {group} has {members} active member(s)");
                    1
                }
            }
        }
        _ => usage(),
    };
    std::process::exit(code);
}

/// Prints the usage to stderr and exits with status 2, the convention for bad arguments.
fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}
