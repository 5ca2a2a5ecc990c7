//! Time to a verdict, per lab: `cargo bench -p checker` prints a table.
//!
//! Each lab's solution is verified `BENCH_RUNS` times (default 3) on the embedded broker with
//! a warm build, which is what a learner waits for after saving a file. A table instead of a
//! timed test: a busy machine makes numbers slower, never a test red.

use std::path::Path;
use std::time::Duration;

use checker::broker::{Broker, BrokerChoice};
use checker::info_file::{InfoFile, Variant};
use checker::verify::{self, Settings, Verdict};

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let settings = Settings {
        variant: Variant::Solution,
        compare_snapshot: true,
    };
    let broker = Broker::connect(&BrokerChoice::Embedded)
        .await
        .expect("embedded broker");
    println!(
        "{:<28} {:>4} {:>9} {:>9} {:>9}  verdict",
        "lab (solution)", "runs", "min", "median", "max"
    );
    for lab in InfoFile::load().labs {
        // The first run warms the build; it is not counted.
        let _ = verify::check(&root, &lab, &broker, settings).await;
        let mut times = Vec::new();
        let mut verdict = "passed".to_string();
        for _ in 0..runs {
            let outcome = verify::check(&root, &lab, &broker, settings)
                .await
                .expect("checker ran");
            if let Verdict::Failed(failure) = &outcome.verdict {
                verdict = format!("FAILED: {}", failure.message);
            }
            times.push(outcome.took);
        }
        times.sort();
        println!(
            "{:<28} {:>4} {:>9} {:>9} {:>9}  {verdict}",
            format!("{} {}", lab.number, lab.name),
            runs,
            seconds(times[0]),
            seconds(times[times.len() / 2]),
            seconds(times[times.len() - 1]),
        );
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}
