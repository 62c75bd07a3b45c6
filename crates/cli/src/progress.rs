//! Progress as a person sees it: bars with rate and ETA on a terminal; on a file or a
//! pipe, a dated log line when a phase starts, every [`LOG_EVERY`], and when it ends.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dancenow_pipeline::{Phase, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use tracing::info;

/// How often a phase logs its progress when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(30);

/// The CLI's [`Progress`]: bars or log lines, as stderr allows; a job asked to stop (by
/// Ctrl-C, SIGTERM or SIGHUP, which set `stop`) learns it here.
pub struct Bars<'a> {
    terminal: bool,
    stop: &'a AtomicBool,
}

impl<'a> Bars<'a> {
    pub fn new(stop: &'a AtomicBool) -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            stop,
        }
    }
}

impl Progress for Bars<'_> {
    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn phase(&self, name: &str, unit: &str, total: Option<u64>) -> Box<dyn Phase> {
        if self.terminal {
            Box::new(BarPhase(bar(total, name, unit)))
        } else {
            info!(
                "{name}: started{}",
                total.map_or(String::new(), |n| format!(", {n} {unit}"))
            );
            Box::new(LogPhase {
                name: name.to_string(),
                unit: unit.to_string(),
                state: Mutex::new(LogState {
                    total,
                    done: 0,
                    message: String::new(),
                    started: Instant::now(),
                    logged: Instant::now(),
                }),
            })
        }
    }
}

/// A bar counting `unit`s (frames, files); a spinner with a rate when the total is unknown.
fn bar(total: Option<u64>, message: &str, unit: &str) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template(&format!(
                "{{prefix}} [{{bar:30.cyan/blue}}] {{pos}}/{{len}} {unit} ({{per_sec}}, ETA {{eta}}) {{msg}}"
            ))
            .expect("valid template")
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{prefix}} {{pos}} {unit} ({{per_sec}}) {{msg}}"
            ))
            .expect("valid template"),
        ),
    };
    bar.set_prefix(message.to_string());
    bar
}

struct BarPhase(ProgressBar);

impl Phase for BarPhase {
    fn set_total(&self, total: u64) {
        self.0.set_length(total);
    }
    fn set_position(&self, done: u64) {
        self.0.set_position(done);
    }
    fn set_message(&self, message: &str) {
        self.0.set_message(message.to_string());
    }
    fn restart_estimate(&self) {
        self.0.reset_eta();
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

impl Drop for BarPhase {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

struct LogPhase {
    name: String,
    unit: String,
    state: Mutex<LogState>,
}

struct LogState {
    total: Option<u64>,
    done: u64,
    message: String,
    started: Instant,
    logged: Instant,
}

impl LogPhase {
    fn update(&self, change: impl FnOnce(&mut LogState)) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut state);
        if state.logged.elapsed() >= LOG_EVERY {
            state.logged = Instant::now();
            info!("{}", self.line(&state));
        }
    }

    fn line(&self, s: &LogState) -> String {
        let seconds = s.started.elapsed().as_secs_f64();
        let rate = s.done as f64 / seconds.max(1e-9);
        let mut line = format!("{}: {}", self.name, s.done);
        if let Some(total) = s.total {
            line += &format!("/{total}");
        }
        line += &format!(" {} ({rate:.2}/s", self.unit);
        if let Some(total) = s.total.filter(|_| rate > 0.0) {
            let left = total.saturating_sub(s.done) as f64 / rate;
            line += &format!(", ETA {}", clock(left));
        }
        line += ")";
        if !s.message.is_empty() {
            line += &format!(" {}", s.message);
        }
        line
    }
}

impl Phase for LogPhase {
    fn set_total(&self, total: u64) {
        self.update(|s| s.total = Some(total));
    }
    fn set_position(&self, done: u64) {
        self.update(|s| s.done = done);
    }
    fn set_message(&self, message: &str) {
        self.update(|s| s.message = message.to_string());
    }
    fn restart_estimate(&self) {
        self.update(|s| s.started = Instant::now());
    }
    fn advance(&self, n: u64) {
        self.update(|s| s.done += n);
    }
}

impl Drop for LogPhase {
    fn drop(&mut self) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        info!(
            "{} in {}",
            self.line(&state),
            clock(state.started.elapsed().as_secs_f64())
        );
    }
}

/// Seconds as `1h02m03s`, `2m03s` or `3s`.
fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}
