//! A trained model turning stick figures into frames: the generator of the latest body
//! stage that has a checkpoint, followed by the face GAN once it is trained.

use dancenow_nn::tch::{self, Device, Tensor};
use dancenow_pose::FaceBox;
use image::RgbImage;

use crate::config::{ModelConfig, Stage};
use crate::generator::Generator;
use crate::images::{resize, shrink, to_image, to_tensor};
use crate::model_dir::ModelDir;
use crate::train::TrainError;

pub struct Renderer {
    pub config: ModelConfig,
    body: Generator,
    face: Option<Generator>,
    /// The training step of the body weights.
    pub step: u64,
    /// The last frame generated, at the body stage's size: the next frame's input when
    /// the model is temporal.
    previous: Option<Tensor>,
}

/// A stage's generator from its checkpoint, and the step it was saved at; a warning when
/// that stage is not finished.
fn load_stage(
    model: &ModelDir,
    config: &ModelConfig,
    stage: Stage,
    device: Device,
) -> Result<(Generator, u64), TrainError> {
    let (generator, step) = Generator::load(&model.checkpoint_path(stage), config, stage, device)?;
    let planned = config
        .training
        .stages
        .iter()
        .find(|s| s.stage == stage)
        .map_or(0, |s| s.steps);
    if step < planned {
        tracing::warn!(
            "{}: using the {stage} stage at step {step} of {planned}; training is not finished",
            model.root().display()
        );
    }
    Ok((generator, step))
}

impl Renderer {
    pub fn load(model: &ModelDir, device: Device) -> Result<Self, TrainError> {
        let config = model.read_config()?;
        let body_stage = [Stage::Local, Stage::Global]
            .into_iter()
            .filter(|s| config.has_stage(*s))
            .find(|s| model.checkpoint_path(*s).exists())
            .ok_or_else(|| {
                TrainError::Plan(format!(
                    "{} has no checkpoint yet: train it first",
                    model.root().display()
                ))
            })?;
        if body_stage != config.body_stage() {
            tracing::warn!(
                "{}: the {} stage is not trained yet; using the {body_stage} stage, scaled up",
                model.root().display(),
                config.body_stage()
            );
        }
        let (body, step) = load_stage(model, &config, body_stage, device)?;
        let face_trained = config.has_stage(Stage::Face)
            && body_stage == config.body_stage()
            && model.checkpoint_path(Stage::Face).exists();
        let face = if face_trained {
            Some(load_stage(model, &config, Stage::Face, device)?.0)
        } else {
            if config.has_stage(Stage::Face) {
                tracing::warn!(
                    "{}: the face stage is not trained yet; faces come from the body model alone",
                    model.root().display()
                );
            }
            None
        };
        Ok(Self {
            config,
            body,
            face,
            step,
            previous: None,
        })
    }

    /// The body stage in use.
    pub fn stage(&self) -> Stage {
        self.body.stage
    }

    /// Whether a trained face GAN refines the faces.
    pub fn has_face(&self) -> bool {
        self.face.is_some()
    }

    /// Starts a new shot: the next frame does not follow the last one rendered.
    pub fn reset(&mut self) {
        self.previous = None;
    }

    /// The frame for one stick figure of the model's size, following the frames rendered
    /// since the last [`reset`](Self::reset), its face refined inside `face` when the
    /// face GAN is trained (no face box: the body model's frame as it is). A model whose
    /// local stage is not trained yet works at the global stage's size, scaled up.
    pub fn render(&mut self, figure: &RgbImage, face: Option<FaceBox>) -> RgbImage {
        let (w, h) = (i64::from(self.config.width), i64::from(self.config.height));
        let device = self.body.vs.device();
        let frame = tch::no_grad(|| {
            let figure = resize(&to_tensor(figure, device), h, w);
            let (sw, _) = self.config.stage_size(self.stage());
            let factor = w / i64::from(sw);
            let generated = self
                .body
                .frame(&shrink(&figure, factor), self.previous.as_ref());
            if self.body.temporal {
                self.previous = Some(generated.shallow_clone());
            }
            let full = resize(&generated, h, w);
            match (&self.face, face) {
                (Some(face_gan), Some(face)) => {
                    crate::face::refine(face_gan, &figure, &full, face, self.config.face_side())
                }
                _ => full,
            }
        });
        to_image(&frame)
    }
}
