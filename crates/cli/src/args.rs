//! Command-line arguments. Parsing only checks syntax; each command checks its plan
//! (inputs exist, outputs are writable kinds) before any long work starts.

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand};
use dancenow_nn::DeviceChoice;
use dancenow_pipeline::train::StepOverrides;
use dancenow_pose::smooth::Smoothing;

#[derive(Parser)]
#[command(
    name = "dancenow",
    version,
    about = "Everybody Dance Now: motion transfer from a source dancer to a target person"
)]
pub struct Cli {
    /// More log output (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Show what a video, an image or an image folder is.
    #[command(after_help = "Example:\n  dancenow probe dance.mp4 --json")]
    Probe(ProbeArgs),
    /// Detect the body pose in every frame and write OpenPose JSON (+ a preview video).
    #[command(
        after_help = "Example:\n  dancenow pose dance.mp4 -o dance.poses --hands --face --preview preview.mp4"
    )]
    Pose(PoseArgs),
    /// Draw OpenPose-format poses as stick figures, on white or over the original video.
    #[command(
        after_help = "Example:\n  dancenow render dance.poses -o figures.mp4 --over dance.mp4"
    )]
    Render(RenderArgs),
    /// Scale and move a source dancer's poses to a target person's size and ground line.
    #[command(
        after_help = "Example:\n  dancenow normalize dance.poses --target me.poses -o dance-as-me.poses"
    )]
    Normalize(NormalizeArgs),
    /// Make training data of a target person: cropped frames, stick figures, poses, split.
    #[command(after_help = "Example:\n  dancenow prepare me.mp4 -o me.data --size 256x256")]
    Prepare(PrepareArgs),
    /// Train a model of the target person on a prepared dataset.
    #[command(
        after_help = "Example:\n  dancenow train me.data -o me.model --minutes 30\n  dancenow train me.data -o me.model --resume --steps global=2000"
    )]
    Train(TrainArgs),
    /// Make the target person of a model dance as the source video's dancer does.
    #[command(
        after_help = "Example:\n  dancenow transfer dance.mp4 --model me.model -o me-dancing.mp4 --side-by-side"
    )]
    Transfer(TransferArgs),
    /// Measure a model on its dataset's held-out frames: SSIM, LPIPS, pose distance, jitter.
    #[command(
        after_help = "Example:\n  dancenow eval me.data --model me.model -o report --compare me-baseline.model"
    )]
    Eval(EvalArgs),
    /// The whole pipeline on the sample videos: prepare, train, transfer, eval.
    #[command(after_help = "Example:\n  dancenow demo -o demo-out")]
    Demo(DemoArgs),
    /// Show the tensor engine and check that the chosen device computes.
    #[command(after_help = "Example:\n  dancenow device --device cuda")]
    Device(DeviceArgs),
}

/// How poses are detected when no OpenPose JSON is given.
#[derive(Args, Clone)]
pub struct DetectArgs {
    /// Frame rate of an image folder (images carry none).
    #[arg(long, value_parser = parse_fps)]
    pub fps: Option<f64>,
    /// Also detect the 21 points of each hand.
    #[arg(long)]
    pub hands: bool,
    /// Also detect the 70 face points.
    #[arg(long)]
    pub face: bool,
    /// Follow the person whose region holds this pixel (default: the largest at the start).
    #[arg(long, value_name = "X,Y", value_parser = parse_point)]
    pub person_at: Option<(f32, f32)>,
    /// CPU threads (default: one per core).
    #[arg(long, default_value_t = 0, value_parser = parse_threads)]
    pub threads: usize,
    /// cpu, cuda, cuda:N or auto (CUDA when present, else CPU).
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
}

#[derive(Args)]
pub struct PrepareArgs {
    /// The target person's video (or image folder).
    #[arg(allow_hyphen_values = true)]
    pub input: PathBuf,
    /// Output folder for the dataset.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Read the poses from this folder of OpenPose JSON instead of detecting them.
    #[arg(long, value_name = "DIR")]
    pub poses: Option<PathBuf>,
    /// Training image size; the person is framed at this aspect ratio.
    #[arg(long, value_name = "WxH", default_value = "256x256")]
    pub size: Size,
    /// Fraction of the frames, at the end of the video, held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    #[command(flatten)]
    pub detect: DetectArgs,
}

#[derive(Args)]
pub struct TrainArgs {
    /// A dataset folder made by `dancenow prepare`.
    #[arg(allow_hyphen_values = true)]
    pub data: PathBuf,
    /// The model folder: config.toml, checkpoints, samples, loss plot.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Network sizes and schedule of a new model: quick (the default: a U-Net that learns
    /// a person in CPU minutes), small (pix2pixHD for CPU), paper (pix2pixHD, GPU), or
    /// quick-tiny / tiny (tests). On --resume, the saved preset is used (naming another is
    /// an error).
    #[arg(long)]
    pub preset: Option<dancenow_gan::Preset>,
    /// Training steps: N for every stage, or per stage as `global=300,local=200,face=200`
    /// (default: the preset's). On --resume, this changes the saved schedule.
    #[arg(long, value_name = "N|STAGE=N,...", value_parser = parse_steps, default_value = "", hide_default_value = true)]
    pub steps: StepOverrides,
    /// Continue the model in OUTPUT from its checkpoints, with its config.toml.
    #[arg(long)]
    pub resume: bool,
    /// Train plain pix2pixHD, frame by frame, without the paper's temporal smoothing (the
    /// baseline of its comparisons).
    #[arg(long, conflicts_with = "resume")]
    pub no_temporal: bool,
    /// Paint the whole frame instead of the person and an alpha mask composed over the
    /// target's background plate (the quick presets' default; see the README).
    #[arg(long)]
    pub paint: bool,
    /// Run only this stage: global, local or face (those before it must be trained).
    #[arg(long)]
    pub stage: Option<dancenow_gan::Stage>,
    /// Stop (with a checkpoint) after this many minutes; --resume continues.
    #[arg(long, value_parser = parse_minutes)]
    pub minutes: Option<f64>,
    /// Random seed of the initial weights and the frame order (default 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// CPU threads (default: one per core).
    #[arg(long, default_value_t = 0, value_parser = parse_threads)]
    pub threads: usize,
    /// cpu, cuda, cuda:N or auto (CUDA when present, else CPU).
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
}

#[derive(Args)]
pub struct TransferArgs {
    /// The source dancer's video (or image folder).
    #[arg(allow_hyphen_values = true)]
    pub source: PathBuf,
    /// A model folder made by `dancenow train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Output video (.mp4, .mkv...).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Read the source poses from this folder of OpenPose JSON instead of detecting them.
    #[arg(long, value_name = "DIR")]
    pub poses: Option<PathBuf>,
    /// Write source | stick figure | output side by side, as in the paper's figures.
    #[arg(long)]
    pub side_by_side: bool,
    #[command(flatten)]
    pub source_poses: SourcePoseArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
}

/// How source poses are made ready for the target; `normalize` and `transfer` share these
/// options and their defaults.
#[derive(Args, Clone)]
pub struct SourcePoseArgs {
    /// Smooth the source keypoints first: none, median[:FRAMES] or gaussian[:SIGMA].
    #[arg(long, default_value = "median:7")]
    pub smooth: SmoothArg,
    /// Keep the source's place across its frame (the paper's mapping, about the frame
    /// centres) instead of moving the dancer to where the target stood in its video.
    #[arg(long)]
    pub keep_source_x: bool,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Output folder; a demo stopped half-way continues where it stopped.
    #[arg(short, long, default_value = "demo-out")]
    pub output: PathBuf,
    /// The target person's video (default: the musicalgestures dancer setup installs).
    #[arg(long, value_name = "VIDEO")]
    pub target: Option<PathBuf>,
    /// The source dancer's video (default: the sports2d sample setup installs).
    #[arg(long, value_name = "VIDEO")]
    pub source: Option<PathBuf>,
    /// Image size of the model.
    #[arg(long, value_name = "WxH", default_value = "256x256")]
    pub size: Size,
    /// Model preset.
    #[arg(long, default_value = "quick")]
    pub preset: dancenow_gan::Preset,
    /// Paint the whole frame instead of compositing the person over the target's
    /// background plate (as `train --paint`).
    #[arg(long)]
    pub paint: bool,
    /// Training steps, as `train --steps` takes them; by default the preset's (the quick
    /// preset's 1200 body steps and 60 face steps fit about 11 minutes on a 2-core CPU
    /// at 256x256).
    #[arg(long, value_name = "N|STAGE=N,...", value_parser = parse_steps, default_value = "", hide_default_value = true)]
    pub steps: StepOverrides,
    /// Stop training after this many minutes whatever the steps (the demo goes on with
    /// the last checkpoint, and says so).
    #[arg(long, default_value_t = 12.0, value_parser = parse_minutes)]
    pub minutes: f64,
    /// CPU threads (default: one per core).
    #[arg(long, default_value_t = 0, value_parser = parse_threads)]
    pub threads: usize,
    /// cpu, cuda, cuda:N or auto (CUDA when present, else CPU).
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
}

#[derive(Args)]
pub struct EvalArgs {
    /// The dataset folder the model was trained on (made by `dancenow prepare`); its
    /// held-out frames are measured.
    #[arg(allow_hyphen_values = true)]
    pub data: PathBuf,
    /// A model folder made by `dancenow train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Output folder for the report (report.md, report.html, metrics.json, images).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Another model to measure beside the first (e.g. the --no-temporal baseline); repeatable.
    #[arg(long, value_name = "MODEL")]
    pub compare: Vec<PathBuf>,
    /// Sample rows in the picture strips.
    #[arg(long, default_value_t = 4)]
    pub samples: usize,
    /// CPU threads (default: one per core).
    #[arg(long, default_value_t = 0, value_parser = parse_threads)]
    pub threads: usize,
    /// cpu, cuda, cuda:N or auto (CUDA when present, else CPU).
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
}

#[derive(Args)]
pub struct ProbeArgs {
    /// A video file, an image, or a folder of images.
    #[arg(allow_hyphen_values = true)]
    pub input: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct PoseArgs {
    /// A video file, an image, or a folder of images (taken as consecutive frames).
    #[arg(allow_hyphen_values = true)]
    pub input: PathBuf,
    /// Output folder for one OpenPose JSON file per frame and sequence.json.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write this video: the frames with the detected skeleton drawn over them.
    #[arg(long, value_name = "VIDEO")]
    pub preview: Option<PathBuf>,
    #[command(flatten)]
    pub detect: DetectArgs,
}

#[derive(Args)]
pub struct RenderArgs {
    /// A folder of OpenPose JSON files (`*_keypoints.json`).
    #[arg(allow_hyphen_values = true)]
    pub poses: PathBuf,
    /// Output: a .mp4 video, or a folder for PNG images.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Draw over this video's (or image folder's) frames instead of white.
    #[arg(long, value_name = "VIDEO")]
    pub over: Option<PathBuf>,
    /// Output height in pixels (width follows the aspect ratio); default: the poses' frame size.
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=MAX_SIDE as i64))]
    pub height: Option<u32>,
    /// Frame size of the poses when their folder has no sequence.json and no --over is given.
    #[arg(long, value_name = "WxH")]
    pub size: Option<Size>,
    /// Frame rate when the poses' folder has no sequence.json and no --over is given.
    #[arg(long, value_parser = parse_fps)]
    pub fps: Option<f64>,
}

#[derive(Args)]
pub struct NormalizeArgs {
    /// The source dancer's poses: a folder of OpenPose JSON files.
    #[arg(allow_hyphen_values = true)]
    pub source: PathBuf,
    /// The target person's poses, whose proportions and ground line the output takes.
    #[arg(long)]
    pub target: PathBuf,
    /// Output folder for the normalized poses and normalization.json.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub source_poses: SourcePoseArgs,
    /// Source frame size, when its folder has no sequence.json.
    #[arg(long, value_name = "WxH")]
    pub source_size: Option<Size>,
    /// Target frame size, when its folder has no sequence.json.
    #[arg(long, value_name = "WxH")]
    pub target_size: Option<Size>,
    /// Frame rate, when a folder has no sequence.json.
    #[arg(long, value_parser = parse_fps)]
    pub fps: Option<f64>,
}

#[derive(Args)]
pub struct DeviceArgs {
    /// cpu, cuda, cuda:N or auto (CUDA when present, else CPU).
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
}

/// The largest image side the commands accept: well past 8K, short of exhausting memory.
pub const MAX_SIDE: u32 = 16_384;

fn parse_point(s: &str) -> Result<(f32, f32), String> {
    let bad = || format!("expected X,Y in pixels such as 640,360, got {s:?}");
    let (x, y) = s.split_once(',').ok_or_else(bad)?;
    let (x, y): (f32, f32) = (
        x.trim().parse().map_err(|_| bad())?,
        y.trim().parse().map_err(|_| bad())?,
    );
    if !(x.is_finite() && y.is_finite()) {
        return Err(bad());
    }
    Ok((x, y))
}

fn parse_fps(s: &str) -> Result<f64, String> {
    use dancenow_pose::openpose::MAX_FPS;
    match s.parse::<f64>() {
        Ok(fps) if fps.is_finite() && fps > 0.0 && fps <= MAX_FPS => Ok(fps),
        _ => Err(format!(
            "expected a frame rate between 0 and {MAX_FPS}, got {s:?}"
        )),
    }
}

/// Steps per named stage.
/// `N` for every stage, `STAGE=N,...` for some, or both (`N,face=M`); empty for none.
fn parse_steps(s: &str) -> Result<StepOverrides, String> {
    let mut steps = StepOverrides::default();
    let count = |text: &str| -> Result<u64, String> {
        match text.trim().parse::<u64>() {
            Ok(n) if (1..=MAX_STEPS).contains(&n) => Ok(n),
            _ => Err(format!(
                "{text:?} is not a number of steps from 1 to {MAX_STEPS}"
            )),
        }
    };
    for part in s.split(',').filter(|part| !part.trim().is_empty()) {
        match part.split_once('=') {
            Some((stage, n)) => steps.per_stage.push((stage.trim().parse()?, count(n)?)),
            None => steps.all = Some(count(part)?),
        }
    }
    Ok(steps)
}

/// The most steps a stage may be given: far beyond the paper's 100,000.
const MAX_STEPS: u64 = 100_000_000;

fn parse_minutes(s: &str) -> Result<f64, String> {
    let minutes: f64 = s
        .parse()
        .map_err(|_| format!("expected a number of minutes, got {s:?}"))?;
    dancenow_pipeline::train::check_minutes(minutes)
        .map(|_| minutes)
        .map_err(|e| e.to_string())
}

/// The most threads accepted; more than the machine's cores are capped with a warning.
const MAX_THREADS: usize = 1024;

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n <= MAX_THREADS => Ok(n),
        _ => Err(format!(
            "expected a number of threads from 0 (one per core) to {MAX_THREADS}, got {s:?}"
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    /// (width, height), as the pipeline takes sizes.
    pub fn pair(self) -> (u32, u32) {
        (self.width, self.height)
    }
}

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected WIDTHxHEIGHT such as 1920x1080, got {s:?}");
        let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let (width, height) = (
            w.trim().parse().map_err(|_| bad())?,
            h.trim().parse().map_err(|_| bad())?,
        );
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(bad());
        }
        Ok(Self { width, height })
    }
}

/// `none`, `median`, `median:7`, `gaussian`, `gaussian:2.0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmoothArg(pub Option<Smoothing>);

/// Default Gaussian sigma in frames when `gaussian` is given without one.
const DEFAULT_GAUSSIAN_SIGMA: f32 = 1.5;

impl FromStr for SmoothArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected none, median[:FRAMES] or gaussian[:SIGMA], got {s:?}");
        let (kind, value) = s.split_once(':').map_or((s, None), |(k, v)| (k, Some(v)));
        match kind {
            "none" if value.is_none() => Ok(Self(None)),
            "median" => {
                let window = value
                    .map_or(Ok(dancenow_pose::smooth::DEFAULT_MEDIAN_WINDOW), |v| {
                        v.parse()
                    })
                    .map_err(|_| bad())?;
                if window == 0 {
                    return Err(bad());
                }
                Ok(Self(Some(Smoothing::median(window))))
            }
            "gaussian" => {
                let sigma: f32 = value
                    .map_or(Ok(DEFAULT_GAUSSIAN_SIGMA), |v| v.parse())
                    .map_err(|_| bad())?;
                if !(sigma.is_finite() && sigma > 0.0) {
                    return Err(bad());
                }
                Ok(Self(Some(Smoothing::gaussian(sigma))))
            }
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_smoothing_parse() {
        assert_eq!(
            "1920x1080".parse(),
            Ok(Size {
                width: 1920,
                height: 1080
            })
        );
        assert!("1920".parse::<Size>().is_err());
        assert!("0x10".parse::<Size>().is_err());
        assert!("100000x10".parse::<Size>().is_err());
        assert_eq!(parse_fps("29.97"), Ok(29.97));
        assert!(parse_fps("0").is_err() && parse_fps("nan").is_err() && parse_fps("-5").is_err());
        assert_eq!("none".parse::<SmoothArg>().unwrap().0, None);
        assert_eq!(
            "median".parse::<SmoothArg>().unwrap().0,
            Some(Smoothing::median(7))
        );
        assert_eq!(
            "median:5".parse::<SmoothArg>().unwrap().0,
            Some(Smoothing::median(5))
        );
        assert_eq!(
            "gaussian:2".parse::<SmoothArg>().unwrap().0,
            Some(Smoothing::gaussian(2.0))
        );
        assert!("gaussian:-1".parse::<SmoothArg>().is_err());
        assert!("mean".parse::<SmoothArg>().is_err());
    }

    #[test]
    fn steps_take_one_count_or_counts_per_stage() {
        use dancenow_gan::Stage;
        assert_eq!(parse_steps(""), Ok(StepOverrides::default()));
        assert_eq!(parse_steps("40").unwrap().all, Some(40));
        let both = parse_steps("40, face=7").unwrap();
        assert_eq!(
            (both.all, both.per_stage),
            (Some(40), vec![(Stage::Face, 7)])
        );
        for bad in ["0", "-3", "global=", "elbow=3", "1e300", "200000000"] {
            assert!(parse_steps(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn durations_and_threads_are_bounded() {
        assert_eq!(parse_minutes("2.5"), Ok(2.5));
        for bad in ["inf", "1e300", "nan", "-1", "0", "soon"] {
            let message = parse_minutes(bad).unwrap_err();
            assert!(
                message.contains("above 0") || message.contains("expected"),
                "{message}"
            );
        }
        assert_eq!(parse_threads("0"), Ok(0));
        assert!(parse_threads("100000").is_err());
    }

    /// A file named like an option is still a file: `probe -dash.mp4` (issue 18), and an
    /// option's value takes one with `=`; the real options keep working.
    #[test]
    fn paths_may_begin_with_a_dash() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.command);
        match parse(&["dancenow", "probe", "-dash.mp4"]) {
            Ok(Command::Probe(args)) => assert_eq!(args.input, PathBuf::from("-dash.mp4")),
            _ => panic!("probe -dash.mp4 was not read as a file"),
        }
        match parse(&["dancenow", "probe", "--json", "-dash.mp4"]) {
            Ok(Command::Probe(args)) => {
                assert!(args.json && args.input == std::path::Path::new("-dash.mp4"))
            }
            _ => panic!("probe --json -dash.mp4 was not read as a file"),
        }
        match parse(&["dancenow", "render", "-p.json", "--output=-out.mp4"]) {
            Ok(Command::Render(args)) => {
                assert_eq!(args.poses, PathBuf::from("-p.json"));
                assert_eq!(args.output, PathBuf::from("-out.mp4"));
            }
            _ => panic!("render -p.json --output=-out.mp4 was not read as files"),
        }
        let help = parse(&["dancenow", "probe", "--help"])
            .err()
            .map(|e| e.kind());
        assert_eq!(help, Some(clap::error::ErrorKind::DisplayHelp));
    }
}
