//! A trained model turning stick figures into frames: the generator of the latest
//! stage that has a checkpoint.

use dancenow_nn::tch::{self, Device};
use image::{imageops, RgbImage};

use crate::checkpoint::Checkpoint;
use crate::config::{ModelConfig, Stage};
use crate::generator::Generator;
use crate::images::{to_image, to_tensor};
use crate::model_dir::ModelDir;
use crate::train::TrainError;

pub struct Renderer {
    pub config: ModelConfig,
    generator: Generator,
    /// The training step the weights come from.
    pub step: u64,
    /// The last frame generated, at the stage's size: the next frame's input when the
    /// model is temporal.
    previous: Option<tch::Tensor>,
}

impl Renderer {
    pub fn load(model: &ModelDir, device: Device) -> Result<Self, TrainError> {
        let config = model.read_config()?;
        let stage = config
            .training
            .stages
            .iter()
            .rev()
            .map(|s| s.stage)
            .find(|s| model.checkpoint_path(*s).exists())
            .ok_or_else(|| {
                TrainError::Plan(format!(
                    "{} has no checkpoint yet: train it first",
                    model.root().display()
                ))
            })?;
        let generator = Generator::new(&config, stage, device);
        let ckpt = Checkpoint::read(&model.checkpoint_path(stage), device)?;
        ckpt.restore("g", &generator.vs)?;
        let step = ckpt
            .get("step", &tch::Tensor::from(0i64))?
            .int64_value(&[])
            .max(0) as u64;
        let planned = config
            .training
            .stages
            .iter()
            .find(|s| s.stage == stage)
            .map_or(0, |s| s.steps);
        if step < planned || (stage == Stage::Global && config.has_stage(Stage::Local)) {
            tracing::warn!(
                "{}: using the {stage} stage at step {step} of {planned}; training is not finished",
                model.root().display()
            );
        }
        Ok(Self {
            config,
            generator,
            step,
            previous: None,
        })
    }

    pub fn stage(&self) -> Stage {
        self.generator.stage
    }

    /// Starts a new shot: the next frame does not follow the last one rendered.
    pub fn reset(&mut self) {
        self.previous = None;
    }

    /// The frame for one stick figure of the model's size, following the frames rendered
    /// since the last [`reset`](Self::reset); a model whose local stage is not trained yet
    /// works at the global stage's size and is scaled up to it.
    pub fn render(&mut self, figure: &RgbImage) -> RgbImage {
        let (w, h) = self.config.stage_size(self.stage());
        let input = if figure.dimensions() == (w, h) {
            figure.clone()
        } else {
            imageops::resize(figure, w, h, imageops::FilterType::Triangle)
        };
        let device = self.generator.vs.device();
        let frame = tch::no_grad(|| {
            self.generator
                .frame(&to_tensor(&input, device), self.previous.as_ref())
        });
        let out = to_image(&frame);
        if self.generator.temporal {
            self.previous = Some(frame);
        }
        if out.dimensions() == (self.config.width, self.config.height) {
            out
        } else {
            imageops::resize(
                &out,
                self.config.width,
                self.config.height,
                imageops::FilterType::Triangle,
            )
        }
    }
}
