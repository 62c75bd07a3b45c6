//! `dancenow`: motion transfer from a source dancer to a target person.
//!
//! This binary only parses, checks the plan, and wires the library crates together;
//! the work lives in `dancenow-pose`, `dancenow-media` and `dancenow-nn`.

mod args;
mod assets;
mod commands;
mod logging;
mod progress;
mod report;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    logging::init(cli.verbose, cli.quiet);
    dancenow_nn::keep_freed_memory();
    if let Err(err) = commands::run(cli.command) {
        // The whole chain once: "rendering poses: frame 12 of x.mp4: ffmpeg failed ...".
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
