//! A trained model turning stick figures into frames: the generator of the latest body
//! stage that has a checkpoint, followed by the face GAN once it is trained.

use std::path::PathBuf;

use dancenow_nn::tch::{self, Device, TchError, Tensor};
use dancenow_pose::FaceBox;
use image::RgbImage;

use crate::checkpoint::CheckpointError;
use crate::composite::{read_plate, BackgroundError};
use crate::config::{ModelConfig, Stage};
use crate::generator::Generator;
use crate::images::{f_resize, f_shrink, f_to_image, f_to_tensor};
use crate::model_dir::{ModelDir, ModelDirError};

/// Why a model cannot be loaded or a frame rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    #[error(transparent)]
    ModelDir(#[from] ModelDirError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A model folder without any body checkpoint was asked to generate.
    #[error("{model} has no checkpoint yet: train it first")]
    NotTrained { model: PathBuf },
    /// The caller's face box does not fit the model's frame.
    #[error(
        "the face box (x {}, y {}, size {}) does not lie inside the model's {width}x{height} \
         frame",
        face.x, face.y, face.size
    )]
    FaceOutside {
        face: FaceBox,
        width: u32,
        height: u32,
    },
    #[error(transparent)]
    Plate(#[from] BackgroundError),
    /// libtorch failed while generating: out of memory on the device, most often.
    #[error("libtorch failed while rendering a frame on {device:?}")]
    Torch { device: Device, source: TchError },
}

/// A rendered frame, and the body model's frame under it where the face GAN refined it.
pub struct Rendered {
    pub frame: RgbImage,
    pub before_face_gan: Option<RgbImage>,
}

pub struct Renderer {
    pub config: ModelConfig,
    body: Generator,
    face: Option<Generator>,
    /// The training step of the body weights.
    pub step: u64,
    /// The last frame generated, at the body stage's size: the next frame's input when
    /// the model is temporal.
    previous: Option<Tensor>,
    /// Whether each frame follows the last: a temporal model whose body stage trained
    /// on pairs of frames. One stopped before its pairs (`temporal_from`) knows only
    /// frames that follow a black one.
    follows: bool,
}

/// A stage's generator from its checkpoint, and the step it was saved at; a warning when
/// that stage is not finished.
fn load_stage(
    model: &ModelDir,
    config: &ModelConfig,
    stage: Stage,
    device: Device,
) -> Result<(Generator, u64), RenderError> {
    let (generator, step) = Generator::load(&model.checkpoint_path(stage), config, stage, device)?;
    let planned = config.stage_schedule(stage).map_or(0, |s| s.steps);
    if step < planned {
        tracing::warn!(
            "{}: using the {stage} stage at step {step} of {planned}; training is not finished",
            model.root().display()
        );
    }
    Ok((generator, step))
}

impl Renderer {
    pub fn load(model: &ModelDir, device: Device) -> Result<Self, RenderError> {
        let config = model.read_config()?;
        let body_stage = [Stage::Local, Stage::Global]
            .into_iter()
            .filter(|s| config.has_stage(*s))
            .find(|s| model.checkpoint_path(*s).exists())
            .ok_or_else(|| RenderError::NotTrained {
                model: model.root().to_path_buf(),
            })?;
        if body_stage != config.body_stage() {
            tracing::warn!(
                "{}: the {} stage is not trained yet; using the {body_stage} stage, scaled up",
                model.root().display(),
                config.body_stage()
            );
        }
        let (mut body, step) = load_stage(model, &config, body_stage, device)?;
        if body.composites() {
            let crop = model
                .read_target()?
                .crop
                .ok_or_else(|| BackgroundError::NoCrop {
                    model: model.root().to_path_buf(),
                })?;
            let (w, h) = config.stage_size(body_stage);
            let plate = read_plate(
                &model.plate_path(),
                &crop,
                i64::from(w),
                i64::from(h),
                device,
            )?;
            body.set_plate(plate);
        }
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
        let pairs_from = config
            .stage_schedule(body_stage)
            .map_or(0, |s| s.temporal_from);
        let follows = body.temporal && step > pairs_from;
        if body.temporal && !follows {
            tracing::warn!(
                "{}: the {body_stage} stage stopped at step {step}, before its pairs of frames \
                 (from step {pairs_from}); each frame is generated on its own",
                model.root().display()
            );
        }
        Ok(Self {
            config,
            body,
            face,
            step,
            previous: None,
            follows,
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
    /// libtorch's failures (out of device memory, say) are errors, and leave the
    /// previous frame as it was.
    pub fn render(
        &mut self,
        figure: &RgbImage,
        face: Option<FaceBox>,
    ) -> Result<RgbImage, RenderError> {
        Ok(self.render_parts(figure, face)?.frame)
    }

    /// [`render`](Self::render), and the body model's frame before the face GAN refined
    /// it (the paper's comparison of faces with and without the face GAN).
    pub fn render_parts(
        &mut self,
        figure: &RgbImage,
        face: Option<FaceBox>,
    ) -> Result<Rendered, RenderError> {
        let (width, height) = (self.config.width, self.config.height);
        if let Some(face) = face {
            let inside = |start: u32, limit: u32| {
                start.checked_add(face.size).is_some_and(|end| end <= limit)
            };
            if face.size == 0 || !inside(face.x, width) || !inside(face.y, height) {
                return Err(RenderError::FaceOutside {
                    face,
                    width,
                    height,
                });
            }
        }
        let device = self.body.vs.device();
        let torch = |source| RenderError::Torch { device, source };
        let (generated, full, frame) =
            tch::no_grad(|| self.generate(figure, face)).map_err(torch)?;
        let image = f_to_image(&frame).map_err(torch)?;
        let before_face_gan = match full {
            Some(full) => Some(f_to_image(&full).map_err(torch)?),
            None => None,
        };
        if self.follows {
            self.previous = Some(generated);
        }
        Ok(Rendered {
            frame: image,
            before_face_gan,
        })
    }

    /// The body model's frame at its stage's size; at full size, when the face GAN
    /// refined it; and the full frame with the face refined.
    fn generate(
        &self,
        figure: &RgbImage,
        face: Option<FaceBox>,
    ) -> Result<(Tensor, Option<Tensor>, Tensor), TchError> {
        let (w, h) = (i64::from(self.config.width), i64::from(self.config.height));
        let device = self.body.vs.device();
        let figure = f_resize(&f_to_tensor(figure, device)?, h, w)?;
        let (sw, _) = self.config.stage_size(self.stage());
        let factor = w / i64::from(sw).max(1);
        let generated = self
            .body
            .f_frame(&f_shrink(&figure, factor)?, self.previous.as_ref())?;
        let full = f_resize(&generated, h, w)?;
        Ok(match (&self.face, face) {
            (Some(face_gan), Some(face)) => {
                let frame =
                    crate::face::refine(face_gan, &figure, &full, face, self.config.face_side())?;
                (generated, Some(full), frame)
            }
            _ => (generated, None, full),
        })
    }
}
