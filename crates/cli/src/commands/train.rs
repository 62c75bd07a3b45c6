//! `dancenow train`: a prepared dataset -> a model folder, stage by stage, resumable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dancenow_gan::{train, Dataset, Event, ModelDir, Outcome, Target, TrainOptions};
use indicatif::ProgressBar;
use tracing::{info, warn};

use crate::args::TrainArgs;

pub fn run(args: TrainArgs) -> Result<()> {
    super::require_exists(&args.data, "dataset")?;
    let dataset = Dataset::open(&args.data)?;
    let device = args.device.resolve()?;
    dancenow_nn::set_cpu_threads(args.threads);
    let model = ModelDir::new(&args.output);
    if args.resume {
        if !model.exists() {
            bail!(
                "{} holds no model to resume (no config.toml)",
                args.output.display()
            );
        }
        info!("resuming the model in {}", args.output.display());
    } else {
        if model.exists() {
            bail!(
                "{} already holds a model; pass --resume to continue it, or choose another folder",
                args.output.display()
            );
        }
        let mut config = args
            .preset
            .config(dataset.info.width, dataset.info.height)
            .with_temporal(!args.no_temporal);
        config.training.seed = args.seed;
        if let Some(steps) = args.steps {
            for stage in &mut config.training.stages {
                stage.steps = steps;
            }
        }
        for (name, steps) in &args.stage_steps.0 {
            match config.training.stages.iter_mut().find(|s| s.stage == *name) {
                Some(stage) => stage.steps = *steps,
                None => bail!("the {} preset has no {name} stage", config.preset),
            }
        }
        if let Err(problem) = config.validate() {
            bail!(
                "the {} preset does not fit {}: {problem}; prepare it with another --size",
                config.preset,
                args.data.display()
            );
        }
        model.initialize(
            &config,
            &Target {
                dataset: args.data.display().to_string(),
                fps: dataset.info.fps,
                stats: dataset.info.stats.clone(),
            },
        )?;
    }
    let config = model.read_config()?;
    info!(
        "{} preset, {}x{}{}, stages: {}",
        config.preset,
        config.width,
        config.height,
        if config.temporal {
            ", temporal smoothing"
        } else {
            ""
        },
        config
            .training
            .stages
            .iter()
            .map(|s| format!("{} ({} steps)", s.stage, s.steps))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // A second Ctrl-C while saving is ignored; the checkpoint is written atomically.
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("installing the Ctrl-C handler")?;
    }
    if let Some(minutes) = args.minutes {
        let stop = Arc::clone(&stop);
        let budget = Duration::from_secs_f64(minutes.max(0.0) * 60.0);
        std::thread::spawn(move || {
            std::thread::sleep(budget);
            stop.store(true, Ordering::SeqCst);
        });
    }
    let options = TrainOptions {
        device,
        vgg_weights: Some(crate::assets::deps_dir().join("models/lpips/vgg16.safetensors")),
        only_stage: args.stage,
        stop: &stop,
        max_steps: None,
    };
    let started = Instant::now();
    let mut bar: Option<ProgressBar> = None;
    let outcome = train(&model, &dataset, &options, &mut |event| match event {
        Event::StageStarted { stage, step, steps } => {
            let b = crate::progress::bar(Some(steps), &format!("{stage} stage"), "steps");
            b.set_position(step);
            b.reset_eta();
            bar = Some(b);
        }
        Event::Step(r) => {
            if let Some(b) = &bar {
                b.set_position(r.step);
                b.set_message(format!(
                    "{} G {:.2} (gan {:.2} feat {:.2} vgg {:.2}) D {:.3}",
                    r.stage,
                    r.g_total(),
                    r.g_gan,
                    r.g_feat,
                    r.g_vgg,
                    r.d_total()
                ));
            }
        }
        Event::Checkpoint { step, path, .. } => {
            tracing::debug!("checkpoint at step {step}: {}", path.display())
        }
        Event::Sample(path) => tracing::debug!("samples: {}", path.display()),
        Event::StageFinished { stage } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            info!("{stage} stage finished");
        }
    });
    if let Some(b) = bar.take() {
        b.finish_and_clear();
    }
    let outcome = outcome?;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    match outcome {
        Outcome::Finished => info!(
            "training finished in {minutes:.1} min; model in {}",
            args.output.display()
        ),
        Outcome::Stopped { stage, step } => warn!(
            "stopped in the {stage} stage at step {step} after {minutes:.1} min, with a checkpoint; \
             `dancenow train {} -o {} --resume` continues",
            args.data.display(),
            args.output.display()
        ),
    }
    println!("samples:   {}", args.output.join("samples").display());
    println!("loss plot: {}", model.plot_path().display());
    Ok(())
}
