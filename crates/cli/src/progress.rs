//! Progress bars: every long command shows one, with its rate and ETA.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `unit`s (frames, files); a spinner with a rate when the total is unknown.
pub fn bar(total: Option<u64>, message: &str, unit: &str) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template(&format!(
                "{{msg}} [{{bar:30.cyan/blue}}] {{pos}}/{{len}} {unit} ({{per_sec}}, ETA {{eta}})"
            ))
            .expect("valid template")
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{msg}} {{pos}} {unit} ({{per_sec}})"
            ))
            .expect("valid template"),
        ),
    };
    bar.set_message(message.to_string());
    bar
}
