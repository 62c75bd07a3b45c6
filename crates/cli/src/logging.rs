//! One logging set-up for the whole program: tracing to stderr, `RUST_LOG` to override.
//! On a terminal, lines are short and coloured; in a file or a pipe they carry the date
//! and time and no colour codes.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if std::io::stderr().is_terminal() {
        builder.without_time().init();
    } else {
        builder.with_ansi(false).init();
    }
}
