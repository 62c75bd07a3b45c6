//! Pose detection: MediaPipe's BlazePose models, read by dancenow's TFLite reader and run
//! on libtorch, giving OpenPose-layout keypoints so that everything downstream is the same
//! whether poses come from here or from OpenPose JSON.

mod anchors;
pub mod blazepose;
mod crop;
pub mod face;
pub mod hands;
pub mod identity;
mod openpose_map;
pub mod roi;
mod tracker;

pub use blazepose::{BlazePose, BodyLandmarks, PersonDetection};
pub use crop::{Border, Frame};
pub use openpose_map::body_to_openpose;
pub use tracker::{FrameResult, Parts, Tracker};

use dancenow_nn::tflite::TfliteError;

/// What went wrong detecting poses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    #[error(transparent)]
    Model(#[from] TfliteError),
    /// A model file that loads but is not the network expected.
    #[error("wrong model: {0}")]
    WrongModel(String),
    #[error("libtorch failed")]
    Torch(#[from] dancenow_nn::tch::TchError),
}
