//! Trains a model on a dataset folder for a number of steps or minutes, for measuring
//! schedules per CPU-minute (docs/architecture.md section 5b).
//!
//! `train_quick DATA MODEL [--preset NAME] [--set KEY=VALUE]... [--minutes M]
//! [--cpu-minutes M] [--max-steps N] [--threads T]`
//!
//! `--cpu-minutes M` stops after M minutes of two busy cores (120 M CPU-seconds of this
//! process): on a machine shared with other work, a budget that wall time cannot give.
//!
//! A new MODEL folder gets the preset's config (default `quick`) at the dataset's size,
//! with each `--set` applied to its TOML (`training.batch_size=2`,
//! `generator.kind="pix2pixhd"`, `training.stages=[{stage="global",steps=9999}]`); an
//! existing one resumes. Prints one JSON line per checkpoint and one at the end: steps
//! done, seconds, steps per second.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dancenow_gan::{train, Dataset, Event, ModelConfig, ModelDir, Preset, Target, TrainOptions};
use dancenow_nn::tch::Device;

struct Args {
    data: PathBuf,
    model: PathBuf,
    preset: Preset,
    sets: Vec<String>,
    minutes: Option<f64>,
    cpu_minutes: Option<f64>,
    max_steps: Option<u64>,
    threads: usize,
}

/// The cores a `--cpu-minutes` minute stands for: this project's reference machine.
const REFERENCE_CORES: f64 = 2.0;
/// Linux's clock ticks per second in `/proc/self/stat` (`sysconf(_SC_CLK_TCK)` on x86).
const CLOCK_TICKS: f64 = 100.0;

/// This process's CPU time so far (user and system), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (in parentheses, which may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0)) / CLOCK_TICKS
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut positional = Vec::new();
    let mut args = Args {
        data: PathBuf::new(),
        model: PathBuf::new(),
        preset: Preset::Quick,
        sets: Vec::new(),
        minutes: None,
        cpu_minutes: None,
        max_steps: None,
        threads: 0,
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--preset" => args.preset = value("--preset")?.parse()?,
            "--set" => args.sets.push(value("--set")?),
            "--minutes" => {
                args.minutes = Some(value("--minutes")?.parse().map_err(|e| format!("{e}"))?)
            }
            "--cpu-minutes" => {
                args.cpu_minutes = Some(
                    value("--cpu-minutes")?
                        .parse()
                        .map_err(|e| format!("{e}"))?,
                )
            }
            "--max-steps" => {
                args.max_steps = Some(value("--max-steps")?.parse().map_err(|e| format!("{e}"))?)
            }
            "--threads" => {
                args.threads = value("--threads")?.parse().map_err(|e| format!("{e}"))?
            }
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let [data, model] = <[PathBuf; 2]>::try_from(positional)
        .map_err(|_| "usage: train_quick DATA MODEL [options]".to_string())?;
    args.data = data;
    args.model = model;
    Ok(args)
}

/// `config` with `KEY=VALUE` (a dotted path into its TOML, a TOML value) applied.
fn apply_set(config: &ModelConfig, set: &str) -> Result<ModelConfig, String> {
    let (key, value) = set
        .split_once('=')
        .ok_or(format!("--set {set}: expected KEY=VALUE"))?;
    let mut doc: toml::Value = toml::Value::try_from(config).map_err(|e| e.to_string())?;
    let parsed: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .map_err(|e| format!("--set {set}: {e}"))?
        .remove("v")
        .ok_or("no value")?;
    let mut node = &mut doc;
    let parts: Vec<&str> = key.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        node = node
            .get_mut(*part)
            .ok_or(format!("--set {set}: no table {part}"))?;
    }
    let table = node
        .as_table_mut()
        .ok_or(format!("--set {set}: not a table"))?;
    table.insert(parts[parts.len() - 1].to_string(), parsed);
    doc.try_into().map_err(|e| format!("--set {set}: {e}"))
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    dancenow_nn::set_cpu_threads(args.threads);
    dancenow_nn::keep_freed_memory();
    let dataset = Dataset::open(&args.data).map_err(|e| e.to_string())?;
    let model = ModelDir::new(&args.model);
    if !model.exists() {
        let mut config = args.preset.config(dataset.info.width, dataset.info.height);
        for set in &args.sets {
            config = apply_set(&config, set)?;
        }
        // Temporal channels follow the `temporal` flag.
        config = config.clone().with_temporal(config.temporal);
        let target = Target {
            dataset: args.data.display().to_string(),
            fps: dataset.info.fps,
            stats: dataset.info.stats.clone(),
            crop: None,
            video_size: None,
        };
        model
            .initialize(&config, &target)
            .map_err(|e| e.to_string())?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    if let Some(minutes) = args.minutes {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(minutes * 60.0));
            stop.store(true, Ordering::SeqCst);
        });
    }
    if let Some(minutes) = args.cpu_minutes {
        let stop = Arc::clone(&stop);
        let budget = minutes * 60.0 * REFERENCE_CORES;
        std::thread::spawn(move || {
            while cpu_seconds() < budget {
                std::thread::sleep(Duration::from_millis(500));
            }
            stop.store(true, Ordering::SeqCst);
        });
    }
    let vgg = PathBuf::from(env!("DANCENOW_DEPS")).join("models/lpips/vgg16.safetensors");
    let options = TrainOptions {
        device: Device::Cpu,
        vgg_weights: Some(vgg),
        only_stage: None,
        stop: &stop,
        max_steps: args.max_steps,
    };
    let start = Instant::now();
    let mut steps = 0u64;
    let mut stage_start = (Instant::now(), 0u64);
    // Each step's wall time: their median resists other work's bursts on a shared machine.
    let mut step_times: Vec<f64> = Vec::new();
    let mut last_step = Instant::now();
    let outcome = train(&model, &dataset, &options, &mut |event| match event {
        Event::StageStarted { stage, step, .. } => {
            stage_start = (Instant::now(), steps);
            last_step = Instant::now();
            eprintln!("{stage} from step {step}");
        }
        Event::Step(record) => {
            steps += 1;
            step_times.push(last_step.elapsed().as_secs_f64());
            last_step = Instant::now();
            if record.step % 10 == 0 {
                eprintln!(
                    "{} {}: l1 {:.4} vgg {:.3} gan {:.3} feat {:.3} d {:.3} ({:.1} s, {:.0} cpu s)",
                    record.stage,
                    record.step,
                    record.g_l1,
                    record.g_vgg,
                    record.g_gan,
                    record.g_feat,
                    record.d_total(),
                    start.elapsed().as_secs_f64(),
                    cpu_seconds()
                );
            }
        }
        Event::Checkpoint { stage, step, .. } => {
            // The checkpoint's writing is not the next step's time.
            last_step = Instant::now();
            let (t0, s0) = stage_start;
            let seconds = t0.elapsed().as_secs_f64();
            println!(
                "{{\"stage\": \"{stage}\", \"step\": {step}, \"seconds\": {:.1}, \"cpu_seconds\": {:.0}, \"stage_steps_per_s\": {:.4}}}",
                start.elapsed().as_secs_f64(),
                cpu_seconds(),
                (steps - s0) as f64 / seconds.max(1e-9)
            );
        }
        _ => {}
    })
    .map_err(|e| e.to_string())?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds();
    step_times.sort_by(f64::total_cmp);
    let median = step_times.get(step_times.len() / 2).copied().unwrap_or(0.0);
    println!(
        "{{\"outcome\": \"{outcome:?}\", \"steps\": {steps}, \"seconds\": {seconds:.1}, \"steps_per_s\": {:.4}, \"cpu_seconds\": {cpu:.0}, \"steps_per_cpu_minute_2cores\": {:.3}, \"median_step_s\": {median:.2}}}",
        steps as f64 / seconds,
        steps as f64 / (cpu / 60.0 / REFERENCE_CORES)
    );
    Ok(())
}
