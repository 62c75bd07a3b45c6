//! TFLite models (MediaPipe's pose, hand and face networks) read in Rust and run on
//! libtorch, so detection uses the same engine and device as everything else.
//!
//! `.tflite` files are FlatBuffers; [`schema`] reads the tables we need, constant weights
//! (fp16 behind DEQUANTIZE, sparse behind DENSIFY) are expanded once at load, and each
//! operator becomes a tch call. TFLite lays activations out NHWC; we run convolutions in
//! libtorch's NCHW and keep that difference inside [`ops`]: callers see NHWC in and out.
//!
//! On the CPU, convolutions (nearly all of these networks' time) run on [`kernels`]
//! instead: hand-written AVX2 loops over NHWC with weights packed at load and threads of
//! their own, two to four times libtorch's speed on these small layers. So do the small
//! operators between them (ADD, PReLU, PAD, max pooling, spatial MEAN, FULLY_CONNECTED),
//! which keeps activations NHWC from one kernel to the next. The rest (resizing,
//! concatenation, reshapes) stays on libtorch, and CUDA uses libtorch throughout.

mod densify;
mod flatbuffer;
mod kernels;
mod model;
mod ops;
mod schema;

use std::path::PathBuf;

pub use kernels::{
    set_threads as set_kernel_threads, single_threaded as single_threaded_kernels,
    split_rows as parallel_rows, threads as kernel_threads, QuietLibtorch,
};
pub use model::TfliteModel;

/// What went wrong loading or running a TFLite model, by who is at fault: the file
/// ([`Malformed`](Self::Malformed), [`NotTflite`](Self::NotTflite),
/// [`NonFinite`](Self::NonFinite)), this reader
/// ([`Unsupported`](Self::Unsupported)), the caller ([`Input`](Self::Input)) or the
/// engine at run time ([`Torch`](Self::Torch)). [`File`](Self::File) and
/// [`Operator`](Self::Operator) say where, around one of those.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TfliteError {
    /// Any of the errors below, in a named model file.
    #[error("{path}")]
    File {
        path: PathBuf,
        source: Box<TfliteError>,
    },
    /// Any of the errors below, in one operator of a model.
    #[error("{model} operator {index} ({op})")]
    Operator {
        model: String,
        /// The operator's position in the model's first subgraph, from 0.
        index: usize,
        /// TFLite's name for it, e.g. `CONV_2D`.
        op: &'static str,
        source: Box<TfliteError>,
    },
    #[error("cannot read the file")]
    Io(#[from] std::io::Error),
    #[error("not a TFLite model: {0}")]
    NotTflite(String),
    /// The file contradicts itself or the schema: a bad FlatBuffer offset, a buffer out
    /// of range, an operator without its operands, an axis the tensor does not have.
    #[error("truncated or malformed model: {0}")]
    Malformed(String),
    /// A constant weight that is NaN or infinite: the file is damaged (its structure may
    /// be intact), and the model would give confident nonsense.
    #[error(
        "weight {index} of tensor {tensor:?} is {value}, not a finite number; the file is damaged"
    )]
    NonFinite {
        tensor: String,
        index: usize,
        value: f32,
    },
    /// A valid model that uses what this reader does not implement.
    #[error("unsupported by dancenow's TFLite reader: {0}")]
    Unsupported(String),
    #[error("wrong input: {0}")]
    Input(String),
    /// libtorch failed while loading or running the model: out of memory, or an
    /// operation it rejects (shapes that do not broadcast, say).
    #[error("libtorch failed")]
    Torch(#[from] tch::TchError),
}

impl TfliteError {
    /// The error inside the [`File`](Self::File) and [`Operator`](Self::Operator)
    /// wrappers: what went wrong rather than where.
    pub fn cause(&self) -> &TfliteError {
        match self {
            Self::File { source, .. } | Self::Operator { source, .. } => source.cause(),
            other => other,
        }
    }
}
