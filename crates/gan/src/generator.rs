//! The generator of a training stage in its own variable store: the global generator, or
//! the local enhancer around it, or the face GAN's residual generator; or, for the
//! `quick` presets, a U-Net in the body stages. Variable names agree between the global
//! and local stages (`global.*`, or `unet.*` in both), so a local stage starts from the
//! global stage's weights.

use dancenow_nn::tch::nn::VarStore;
use dancenow_nn::tch::{Device, TchError, Tensor};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::config::{GeneratorKind, ModelConfig, Stage};
use crate::networks::{GlobalGenerator, LocalEnhancer, UNet};

enum Network {
    Global(GlobalGenerator),
    Local(LocalEnhancer),
    Face(GlobalGenerator),
    UNet(UNet),
}

pub struct Generator {
    pub vs: VarStore,
    pub stage: Stage,
    /// Whether the input carries the previous frame after the stick figure.
    pub temporal: bool,
    network: Network,
    /// The background the person is composed over (`[1, 3, H, W]` at the stage's size),
    /// for a compositing U-Net; see [`Self::set_plate`].
    plate: Option<Tensor>,
    /// How far from the stick figure a compositing generator's person may show, as a
    /// share of the height (`generator.alpha_reach`; 0: anywhere).
    alpha_reach: f64,
}

/// A generated frame, and the alpha it was composed with (compositing U-Net only).
pub struct FrameParts {
    pub frame: Tensor,
    pub alpha: Option<Tensor>,
}

impl Generator {
    pub fn new(config: &ModelConfig, stage: Stage, device: Device) -> Self {
        let vs = VarStore::new(device);
        let options = config.stage_generator(stage);
        let network = match stage {
            Stage::Global | Stage::Local if options.kind == GeneratorKind::UNet => {
                Network::UNet(UNet::new(&(vs.root() / "unet"), &options.unet()))
            }
            Stage::Global => {
                Network::Global(GlobalGenerator::new(&(vs.root() / "global"), &options))
            }
            Stage::Local => Network::Local(LocalEnhancer::new(&vs.root(), &options)),
            Stage::Face => Network::Face(GlobalGenerator::new(&(vs.root() / "face"), &options)),
        };
        Self {
            vs,
            stage,
            temporal: config.temporal && stage != Stage::Face,
            network,
            plate: None,
            alpha_reach: options.alpha_reach,
        }
    }

    /// Whether this generator paints a person and an alpha to compose over a plate.
    pub fn composites(&self) -> bool {
        matches!(&self.network, Network::UNet(u) if u.has_alpha())
    }

    /// The background plate a compositing generator composes over: `[1, 3, H, W]` in
    /// [-1, 1], at the size of the frames it makes.
    pub fn set_plate(&mut self, plate: Tensor) {
        self.plate = Some(plate);
    }

    pub fn plate(&self) -> Option<&Tensor> {
        self.plate.as_ref()
    }

    /// `stage`'s generator with the weights of the checkpoint at `path`, and the step it
    /// was saved at.
    pub fn load(
        path: &std::path::Path,
        config: &ModelConfig,
        stage: Stage,
        device: Device,
    ) -> Result<(Self, u64), CheckpointError> {
        let generator = Self::new(config, stage, device);
        let ckpt = Checkpoint::read(path, device)?;
        ckpt.restore("g", &generator.vs)?;
        Ok((generator, ckpt.step()?))
    }

    /// The frame for stick figure `figure`, following `previous` (the last generated
    /// frame; black, i.e. zeros, at the start of a shot) when the model is temporal.
    pub fn frame(&self, figure: &Tensor, previous: Option<&Tensor>) -> Tensor {
        self.f_frame(figure, previous)
            .unwrap_or_else(|e| panic!("{} generator: {e}", self.stage))
    }

    /// [`Self::frame`], with libtorch's failures (out of memory, say) as errors.
    pub fn f_frame(&self, figure: &Tensor, previous: Option<&Tensor>) -> Result<Tensor, TchError> {
        Ok(self.f_frame_parts(figure, previous)?.frame)
    }

    /// The frame and, for a compositing generator, its alpha.
    pub fn frame_parts(&self, figure: &Tensor, previous: Option<&Tensor>) -> FrameParts {
        self.f_frame_parts(figure, previous)
            .unwrap_or_else(|e| panic!("{} generator: {e}", self.stage))
    }

    /// [`Self::frame_parts`], with libtorch's failures as errors.
    pub fn f_frame_parts(
        &self,
        figure: &Tensor,
        previous: Option<&Tensor>,
    ) -> Result<FrameParts, TchError> {
        if !self.temporal {
            return self.f_forward_parts(figure);
        }
        let previous = match previous {
            Some(previous) => previous.shallow_clone(),
            None => figure.f_zeros_like()?,
        };
        self.f_forward_parts(&Tensor::f_cat(&[figure, &previous], 1)?)
    }

    /// The network on its full input (stick figure, and previous frame when temporal).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x)
            .unwrap_or_else(|e| panic!("{} generator: {e}", self.stage))
    }

    /// [`Self::forward`], with libtorch's failures as errors.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        Ok(self.f_forward_parts(x)?.frame)
    }

    fn f_forward_parts(&self, x: &Tensor) -> Result<FrameParts, TchError> {
        let frame = match &self.network {
            Network::Global(g) | Network::Face(g) => g.f_forward(x)?,
            Network::Local(g) => g.f_forward(x)?,
            Network::UNet(g) => {
                let parts = g.f_forward_parts(x)?;
                let Some(alpha) = parts.alpha else {
                    return Ok(FrameParts {
                        frame: parts.rgb,
                        alpha: None,
                    });
                };
                let plate = self.plate.as_ref().ok_or_else(|| {
                    TchError::Torch(format!(
                        "the {} generator composes over a background plate, and none was given",
                        self.stage
                    ))
                })?;
                // A new tensor, not `*=`: the sigmoid's backward needs its output intact.
                let alpha = if self.alpha_reach > 0.0 {
                    // The stick figure is the input's first three channels.
                    let figure = x.narrow(1, 0, 3);
                    let radius = (self.alpha_reach * x.size()[2] as f64).round() as i64;
                    alpha * crate::composite::figure_reach(&figure, radius)
                } else {
                    alpha
                };
                return Ok(FrameParts {
                    frame: crate::composite::composite(&parts.rgb, &alpha, plate),
                    alpha: Some(alpha),
                });
            }
        };
        Ok(FrameParts { frame, alpha: None })
    }
}
