//! How a job reports its progress. The CLI draws bars or writes dated lines; a library
//! user can log, forward to a UI, or ignore it ([`Quiet`]).

/// Something that shows the progress of long jobs.
pub trait Progress: Sync {
    /// A phase begins: `total` units (frames, steps) when known. The phase ends when the
    /// returned handle is dropped.
    fn phase(&self, name: &str, unit: &str, total: Option<u64>) -> Box<dyn Phase>;

    /// Whether the job was asked to stop (Ctrl-C, SIGTERM, a UI's cancel button). Jobs
    /// ask before each frame and end with [`Interrupted`], dropping what they half-wrote
    /// (a video's `.partial`, its ffmpeg); training stops with a checkpoint instead.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// A job ended early because [`Progress::stop_requested`] said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// `Err(Interrupted)` once a stop was asked for.
pub fn check(progress: &dyn Progress) -> Result<(), Interrupted> {
    if progress.stop_requested() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// One running phase of a job.
pub trait Phase: Send + Sync {
    /// The total became known (or changed).
    fn set_total(&self, total: u64);
    /// `done` units are finished.
    fn set_position(&self, done: u64);
    /// A short status, such as the latest losses.
    fn set_message(&self, _message: &str) {}
    /// Starts the rate and the time estimate afresh (after a resume, say).
    fn restart_estimate(&self) {}
    /// One more unit is finished.
    fn inc(&self) {
        self.advance(1);
    }
    /// `n` more units are finished.
    fn advance(&self, n: u64);
}

/// Reports nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn phase(&self, _: &str, _: &str, _: Option<u64>) -> Box<dyn Phase> {
        Box::new(QuietPhase)
    }
}

struct QuietPhase;

impl Phase for QuietPhase {
    fn set_total(&self, _: u64) {}
    fn set_position(&self, _: u64) {}
    fn advance(&self, _: u64) {}
}
