//! `cargo xtask setup|test|demo`: the commands a fresh machine starts with.
//!
//! tch cannot compile until libtorch is on disk, so these tasks live in a crate
//! that does not depend on it: they install everything first, then run cargo.

mod bench;
mod setup;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "dancenow project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install ffmpeg, libtorch, model files, sample videos and perceptual weights into .deps/.
    Setup(setup::Options),
    /// Set up what is missing, then run the whole test suite.
    Test {
        /// Extra arguments passed to `cargo test`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Compare dancenow's speed with the reference implementation, side by side.
    Bench {
        #[arg(value_enum)]
        target: bench::Target,
    },
    /// Set up what is missing, then run the pipeline on the sample videos.
    Demo {
        /// Where the demo writes its results.
        #[arg(long, default_value = "demo-out")]
        out: PathBuf,
    },
}

fn main() {
    if let Err(err) = run(Cli::parse()) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let root = workspace_root()?;
    match cli.task {
        Task::Setup(options) => setup::run(&root, &options).map(|_| ()),
        Task::Test { args } => {
            setup::run(&root, &setup::Options::default())?;
            test(&root, &args)
        }
        Task::Bench { target } => {
            let deps = setup::run(&root, &setup::Options::default())?;
            bench::run(&root, &deps, target)
        }
        Task::Demo { out } => {
            let deps = setup::run(&root, &setup::Options::default())?;
            demo(&root, &deps, &out)
        }
    }
}

/// Runs `cargo test --workspace`, passing its output through, and closes with one line
/// totalling every test binary's results (cargo's own last line is only the last binary's).
fn test(root: &Path, extra: &[String]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(&cargo)
        .args(["test", "--workspace"])
        .args(extra)
        .current_dir(root)
        .stdout(Stdio::piped())
        .spawn()
        .context("starting cargo test")?;
    let stdout = child.stdout.take().context("cargo test's output")?;
    let mut totals = TestTotals::default();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test's output")?;
        println!("{line}");
        totals.add(&line);
    }
    let status = child.wait().context("waiting for cargo test")?;
    println!(
        "tests: {} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.ignored
    );
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    Ok(())
}

#[derive(Default)]
struct TestTotals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl TestTotals {
    /// Adds a libtest summary: "test result: ok. 7 passed; 0 failed; 1 ignored; ...".
    fn add(&mut self, line: &str) {
        let Some(counts) = line.strip_prefix("test result: ") else {
            return;
        };
        for part in counts.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                _ => {}
            }
        }
    }
}

/// `dancenow demo` in a release build: the whole pipeline on the sample videos that
/// setup installed (prepare the target, train, transfer the source's dance, evaluate).
fn demo(root: &Path, deps: &setup::Deps, out: &Path) -> Result<()> {
    cargo(root, &["build", "--release", "--package", "dancenow-cli"])?;
    let bin = root.join("target/release/dancenow");
    let out = root.join(out);
    let target = deps.sample("musicalgestures/dancer.avi");
    let source = deps.sample("sports2d/demo.mp4");
    run_program(
        &bin,
        &[
            "demo",
            "-o",
            path_str(&out)?,
            "--target",
            path_str(&target)?,
            "--source",
            path_str(&source)?,
        ],
        root,
    )
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("path is not UTF-8: {}", path.display()))
}

fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run_program(Path::new(&cargo), args, root)
}

fn run_program(program: &Path, args: &[&str], dir: &Path) -> Result<()> {
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .with_context(|| format!("starting {}", program.display()))?;
    if !status.success() {
        bail!(
            "`{} {}` failed ({status})",
            program.display(),
            args.join(" ")
        );
    }
    Ok(())
}

fn workspace_root() -> Result<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask is not inside the workspace")
}

#[cfg(test)]
mod tests {
    use super::TestTotals;

    #[test]
    fn totals_add_up_libtest_summaries() {
        let mut totals = TestTotals::default();
        totals.add("test result: ok. 7 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.1s");
        totals
            .add("test result: FAILED. 2 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out");
        totals.add("test something ... ok");
        assert_eq!((totals.passed, totals.failed, totals.ignored), (9, 3, 1));
    }
}
