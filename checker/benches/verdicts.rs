//! How fast and how steady the checker's verdicts are: `cargo bench -p checker --bench
//! verdicts` prints a table and writes the same figures as JSON
//! (`target/bench/verdicts.json`, or the path in `BENCH_JSON`).
//!
//! A table instead of a timed test: a busy machine makes numbers slower, never a test red.
//! Every figure says which floor bounds it: a broker timer, a lab setting, or none.
//!
//! With `KAFKA_HOME` naming an Apache Kafka installation (`checker/kafka/install.sh`
//! makes one), the broker start and each lab's time are also taken on Apache Kafka (the
//! local backend), in the same run, in a column beside the embedded broker's.
//!
//! Knobs: `BENCH_RUNS` (runs of each lab, default 10), `BENCH_KAFKA_RUNS` (runs of each lab
//! on Kafka, default 5; 0 skips Kafka), `BENCH_LABS` (which labs, default all: `5` or
//! `1,6`), `BENCH_ALL_RUNS` (runs of `verify --all`, default 3; 0 skips it), `CLASS_SIZE`
//! (submissions graded per `--jobs` setting, default 4; 0 skips grading), `GRADE_JOBS`
//! (default `1,4`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use checker::broker::local::{Installation, Java, LocalKafka, Port, KAFKA_HOME_VAR};
use checker::broker::{self, embedded, Broker, BrokerChoice, LocalBroker};
use checker::grade::{class, Grader, Options};
use checker::info_file::{InfoFile, LabInfo, Variant};
use checker::scenario::Measurement;
use checker::verify::{self, Settings, Verdict};
use checker::verify_all;
use serde_json::{json, Value};

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("course root");
    let info = InfoFile::load();
    println!("{}\n", machine());
    let mut report = json!({ "machine": machine() });
    report["broker_start"] = broker_start().await;
    let kafka = match kafka_installation() {
        Ok(found) => {
            report["kafka_start"] = kafka_start(&found).await;
            Some(found)
        }
        Err(why) => {
            println!("Apache Kafka: not measured, {why}");
            None
        }
    };
    let local = kafka.as_ref().map(|(installation, _)| BrokerChoice::Local {
        home: Some(installation.home.clone()),
    });
    report["labs"] = labs(&root, &info, kafka).await;
    if setting("BENCH_ALL_RUNS", 3) > 0 {
        println!();
        report["verify_all"] = verify_all_wall(&root, &info, &BrokerChoice::Embedded).await;
        if let Some(local) = &local {
            report["verify_all_kafka"] = verify_all_wall(&root, &info, local).await;
        }
    }
    if setting("CLASS_SIZE", 4) > 0 {
        report["class_grading"] = class_grading(&root, &info).await;
    }
    let path = std::env::var("BENCH_JSON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/bench/verdicts.json"));
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("bench folder");
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).expect("JSON");
    println!("\nThe same figures as JSON: {}", path.display());
}

/// Cores and load, which every figure below depends on.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().next().unwrap_or("?");
    format!("{cores} cores, load average {load} at the start")
}

/// Starting the embedded broker until it answers a metadata request.
async fn broker_start() -> Value {
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let broker = embedded::start().expect("embedded broker");
        let bootstrap = broker.bootstrap().to_string();
        tokio::task::spawn_blocking(move || broker::probe(&bootstrap, Duration::from_secs(5)))
            .await
            .unwrap()
            .expect("metadata");
        times.push(started.elapsed());
        drop(broker);
    }
    let spread = Spread::of(&times);
    println!(
        "Embedded broker start until its first metadata answer, 5 runs: median {}, max {} \
         (no broker floor)",
        ms(spread.median),
        ms(spread.max)
    );
    json!({ "runs": 5, "median_s": spread.median.as_secs_f64(), "max_s": spread.max.as_secs_f64() })
}

/// The Apache Kafka the Kafka column runs on, or why there is none.
fn kafka_installation() -> Result<(Installation, Java), String> {
    if setting("BENCH_KAFKA_RUNS", 5) == 0 {
        return Err("BENCH_KAFKA_RUNS is 0".into());
    }
    let home = std::env::var_os(KAFKA_HOME_VAR).ok_or_else(|| {
        format!("{KAFKA_HOME_VAR} is not set (checker/kafka/install.sh makes one)")
    })?;
    let installation = Installation::open(Path::new(&home)).map_err(|e| e.to_string())?;
    let java = Java::find().map_err(|e| e.to_string())?;
    Ok((installation, java))
}

/// Starting Apache Kafka (format, JVM start) until it answers a metadata request.
async fn kafka_start((installation, java): &(Installation, Java)) -> Value {
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let kafka = LocalKafka::start(installation.clone(), java.clone(), Port::Any)
            .await
            .expect("Apache Kafka starts");
        times.push(started.elapsed());
        kafka.stop();
    }
    let spread = Spread::of(&times);
    println!(
        "Apache Kafka {} start (format, JVM) until its first metadata answer, 3 runs: median \
         {}, max {} (floor: the JVM's start)",
        installation.version,
        secs(spread.median),
        secs(spread.max)
    );
    json!({ "runs": 3, "version": installation.version, "median_s": spread.median.as_secs_f64(), "max_s": spread.max.as_secs_f64() })
}

/// Min, median and max of some durations.
struct Spread {
    min: Duration,
    median: Duration,
    max: Duration,
}

impl Spread {
    fn of(times: &[Duration]) -> Spread {
        let mut sorted = times.to_vec();
        sorted.sort();
        Spread {
            min: sorted[0],
            median: sorted[sorted.len() / 2],
            max: sorted[sorted.len() - 1],
        }
    }

    fn ratio(&self) -> f64 {
        self.max.as_secs_f64() / self.min.as_secs_f64().max(1e-3)
    }

    fn json(&self) -> Value {
        json!({
            "min_s": self.min.as_secs_f64(),
            "median_s": self.median.as_secs_f64(),
            "max_s": self.max.as_secs_f64(),
            "max_over_min": self.ratio(),
        })
    }
}

/// What bounds a lab's time from below, on the embedded broker.
fn floor(lab: usize) -> &'static str {
    match lab {
        1 => "initial delay 0.3 s",
        2..=4 => "initial delay 2 × 0.3 s",
        5 => "4 processing slots of 1 s",
        6 => "session.timeout.ms 6 s",
        7 => "session.timeout.ms 6 s before the restart",
        8 => "the 8 s job (max.poll.interval.ms + 2 s)",
        9 => "2 rebalance graces of 2 heartbeats + 1 s",
        10 => "initial delay 2 × 0.3 s",
        11 => "consumer heartbeats of 0.5 s",
        _ => "none known",
    }
}

/// One warm `verify --solution` of a lab: its time, the group protocol's share, what the
/// scenario measured, and whether it passed.
struct Sample {
    took: Duration,
    /// Time at least one of the lab's groups waited on the group protocol: a rebalance
    /// under way, or a crashed member's session running out.
    group_timers: Duration,
    /// The part of it on the broker's first-rebalance delay.
    initial_delay: Duration,
    measurements: Vec<Measurement>,
    failure: Option<String>,
}

/// On Apache Kafka the broker keeps no record of its rebalances: the group timer figures
/// stay at zero there, and only the times are shown.
async fn sample(root: &Path, lab: &LabInfo, broker: &Broker) -> Sample {
    let settings = Settings {
        variant: Variant::Solution,
        compare_snapshot: true,
    };
    let started = Instant::now();
    let outcome = verify::check(root, lab, broker, settings)
        .await
        .expect("the checker ran");
    let ended = Instant::now();
    let rebalances: Vec<_> = match broker {
        Broker::Embedded(embedded) => embedded
            .rebalances()
            .into_iter()
            .filter(|r| r.began >= started && r.ended <= ended)
            .collect(),
        _ => Vec::new(),
    };
    // A rebalance that an expired session started was waited for since that session's
    // last heartbeat, about one session timeout earlier.
    let mut group_timers: Vec<(Instant, Instant)> = rebalances
        .iter()
        .map(|r| (r.began - r.expired_session.unwrap_or_default(), r.ended))
        .collect();
    let mut delays: Vec<(Instant, Instant)> = rebalances
        .iter()
        .map(|r| (r.began, r.began + r.initial_delay))
        .collect();
    let failure = match &outcome.verdict {
        Verdict::Passed => None,
        // The message and its evidence: a failure here is a flake to explain.
        Verdict::Failed(failure) => Some(
            std::iter::once(failure.message.clone())
                .chain(failure.details.iter().cloned())
                .collect::<Vec<_>>()
                .join("\n      "),
        ),
        Verdict::DoesNotCompile(_) => Some("does not compile".to_string()),
    };
    Sample {
        took: outcome.took,
        group_timers: union(&mut group_timers),
        initial_delay: union(&mut delays),
        measurements: outcome.measurements,
        failure,
    }
}

/// The wall time covered by some intervals, overlaps counted once.
fn union(spans: &mut [(Instant, Instant)]) -> Duration {
    spans.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for &(begin, end) in spans.iter() {
        current = match current {
            Some((b, e)) if begin <= e => Some((b, e.max(end))),
            Some((b, e)) => {
                total += e - b;
                Some((begin, end))
            }
            None => Some((begin, end)),
        };
    }
    total + current.map_or(Duration::ZERO, |(b, e)| e - b)
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Every lab's solution, `BENCH_RUNS` times after one warm-up run, on one embedded broker;
/// and `BENCH_KAFKA_RUNS` times on one Apache Kafka, where `kafka` is installed.
async fn labs(root: &Path, info: &InfoFile, kafka: Option<(Installation, Java)>) -> Value {
    let runs: usize = setting("BENCH_RUNS", 10);
    let kafka_runs: usize = setting("BENCH_KAFKA_RUNS", 5);
    let broker = Broker::connect(&BrokerChoice::Embedded)
        .await
        .expect("embedded broker");
    let kafka = match kafka {
        Some((installation, java)) => Some(Arc::new(
            LocalKafka::start(installation, java, Port::Any)
                .await
                .expect("Apache Kafka starts"),
        )),
        None => None,
    };
    match &kafka {
        Some(kafka) => println!(
            "\nWarm `verify --solution`: {runs} runs a lab on one embedded broker, {kafka_runs} \
             on one Apache Kafka {}",
            kafka.installation().version
        ),
        None => println!("\nWarm `verify --solution`, {runs} runs a lab, one embedded broker"),
    }
    println!(
        "{:<26} {:>7} {:>7} {:>7} {:>7}  {:>10} {:>9} {:>7}  {:>6}  {:>7} {:>7}  floor",
        "lab",
        "min",
        "median",
        "max",
        "max/min",
        "group",
        "initial",
        "rest",
        "failed",
        "Kafka",
        "Kafka"
    );
    println!(
        "{:<26} {:>7} {:>7} {:>7} {:>7}  {:>10} {:>9} {:>7}  {:>6}  {:>7} {:>7}",
        "", "", "", "", "", "timers", "delay", "", "", "median", "failed"
    );
    let only: Vec<usize> = std::env::var("BENCH_LABS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let mut rows = Vec::new();
    for lab in info
        .labs
        .iter()
        .filter(|lab| only.is_empty() || only.contains(&lab.number))
    {
        let _ = sample(root, lab, &broker).await;
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(sample(root, lab, &broker).await);
        }
        let mut on_kafka = Vec::new();
        if let Some(kafka) = &kafka {
            for _ in 0..kafka_runs {
                // A handle per run: each deletes its own topics and groups when it ends.
                let run = Broker::Local(LocalBroker::shared(kafka.clone()));
                on_kafka.push(sample(root, lab, &run).await);
                run.shutdown().await;
            }
        }
        rows.push(lab_row(lab, &samples, &on_kafka));
    }
    println!(
        "group timers: median time some group of the lab waited on the group protocol (a \
         rebalance, or a crashed member's session running out); initial delay: the broker's \
         first-rebalance delay within it; rest: the programs' and the checker's own work."
    );
    json!(rows)
}

fn lab_row(lab: &LabInfo, samples: &[Sample], on_kafka: &[Sample]) -> Value {
    let times: Vec<Duration> = samples.iter().map(|s| s.took).collect();
    let spread = Spread::of(&times);
    let group_timers = median(&mut samples.iter().map(|s| s.group_timers).collect::<Vec<_>>());
    let delay = median(&mut samples.iter().map(|s| s.initial_delay).collect::<Vec<_>>());
    let failures: Vec<&String> = samples.iter().filter_map(|s| s.failure.as_ref()).collect();
    let kafka_failures: Vec<&String> = on_kafka.iter().filter_map(|s| s.failure.as_ref()).collect();
    let kafka_times: Vec<Duration> = on_kafka.iter().map(|s| s.took).collect();
    let kafka_spread = (!kafka_times.is_empty()).then(|| Spread::of(&kafka_times));
    println!(
        "{:<26} {:>7} {:>7} {:>7} {:>6.2}×  {:>10} {:>9} {:>7}  {:>6}  {:>7} {:>7}  {}",
        format!("{} {}", lab.number, lab.name),
        secs(spread.min),
        secs(spread.median),
        secs(spread.max),
        spread.ratio(),
        secs(group_timers),
        secs(delay),
        secs(spread.median.saturating_sub(group_timers)),
        failures.len(),
        kafka_spread.as_ref().map_or("-".into(), |s| secs(s.median)),
        kafka_spread
            .as_ref()
            .map_or("-".into(), |_| kafka_failures.len().to_string()),
        floor(lab.number),
    );
    for failure in &failures {
        println!("    failed: {failure}");
    }
    for failure in &kafka_failures {
        println!("    failed on Kafka: {failure}");
    }
    let measured = measured_medians(samples);
    let kafka_measured = measured_medians(on_kafka);
    for (name, value, unit) in &measured {
        let on_kafka = kafka_measured
            .iter()
            .find(|(other, _, _)| other == name)
            .map(|(_, value, unit)| format!(", on Kafka {value:.2} {unit}"))
            .unwrap_or_default();
        println!("    {name} {value:.2} {unit} (median){on_kafka}");
    }
    json!({
        "lab": lab.number,
        "name": lab.name,
        "runs": samples.len(),
        "wall": spread.json(),
        "group_timers_median_s": group_timers.as_secs_f64(),
        "rest_median_s": spread.median.saturating_sub(group_timers).as_secs_f64(),
        "initial_delay_median_s": delay.as_secs_f64(),
        "failed": failures.len(),
        "failures": failures,
        "floor": floor(lab.number),
        "measured": measured
            .iter()
            .map(|(name, value, unit)| json!({ "name": name, "median": value, "unit": unit }))
            .collect::<Vec<_>>(),
        "kafka": kafka_spread.map(|spread| json!({
            "runs": on_kafka.len(),
            "wall": spread.json(),
            "failed": kafka_failures.len(),
            "failures": kafka_failures,
            "measured": kafka_measured
                .iter()
                .map(|(name, value, unit)| json!({ "name": name, "median": value, "unit": unit }))
                .collect::<Vec<_>>(),
        })),
    })
}

/// The median of each figure the scenario measured (lab 6's handovers, lab 5's speed-up).
fn measured_medians(samples: &[Sample]) -> Vec<(String, f64, &'static str)> {
    let Some(first) = samples.iter().find(|s| !s.measurements.is_empty()) else {
        return Vec::new();
    };
    first
        .measurements
        .iter()
        .map(|m| {
            let mut values: Vec<f64> = samples
                .iter()
                .flat_map(|s| s.measurements.iter())
                .filter(|other| other.name == m.name)
                .map(|other| other.value)
                .collect();
            values.sort_by(f64::total_cmp);
            (m.name.clone(), values[values.len() / 2], m.unit)
        })
        .collect()
}

/// `verify --all --solution` as a learner runs it: broker start, builds, labs side by side.
async fn verify_all_wall(root: &Path, info: &InfoFile, choice: &BrokerChoice) -> Value {
    let runs: usize = setting("BENCH_ALL_RUNS", 3);
    let mut times = Vec::new();
    let mut failed = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let broker = Arc::new(Broker::connect(choice).await.expect("the broker starts"));
        let rows =
            verify_all::check_all(root, &info.labs, &broker, Variant::Solution, |_, _| Ok(()))
                .await
                .expect("the checker ran");
        times.push(started.elapsed());
        failed += rows.iter().filter(|row| !row.passed).count();
        if let Ok(broker) = Arc::try_unwrap(broker) {
            broker.shutdown().await;
        }
    }
    let spread = Spread::of(&times);
    println!(
        "`verify --all --solution` on the {} broker (its start, builds, labs side by side), {runs} \
         runs: min {}, median {}, max {}; {failed} lab verdicts failed (floor: lab 7, \
         session.timeout.ms 6 s before its restart)",
        choice.kind(),
        secs(spread.min),
        secs(spread.median),
        secs(spread.max)
    );
    json!({ "broker": choice.kind(), "runs": runs, "wall": spread.json(), "failed": failed })
}

/// Grading a class of copies of the solutions at each `--jobs` of `GRADE_JOBS`.
async fn class_grading(root: &Path, info: &InfoFile) -> Value {
    let size: usize = setting("CLASS_SIZE", 4);
    let jobs: Vec<usize> = std::env::var("GRADE_JOBS")
        .unwrap_or_else(|_| "1,4".to_string())
        .split(',')
        .filter_map(|j| j.trim().parse().ok())
        .collect();
    let folder = class_of(root, info, size);
    let students = class::submissions(&folder);
    let grader = Arc::new(Grader::new(root, Options::new(root)).expect("grader"));
    let broker = Arc::new(
        Broker::connect(&BrokerChoice::Embedded)
            .await
            .expect("embedded broker"),
    );
    // Builds every lab once; later submissions reuse the programs.
    let _ = class::grade_all(&grader, &broker, &students[..1], 1).await;
    let full = info.labs.len() as u32 * checker::grade::LAB_POINTS;
    println!("\nClass grading, {size} submissions of every lab's solution");
    println!(
        "{:>5} {:>9} {:>16}  full marks",
        "jobs", "wall", "submissions/min"
    );
    let mut rows = Vec::new();
    for jobs in jobs {
        let started = Instant::now();
        let reports = class::grade_all(&grader, &broker, &students, jobs).await;
        let took = started.elapsed();
        let full_marks = reports
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|r| r.score == full))
            .count();
        let per_minute = size as f64 * 60.0 / took.as_secs_f64();
        println!(
            "{jobs:>5} {:>9} {per_minute:>16.1}  {full_marks}/{size}",
            secs(took)
        );
        rows.push(json!({
            "jobs": jobs,
            "submissions": size,
            "wall_s": took.as_secs_f64(),
            "per_minute": per_minute,
            "full_marks": full_marks,
        }));
    }
    let _ = std::fs::remove_dir_all(folder);
    json!(rows)
}

/// A class folder of `size` students, each submitting every lab's solution.
fn class_of(course: &Path, info: &InfoFile, size: usize) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("grading-bench-{}", std::process::id()));
    for student in 0..size {
        for lab in &info.labs {
            checker::grade::workspace::copy_tree(
                &course.join("solutions").join(lab.dir()),
                &folder
                    .join(format!("student-{student:02}"))
                    .join("labs")
                    .join(lab.dir()),
                &mut Vec::new(),
            )
            .expect("copy a solution");
        }
    }
    folder
}

fn secs(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

fn ms(duration: Duration) -> String {
    format!("{} ms", duration.as_millis())
}
