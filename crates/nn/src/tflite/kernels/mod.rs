//! Hand-written CPU kernels for the operators that dominate MediaPipe's small networks,
//! on plain NHWC float32 slices. [`super::ops`] sends CPU tensors here and everything
//! else to libtorch.

mod depthwise;
mod elementwise;
mod pointwise;
mod unfold;
mod workers;

pub use depthwise::{depthwise, DepthwiseFilter};
pub use elementwise::{add, max_pool, pad, prelu, spatial_mean};
pub use pointwise::{pointwise, PackedWeights};
pub use unfold::convolution;

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use workers::Workers;

/// Where a strided, dilated, zero-padded window reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Batch, height and width of the input.
    pub input: [usize; 3],
    /// Height and width of the output.
    pub output: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    /// Zero rows above and columns to the left (those below and right follow from the
    /// output size).
    pub padding: [usize; 2],
}

impl Geometry {
    /// The input row (`axis` 0) or column (1) that output position `o` reads at kernel
    /// tap `k`, or `None` in the padding.
    #[inline]
    fn source(&self, axis: usize, o: usize, k: usize, size: usize) -> Option<usize> {
        (o * self.stride[axis] + k * self.dilation[axis])
            .checked_sub(self.padding[axis])
            .filter(|&i| i < size)
    }
}

/// A fused activation that is a clamp (none, ReLU, ReLU6, ReLU-1..1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clamp {
    pub min: f32,
    pub max: f32,
}

impl Clamp {
    pub const NONE: Clamp = Clamp {
        min: f32::NEG_INFINITY,
        max: f32::INFINITY,
    };

    #[inline]
    fn apply(self, x: f32) -> f32 {
        x.max(self.min).min(self.max)
    }
}

/// Runs `f(first_row, rows)` on consecutive runs of the `row_len`-long rows of `out`, one
/// run per kernel thread. Also for work beside the models (cropping their inputs), so
/// that it shares their spinning threads instead of waking others.
pub fn split_rows(out: &mut [f32], row_len: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let rows = out.len() / row_len.max(1);
    let workers = workers();
    let per = rows.div_ceil(workers.threads()).max(1);
    let parts = rows.div_ceil(per);
    let len = out.len();
    let base = SharedOut(out.as_mut_ptr());
    let base = &base;
    workers.run(parts, &|part| {
        let start = part * per * row_len;
        let end = ((part + 1) * per * row_len).min(len);
        // SAFETY: the parts are disjoint ranges of `out`, which outlives the run.
        let rows = unsafe { std::slice::from_raw_parts_mut(base.0.add(start), end - start) };
        f(part * per, rows);
    });
}

/// An output written by several kernel threads at disjoint places.
struct SharedOut(*mut f32);
// SAFETY: the threads sharing it write disjoint elements.
unsafe impl Sync for SharedOut {}

/// How many threads the kernels use; 0 until set (then one per core).
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets the kernels' thread count; it takes effect only before their first use.
pub fn set_threads(threads: usize) {
    THREADS.store(threads, Ordering::Relaxed);
}

/// How many threads the kernels use (one per core unless set).
pub fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

thread_local! {
    /// Set while this thread runs its kernels alone (see [`single_threaded`]).
    static ALONE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with every kernel it calls on this thread alone, for a thread that is one
/// of several working at once (pose detection's stages): the kernels' helpers would
/// only make them wait for each other.
pub fn single_threaded<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ALONE.with(|alone| alone.set(self.0));
        }
    }
    let _restore = Restore(ALONE.with(|alone| alone.replace(true)));
    f()
}

fn workers() -> &'static Workers {
    static WORKERS: OnceLock<Workers> = OnceLock::new();
    WORKERS.get_or_init(|| Workers::new(threads()))
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    // std caches the CPUID answer, so this is a load and a test.
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// While alive on the CPU, libtorch runs its operators on one thread. The kernels have
/// their own threads; an OpenMP team spinning beside them after each libtorch call takes
/// their cores (docs/performance.md). Guards nest: the thread
/// count in force when the outermost was made comes back when it is dropped. A model
/// holds one for each run; hold one across a whole frame's runs and the libtorch work
/// between them, so that OpenMP's threads are not woken in between.
#[must_use = "libtorch goes back to its thread count when the guard is dropped"]
pub struct QuietLibtorch {
    active: bool,
}

/// Live guards, and libtorch's thread count before the first.
static QUIET: Mutex<(usize, i32)> = Mutex::new((0, 0));

impl QuietLibtorch {
    /// Does nothing unless `device` is the CPU.
    pub fn new(device: tch::Device) -> Self {
        if device != tch::Device::Cpu {
            return Self { active: false };
        }
        let mut quiet = QUIET.lock().unwrap_or_else(|e| e.into_inner());
        if quiet.0 == 0 {
            quiet.1 = tch::get_num_threads();
            if quiet.1 != 1 {
                tch::set_num_threads(1);
            }
        }
        quiet.0 += 1;
        Self { active: true }
    }
}

impl Drop for QuietLibtorch {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        let mut quiet = QUIET.lock().unwrap_or_else(|e| e.into_inner());
        quiet.0 -= 1;
        if quiet.0 == 0 && quiet.1 > 1 {
            tch::set_num_threads(quiet.1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 2000) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    /// Convolution straight from its definition: `weights` is `[o][kh][kw][i]`, or for a
    /// depthwise filter `[kh][kw][c]` with `depthwise` set.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        input: &[f32],
        channels: usize,
        weights: &[f32],
        bias: &[f32],
        kernel: [usize; 2],
        geometry: &Geometry,
        depthwise: bool,
        clamp: Clamp,
    ) -> Vec<f32> {
        let [n, h, w] = geometry.input;
        let [oh, ow] = geometry.output;
        let outputs = bias.len();
        let mut out = Vec::new();
        for b in 0..n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for o in 0..outputs {
                        let mut sum = bias[o] as f64;
                        for ky in 0..kernel[0] {
                            for kx in 0..kernel[1] {
                                let iy = (oy * geometry.stride[0] + ky * geometry.dilation[0])
                                    as isize
                                    - geometry.padding[0] as isize;
                                let ix = (ox * geometry.stride[1] + kx * geometry.dilation[1])
                                    as isize
                                    - geometry.padding[1] as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let pixel = ((b * h + iy as usize) * w + ix as usize) * channels;
                                let tap = ky * kernel[1] + kx;
                                if depthwise {
                                    sum += (input[pixel + o] * weights[tap * outputs + o]) as f64;
                                } else {
                                    for i in 0..channels {
                                        let weight = weights
                                            [(o * kernel[0] * kernel[1] + tap) * channels + i];
                                        sum += (input[pixel + i] * weight) as f64;
                                    }
                                }
                            }
                        }
                        out.push(clamp.apply(sum as f32));
                    }
                }
            }
        }
        out
    }

    fn assert_close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        let worst = got
            .iter()
            .zip(want)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{what}: max abs error {worst}");
    }

    fn geometry(
        input: [usize; 3],
        kernel: [usize; 2],
        stride: usize,
        dilation: usize,
        padding: [usize; 2],
        bottom_right: [usize; 2],
    ) -> Geometry {
        let out = |axis: usize| {
            let padded = input[1 + axis] + padding[axis] + bottom_right[axis];
            (padded - (kernel[axis] - 1) * dilation - 1) / stride + 1
        };
        Geometry {
            input,
            output: [out(0), out(1)],
            stride: [stride; 2],
            dilation: [dilation; 2],
            padding,
        }
    }

    #[test]
    fn depthwise_matches_the_definition() {
        let relu6 = Clamp { min: 0.0, max: 6.0 };
        // Channel counts that use the 24-wide, 8-wide and one-at-a-time paths; strides,
        // dilation, uneven padding, images narrower than the kernel's reach, batch 2.
        let cases = [
            ([1, 9, 11], 24, [3, 3], 1, 1, [1, 1], [1, 1], Clamp::NONE),
            ([2, 12, 13], 53, [5, 5], 2, 1, [1, 2], [2, 1], relu6),
            ([1, 7, 7], 8, [5, 5], 1, 1, [2, 2], [2, 2], Clamp::NONE),
            ([1, 10, 9], 5, [3, 3], 1, 2, [2, 2], [2, 2], relu6),
            ([1, 3, 2], 40, [3, 3], 2, 1, [0, 0], [0, 1], Clamp::NONE),
        ];
        for (n, (input_size, c, kernel, stride, dilation, pad, after, clamp)) in
            cases.into_iter().enumerate()
        {
            let g = geometry(input_size, kernel, stride, dilation, pad, after);
            let input = values(input_size.iter().product::<usize>() * c, n as u32);
            let filter = DepthwiseFilter {
                taps: values(kernel[0] * kernel[1] * c, 100 + n as u32),
                bias: values(c, 200 + n as u32),
                kernel,
            };
            let mut got = vec![f32::NAN; input_size[0] * g.output[0] * g.output[1] * c];
            depthwise(&input, &filter, &g, clamp, &mut got);
            let want = reference(
                &input,
                c,
                &filter.taps,
                &filter.bias,
                kernel,
                &g,
                true,
                clamp,
            );
            assert_close(&got, &want, &format!("depthwise case {n}"));
        }
    }

    #[test]
    fn convolutions_match_the_definition() {
        let relu = Clamp {
            min: 0.0,
            max: f32::INFINITY,
        };
        // 1x1 with few pixels and many outputs (split by panels) and with many pixels
        // (split by rows), output counts off the 16-wide panels, and through the unfolded
        // windows: a strided 3x3 on enough pixels to unfold block by block (and a last,
        // short block), a 2x2 and a padded 3x3 on few pixels.
        let cases = [
            ([1, 2, 3], 19, 37, [1, 1], 1, [0, 0], [0, 0], Clamp::NONE),
            ([1, 40, 30], 7, 24, [1, 1], 1, [0, 0], [0, 0], relu),
            ([2, 9, 8], 3, 16, [3, 3], 2, [0, 0], [1, 1], relu),
            ([1, 37, 29], 3, 24, [3, 3], 2, [1, 1], [1, 1], relu),
            ([1, 4, 4], 6, 5, [2, 2], 2, [0, 0], [0, 0], Clamp::NONE),
            ([1, 5, 6], 4, 9, [3, 3], 1, [1, 1], [1, 1], Clamp::NONE),
            ([1, 4, 5], 6, 70, [3, 3], 1, [1, 1], [1, 1], relu),
        ];
        for (n, (input_size, c, outputs, kernel, stride, pad, after, clamp)) in
            cases.into_iter().enumerate()
        {
            let g = geometry(input_size, kernel, stride, 1, pad, after);
            let input = values(input_size.iter().product::<usize>() * c, n as u32);
            let taps = kernel[0] * kernel[1] * c;
            let weights = values(outputs * taps, 100 + n as u32);
            let bias = values(outputs, 200 + n as u32);
            let packed = PackedWeights::new(&weights, Some(&bias), outputs, taps);
            let mut got = vec![f32::NAN; input_size[0] * g.output[0] * g.output[1] * outputs];
            if kernel == [1, 1] && stride == 1 {
                pointwise(&input, &packed, clamp, &mut got);
            } else {
                convolution(&input, c, kernel, &g, &packed, clamp, &mut got);
            }
            let want = reference(&input, c, &weights, &bias, kernel, &g, false, clamp);
            assert_close(&got, &want, &format!("convolution case {n}"));
        }
    }
}
