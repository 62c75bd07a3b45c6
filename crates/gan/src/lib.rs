//! pix2pixHD (Wang et al. 2018) on tch, as Everybody Dance Now uses it: the networks
//! that turn pose stick figures into images of the target person, the training data
//! folder, the trainer with its checkpoints, and inference.

pub mod checkpoint;
pub mod composite;
pub mod config;
pub mod dataset;
pub mod face;
pub mod generator;
pub mod images;
pub mod inference;
pub mod losses;
pub mod model_dir;
pub mod networks;
mod optim;
pub mod plate;
pub mod plot;
mod quick;
pub mod reconstruction;
pub mod train;

pub use config::{
    ConfigError, DiscriminatorConfig, GeneratorConfig, GeneratorKind, ModelConfig, Preset, Stage,
    StageConfig,
};
pub use dataset::{Dataset, DatasetError, DatasetWriter};
pub use inference::{RenderError, Rendered, Renderer};
pub use model_dir::{ModelDir, Target};
pub use train::{train, Event, Outcome, TrainError, TrainOptions};
