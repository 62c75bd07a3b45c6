//! pix2pixHD (Wang et al. 2018) on tch, as Everybody Dance Now uses it: the networks
//! that turn pose stick figures into images of the target person.
//!
//! This crate holds the networks so far; losses, the trainer, checkpoints and inference
//! come with the GAN issue.

pub mod config;
pub mod losses;
pub mod networks;

pub use config::{DiscriminatorConfig, GeneratorConfig};
