//! TFLite operators as tch calls. Values carry a flag saying whether a 4-D activation is
//! stored NCHW (as convolutions leave it) or in TFLite's own layout.

use tch::{Kind, TchError, Tensor};

use super::kernels::{self, Clamp, DepthwiseFilter, Geometry, PackedWeights};
use super::schema::{Activation, Padding};
use super::TfliteError;

type Result<T> = std::result::Result<T, TfliteError>;

/// A runtime tensor. `nchw` means: logically NHWC as TFLite sees it, stored NCHW.
pub struct Value {
    pub tensor: Tensor,
    pub nchw: bool,
}

impl Value {
    pub fn logical(tensor: Tensor) -> Self {
        Self {
            tensor,
            nchw: false,
        }
    }

    pub fn stored_nchw(tensor: Tensor) -> Self {
        Self { tensor, nchw: true }
    }

    /// The tensor in TFLite's layout.
    pub fn to_logical(&self) -> Tensor {
        if self.nchw {
            self.tensor.permute([0, 2, 3, 1])
        } else {
            self.tensor.shallow_clone()
        }
    }

    /// A 4-D activation as NCHW.
    pub fn to_nchw(&self) -> Result<Tensor> {
        if self.nchw {
            return Ok(self.tensor.shallow_clone());
        }
        if self.tensor.dim() != 4 {
            return Err(TfliteError::Unsupported(format!(
                "a spatial operator on a rank-{} tensor",
                self.tensor.dim()
            )));
        }
        Ok(self.tensor.permute([0, 3, 1, 2]))
    }

    /// This value broadcast against an NCHW-stored activation: lower ranks are padded
    /// with leading ones (as NHWC broadcasting does), then moved to NCHW.
    pub fn broadcast_nchw(&self) -> Result<Tensor> {
        if self.nchw {
            return Ok(self.tensor.shallow_clone());
        }
        let mut shape = self.tensor.size();
        if shape.len() > 4 {
            return Err(TfliteError::Unsupported(format!(
                "broadcasting a rank-{} tensor against an image",
                shape.len()
            )));
        }
        while shape.len() < 4 {
            shape.insert(0, 1);
        }
        Ok(self.tensor.f_reshape(&shape)?.f_permute([0, 3, 1, 2])?)
    }
}

/// A fused activation, in place: every caller passes a tensor it has just computed.
pub fn activate(mut x: Tensor, activation: Activation) -> Result<Tensor> {
    Ok(match activation {
        Activation::None => x,
        Activation::Relu => x.f_relu_()?,
        Activation::ReluN1To1 => x.f_clamp_(-1.0, 1.0)?,
        Activation::Relu6 => x.f_clamp_(0.0, 6.0)?,
        Activation::Tanh => x.f_tanh_()?,
    })
}

/// `axis` of a rank-`rank` tensor, counted from the end when negative, or an error
/// naming the operator: the axis comes from the file.
fn axis_in(op: &str, axis: i64, rank: i64) -> Result<usize> {
    let resolved = if axis < 0 { axis + rank } else { axis };
    usize::try_from(resolved)
        .ok()
        .filter(|&a| (a as i64) < rank)
        .ok_or_else(|| TfliteError::Malformed(format!("{op} axis {axis} of a rank-{rank} tensor")))
}

/// TensorFlow's padding for one spatial dimension: (before, after).
fn same_padding(input: i64, kernel: i64, stride: i64, dilation: i64) -> (i64, i64) {
    let output = (input + stride - 1) / stride;
    let effective = (kernel - 1) * dilation + 1;
    let total = ((output - 1) * stride + effective - input).max(0);
    (total / 2, total - total / 2)
}

/// Pads an NCHW tensor for SAME convolution or pooling; returns the symmetric padding
/// that is left for the operator itself to apply.
fn pad_same(
    x: Tensor,
    kernel: [i64; 2],
    stride: [i64; 2],
    dilation: [i64; 2],
    fill: f64,
) -> Result<(Tensor, [i64; 2])> {
    let size = x.size();
    let (top, bottom) = same_padding(size[2], kernel[0], stride[0], dilation[0]);
    let (left, right) = same_padding(size[3], kernel[1], stride[1], dilation[1]);
    if top == bottom && left == right && fill == 0.0 {
        return Ok((x, [top, left]));
    }
    Ok((
        x.f_pad([left, right, top, bottom], "constant", fill)?,
        [0, 0],
    ))
}

pub struct ConvSpec {
    pub padding: Padding,
    pub stride: [i64; 2],
    pub dilation: [i64; 2],
    pub groups: i64,
    /// Zero rows and columns on each side from a PAD folded into a VALID convolution.
    pub extra_padding: [i64; 2],
}

/// Convolution of an NCHW input with an OIHW weight.
pub fn conv(
    x: &Value,
    weight: &Tensor,
    bias: Option<&Tensor>,
    spec: &ConvSpec,
    activation: Activation,
) -> Result<Value> {
    let mut x = x.to_nchw()?;
    let &[_, _, kh, kw] = weight.size().as_slice() else {
        return Err(TfliteError::Malformed(format!(
            "a convolution weight of shape {:?}",
            weight.size()
        )));
    };
    let mut padding = spec.extra_padding;
    if spec.padding == Padding::Same {
        (x, padding) = pad_same(x, [kh, kw], spec.stride, spec.dilation, 0.0)?;
    }
    let y = x.f_conv2d(
        weight,
        bias,
        spec.stride,
        padding,
        spec.dilation,
        spec.groups,
    )?;
    Ok(Value::stored_nchw(activate(y, activation)?))
}

/// The clamp a fused activation amounts to, if it is one.
pub fn clamp_of(activation: Activation) -> Option<Clamp> {
    let (min, max) = match activation {
        Activation::None => return Some(Clamp::NONE),
        Activation::Relu => (0.0, f32::INFINITY),
        Activation::ReluN1To1 => (-1.0, 1.0),
        Activation::Relu6 => (0.0, 6.0),
        Activation::Tanh => return None,
    };
    Some(Clamp { min, max })
}

/// Depthwise convolution of a CPU float32 activation by the hand-written kernel.
pub fn depthwise_cpu(
    x: &Value,
    filter: &DepthwiseFilter,
    spec: &ConvSpec,
    clamp: Clamp,
) -> Result<Value> {
    let x = cpu_nhwc(x, filter.channels())?;
    let geometry = geometry(&x, filter.kernel, spec)?;
    let shape = output_shape(&geometry, filter.channels());
    run_kernel([&x], &shape, |[input], output| {
        kernels::depthwise(input, filter, &geometry, clamp, output)
    })
}

/// Where a convolution's windows lie in the NHWC input `x`, for the CPU kernels.
fn geometry(x: &Tensor, kernel: [usize; 2], spec: &ConvSpec) -> Result<Geometry> {
    let size = x.size();
    let window = |axis: usize, kernel: usize| -> Result<(i64, i64)> {
        let (size, kernel) = (size[1 + axis], kernel as i64);
        let (stride, dilation) = (spec.stride[axis], spec.dilation[axis]);
        if spec.padding == Padding::Same {
            let (before, _) = same_padding(size, kernel, stride, dilation);
            return Ok(((size + stride - 1) / stride, before));
        }
        let padded = size + 2 * spec.extra_padding[axis];
        let effective = (kernel - 1) * dilation + 1;
        if padded < effective {
            return Err(TfliteError::Input(format!(
                "a {kernel}-tap window does not fit in {size} positions"
            )));
        }
        Ok(((padded - effective) / stride + 1, spec.extra_padding[axis]))
    };
    let (oh, top) = window(0, kernel[0])?;
    let (ow, left) = window(1, kernel[1])?;
    Ok(Geometry {
        input: [size[0], size[1], size[2]].map(|d| d as usize),
        output: [oh as usize, ow as usize],
        stride: spec.stride.map(|s| s as usize),
        dilation: spec.dilation.map(|d| d as usize),
        padding: [top as usize, left as usize],
    })
}

/// Any other convolution of a CPU float32 activation: its windows unfolded into rows,
/// a block at a time, then the 1x1 kernel's product.
pub fn conv_cpu(
    x: &Value,
    weights: &PackedWeights,
    kernel: [usize; 2],
    spec: &ConvSpec,
    clamp: Clamp,
) -> Result<Value> {
    let channels = weights.inputs() / (kernel[0] * kernel[1]);
    let x = cpu_nhwc(x, channels)?;
    let geometry = geometry(&x, kernel, spec)?;
    let shape = output_shape(&geometry, weights.outputs());
    run_kernel([&x], &shape, |[input], output| {
        kernels::convolution(input, channels, kernel, &geometry, weights, clamp, output)
    })
}

/// The NHWC shape of a convolution's output with `channels` channels.
fn output_shape(geometry: &Geometry, channels: usize) -> [usize; 4] {
    let [n, _, _] = geometry.input;
    let [oh, ow] = geometry.output;
    [n, oh, ow, channels]
}

/// Runs a CPU kernel from contiguous CPU float32 tensors (as [`cpu_nhwc`] and
/// [`cpu_logical`] give) into a new tensor of `shape`.
fn run_kernel<const N: usize>(
    inputs: [&Tensor; N],
    shape: &[usize],
    kernel: impl FnOnce([&[f32]; N], &mut [f32]),
) -> Result<Value> {
    debug_assert!(inputs
        .iter()
        .all(|x| x.is_contiguous() && x.kind() == Kind::Float && x.device() == tch::Device::Cpu));
    let shape = shape
        .iter()
        .map(|&d| i64::try_from(d))
        .collect::<std::result::Result<Vec<i64>, _>>()
        .map_err(|_| TfliteError::Malformed(format!("an output of shape {shape:?}")))?;
    // Allocation fails as an error, for an absurd shape read from the file.
    let y = Tensor::f_empty(shape.as_slice(), (Kind::Float, tch::Device::Cpu))?;
    let slice_ptr = |t: &Tensor| match t.numel() {
        // An empty tensor may have no storage at all.
        0 => std::ptr::NonNull::<f32>::dangling().as_ptr(),
        _ => t.data_ptr() as *mut f32,
    };
    // SAFETY: the tensors are contiguous CPU float32 of `numel` elements, and `y` is new,
    // so the output cannot overlap an input.
    unsafe {
        let inputs = inputs.map(|x| std::slice::from_raw_parts(slice_ptr(x), x.numel()));
        let output = std::slice::from_raw_parts_mut(slice_ptr(&y), y.numel());
        kernel(inputs, output);
    }
    Ok(Value::logical(y))
}

/// `x` as a contiguous CPU float32 tensor in TFLite's layout, or `None` if it is not on
/// the CPU or not float32 (then libtorch runs the operator).
fn cpu_logical(x: &Value) -> Option<Tensor> {
    let t = &x.tensor;
    (t.device() == tch::Device::Cpu && t.kind() == Kind::Float).then(|| x.to_logical().contiguous())
}

/// `x` as a contiguous NHWC CPU float32 tensor with `channels` channels, for a kernel.
fn cpu_nhwc(x: &Value, channels: usize) -> Result<Tensor> {
    cpu_logical(x)
        .filter(|t| t.dim() == 4 && t.size()[3] as usize == channels)
        .ok_or_else(|| {
            TfliteError::Malformed(format!(
                "a CPU kernel for {channels} channels given {:?} {:?} input of shape {:?}",
                x.tensor.device(),
                x.tensor.kind(),
                x.to_logical().size()
            ))
        })
}

/// A tensor's shape as sizes for a kernel.
fn dims(t: &Tensor) -> Vec<usize> {
    t.size().iter().map(|&d| d as usize).collect()
}

/// 1x1 stride-1 convolution of a CPU float32 activation by the hand-written kernel.
pub fn pointwise_cpu(x: &Value, weights: &PackedWeights, clamp: Clamp) -> Result<Value> {
    let x = cpu_nhwc(x, weights.inputs())?;
    let size = x.size();
    let shape = [
        size[0] as usize,
        size[1] as usize,
        size[2] as usize,
        weights.outputs(),
    ];
    run_kernel([&x], &shape, |[input], output| {
        kernels::pointwise(input, weights, clamp, output)
    })
}

pub fn max_pool(
    x: &Value,
    padding: Padding,
    filter: [i64; 2],
    stride: [i64; 2],
    activation: Activation,
) -> Result<Value> {
    let mut x = x.to_nchw()?;
    if padding == Padding::Same {
        // Padded positions must never win the maximum.
        (x, _) = pad_same(x, filter, stride, [1, 1], f64::NEG_INFINITY)?;
    }
    let y = x.f_max_pool2d(filter, stride, [0, 0], [1, 1], false)?;
    Ok(Value::stored_nchw(activate(y, activation)?))
}

/// A binary tensor operation of libtorch's, failing on shapes that do not broadcast.
pub type BinaryOp = fn(&Tensor, &Tensor) -> std::result::Result<Tensor, TchError>;

/// ADD and MUL, broadcasting as TFLite does.
pub fn binary(a: &Value, b: &Value, op: BinaryOp, activation: Activation) -> Result<Value> {
    if a.nchw || b.nchw {
        let y = op(&a.broadcast_nchw()?, &b.broadcast_nchw()?)?;
        Ok(Value::stored_nchw(activate(y, activation)?))
    } else {
        Ok(Value::logical(activate(
            op(&a.tensor, &b.tensor)?,
            activation,
        )?))
    }
}

/// PReLU: x for x > 0, alpha * x below.
pub fn prelu(x: &Value, alpha: &Value) -> Result<Value> {
    // One slope per channel (TFLite shape [1, ..., 1, C]): libtorch's own kernel, one pass
    // instead of five.
    let slopes = alpha.tensor.size();
    let per_channel = !alpha.nchw
        && x.tensor.dim() == 4
        && slopes.split_last().is_some_and(|(&c, rest)| {
            Some(c) == x.tensor.size().get(if x.nchw { 1 } else { 3 }).copied()
                && rest.iter().all(|&d| d == 1)
        })
        && alpha.tensor.kind() == x.tensor.kind();
    if let (true, Ok(x)) = (per_channel, x.to_nchw()) {
        let slopes = alpha.tensor.f_reshape([-1])?;
        return Ok(Value::stored_nchw(x.f_prelu(&slopes)?));
    }
    let (x_t, alpha_t) = if x.nchw {
        (x.tensor.shallow_clone(), alpha.broadcast_nchw()?)
    } else {
        (x.tensor.shallow_clone(), alpha.to_logical())
    };
    let negative = alpha_t.f_mul(&x_t.f_neg()?.f_relu()?)?;
    Ok(Value {
        tensor: x_t.f_relu()?.f_sub(&negative)?,
        nchw: x.nchw,
    })
}

/// PAD with zeros; `paddings` is TFLite's [rank, 2] list in NHWC order.
pub fn pad(x: &Value, paddings: &[i64]) -> Result<Value> {
    let rank = x.tensor.dim();
    if paddings.len() != 2 * rank || paddings.iter().any(|&p| p < 0) {
        return Err(TfliteError::Malformed(format!(
            "PAD of a rank-{rank} tensor by {paddings:?}: one non-negative pair per dimension"
        )));
    }
    let pair = |d: usize| [paddings[2 * d], paddings[2 * d + 1]];
    // torch pads the last dimension first.
    let order: Vec<usize> = if x.nchw {
        vec![2, 1, 3, 0]
    } else {
        (0..rank).rev().collect()
    };
    if x.nchw && rank != 4 {
        return Err(TfliteError::Malformed(format!(
            "PAD of a 4-D tensor with {rank} padding pairs"
        )));
    }
    // For NCHW storage the last stored dimension is W (NHWC 2), then H (1), C (3), N (0).
    let spec: Vec<i64> = order.iter().flat_map(|&d| pair(d)).collect();
    Ok(Value {
        tensor: x.tensor.f_constant_pad_nd(spec.as_slice())?,
        nchw: x.nchw,
    })
}

/// TFLite's DEPTH_TO_SPACE (channel index = (row_offset * block + col_offset) * C + c).
pub fn depth_to_space(x: &Value, block: i64) -> Result<Value> {
    let x = x.to_nchw()?;
    let [n, c, h, w] = <[i64; 4]>::try_from(x.size())
        .map_err(|_| TfliteError::Malformed("DEPTH_TO_SPACE needs 4-D".into()))?;
    // The block size was checked positive when the model was read.
    let cells = block.saturating_mul(block);
    if c % cells != 0 {
        return Err(TfliteError::Malformed(format!(
            "DEPTH_TO_SPACE of {c} channels by blocks of {block}x{block}"
        )));
    }
    let out_c = c / cells;
    let y = x
        .f_reshape([n, block, block, out_c, h, w])?
        .f_permute([0, 3, 4, 1, 5, 2])?
        .f_reshape([n, out_c, h * block, w * block])?;
    Ok(Value::stored_nchw(y))
}

/// RESIZE_BILINEAR in TFLite's three coordinate conventions.
pub fn resize_bilinear(
    x: &Value,
    size: [i64; 2],
    align_corners: bool,
    half_pixel_centers: bool,
) -> Result<Value> {
    let x = x.to_nchw()?;
    if size.iter().any(|&s| s < 1) {
        return Err(TfliteError::Malformed(format!(
            "RESIZE_BILINEAR to {size:?}"
        )));
    }
    let y = if align_corners || half_pixel_centers {
        // torch's align_corners=false is TF's half-pixel-centre convention.
        x.f_upsample_bilinear2d(size, align_corners, None, None)?
    } else {
        // TF's legacy convention: source = destination * (in / out), no half-pixel shift.
        let h = legacy_axis(&x, 2, size[0])?;
        legacy_axis(&h, 3, size[1])?
    };
    Ok(Value::stored_nchw(y))
}

/// One axis (2 or 3) of an NCHW tensor resized to `out` positions the legacy way.
fn legacy_axis(x: &Tensor, dim: usize, out: i64) -> Result<Tensor> {
    let input = x.size()[dim];
    let scale = input as f64 / out as f64;
    let device = x.device();
    let src = Tensor::f_arange(out, (Kind::Float, device))?.f_mul_scalar(scale)?;
    let lo = src.f_floor()?.f_to_kind(Kind::Int64)?;
    let hi = lo.f_add_scalar(1)?.f_clamp_max(input - 1)?;
    let frac = src.f_sub(&lo.f_to_kind(Kind::Float)?)?;
    let mut shape = vec![1i64; 4];
    shape[dim] = out;
    let frac = frac.f_reshape(&shape)?;
    let a = x.f_index_select(dim as i64, &lo)?;
    let b = x.f_index_select(dim as i64, &hi)?;
    Ok(a.f_add(&b.f_sub(&a)?.f_mul(&frac)?)?)
}

/// FULLY_CONNECTED: `x @ weight^T + bias` over the last dimension of size K.
pub fn fully_connected(
    x: &Value,
    weight: &Tensor,
    bias: Option<&Tensor>,
    out_shape: &[i64],
    activation: Activation,
) -> Result<Value> {
    let &[_, k] = weight.size().as_slice() else {
        return Err(TfliteError::Malformed(format!(
            "FULLY_CONNECTED weight of shape {:?}, not [outputs, inputs]",
            weight.size()
        )));
    };
    let x = x.to_logical().f_contiguous()?.f_reshape([-1, k])?;
    let mut y = x.f_matmul(&weight.f_tr()?)?;
    if let Some(bias) = bias {
        let _ = y.f_add_(bias)?;
    }
    let y = if out_shape.is_empty() {
        y
    } else {
        y.f_reshape(out_shape)?
    };
    Ok(Value::logical(activate(y, activation)?))
}

/// MEAN over TFLite axes.
pub fn mean(x: &Value, axes: &[i64], keep_dims: bool) -> Result<Value> {
    let rank = x.tensor.dim() as i64;
    let axes: Vec<usize> = axes
        .iter()
        .map(|&a| axis_in("MEAN", a, rank))
        .collect::<Result<_>>()?;
    let (t, dims): (Tensor, Vec<i64>) = if x.nchw && keep_dims {
        // A stored-NCHW value is 4-D: NHWC axis a is stored at [0, 2, 3, 1][a].
        let stored = axes.iter().map(|&a| NHWC_TO_NCHW[a]).collect();
        (x.tensor.shallow_clone(), stored)
    } else {
        // Reduce in NHWC terms so the remaining dimensions keep TFLite's order.
        (x.to_logical(), axes.iter().map(|&a| a as i64).collect())
    };
    let y = t.f_mean_dim(dims.as_slice(), keep_dims, Kind::Float)?;
    Ok(Value {
        tensor: y,
        nchw: x.nchw && keep_dims,
    })
}

/// Where an NHWC axis of a 4-D activation lies when it is stored NCHW.
const NHWC_TO_NCHW: [i64; 4] = [0, 2, 3, 1];

/// CONCATENATION along a TFLite axis.
pub fn concat(values: &[&Value], axis: i64, activation: Activation) -> Result<Value> {
    let first = values
        .first()
        .ok_or_else(|| TfliteError::Malformed("CONCATENATION of nothing".into()))?;
    let rank = first.tensor.dim() as i64;
    let axis = axis_in("CONCATENATION", axis, rank)?;
    if rank == 4 && values.iter().all(|v| v.nchw) {
        let parts: Vec<Tensor> = values.iter().map(|v| v.tensor.shallow_clone()).collect();
        let y = Tensor::f_cat(&parts, NHWC_TO_NCHW[axis])?;
        return Ok(Value::stored_nchw(activate(y, activation)?));
    }
    let parts: Vec<Tensor> = values.iter().map(|v| v.to_logical()).collect();
    Ok(Value::logical(activate(
        Tensor::f_cat(&parts, axis as i64)?,
        activation,
    )?))
}

/// STRIDED_SLICE in TFLite's layout, with constant begin, end and strides.
pub fn strided_slice(
    x: &Value,
    begin: &[i64],
    end: &[i64],
    strides: &[i64],
    masks: [i32; 3],
) -> Result<Value> {
    let [begin_mask, end_mask, shrink_mask] = masks;
    let mut t = x.to_logical();
    let rank = t.dim();
    if begin.len() != rank || end.len() != rank || strides.len() != rank {
        return Err(TfliteError::Malformed(format!(
            "STRIDED_SLICE of a rank-{rank} tensor with {} begins",
            begin.len()
        )));
    }
    let mut keep = Vec::new();
    for d in 0..rank {
        // Masks have 32 bits: no dimension past them is masked.
        let bit = |mask: i32| d < 32 && (mask >> d) & 1 != 0;
        let size = t.size()[d];
        if strides[d] <= 0 {
            return Err(TfliteError::Unsupported(
                "STRIDED_SLICE with a non-positive stride".into(),
            ));
        }
        let clamp = |i: i64| (if i < 0 { i + size } else { i }).clamp(0, size);
        let start = if bit(begin_mask) { 0 } else { clamp(begin[d]) };
        let stop = if bit(shrink_mask) {
            start + 1
        } else if bit(end_mask) {
            size
        } else {
            clamp(end[d])
        };
        t = t.f_slice(d as i64, start, stop.max(start), strides[d])?;
        if !bit(shrink_mask) {
            keep.push(t.size()[d]);
        }
    }
    Ok(Value::logical(t.f_reshape(&keep)?))
}

/// RESHAPE of the tensor in TFLite's layout.
pub fn reshape(x: &Value, shape: &[i64]) -> Result<Value> {
    Ok(Value::logical(
        x.to_logical().contiguous().f_reshape(shape)?,
    ))
}

/// ADD of two CPU float32 values of the same shape, by the kernel; `None` for anything
/// else (broadcasting, other devices).
pub fn add_cpu(a: &Value, b: &Value, clamp: Clamp) -> Result<Option<Value>> {
    let (Some(a), Some(b)) = (cpu_logical(a), cpu_logical(b)) else {
        return Ok(None);
    };
    if a.size() != b.size() {
        return Ok(None);
    }
    let shape = dims(&a);
    run_kernel([&a, &b], &shape, |[a, b], out| {
        kernels::add(a, b, clamp, out)
    })
    .map(Some)
}

/// PReLU of a CPU float32 activation with one slope per channel, by the kernel.
pub fn prelu_cpu(x: &Value, alpha: &Value) -> Result<Option<Value>> {
    let (Some(x), Some(alpha)) = (cpu_logical(x), cpu_logical(alpha)) else {
        return Ok(None);
    };
    let slopes = alpha.size();
    let (Some(&channels), Some((&c, rest))) = (x.size().last(), slopes.split_last()) else {
        return Ok(None);
    };
    if c != channels || c == 0 || rest.iter().any(|&d| d != 1) {
        return Ok(None);
    }
    let shape = dims(&x);
    run_kernel([&x, &alpha], &shape, |[x, slopes], out| {
        kernels::prelu(x, slopes, out)
    })
    .map(Some)
}

/// Zero PAD of a CPU float32 value (rank 4 at most), by the kernel.
pub fn pad_cpu(x: &Value, paddings: &[i64]) -> Result<Option<Value>> {
    let Some(x) = cpu_logical(x) else {
        return Ok(None);
    };
    let shape = dims(&x);
    let rank = shape.len();
    if rank > 4 || paddings.len() != 2 * rank || paddings.iter().any(|&p| p < 0) {
        return Ok(None);
    }
    let before: Vec<usize> = (0..rank).map(|d| paddings[2 * d] as usize).collect();
    let after: Vec<usize> = (0..rank).map(|d| paddings[2 * d + 1] as usize).collect();
    let out = (0..rank)
        .map(|d| shape[d].checked_add(before[d])?.checked_add(after[d]))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| TfliteError::Malformed(format!("PAD by {paddings:?} overflows")))?;
    run_kernel([&x], &out, |[x], y| {
        kernels::pad(x, &shape, &before, &after, y)
    })
    .map(Some)
}

/// MAX_POOL_2D of a CPU float32 activation, by the kernel.
pub fn max_pool_cpu(
    x: &Value,
    padding: Padding,
    filter: [i64; 2],
    stride: [i64; 2],
    clamp: Clamp,
) -> Result<Option<Value>> {
    let Some(x) = cpu_logical(x).filter(|x| x.dim() == 4) else {
        return Ok(None);
    };
    let spec = ConvSpec {
        padding,
        stride,
        dilation: [1, 1],
        groups: 1,
        extra_padding: [0, 0],
    };
    let kernel = filter.map(|k| k as usize);
    let geometry = geometry(&x, kernel, &spec)?;
    let channels = x.size()[3] as usize;
    let shape = output_shape(&geometry, channels);
    run_kernel([&x], &shape, |[x], y| {
        kernels::max_pool(x, channels, kernel, &geometry, clamp, y)
    })
    .map(Some)
}

/// MEAN over the rows and columns of a CPU float32 NHWC activation, by the kernel.
pub fn spatial_mean_cpu(x: &Value, axes: &[i64], keep_dims: bool) -> Result<Option<Value>> {
    let Some(x) = cpu_logical(x).filter(|x| x.dim() == 4) else {
        return Ok(None);
    };
    let mut sorted: Vec<i64> = axes
        .iter()
        .map(|&a| if a < 0 { a + 4 } else { a })
        .collect();
    sorted.sort_unstable();
    if sorted != [1, 2] {
        return Ok(None);
    }
    let size = dims(&x);
    let (n, c) = (size[0], size[3]);
    if size[1] * size[2] == 0 || c == 0 {
        return Ok(None);
    }
    let shape: &[usize] = if keep_dims { &[n, 1, 1, c] } else { &[n, c] };
    run_kernel([&x], shape, |[x], y| {
        kernels::spatial_mean(x, [n, size[1], size[2]], c, y)
    })
    .map(Some)
}

/// FULLY_CONNECTED of a CPU float32 value with weights packed at load, by the 1x1
/// kernel: each row of `K` inputs is a pixel.
pub fn fully_connected_cpu(
    x: &Value,
    weights: &PackedWeights,
    out_shape: &[i64],
    clamp: Clamp,
) -> Result<Option<Value>> {
    let Some(x) = cpu_logical(x) else {
        return Ok(None);
    };
    let k = weights.inputs();
    let rows = x.numel() / k.max(1);
    if k == 0 || rows * k != x.numel() {
        return Ok(None);
    }
    let n = weights.outputs();
    let shape: Vec<usize> = if out_shape.is_empty() {
        vec![rows, n]
    } else {
        out_shape.iter().map(|&d| d.max(0) as usize).collect()
    };
    let count = shape
        .iter()
        .try_fold(1usize, |total, &d| total.checked_mul(d));
    if count != rows.checked_mul(n) {
        return Ok(None);
    }
    run_kernel([&x], &shape, |[x], y| {
        kernels::pointwise(x, weights, clamp, y)
    })
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_resize_samples_at_scaled_positions_without_half_pixel_shift() {
        let x = Tensor::from_slice(&[0.0f32, 1.0, 2.0]).view([1, 1, 1, 3]);
        let y = legacy_axis(&x, 3, 6).unwrap();
        let values: Vec<f32> = Vec::try_from(y.flatten(0, -1)).unwrap();
        assert_eq!(values, [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]);
    }

    #[test]
    fn depth_to_space_follows_tensorflow_order() {
        // NHWC [1, 1, 1, 4] with block 2: channel (i * 2 + j) goes to pixel (i, j).
        let x = Value::logical(Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).view([1, 1, 1, 4]));
        let y = depth_to_space(&x, 2).unwrap().to_logical().contiguous();
        assert_eq!(y.size(), [1, 2, 2, 1]);
        let values: Vec<f32> = Vec::try_from(y.flatten(0, -1)).unwrap();
        assert_eq!(values, [1.0, 2.0, 3.0, 4.0]);
    }

    /// PReLU against TFLite's broadcasting in NHWC, for a slope per channel (libtorch's
    /// kernel) and a slope per column whose count equals the channels' (the general path).
    #[test]
    fn prelu_broadcasts_slopes_as_tflite_does() {
        let nhwc = Tensor::from_slice(&[-1.0f32, 2.0, -3.0, 4.0, -5.0, 6.0, -7.0, -8.0])
            .view([1, 2, 2, 2]);
        let x = Value::stored_nchw(nhwc.permute([0, 3, 1, 2]));
        for slopes in [[1, 1, 2], [1, 2, 1]] {
            let alpha = Tensor::from_slice(&[0.5f32, 0.25]).view(slopes);
            let expected = nhwc.relu() - &alpha * (-&nhwc).relu();
            let got = prelu(&x, &Value::logical(alpha)).unwrap().to_logical();
            assert!(
                got.allclose(&expected, 0.0, 0.0, false),
                "slopes {slopes:?}"
            );
        }
    }

    #[test]
    fn same_padding_matches_tensorflow() {
        // 224 input, 3x3 kernel, stride 2: output 112, total padding 1, all of it after.
        assert_eq!(same_padding(224, 3, 2, 1), (0, 1));
        // Stride 1 keeps the size and pads symmetrically.
        assert_eq!(same_padding(56, 5, 1, 1), (2, 2));
        assert_eq!(same_padding(7, 2, 2, 1), (0, 1));
    }
}
