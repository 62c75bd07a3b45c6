//! The parts of TFLite's schema (`tensorflow/lite/schema/schema.fbs`) that dancenow's
//! models use, read into owned Rust structs. Field numbers are the schema's field ids.

use super::flatbuffer::{Buffer, Table};
use super::TfliteError;

type Result<T> = std::result::Result<T, TfliteError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    I32,
    I64,
    U8,
    I8,
}

impl DType {
    fn from_schema(code: i8) -> Result<Self> {
        Ok(match code {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::I32,
            3 => Self::U8,
            4 => Self::I64,
            9 => Self::I8,
            other => return Err(TfliteError::Unsupported(format!("tensor type {other}"))),
        })
    }

    pub fn size(self) -> usize {
        match self {
            Self::F32 | Self::I32 => 4,
            Self::F16 => 2,
            Self::I64 => 8,
            Self::U8 | Self::I8 => 1,
        }
    }
}

/// One dimension of a sparse tensor's storage (TFLite's DimensionMetadata).
#[derive(Debug, Clone, PartialEq)]
pub enum DimStorage {
    Dense {
        size: usize,
    },
    /// Compressed sparse row: `segments[i]..segments[i+1]` index into `indices`.
    Sparse {
        segments: Vec<usize>,
        indices: Vec<usize>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sparsity {
    pub traversal_order: Vec<usize>,
    pub block_map: Vec<usize>,
    pub dims: Vec<DimStorage>,
}

#[derive(Debug, Clone)]
pub struct TensorDef {
    pub name: String,
    pub shape: Vec<i64>,
    pub dtype: DType,
    /// Constant data, little-endian, when the tensor has any.
    pub data: Option<Vec<u8>>,
    pub sparsity: Option<Sparsity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    Same,
    Valid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    None,
    Relu,
    ReluN1To1,
    Relu6,
    Tanh,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Add {
        activation: Activation,
    },
    Mul {
        activation: Activation,
    },
    /// CONV_2D, or DEPTHWISE_CONV_2D when `depthwise` (one group per input channel).
    Conv2d {
        padding: Padding,
        stride: [i64; 2],
        dilation: [i64; 2],
        activation: Activation,
        depthwise: bool,
    },
    MaxPool2d {
        padding: Padding,
        stride: [i64; 2],
        filter: [i64; 2],
        activation: Activation,
    },
    Pad,
    Reshape {
        new_shape: Vec<i32>,
    },
    Concatenation {
        axis: i32,
        activation: Activation,
    },
    Prelu,
    DepthToSpace {
        block_size: i64,
    },
    Logistic,
    ResizeBilinear {
        align_corners: bool,
        half_pixel_centers: bool,
    },
    FullyConnected {
        activation: Activation,
        keep_num_dims: bool,
    },
    Mean {
        keep_dims: bool,
    },
    /// Masks are TFLite's bit sets over dimensions.
    StridedSlice {
        begin_mask: i32,
        end_mask: i32,
        shrink_axis_mask: i32,
    },
    Relu,
    Relu6,
    Dequantize,
    Densify,
}

impl Op {
    /// TFLite's name for the operator, for messages.
    pub fn name(&self) -> &'static str {
        code::static_name(self.code())
    }

    /// TFLite's BuiltinOperator code.
    fn code(&self) -> i32 {
        match self {
            Op::Add { .. } => code::ADD,
            Op::Mul { .. } => code::MUL,
            Op::Conv2d {
                depthwise: false, ..
            } => code::CONV_2D,
            Op::Conv2d {
                depthwise: true, ..
            } => code::DEPTHWISE_CONV_2D,
            Op::MaxPool2d { .. } => code::MAX_POOL_2D,
            Op::Pad => code::PAD,
            Op::Reshape { .. } => code::RESHAPE,
            Op::Concatenation { .. } => code::CONCATENATION,
            Op::Prelu => code::PRELU,
            Op::DepthToSpace { .. } => code::DEPTH_TO_SPACE,
            Op::Logistic => code::LOGISTIC,
            Op::ResizeBilinear { .. } => code::RESIZE_BILINEAR,
            Op::FullyConnected { .. } => code::FULLY_CONNECTED,
            Op::Mean { .. } => code::MEAN,
            Op::StridedSlice { .. } => code::STRIDED_SLICE,
            Op::Relu => code::RELU,
            Op::Relu6 => code::RELU6,
            Op::Dequantize => code::DEQUANTIZE,
            Op::Densify => code::DENSIFY,
        }
    }

    /// How many leading inputs the operator cannot do without (optional ones, such as a
    /// convolution's bias, come after them).
    fn required_inputs(&self) -> usize {
        match self {
            Op::Reshape { .. }
            | Op::Concatenation { .. }
            | Op::DepthToSpace { .. }
            | Op::Logistic
            | Op::MaxPool2d { .. }
            | Op::Relu
            | Op::Relu6
            | Op::Dequantize
            | Op::Densify => 1,
            Op::Add { .. }
            | Op::Mul { .. }
            | Op::Pad
            | Op::Conv2d { .. }
            | Op::Prelu
            | Op::ResizeBilinear { .. }
            | Op::FullyConnected { .. }
            | Op::Mean { .. } => 2,
            Op::StridedSlice { .. } => 4,
        }
    }

    /// Option values that no valid model has: zero strides, dilations, windows or blocks.
    fn check_options(&self) -> Result<()> {
        let positive = |what: &str, values: &[i64]| {
            if values.iter().all(|&v| v >= 1) {
                Ok(())
            } else {
                Err(TfliteError::Malformed(format!(
                    "{} {what} {values:?}; each must be at least 1",
                    self.name()
                )))
            }
        };
        match self {
            Op::Conv2d {
                stride, dilation, ..
            } => {
                positive("stride", stride)?;
                positive("dilation", dilation)
            }
            Op::MaxPool2d { stride, filter, .. } => {
                positive("stride", stride)?;
                positive("filter", filter)
            }
            Op::DepthToSpace { block_size } => positive("block size", &[*block_size]),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct OperatorDef {
    pub op: Op,
    /// Input tensor indices; `None` for an omitted optional input (TFLite's -1).
    pub inputs: Vec<Option<usize>>,
    /// Output tensor indices: at least one (parsing checks).
    pub outputs: Vec<usize>,
}

impl OperatorDef {
    /// The tensor of input `k`, or an error naming what is missing.
    pub fn input(&self, k: usize) -> Result<usize> {
        self.inputs.get(k).copied().flatten().ok_or_else(|| {
            TfliteError::Malformed(format!(
                "{} without its input {k} ({} inputs given)",
                self.op.name(),
                self.inputs.len()
            ))
        })
    }

    /// The tensor of the (first) output.
    pub fn output(&self) -> Result<usize> {
        self.outputs
            .first()
            .copied()
            .ok_or_else(|| TfliteError::Malformed(format!("{} without an output", self.op.name())))
    }

    /// Whether the operator has what it needs: its required inputs and an output.
    fn check(&self) -> Result<()> {
        for k in 0..self.op.required_inputs() {
            self.input(k)?;
        }
        self.output()?;
        self.op.check_options()
    }
}

#[derive(Debug, Clone)]
pub struct ModelDef {
    pub tensors: Vec<TensorDef>,
    pub operators: Vec<OperatorDef>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
}

/// TFLite's BuiltinOperator codes for the operators above, and names for messages.
mod code {
    pub const ADD: i32 = 0;
    pub const CONCATENATION: i32 = 2;
    pub const CONV_2D: i32 = 3;
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    pub const DEPTH_TO_SPACE: i32 = 5;
    pub const DEQUANTIZE: i32 = 6;
    pub const FULLY_CONNECTED: i32 = 9;
    pub const LOGISTIC: i32 = 14;
    pub const MAX_POOL_2D: i32 = 17;
    pub const MUL: i32 = 18;
    pub const RELU: i32 = 19;
    pub const RELU6: i32 = 21;
    pub const RESHAPE: i32 = 22;
    pub const RESIZE_BILINEAR: i32 = 23;
    pub const PAD: i32 = 34;
    pub const MEAN: i32 = 40;
    pub const STRIDED_SLICE: i32 = 45;
    pub const PRELU: i32 = 54;
    pub const DENSIFY: i32 = 124;

    /// The operator's name when it is one of those above or a well-known one.
    pub fn static_name(code: i32) -> &'static str {
        let ours = [
            (ADD, "ADD"),
            (CONCATENATION, "CONCATENATION"),
            (CONV_2D, "CONV_2D"),
            (DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D"),
            (DEPTH_TO_SPACE, "DEPTH_TO_SPACE"),
            (DEQUANTIZE, "DEQUANTIZE"),
            (FULLY_CONNECTED, "FULLY_CONNECTED"),
            (LOGISTIC, "LOGISTIC"),
            (MAX_POOL_2D, "MAX_POOL_2D"),
            (MUL, "MUL"),
            (RELU, "RELU"),
            (RELU6, "RELU6"),
            (RESHAPE, "RESHAPE"),
            (RESIZE_BILINEAR, "RESIZE_BILINEAR"),
            (PAD, "PAD"),
            (MEAN, "MEAN"),
            (STRIDED_SLICE, "STRIDED_SLICE"),
            (PRELU, "PRELU"),
            (DENSIFY, "DENSIFY"),
        ];
        ours.into_iter()
            .chain(KNOWN)
            .find(|(c, _)| *c == code)
            .map_or(UNKNOWN, |(_, n)| n)
    }

    const UNKNOWN: &str = "an unknown operator";

    /// Well-known operators this reader does not run, named in messages.
    const KNOWN: [(i32, &str); 10] = [
        (1, "AVERAGE_POOL_2D"),
        (25, "SOFTMAX"),
        (28, "TANH"),
        (32, "CUSTOM"),
        (39, "TRANSPOSE"),
        (41, "SUB"),
        (42, "DIV"),
        (67, "TRANSPOSE_CONV"),
        (97, "RESIZE_NEAREST_NEIGHBOR"),
        (98, "LEAKY_RELU"),
    ];

    /// The operator's name, or its number when it is not a well-known one.
    pub fn name(code: i32) -> String {
        match static_name(code) {
            UNKNOWN => format!("builtin operator {code}"),
            known => known.to_string(),
        }
    }
}

/// Reads a whole `.tflite` file's first subgraph; `name` names the model in errors.
pub fn parse(bytes: &[u8], name: &str) -> Result<ModelDef> {
    let buf = Buffer::new(bytes);
    let identifier = buf.identifier()?;
    if identifier != b"TFL3" {
        return Err(TfliteError::NotTflite(format!(
            "its identifier is {:?}, not \"TFL3\"",
            String::from_utf8_lossy(identifier)
        )));
    }
    let model = buf.root()?;
    let codes = model
        .tables(1)?
        .iter()
        .map(|c| {
            let deprecated = c.i8_or(0, 0)? as i32;
            let builtin = c.i32_or(3, 0)?;
            let custom = c.string(1)?;
            Ok((deprecated.max(builtin), custom))
        })
        .collect::<Result<Vec<_>>>()?;
    let buffers = model.tables(4)?;
    let subgraphs = model.tables(2)?;
    let graph = subgraphs
        .first()
        .ok_or_else(|| TfliteError::Malformed("the model has no subgraph".into()))?;
    let tensors = graph
        .tables(0)?
        .iter()
        .map(|t| tensor(t, &buffers, bytes))
        .collect::<Result<Vec<_>>>()?;
    let index = |i: i32, what: &str| -> Result<usize> {
        usize::try_from(i)
            .ok()
            .filter(|&i| i < tensors.len())
            .ok_or_else(|| {
                TfliteError::Malformed(format!("{what} refers to tensor {i} of {}", tensors.len()))
            })
    };
    let operators = graph
        .tables(3)?
        .iter()
        .enumerate()
        .map(|(n, o)| {
            let opcode = o.u32_or(0, 0)? as usize;
            let (code, custom) = codes.get(opcode).ok_or_else(|| {
                TfliteError::Malformed(format!(
                    "operator {n} has opcode index {opcode} of {}",
                    codes.len()
                ))
            })?;
            let in_operator = |op: &'static str| {
                move |source| TfliteError::Operator {
                    model: name.to_string(),
                    index: n,
                    op,
                    source: Box::new(source),
                }
            };
            let op = operator(*code, custom.as_deref(), o.table(4)?)
                .map_err(in_operator(code::static_name(*code)))?;
            let read = || -> Result<OperatorDef> {
                let inputs = o
                    .i32s(1)?
                    .into_iter()
                    .map(|i| {
                        if i < 0 {
                            Ok(None)
                        } else {
                            index(i, "an input").map(Some)
                        }
                    })
                    .collect::<Result<_>>()?;
                let outputs = o
                    .i32s(2)?
                    .into_iter()
                    .map(|i| index(i, "an output"))
                    .collect::<Result<_>>()?;
                let def = OperatorDef {
                    op: op.clone(),
                    inputs,
                    outputs,
                };
                def.check()?;
                Ok(def)
            };
            read().map_err(in_operator(op.name()))
        })
        .collect::<Result<Vec<_>>>()?;
    let inputs = graph
        .i32s(1)?
        .into_iter()
        .map(|i| index(i, "a model input"))
        .collect::<Result<_>>()?;
    let outputs = graph
        .i32s(2)?
        .into_iter()
        .map(|i| index(i, "a model output"))
        .collect::<Result<_>>()?;
    Ok(ModelDef {
        tensors,
        operators,
        inputs,
        outputs,
    })
}

fn tensor(t: &Table, buffers: &[Table], file: &[u8]) -> Result<TensorDef> {
    let name = t.string(3)?.unwrap_or_default();
    let dtype = DType::from_schema(t.i8_or(1, 0)?)
        .map_err(|e| TfliteError::Unsupported(format!("{e} (tensor {name:?})")))?;
    let shape = t.i32s(0)?.into_iter().map(i64::from).collect();
    let buffer = t.u32_or(2, 0)? as usize;
    let data = match buffers.get(buffer) {
        None if buffer != 0 => {
            return Err(TfliteError::Malformed(format!(
                "tensor {name:?} refers to buffer {buffer} of {}",
                buffers.len()
            )))
        }
        None => None,
        Some(b) => buffer_data(b, file)?,
    };
    let sparsity = t.table(6)?.map(|s| sparsity(&s)).transpose()?;
    Ok(TensorDef {
        name,
        shape,
        dtype,
        data,
        sparsity,
    })
}

/// A buffer's bytes: inline, or (for models over 2 GB) at an offset from the file start.
fn buffer_data(b: &Table, file: &[u8]) -> Result<Option<Vec<u8>>> {
    if let Some(v) = b.vector(0)? {
        let bytes = v.bytes()?;
        return Ok((!bytes.is_empty()).then(|| bytes.to_vec()));
    }
    let (offset, size) = (b.u64_or(1, 0)? as usize, b.u64_or(2, 0)? as usize);
    if offset > 1 {
        let bytes = offset
            .checked_add(size)
            .and_then(|end| file.get(offset..end))
            .ok_or_else(|| {
                TfliteError::Malformed(format!(
                    "buffer at {offset} (+{size}) lies past the end of the file"
                ))
            })?;
        return Ok(Some(bytes.to_vec()));
    }
    Ok(None)
}

fn sparsity(s: &Table) -> Result<Sparsity> {
    let usizes = |v: Vec<i32>| -> Result<Vec<usize>> {
        v.into_iter()
            .map(|x| {
                usize::try_from(x).map_err(|_| {
                    TfliteError::Malformed(format!("sparse tensor: negative dimension {x}"))
                })
            })
            .collect()
    };
    let dims = s
        .tables(2)?
        .iter()
        .map(|d| {
            if d.i8_or(0, 0)? == 0 {
                return Ok(DimStorage::Dense {
                    size: d.i32_or(1, 0)?.max(0) as usize,
                });
            }
            let segments = index_vector(d, 2, 3)?;
            let indices = index_vector(d, 4, 5)?;
            Ok(DimStorage::Sparse { segments, indices })
        })
        .collect::<Result<_>>()?;
    Ok(Sparsity {
        traversal_order: usizes(s.i32s(0)?)?,
        block_map: usizes(s.i32s(1)?)?,
        dims,
    })
}

/// A SparseIndexVector union: Int32Vector (1), Uint16Vector (2) or Uint8Vector (3).
fn index_vector(d: &Table, type_field: usize, value_field: usize) -> Result<Vec<usize>> {
    let kind = d.u8_or(type_field, 0)?;
    let table = d.table(value_field)?.ok_or_else(|| {
        TfliteError::Malformed("sparse dimension without its index vector".into())
    })?;
    let Some(values) = table.vector(0)? else {
        return Ok(Vec::new());
    };
    Ok(match kind {
        1 => values
            .bytes_of(4)?
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().expect("4")).max(0) as usize)
            .collect(),
        2 => values
            .bytes_of(2)?
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes(c.try_into().expect("2")) as usize)
            .collect(),
        3 => values.bytes()?.iter().map(|&b| b as usize).collect(),
        other => {
            return Err(TfliteError::Malformed(format!(
                "sparse index vector of type {other}"
            )))
        }
    })
}

fn activation(code: i8) -> Result<Activation> {
    Ok(match code {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::ReluN1To1,
        3 => Activation::Relu6,
        4 => Activation::Tanh,
        other => {
            return Err(TfliteError::Unsupported(format!(
                "fused activation {other}"
            )))
        }
    })
}

fn padding(code: i8) -> Padding {
    if code == 1 {
        Padding::Valid
    } else {
        Padding::Same
    }
}

fn operator(code: i32, custom: Option<&str>, options: Option<Table>) -> Result<Op> {
    // Missing options mean every field at its default.
    let opt = |id: usize, default: i32| -> Result<i32> {
        options
            .as_ref()
            .map_or(Ok(default), |o| o.i32_or(id, default))
    };
    let opt_i8 = |id: usize| -> Result<i8> { options.as_ref().map_or(Ok(0), |o| o.i8_or(id, 0)) };
    let opt_bool = |id: usize| -> Result<bool> {
        options.as_ref().map_or(Ok(false), |o| o.bool_or(id, false))
    };
    Ok(match code {
        code::ADD => Op::Add {
            activation: activation(opt_i8(0)?)?,
        },
        code::MUL => Op::Mul {
            activation: activation(opt_i8(0)?)?,
        },
        code::CONV_2D => Op::Conv2d {
            padding: padding(opt_i8(0)?),
            stride: [opt(2, 1)?.into(), opt(1, 1)?.into()],
            activation: activation(opt_i8(3)?)?,
            dilation: [opt(5, 1)?.into(), opt(4, 1)?.into()],
            depthwise: false,
        },
        code::DEPTHWISE_CONV_2D => Op::Conv2d {
            padding: padding(opt_i8(0)?),
            stride: [opt(2, 1)?.into(), opt(1, 1)?.into()],
            activation: activation(opt_i8(4)?)?,
            dilation: [opt(6, 1)?.into(), opt(5, 1)?.into()],
            depthwise: true,
        },
        code::MAX_POOL_2D => Op::MaxPool2d {
            padding: padding(opt_i8(0)?),
            stride: [opt(2, 1)?.into(), opt(1, 1)?.into()],
            filter: [opt(4, 1)?.into(), opt(3, 1)?.into()],
            activation: activation(opt_i8(5)?)?,
        },
        code::PAD => Op::Pad,
        code::RESHAPE => Op::Reshape {
            new_shape: options.as_ref().map_or(Ok(Vec::new()), |o| o.i32s(0))?,
        },
        code::CONCATENATION => Op::Concatenation {
            axis: opt(0, 0)?,
            activation: activation(opt_i8(1)?)?,
        },
        code::PRELU => Op::Prelu,
        code::DEPTH_TO_SPACE => Op::DepthToSpace {
            block_size: opt(0, 0)?.into(),
        },
        code::LOGISTIC => Op::Logistic,
        code::RESIZE_BILINEAR => Op::ResizeBilinear {
            align_corners: opt_bool(2)?,
            half_pixel_centers: opt_bool(3)?,
        },
        code::FULLY_CONNECTED => Op::FullyConnected {
            activation: activation(opt_i8(0)?)?,
            keep_num_dims: opt_bool(2)?,
        },
        code::MEAN => Op::Mean {
            keep_dims: opt_bool(0)?,
        },
        code::STRIDED_SLICE => {
            // ellipsis_mask (2) and new_axis_mask (3) change the rank: not supported.
            if opt(2, 0)? != 0 || opt(3, 0)? != 0 {
                return Err(TfliteError::Unsupported(
                    "STRIDED_SLICE with an ellipsis or new axis".into(),
                ));
            }
            Op::StridedSlice {
                begin_mask: opt(0, 0)?,
                end_mask: opt(1, 0)?,
                shrink_axis_mask: opt(4, 0)?,
            }
        }
        code::RELU => Op::Relu,
        code::RELU6 => Op::Relu6,
        code::DEQUANTIZE => Op::Dequantize,
        code::DENSIFY => Op::Densify,
        32 => {
            return Err(TfliteError::Unsupported(format!(
                "custom operator {:?}",
                custom.unwrap_or("")
            )))
        }
        other => {
            return Err(TfliteError::Unsupported(format!(
                "operator {}",
                code::name(other)
            )))
        }
    })
}
