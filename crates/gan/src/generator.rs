//! The generator of a training stage in its own variable store: the global generator, or
//! the local enhancer around it, or the face GAN's residual generator. Variable names
//! agree between the first two (`global.*`), so a local stage starts from the global
//! stage's weights.

use dancenow_nn::tch::nn::{Module, VarStore};
use dancenow_nn::tch::{Device, Tensor};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::config::{ModelConfig, Stage};
use crate::networks::{GlobalGenerator, LocalEnhancer};

enum Network {
    Global(GlobalGenerator),
    Local(LocalEnhancer),
    Face(GlobalGenerator),
}

pub struct Generator {
    pub vs: VarStore,
    pub stage: Stage,
    /// Whether the input carries the previous frame after the stick figure.
    pub temporal: bool,
    network: Network,
}

impl Generator {
    pub fn new(config: &ModelConfig, stage: Stage, device: Device) -> Self {
        let vs = VarStore::new(device);
        let options = config.stage_generator(stage);
        let network = match stage {
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
        }
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
        let step = ckpt.get("step", &Tensor::from(0i64))?.int64_value(&[]);
        Ok((generator, step.max(0) as u64))
    }

    /// The frame for stick figure `figure`, following `previous` (the last generated
    /// frame; black, i.e. zeros, at the start of a shot) when the model is temporal.
    pub fn frame(&self, figure: &Tensor, previous: Option<&Tensor>) -> Tensor {
        if !self.temporal {
            return self.forward(figure);
        }
        let previous = previous.map_or_else(|| figure.zeros_like(), Tensor::shallow_clone);
        self.forward(&Tensor::cat(&[figure, &previous], 1))
    }

    /// The network on its full input (stick figure, and previous frame when temporal).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        match &self.network {
            Network::Global(g) | Network::Face(g) => g.forward(x),
            Network::Local(g) => g.forward(x),
        }
    }
}
