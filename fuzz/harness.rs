//! A small mutation fuzzer for the file readers, on the stable toolchain and with no
//! dependency (cargo-fuzz needs nightly). Each crate's `tests/fuzz.rs` includes this file
//! and names its targets: a reader, the seed files it starts from, and its folder of
//! regression files under `tests/regression/TARGET/`.
//!
//! - A normal test run replays the regression files: each must give `Ok` or an error,
//!   never a panic.
//! - `DANCENOW_FUZZ_SECONDS=60 cargo test -p CRATE --test fuzz -- --ignored --nocapture`
//!   mutates the seeds (bit flips, interesting bytes and integers, cut, copied and
//!   deleted ranges, numbers in text replaced by extreme ones) for that long per target
//!   and reports the executions. An input that panics is saved under
//!   `target/tmp/fuzz-findings/TARGET/`; move it to `tests/regression/TARGET/` with the
//!   fix. An input that aborts the process (an allocation failure, a stack overflow) is
//!   left in `target/tmp/fuzz-findings/TARGET/current` by the run it ended.

#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runs `read` on one input; an `Err` it returns is a clean refusal, a panic a finding.
pub type Reader<'a> = &'a dyn Fn(&[u8]) -> Result<(), String>;

/// The files in `dir` (none if it does not exist), sorted, as bytes with their names.
pub fn files_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Replays every regression file of a target; panics naming the first that panics.
pub fn replay(regression_dir: &Path, read: Reader) -> usize {
    let files = files_in(regression_dir);
    for (path, bytes) in &files {
        let outcome = catch_unwind(AssertUnwindSafe(|| read(bytes)));
        assert!(
            outcome.is_ok(),
            "{} panics the reader again",
            path.display()
        );
    }
    files.len()
}

/// How long each target is fuzzed: `DANCENOW_FUZZ_SECONDS`, else a short smoke run.
pub fn budget() -> Duration {
    let seconds = std::env::var("DANCENOW_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(2.0);
    Duration::from_secs_f64(seconds)
}

/// What one fuzzing run did.
#[derive(Debug)]
pub struct Report {
    pub target: String,
    pub executions: u64,
    pub refused: u64,
    pub findings: Vec<PathBuf>,
}

/// Mutates `seeds` (and the target's regression files) for `budget`, running `read` on
/// each input. Inputs that panic are saved in `findings_dir`; the run goes on.
pub fn fuzz(
    target: &str,
    seeds: &[Vec<u8>],
    regression_dir: &Path,
    findings_dir: &Path,
    budget: Duration,
    read: Reader,
) -> Report {
    let mut corpus: Vec<Vec<u8>> = seeds.to_vec();
    corpus.extend(files_in(regression_dir).into_iter().map(|(_, b)| b));
    assert!(!corpus.is_empty(), "{target}: no seeds");
    let dir = findings_dir.join(target);
    std::fs::create_dir_all(&dir).unwrap();
    let current = dir.join("current");
    // Panics are expected here and reported below; the default hook's message per
    // panic would drown the report.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ target.len() as u64);
    let mut report = Report {
        target: target.to_string(),
        executions: 0,
        refused: 0,
        findings: Vec::new(),
    };
    let started = Instant::now();
    while started.elapsed() < budget {
        let mut input = corpus[rng.below(corpus.len())].clone();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut input, &mut rng);
        }
        std::fs::write(&current, &input).unwrap();
        report.executions += 1;
        match catch_unwind(AssertUnwindSafe(|| read(&input))) {
            Ok(Ok(())) => {}
            Ok(Err(_)) => report.refused += 1,
            Err(_) => {
                let path = dir.join(format!("crash-{:016x}", fnv1a(&input)));
                std::fs::write(&path, &input).unwrap();
                if !report.findings.contains(&path) {
                    report.findings.push(path);
                }
            }
        }
    }
    std::panic::set_hook(hook);
    let _ = std::fs::remove_file(&current);
    eprintln!(
        "fuzz {target}: {} executions in {:.0} s ({} refused with an error), {} inputs that panic{}",
        report.executions,
        started.elapsed().as_secs_f64(),
        report.refused,
        report.findings.len(),
        if report.findings.is_empty() {
            String::new()
        } else {
            format!(" (saved in {})", dir.display())
        }
    );
    report
}

/// xorshift64*: reproducible, and enough for choosing mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Bytes that change what a JSON, TOML or binary reader sees.
const INTERESTING_BYTES: &[u8] = b"\x00\xff\x7f\x80-+.eE\"'[]{},:=\n9 ";
/// Integers at the edges of what file formats and casts hold.
const INTERESTING_INTS: &[u32] = &[
    0,
    1,
    2,
    0x7F,
    0xFF,
    0x7FFF,
    0xFFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
];
/// Numbers that break arithmetic on values a text file states.
const INTERESTING_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "-0",
    "1e308",
    "-1e308",
    "1e-320",
    "1e9",
    "4294967296",
    "18446744073709551616",
    "2147483648",
    "NaN",
    "inf",
    "\"x\"",
    "null",
    "[]",
    "{}",
];

fn mutate(input: &mut Vec<u8>, rng: &mut Rng) {
    let len = input.len();
    match rng.below(8) {
        0 if len > 0 => {
            let at = rng.below(len);
            input[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            input[at] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
        }
        2 if len >= 4 => {
            let at = rng.below(len / 4) * 4;
            let value = INTERESTING_INTS[rng.below(INTERESTING_INTS.len())];
            input[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        3 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(len);
            input.drain(start..end);
        }
        4 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(len);
            let copy = input[start..end].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, copy);
        }
        5 if len > 0 => input.truncate(rng.below(len)),
        6 => replace_number(input, rng),
        _ => {
            let at = rng.below(len + 1);
            input.insert(at, INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())]);
        }
    }
}

/// Replaces one run of number characters in a text with an interesting number.
fn replace_number(input: &mut Vec<u8>, rng: &mut Rng) {
    let is_number = |b: u8| b.is_ascii_digit() || b"-+.eE".contains(&b);
    let starts: Vec<usize> = (0..input.len())
        .filter(|&i| input[i].is_ascii_digit() && (i == 0 || !is_number(input[i - 1])))
        .collect();
    if starts.is_empty() {
        return;
    }
    let start = starts[rng.below(starts.len())];
    let end = (start..input.len())
        .find(|&i| !is_number(input[i]))
        .unwrap_or(input.len());
    let number = INTERESTING_NUMBERS[rng.below(INTERESTING_NUMBERS.len())];
    input.splice(start..end, number.bytes());
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}
