//! Time to grade a class: `cargo bench -p checker --bench grading` prints a table.
//!
//! A class of `CLASS_SIZE` (default 20) copies of the solutions is graded with each
//! parallelism in `GRADE_JOBS` (default `2,8`), after one warm-up submission that builds
//! every lab. A table instead of a timed test: a busy machine makes numbers slower, never a
//! test red.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use checker::broker::{Broker, BrokerChoice};
use checker::grade::{class, Grader, Options};
use checker::info_file::InfoFile;

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn copy_tree(from: &Path, to: &Path) {
    checker::grade::workspace::copy_tree(from, to, &mut Vec::new()).unwrap();
}

/// A class folder of `size` students, each submitting every lab's solution.
fn class_of(course: &Path, size: usize) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("grading-bench-{}", std::process::id()));
    for student in 0..size {
        for lab in InfoFile::load().labs {
            copy_tree(
                &course.join("solutions").join(lab.dir()),
                &folder
                    .join(format!("student-{student:02}"))
                    .join("labs")
                    .join(lab.dir()),
            );
        }
    }
    folder
}

#[tokio::main]
async fn main() {
    let size: usize = setting("CLASS_SIZE", 20);
    let jobs: Vec<usize> = std::env::var("GRADE_JOBS")
        .unwrap_or_else(|_| "2,8".to_string())
        .split(',')
        .filter_map(|j| j.trim().parse().ok())
        .collect();
    let course = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap();
    let folder = class_of(&course, size);
    let students = class::submissions(&folder);
    let grader = Arc::new(Grader::new(&course, Options::new(&course)).unwrap());
    let broker = Arc::new(Broker::connect(&BrokerChoice::Embedded).await.unwrap());
    // Builds every lab once; later submissions reuse the programs.
    let _ = class::grade_all(&grader, &broker, &students[..1], 1).await;
    let full = grader.info().labs.len() as u32 * checker::grade::LAB_POINTS;
    println!(
        "{:>8} {:>5} {:>10} {:>14}  scores",
        "students", "jobs", "wall", "per student"
    );
    for jobs in jobs {
        let started = Instant::now();
        let reports = class::grade_all(&grader, &broker, &students, jobs).await;
        let took = started.elapsed();
        let full_marks = reports
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|r| r.score == full))
            .count();
        println!(
            "{:>8} {:>5} {:>8.1} s {:>12.1} s  {full_marks}/{size} full marks",
            size,
            jobs,
            took.as_secs_f64(),
            took.as_secs_f64() / size as f64,
        );
    }
    let _ = std::fs::remove_dir_all(folder);
}
