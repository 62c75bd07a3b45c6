//! `cargo xtask bench`: dancenow side by side with the reference implementation, in one
//! run on the same machine, reported as ratios (the machine is shared and noisy).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::setup::Deps;

/// Runs of each tool per measurement; the median is reported (the development machine is
/// shared: single runs of the same binary vary by 15%).
const ROUNDS: usize = 5;

/// MediaPipe's own pipeline, for comparison; pinned to the version whose models we read.
const MEDIAPIPE: &[&str] = &["mediapipe==0.10.14", "numpy<2"];

#[derive(clap::ValueEnum, Clone, Copy)]
pub enum Target {
    /// `dancenow pose` against Google's MediaPipe on a sample video.
    Pose,
    /// pix2pixHD training steps and generator inference against PyTorch.
    Train,
}

/// PyTorch of the libtorch version dancenow links (its wheel needs the NVIDIA libraries
/// even on a CPU: several GB, installed only for this benchmark).
const PYTORCH: &[&str] = &["torch==2.13.0", "numpy"];
/// Training steps timed per size (after two warm-up steps); the median is reported.
const TRAIN_STEPS: &str = "5";

pub fn run(root: &Path, deps: &Deps, target: Target) -> Result<()> {
    match target {
        Target::Pose => pose(root, deps),
        Target::Train => train(root, deps),
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

fn train(root: &Path, deps: &Deps) -> Result<()> {
    crate::cargo(
        root,
        &[
            "build",
            "--release",
            "--package",
            "dancenow-gan",
            "--example",
            "bench_train",
        ],
    )?;
    let python = crate::setup::python_env(&deps.root().join("torch-venv"), "torch", PYTORCH)?;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .to_string();
    let vgg = deps.root().join("models/lpips/vgg16.safetensors");
    let ours = root.join("target/release/examples/bench_train");
    let script = root.join("bench/train_step_torch.py");
    println!("pix2pixHD on the CPU ({threads} threads), batch 1, with the VGG loss:");
    println!(
        "{:<28} {:>14} {:>14} {:>7} {:>12} {:>12} {:>7}",
        "size",
        "dancenow s/step",
        "PyTorch s/step",
        "ratio",
        "dancenow G fps",
        "PyTorch G fps",
        "ratio"
    );
    for (size, label) in [
        ("small", "small (ngf 32, 256x256)"),
        ("paper-global", "paper global (ngf 64, 512x256)"),
    ] {
        let json = |out: String| -> Result<(f64, f64)> {
            Ok((
                json_number(&out, "step_s")?,
                json_number(&out, "infer_fps")?,
            ))
        };
        let args = [
            size,
            TRAIN_STEPS,
            &threads,
            vgg.to_str().context("path is not UTF-8")?,
        ];
        let (our_step, our_fps) = json(output(Command::new(&ours).args(args))?)?;
        let (their_step, their_fps) = json(output(Command::new(&python).arg(&script).args(args))?)?;
        println!(
            "{label:<28} {our_step:>14.3} {their_step:>14.3} {:>7.2} {our_fps:>12.2} {their_fps:>12.2} {:>7.2}",
            our_step / their_step,
            our_fps / their_fps
        );
    }
    println!("step ratio = dancenow / PyTorch (below 1: dancenow is faster); fps ratio the other way up.");
    Ok(())
}

/// The number after `"key":` in a one-line JSON object of numbers and strings.
fn json_number(text: &str, key: &str) -> Result<f64> {
    let pattern = format!("\"{key}\":");
    let at = text
        .find(&pattern)
        .with_context(|| format!("no {key} in {text:?}"))?;
    let rest = text[at + pattern.len()..].trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end]
        .trim()
        .parse()
        .with_context(|| format!("{key} is not a number in {text:?}"))
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
    fn benchmark_json_numbers_are_read() {
        let line = r#"{"size": "small", "step_s": 1.25, "infer_fps": 3}"#;
        assert_eq!(super::json_number(line, "step_s").unwrap(), 1.25);
        assert_eq!(super::json_number(line, "infer_fps").unwrap(), 3.0);
        assert!(super::json_number(line, "other").is_err());
    }

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
