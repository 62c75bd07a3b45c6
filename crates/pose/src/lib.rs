//! Poses as dancenow sees them: OpenPose-layout keypoints, read and written as OpenPose
//! JSON, smoothed over time, normalized from a source dancer to a target person, and
//! drawn as the stick figures the image GAN is conditioned on.
//!
//! No tensors here: everything is plain geometry on plain structs.

pub mod crop;
mod error;
pub mod face_box;
pub mod gaps;
pub mod keypoints;
pub mod mask;
pub mod normalize;
pub mod openpose;
pub mod render;
pub mod smooth;

pub use crop::CropWindow;
pub use error::{PoseError, Result};
pub use face_box::FaceBox;
pub use keypoints::{body, Frame, Keypoint, Person, PoseSequence};
pub use mask::person_mask;
