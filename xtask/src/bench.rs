//! `cargo xtask bench`: dancenow side by side with the reference implementation, in one
//! run on the same machine, reported as ratios (the machine is shared and noisy).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::setup::Deps;

/// Runs of each tool per measurement; the median is reported.
const ROUNDS: usize = 3;

/// MediaPipe's own pipeline, for comparison; pinned to the version whose models we read.
const MEDIAPIPE: &[&str] = &["mediapipe==0.10.14", "numpy<2"];

#[derive(clap::ValueEnum, Clone, Copy)]
pub enum Target {
    /// `dancenow pose` against Google's MediaPipe on a sample video.
    Pose,
}

pub fn run(root: &Path, deps: &Deps, target: Target) -> Result<()> {
    match target {
        Target::Pose => pose(root, deps),
    }
}

fn pose(root: &Path, deps: &Deps) -> Result<()> {
    crate::cargo(root, &["build", "--release", "--package", "dancenow-cli"])?;
    let python =
        crate::setup::python_env(&deps.root().join("bench-venv"), "mediapipe, cv2", MEDIAPIPE)?;
    let video = deps.sample("sports2d/demo.mp4");
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .to_string();
    let out = deps.root().join("bench-poses");
    let video_arg = video.to_str().context("sample path is not UTF-8")?;
    let out_arg = out.to_str().context("output path is not UTF-8")?;
    let dancenow = root.join("target/release/dancenow");
    let script = root.join("bench/pose_mediapipe.py");
    println!(
        "pose detection on {} ({threads} threads), frames per second:",
        video.display()
    );
    println!(
        "{:<18} {:>10} {:>10} {:>8}",
        "parts", "dancenow", "MediaPipe", "ratio"
    );
    for (name, flags, mode) in [
        ("body", &[][..], "body"),
        ("body+hands+face", &["--hands", "--face"][..], "holistic"),
    ] {
        let mut args = vec![
            "-q",
            "pose",
            video_arg,
            "-o",
            out_arg,
            "--device",
            "cpu",
            "--threads",
            &threads,
        ];
        args.extend(flags);
        // Alternate the two tools so that load from elsewhere hits both alike.
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            ours.push(fps(&output(Command::new(&dancenow).args(&args))?, "time:")?);
            theirs.push(fps(
                &output(Command::new(&python).arg(&script).arg(&video).arg(mode))?,
                "fps:",
            )?);
        }
        let (ours, theirs) = (median(&mut ours), median(&mut theirs));
        println!(
            "{name:<18} {ours:>10.2} {theirs:>10.2} {:>8.2}",
            ours / theirs
        );
    }
    std::fs::remove_dir_all(&out).ok();
    println!("median of {ROUNDS} alternating runs; ratio = dancenow / MediaPipe, above 1 means dancenow is faster.");
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The frame rate on the line starting with `label`: the last number on it.
fn fps(stdout: &str, label: &str) -> Result<f64> {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .with_context(|| format!("no `{label}` line in:\n{stdout}"))?;
    line.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.parse::<f64>().ok())
        .next_back()
        .with_context(|| format!("no number in {line:?}"))
}

fn output(command: &mut Command) -> Result<String> {
    let out = command
        .output()
        .with_context(|| format!("starting {:?}", command.get_program()))?;
    if !out.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::fps;

    #[test]
    fn frame_rates_are_read_from_either_tool() {
        assert_eq!(
            fps(
                "frames: 3\ntime:                 2.00 s (11.5 fps)\n",
                "time:"
            )
            .unwrap(),
            11.5
        );
        assert_eq!(
            fps("frames: 230, with a person: 222\nfps: 9.87\n", "fps:").unwrap(),
            9.87
        );
        assert!(fps("nothing", "fps:").is_err());
    }
}
