//! TFLite models (MediaPipe's pose, hand and face networks) read in Rust and run on
//! libtorch, so detection uses the same engine and device as everything else.
//!
//! `.tflite` files are FlatBuffers; [`schema`] reads the tables we need, constant weights
//! (fp16 behind DEQUANTIZE, sparse behind DENSIFY) are expanded once at load, and each
//! operator becomes a tch call. TFLite lays activations out NHWC; we run convolutions in
//! libtorch's NCHW and keep that difference inside [`ops`]: callers see NHWC in and out.

mod densify;
mod flatbuffer;
mod model;
mod ops;
mod schema;

use std::path::PathBuf;

pub use model::TfliteModel;

/// What went wrong loading or running a TFLite model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TfliteError {
    /// Any of the errors below, in a named model file.
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: Box<TfliteError>,
    },
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a TFLite model: {0}")]
    NotTflite(String),
    #[error("truncated or malformed model: {0}")]
    Malformed(String),
    #[error("unsupported by dancenow's TFLite reader: {0}")]
    Unsupported(String),
    #[error("wrong input: {0}")]
    Input(String),
    #[error("libtorch failed: {0}")]
    Torch(#[from] tch::TchError),
}
