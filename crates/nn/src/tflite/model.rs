//! A loaded TFLite model: constants prepared once, operators run in order on tch.

use std::path::Path;

use tch::{Device, Kind, Tensor};

use super::densify::densify;
use super::kernels::{DepthwiseFilter, PackedWeights, QuietLibtorch};
use super::ops::{self, ConvSpec, Value};
use super::schema::{self, DType, ModelDef, Op, TensorDef};
use super::TfliteError;

type Result<T> = std::result::Result<T, TfliteError>;

/// A TFLite model ready to run on one device. Inputs and outputs are in TFLite's own
/// layout (NHWC images), as float32.
pub struct TfliteModel {
    name: String,
    device: Device,
    def: ModelDef,
    /// Per tensor: its constant value in TFLite's layout, once expanded.
    constants: Vec<Option<Tensor>>,
    /// Per operator: weights already in libtorch's layout, or `None` to skip it (folded).
    steps: Vec<Option<Prepared>>,
}

enum Prepared {
    /// Run with the constants as they are.
    Plain,
    /// FULLY_CONNECTED with its weights packed for the CPU kernel.
    Dense(PackedWeights),
    /// Convolution weight in OIHW; `padded` when a zero PAD before it was folded in.
    Conv {
        weight: Tensor,
        padded: Option<FoldedPad>,
        /// On CPU, the weights as the hand-written kernels take them.
        cpu: Option<CpuConv>,
    },
}

/// A convolution's weights for one of the CPU kernels.
enum CpuConv {
    Depthwise(DepthwiseFilter),
    /// 1x1, stride 1.
    Pointwise(PackedWeights),
    /// Any other: windows unfolded, then the same product; `[kh, kw]`.
    General(PackedWeights, [usize; 2]),
}

/// A symmetric zero PAD folded into the VALID convolutions that read it: they read the
/// PAD's input instead and pad it themselves, which saves copying the whole activation
/// (BlazePose pads before each strided depthwise convolution).
#[derive(Clone, Copy)]
struct FoldedPad {
    /// The tensor the PAD read.
    source: usize,
    /// Rows and columns of zeros on each side.
    padding: [i64; 2],
}

impl TfliteModel {
    /// Reads a `.tflite` file; every error names the file.
    pub fn load(path: &Path, device: Device) -> Result<Self> {
        let in_file = |source: TfliteError| TfliteError::File {
            path: path.to_path_buf(),
            source: Box::new(source),
        };
        let bytes = std::fs::read(path).map_err(|e| in_file(e.into()))?;
        let name = path
            .file_stem()
            .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
        Self::from_bytes(&bytes, &name, device).map_err(in_file)
    }

    pub fn from_bytes(bytes: &[u8], name: &str, device: Device) -> Result<Self> {
        let def = schema::parse(bytes, name)?;
        let mut constants: Vec<Option<Tensor>> = def
            .tensors
            .iter()
            .map(|t| constant(t, device))
            .collect::<Result<_>>()?;
        let mut steps = Vec::with_capacity(def.operators.len());
        for (n, op) in def.operators.iter().enumerate() {
            let step = prepare(&def, op, &mut constants, device)
                .map_err(|source| in_operator(name, n, op, source))?;
            steps.push(step);
        }
        fold_pads(&def, &constants, &mut steps);
        Ok(Self {
            name: name.to_string(),
            device,
            def,
            constants,
            steps,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Keeps only the outputs at these positions (in this order), and skips every
    /// operator that only feeds the others: BlazePose's landmark model, for one, spends
    /// a fifth of its time on a segmentation mask that pose detection never reads.
    pub fn keep_outputs(mut self, positions: &[usize]) -> Result<Self> {
        let outputs = positions
            .iter()
            .map(|&p| {
                self.def.outputs.get(p).copied().ok_or_else(|| {
                    TfliteError::Input(format!(
                        "{} has {} outputs, not {}",
                        self.name,
                        self.def.outputs.len(),
                        p + 1
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut needed = vec![false; self.def.tensors.len()];
        for &o in &outputs {
            needed[o] = true;
        }
        // Operators come in execution order, so one backward sweep finds every producer.
        for (op, step) in self.def.operators.iter().zip(self.steps.iter_mut()).rev() {
            if op.outputs.iter().any(|&o| needed[o]) {
                for &i in op.inputs.iter().flatten() {
                    needed[i] = true;
                }
            } else {
                *step = None;
            }
        }
        self.def.outputs = outputs;
        Ok(self)
    }

    /// How many PAD operators were folded into the convolutions after them (diagnostics).
    pub fn folded_pads(&self) -> usize {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Some(Prepared::Conv {
                    padded: Some(fold), ..
                }) => Some(fold.source),
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }

    /// Shapes of the inputs, NHWC for images.
    pub fn input_shapes(&self) -> Vec<Vec<i64>> {
        self.def
            .inputs
            .iter()
            .map(|&i| self.def.tensors[i].shape.clone())
            .collect()
    }

    pub fn output_names(&self) -> Vec<&str> {
        self.def
            .outputs
            .iter()
            .map(|&i| self.def.tensors[i].name.as_str())
            .collect()
    }

    /// Runs the model on float32 inputs shaped as [`Self::input_shapes`] says. An
    /// operator's failure is a [`TfliteError::Operator`] around what went wrong: the file
    /// ([`TfliteError::Malformed`]), this reader ([`TfliteError::Unsupported`]) or
    /// libtorch ([`TfliteError::Torch`]).
    pub fn forward(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        if inputs.len() != self.def.inputs.len() {
            return Err(TfliteError::Input(format!(
                "{} takes {} inputs, got {}",
                self.name,
                self.def.inputs.len(),
                inputs.len()
            )));
        }
        let _quiet = QuietLibtorch::new(self.device);
        tch::no_grad(|| {
            let mut values: Vec<Option<Value>> =
                (0..self.def.tensors.len()).map(|_| None).collect();
            for ((&index, input), n) in self.def.inputs.iter().zip(inputs).zip(0..) {
                let expected = &self.def.tensors[index].shape;
                if &input.size() != expected {
                    return Err(TfliteError::Input(format!(
                        "{} input {n} must have shape {expected:?}, got {:?}",
                        self.name,
                        input.size()
                    )));
                }
                values[index] = Some(Value::logical(
                    input.to_device(self.device).to_kind(Kind::Float),
                ));
            }
            for (n, (op, prepared)) in self.def.operators.iter().zip(&self.steps).enumerate() {
                let Some(prepared) = prepared else { continue };
                let output = op
                    .output()
                    .and_then(|output| Ok((output, self.run(op, prepared, &values)?)));
                let (output, value) =
                    output.map_err(|source| in_operator(&self.name, n, op, source))?;
                values[output] = Some(value);
            }
            self.def
                .outputs
                .iter()
                .map(|&i| {
                    let value = values[i]
                        .as_ref()
                        .map(|v| v.to_logical().contiguous())
                        .or_else(|| self.constants[i].as_ref().map(|c| c.shallow_clone()));
                    value.ok_or_else(|| {
                        TfliteError::Malformed(format!(
                            "{}: output {i} is never computed",
                            self.name
                        ))
                    })
                })
                .collect()
        })
    }

    fn run(
        &self,
        op: &schema::OperatorDef,
        prepared: &Prepared,
        values: &[Option<Value>],
    ) -> Result<Value> {
        let input = |k: usize| -> Result<Value> {
            let index = op.input(k)?;
            if let Some(v) = &values[index] {
                return Ok(Value {
                    tensor: v.tensor.shallow_clone(),
                    nchw: v.nchw,
                });
            }
            self.constants[index]
                .as_ref()
                .map(|c| Value::logical(c.shallow_clone()))
                .ok_or_else(|| {
                    TfliteError::Malformed(format!(
                        "input {k} (tensor {index}) is used before it is computed"
                    ))
                })
        };
        let optional_constant = |k: usize| constant_operand(op, &self.constants, k);
        let ints = |k: usize| -> Result<Vec<i64>> {
            let t = optional_constant(k).ok_or_else(|| {
                TfliteError::Unsupported(format!("input {k} computed at run time"))
            })?;
            Ok(Vec::<i64>::try_from(
                t.f_to_kind(Kind::Int64)?.f_flatten(0, -1)?,
            )?)
        };
        let output_shape = &self.def.tensors[op.output()?].shape;
        Ok(match (&op.op, prepared) {
            (
                Op::Conv2d {
                    padding,
                    stride,
                    dilation,
                    activation,
                    depthwise,
                },
                Prepared::Conv {
                    weight,
                    padded,
                    cpu,
                },
            ) => {
                let (x, extra_padding) = match padded {
                    Some(fold) => {
                        let v = values[fold.source].as_ref().ok_or_else(|| {
                            TfliteError::Malformed("a folded PAD's input is not computed".into())
                        })?;
                        let x = Value {
                            tensor: v.tensor.shallow_clone(),
                            nchw: v.nchw,
                        };
                        (x, fold.padding)
                    }
                    None => (input(0)?, [0, 0]),
                };
                // Depthwise: one group per input channel (dimension 1 stored NCHW, 3 NHWC).
                let channels = x
                    .tensor
                    .size()
                    .get(if x.nchw { 1 } else { 3 })
                    .copied()
                    .unwrap_or(1);
                let spec = ConvSpec {
                    padding: *padding,
                    stride: *stride,
                    dilation: *dilation,
                    groups: if *depthwise { channels } else { 1 },
                    extra_padding,
                };
                match (cpu, ops::clamp_of(*activation)) {
                    (Some(CpuConv::Depthwise(filter)), Some(clamp)) => {
                        ops::depthwise_cpu(&x, filter, &spec, clamp)?
                    }
                    (Some(CpuConv::Pointwise(weights)), Some(clamp))
                        if spec.extra_padding == [0, 0] =>
                    {
                        ops::pointwise_cpu(&x, weights, clamp)?
                    }
                    (Some(CpuConv::General(weights, kernel)), Some(clamp)) => {
                        ops::conv_cpu(&x, weights, *kernel, &spec, clamp)?
                    }
                    _ => ops::conv(&x, weight, optional_constant(2), &spec, *activation)?,
                }
            }
            (
                Op::MaxPool2d {
                    padding,
                    stride,
                    filter,
                    activation,
                },
                _,
            ) => {
                let x = input(0)?;
                let on_cpu = match ops::clamp_of(*activation) {
                    Some(clamp) => ops::max_pool_cpu(&x, *padding, *filter, *stride, clamp)?,
                    None => None,
                };
                match on_cpu {
                    Some(y) => y,
                    None => ops::max_pool(&x, *padding, *filter, *stride, *activation)?,
                }
            }
            (Op::Add { activation }, _) => {
                let (a, b) = (input(0)?, input(1)?);
                let on_cpu = match ops::clamp_of(*activation) {
                    Some(clamp) => ops::add_cpu(&a, &b, clamp)?,
                    None => None,
                };
                match on_cpu {
                    Some(y) => y,
                    None => ops::binary(&a, &b, Tensor::f_add, *activation)?,
                }
            }
            (Op::Mul { activation }, _) => {
                ops::binary(&input(0)?, &input(1)?, Tensor::f_mul, *activation)?
            }
            (Op::Prelu, _) => {
                let (x, alpha) = (input(0)?, input(1)?);
                match ops::prelu_cpu(&x, &alpha)? {
                    Some(y) => y,
                    None => ops::prelu(&x, &alpha)?,
                }
            }
            (Op::Pad, _) => {
                let (x, paddings) = (input(0)?, ints(1)?);
                match ops::pad_cpu(&x, &paddings)? {
                    Some(y) => y,
                    None => ops::pad(&x, &paddings)?,
                }
            }
            (Op::Reshape { new_shape }, _) => {
                let shape = match ints(1) {
                    Ok(shape) => shape,
                    Err(_) if !new_shape.is_empty() => {
                        new_shape.iter().map(|&d| d as i64).collect()
                    }
                    Err(_) => output_shape.clone(),
                };
                ops::reshape(&input(0)?, &shape)?
            }
            (Op::Concatenation { axis, activation }, _) => {
                let parts = (0..op.inputs.len())
                    .map(input)
                    .collect::<Result<Vec<_>>>()?;
                ops::concat(&parts.iter().collect::<Vec<_>>(), *axis as i64, *activation)?
            }
            (Op::DepthToSpace { block_size }, _) => ops::depth_to_space(&input(0)?, *block_size)?,
            (Op::Logistic, _) => map(&input(0)?, Tensor::f_sigmoid)?,
            (Op::Relu, _) => map(&input(0)?, Tensor::f_relu)?,
            (Op::Relu6, _) => map(&input(0)?, |t| t.f_clamp(0.0, 6.0))?,
            (
                Op::ResizeBilinear {
                    align_corners,
                    half_pixel_centers,
                },
                _,
            ) => {
                let size = ints(1)?;
                let size = <[i64; 2]>::try_from(size).map_err(|s| {
                    TfliteError::Malformed(format!("RESIZE_BILINEAR to {s:?}, not [height, width]"))
                })?;
                ops::resize_bilinear(&input(0)?, size, *align_corners, *half_pixel_centers)?
            }
            (Op::FullyConnected { activation, .. }, prepared) => {
                let x = input(0)?;
                let on_cpu = match (prepared, ops::clamp_of(*activation)) {
                    (Prepared::Dense(weights), Some(clamp)) => {
                        ops::fully_connected_cpu(&x, weights, output_shape, clamp)?
                    }
                    _ => None,
                };
                match on_cpu {
                    Some(y) => y,
                    None => {
                        let weight = optional_constant(1).ok_or_else(|| {
                            TfliteError::Unsupported("FULLY_CONNECTED with run-time weights".into())
                        })?;
                        let bias = optional_constant(2);
                        ops::fully_connected(&x, weight, bias, output_shape, *activation)?
                    }
                }
            }
            (Op::Mean { keep_dims }, _) => {
                let (x, axes) = (input(0)?, ints(1)?);
                match ops::spatial_mean_cpu(&x, &axes, *keep_dims)? {
                    Some(y) => y,
                    None => ops::mean(&x, &axes, *keep_dims)?,
                }
            }
            (
                Op::StridedSlice {
                    begin_mask,
                    end_mask,
                    shrink_axis_mask,
                },
                _,
            ) => ops::strided_slice(
                &input(0)?,
                &ints(1)?,
                &ints(2)?,
                &ints(3)?,
                [*begin_mask, *end_mask, *shrink_axis_mask],
            )?,
            (Op::Dequantize, _) => map(&input(0)?, |t| t.f_to_kind(Kind::Float))?,
            (op, _) => {
                return Err(TfliteError::Unsupported(format!(
                    "{} at run time",
                    op.name()
                )))
            }
        })
    }
}

/// `source`, which happened in operator `index` of model `model`, said so.
fn in_operator(
    model: &str,
    index: usize,
    op: &schema::OperatorDef,
    source: TfliteError,
) -> TfliteError {
    TfliteError::Operator {
        model: model.to_string(),
        index,
        op: op.op.name(),
        source: Box::new(source),
    }
}

/// What an operator needs before the model runs: its weights in libtorch's or the CPU
/// kernels' layout, or, for weight expansion (DEQUANTIZE of constants, DENSIFY), its
/// output computed once and kept as a constant (`None`: no step at run time).
fn prepare(
    def: &ModelDef,
    op: &schema::OperatorDef,
    constants: &mut [Option<Tensor>],
    device: Device,
) -> Result<Option<Prepared>> {
    let all_constant = op.inputs.iter().flatten().all(|&i| constants[i].is_some());
    match &op.op {
        Op::Dequantize if all_constant => {
            let input = constants[op.input(0)?]
                .as_ref()
                .map(|t| t.f_to_kind(Kind::Float))
                .transpose()?;
            constants[op.output()?] = input;
            Ok(None)
        }
        Op::Densify => {
            let source = &def.tensors[op.input(0)?];
            constants[op.output()?] = Some(densified(source, device)?);
            Ok(None)
        }
        Op::Conv2d { depthwise, .. } => {
            let weight = constant_operand(op, constants, 1).ok_or_else(|| {
                TfliteError::Unsupported(format!(
                    "{} with a weight computed at run time",
                    op.op.name()
                ))
            })?;
            if weight.dim() != 4 {
                return Err(TfliteError::Malformed(format!(
                    "{} weight of shape {:?}, not 4-D",
                    op.op.name(),
                    weight.size()
                )));
            }
            let cpu = if device == Device::Cpu {
                cpu_conv(def, op, weight, constants)?
            } else {
                None
            };
            let weight = if *depthwise {
                // [1, KH, KW, C*M] -> [C*M, 1, KH, KW]
                weight.f_permute([3, 0, 1, 2])?
            } else {
                // [O, KH, KW, I] -> [O, I, KH, KW]
                weight.f_permute([0, 3, 1, 2])?
            }
            .f_contiguous()?;
            Ok(Some(Prepared::Conv {
                weight,
                padded: None,
                cpu,
            }))
        }
        Op::FullyConnected { .. } if device == Device::Cpu => {
            let dense = cpu_dense(op, constants)?;
            Ok(Some(dense.map_or(Prepared::Plain, Prepared::Dense)))
        }
        _ => Ok(Some(Prepared::Plain)),
    }
}

/// Folds each PAD that adds the same number of zero rows above and below, and of columns
/// left and right, into the convolutions reading it, when every reader is a VALID
/// convolution taking it as its input image (and it is not a model output).
fn fold_pads(def: &ModelDef, constants: &[Option<Tensor>], steps: &mut [Option<Prepared>]) {
    for (n, op) in def.operators.iter().enumerate() {
        if !matches!(op.op, Op::Pad) || !matches!(steps[n], Some(Prepared::Plain)) {
            continue;
        }
        let (Some(Some(source)), Some(Some(paddings)), [output]) =
            (op.inputs.first(), op.inputs.get(1), op.outputs.as_slice())
        else {
            continue;
        };
        let Some(Ok(p)) = constants[*paddings]
            .as_ref()
            .map(|t| Vec::<i64>::try_from(t.to_kind(Kind::Int64).flatten(0, -1)))
        else {
            continue;
        };
        // [[0, 0], [h, h], [w, w], [0, 0]] in NHWC.
        if p.len() != 8 || p[0] != 0 || p[1] != 0 || p[6] != 0 || p[7] != 0 {
            continue;
        }
        if p[2] != p[3] || p[4] != p[5] || p[2] < 0 || p[4] < 0 || def.outputs.contains(output) {
            continue;
        }
        if constants[*source].is_some() {
            continue;
        }
        let readers: Vec<usize> = (0..def.operators.len())
            .filter(|&r| def.operators[r].inputs.contains(&Some(*output)))
            .collect();
        let foldable = |r: &usize| {
            let reader = &def.operators[*r];
            matches!(
                reader.op,
                Op::Conv2d {
                    padding: schema::Padding::Valid,
                    ..
                }
            ) && reader.inputs.first() == Some(&Some(*output))
                && reader.inputs[1..].iter().all(|i| *i != Some(*output))
                && matches!(steps[*r], Some(Prepared::Conv { padded: None, .. }))
        };
        if readers.is_empty() || !readers.iter().all(foldable) {
            continue;
        }
        for r in readers {
            if let Some(Prepared::Conv { padded, .. }) = &mut steps[r] {
                *padded = Some(FoldedPad {
                    source: *source,
                    padding: [p[2], p[4]],
                });
            }
        }
        steps[n] = None;
    }
}

/// The CPU kernels' form of a convolution's float32 weight and bias: a depthwise filter
/// with one channel out per channel in (TFLite's [1, KH, KW, C] is already its tap-major
/// layout), or the `[O][KH * KW * I]` matrix of any other convolution (OHWI flattened,
/// the order [`super::kernels::convolution`] unfolds windows in). `None` when neither fits.
fn cpu_conv(
    def: &ModelDef,
    op: &schema::OperatorDef,
    weight: &Tensor,
    constants: &[Option<Tensor>],
) -> Result<Option<CpuConv>> {
    let Op::Conv2d {
        depthwise, stride, ..
    } = &op.op
    else {
        return Ok(None);
    };
    let &[o, kh, kw, i] = weight.size().as_slice() else {
        return Ok(None);
    };
    if [o, kh, kw, i].contains(&0) {
        // Nothing for a kernel to do; libtorch reports what is wrong with it.
        return Ok(None);
    }
    let input_channels = op
        .inputs
        .first()
        .copied()
        .flatten()
        .and_then(|i| def.tensors[i].shape.get(3).copied());
    let outputs = if *depthwise { i } else { o };
    let Some(bias) = kernel_bias(op, constants, outputs)? else {
        return Ok(None);
    };
    if weight.kind() != Kind::Float {
        return Ok(None);
    }
    let values = || Vec::<f32>::try_from(weight.contiguous().flatten(0, -1));
    if *depthwise && o == 1 && input_channels == Some(i) {
        return Ok(Some(CpuConv::Depthwise(DepthwiseFilter {
            taps: values()?,
            bias: bias.unwrap_or_else(|| vec![0.0; i as usize]),
            kernel: [kh as usize, kw as usize],
        })));
    }
    if *depthwise || input_channels != Some(i) {
        return Ok(None);
    }
    let (o, i, kh, kw) = (o as usize, i as usize, kh as usize, kw as usize);
    let weights = PackedWeights::new(&values()?, bias.as_deref(), o, kh * kw * i);
    Ok(Some(if [kh, kw] == [1, 1] && *stride == [1, 1] {
        CpuConv::Pointwise(weights)
    } else {
        CpuConv::General(weights, [kh, kw])
    }))
}

/// A FULLY_CONNECTED layer's float32 `[outputs][inputs]` weight and bias, packed for the
/// CPU kernel; `None` when they are not constant float32 of those shapes.
fn cpu_dense(
    op: &schema::OperatorDef,
    constants: &[Option<Tensor>],
) -> Result<Option<PackedWeights>> {
    let Some(weight) = constant_operand(op, constants, 1).filter(|w| w.kind() == Kind::Float)
    else {
        return Ok(None);
    };
    let &[outputs, inputs] = weight.size().as_slice() else {
        return Ok(None);
    };
    let Some(bias) = kernel_bias(op, constants, outputs)? else {
        return Ok(None);
    };
    let values = Vec::<f32>::try_from(weight.contiguous().flatten(0, -1))?;
    Ok(Some(PackedWeights::new(
        &values,
        bias.as_deref(),
        outputs as usize,
        inputs as usize,
    )))
}

/// Operand `k` of `op`, if it is a constant.
fn constant_operand<'a>(
    op: &schema::OperatorDef,
    constants: &'a [Option<Tensor>],
    k: usize,
) -> Option<&'a Tensor> {
    op.inputs
        .get(k)
        .copied()
        .flatten()
        .and_then(|i| constants[i].as_ref())
}

/// The bias (operand 2) of an operator with `outputs` outputs, as float32 values for a
/// CPU kernel: `Some(None)` when it has none, `None` when it is not a constant of that
/// size.
fn kernel_bias(
    op: &schema::OperatorDef,
    constants: &[Option<Tensor>],
    outputs: i64,
) -> Result<Option<Option<Vec<f32>>>> {
    if op.inputs.get(2).copied().flatten().is_none() {
        return Ok(Some(None));
    }
    match constant_operand(op, constants, 2) {
        Some(b) if b.size() == [outputs] => {
            Ok(Some(Some(Vec::<f32>::try_from(b.to_kind(Kind::Float))?)))
        }
        _ => Ok(None),
    }
}

fn map(
    x: &Value,
    f: impl Fn(&Tensor) -> std::result::Result<Tensor, tch::TchError>,
) -> Result<Value> {
    Ok(Value {
        tensor: f(&x.tensor)?,
        nchw: x.nchw,
    })
}

fn kind(dtype: DType) -> Kind {
    match dtype {
        DType::F32 => Kind::Float,
        DType::F16 => Kind::Half,
        DType::I32 => Kind::Int,
        DType::I64 => Kind::Int64,
        DType::U8 => Kind::Uint8,
        DType::I8 => Kind::Int8,
    }
}

/// The bytes of a constant tensor, or `None` when its shape has a negative dimension or
/// overflows.
fn byte_size(t: &TensorDef) -> Option<usize> {
    t.shape.iter().try_fold(t.dtype.size(), |bytes, &d| {
        bytes.checked_mul(usize::try_from(d).ok()?)
    })
}

/// The largest constant a model may expand a sparse weight into: 2 GiB, the FlatBuffer
/// size limit that TFLite keeps its dense weights within.
const MAX_DENSE_BYTES: usize = 1 << 31;

/// A tensor's constant data as a tch tensor in its stored type, or `None` if it has none
/// (or is sparse, which DENSIFY expands).
fn constant(t: &TensorDef, device: Device) -> Result<Option<Tensor>> {
    let Some(data) = &t.data else { return Ok(None) };
    if t.sparsity.is_some() {
        return Ok(None);
    }
    if byte_size(t) != Some(data.len()) {
        return Err(TfliteError::Malformed(format!(
            "tensor {:?} of shape {:?} holds {} bytes",
            t.name,
            t.shape,
            data.len()
        )));
    }
    check_finite(t, data)?;
    let tensor = Tensor::f_from_data_size(data, &t.shape, kind(t.dtype))?;
    Ok(Some(tensor.f_to_device(device)?))
}

/// Float constants must be finite numbers: NaN or infinite weights come from a damaged
/// file, not from training.
fn check_finite(t: &TensorDef, data: &[u8]) -> Result<()> {
    match first_non_finite(t.dtype, data) {
        Some((index, value)) => Err(TfliteError::NonFinite {
            tensor: t.name.clone(),
            index,
            value,
        }),
        None => Ok(()),
    }
}

/// The first NaN or infinity among little-endian floats, with its position.
fn first_non_finite(dtype: DType, data: &[u8]) -> Option<(usize, f32)> {
    // IEEE half: an all-ones exponent is an infinity (zero mantissa) or a NaN.
    const HALF_EXPONENT: u16 = 0x7C00;
    const HALF_MANTISSA: u16 = 0x03FF;
    const HALF_SIGN: u16 = 0x8000;
    match dtype {
        DType::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .enumerate()
            .find(|(_, v)| !v.is_finite()),
        DType::F16 => data
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .enumerate()
            .find(|(_, bits)| bits & HALF_EXPONENT == HALF_EXPONENT)
            .map(|(i, bits)| {
                let value = match (bits & HALF_MANTISSA, bits & HALF_SIGN) {
                    (0, 0) => f32::INFINITY,
                    (0, _) => f32::NEG_INFINITY,
                    _ => f32::NAN,
                };
                (i, value)
            }),
        _ => None,
    }
}

fn densified(t: &TensorDef, device: Device) -> Result<Tensor> {
    let (Some(data), Some(sparsity)) = (&t.data, &t.sparsity) else {
        return Err(TfliteError::Malformed(format!(
            "DENSIFY of {:?}, which is not a sparse constant",
            t.name
        )));
    };
    if byte_size(t).is_none_or(|bytes| bytes > MAX_DENSE_BYTES) {
        return Err(TfliteError::Malformed(format!(
            "sparse tensor {:?} of shape {:?}: more than {MAX_DENSE_BYTES} bytes dense",
            t.name, t.shape
        )));
    }
    check_finite(t, data)?;
    let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
    let size = t.dtype.size();
    let values: Vec<&[u8]> = data.chunks_exact(size).collect();
    let zero = vec![0u8; size];
    let dense = densify(sparsity, &shape, &values, zero.as_slice())?;
    let bytes: Vec<u8> = dense.concat();
    Ok(Tensor::f_from_data_size(&bytes, &t.shape, kind(t.dtype))?.f_to_device(device)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real MediaPipe model with one weight overwritten by NaN (its structure intact,
    /// as a bit flip or a bad copy leaves it) is refused, naming the file and the tensor;
    /// it used to load and put keypoints hundreds of pixels off at confidence 0.84.
    #[test]
    fn a_real_model_with_a_nan_weight_is_refused_naming_file_and_tensor() {
        let original = std::path::PathBuf::from(env!("DANCENOW_DEPS"))
            .join("models/mediapipe/pose_detection.tflite");
        let mut bytes = std::fs::read(&original).unwrap();
        let def = schema::parse(&bytes, "pose_detection").unwrap();
        // The largest float constant, found in the file by its bytes.
        let tensor = def
            .tensors
            .iter()
            .filter(|t| matches!(t.dtype, DType::F16 | DType::F32) && t.data.is_some())
            .max_by_key(|t| t.data.as_ref().map_or(0, Vec::len))
            .unwrap();
        let data = tensor.data.as_ref().unwrap();
        let start = bytes
            .windows(data.len())
            .position(|w| w == data.as_slice())
            .unwrap();
        let (element, nan): (usize, &[u8]) = match tensor.dtype {
            DType::F16 => (2, &[0x00, 0x7E]),
            _ => (4, &[0x00, 0x00, 0xC0, 0x7F]),
        };
        let index = data.len() / element / 2;
        let at = start + index * element;
        bytes[at..at + element].copy_from_slice(nan);

        let dir = tempfile::tempdir().unwrap();
        let damaged = dir.path().join("pose_detection.tflite");
        std::fs::write(&damaged, &bytes).unwrap();
        let err = TfliteModel::load(&damaged, Device::Cpu).err().unwrap();
        match err.cause() {
            TfliteError::NonFinite {
                tensor: name,
                index: i,
                value,
            } => {
                assert_eq!((name, *i), (&tensor.name, index));
                assert!(value.is_nan());
            }
            other => panic!("{other}"),
        }
        let chain = format!("{:#}", anyhow::Error::from(err));
        assert!(
            chain.contains(&damaged.display().to_string()) && chain.contains(&tensor.name),
            "{chain}"
        );
        TfliteModel::load(&original, Device::Cpu).unwrap();
    }

    #[test]
    fn half_infinities_and_nans_are_found() {
        let halves =
            |values: &[u16]| -> Vec<u8> { values.iter().flat_map(|v| v.to_le_bytes()).collect() };
        assert_eq!(
            first_non_finite(DType::F16, &halves(&[0x3C00, 0x7BFF, 0xFBFF])),
            None
        );
        assert_eq!(
            first_non_finite(DType::F16, &halves(&[0x3C00, 0xFC00])),
            Some((1, f32::NEG_INFINITY))
        );
        assert!(first_non_finite(DType::F16, &halves(&[0x7E00]))
            .is_some_and(|(i, v)| i == 0 && v.is_nan()));
        assert_eq!(first_non_finite(DType::I32, &[0xFF; 8]), None);
    }
}
