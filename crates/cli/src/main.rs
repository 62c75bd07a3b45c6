//! `dancenow`: motion transfer from a source dancer to a target person.
//!
//! This binary only parses arguments, draws progress and prints results; the jobs live
//! in `dancenow-pipeline` and the crates below it.
//!
//! Exit status: 0 done (also when a `--minutes` budget ended training, with a
//! checkpoint), 1 an error, a bad option included (the message says what and where), 130 interrupted by
//! Ctrl-C, SIGTERM or SIGHUP (training saved a checkpoint first; other jobs removed what
//! they had half-written, and their ffmpeg).

mod args;
mod commands;
mod logging;
mod progress;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;

/// The exit status of a run stopped by a signal (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: i32 = 130;

fn main() {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print and succeed; a bad option is an error like any other.
        Err(err) => {
            let _ = err.print();
            std::process::exit(if err.use_stderr() { 1 } else { 0 });
        }
    };
    logging::init(cli.verbose, cli.quiet);
    dancenow_nn::keep_freed_memory();
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // Ctrl-C, SIGTERM and SIGHUP ask long jobs to save and stop; a second signal
        // while saving is ignored (checkpoints are written atomically).
        if let Err(err) = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst)) {
            eprintln!("error: installing the signal handler: {err}");
            std::process::exit(1);
        }
    }
    match commands::run(cli.command, &stop) {
        Ok(commands::Ended::Done) => {}
        Ok(commands::Ended::Interrupted) => {
            eprintln!("interrupted; what was finished is saved");
            std::process::exit(EXIT_INTERRUPTED);
        }
        // A job that ended early because it was asked to (not a failure) removed what it
        // had half-written.
        Err(err) if stop.load(Ordering::SeqCst) => {
            eprintln!("interrupted ({err:#}); unfinished outputs were removed");
            std::process::exit(EXIT_INTERRUPTED);
        }
        Err(err) => {
            // The whole chain once: "rendering poses: frame 12 of x.mp4: ffmpeg failed ...".
            eprintln!("error: {err:#}");
            std::process::exit(1);
        }
    }
}
