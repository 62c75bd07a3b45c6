//! The small operators between convolutions, on NHWC float32 slices: element-wise ADD,
//! PReLU, zero padding, max pooling and spatial means. Each is a pass over memory; done
//! here they keep activations NHWC (libtorch's versions want NCHW, which costs a
//! transposing copy on each side) and use the kernels' threads.

use super::{split_rows, Clamp, Geometry};

/// Values per row when a flat array is shared out among the threads, and the fewest
/// worth sharing.
const CHUNK: usize = 64;
const PARALLEL: usize = 4096;

/// `out = clamp(a + b)`.
pub fn add(a: &[f32], b: &[f32], clamp: Clamp, out: &mut [f32]) {
    assert!(a.len() == out.len() && b.len() == out.len(), "add sizes");
    let sum = |start: usize, out: &mut [f32]| {
        let (a, b) = (&a[start..start + out.len()], &b[start..start + out.len()]);
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = clamp.apply(x + y);
        }
    };
    if out.len() < PARALLEL {
        return sum(0, out);
    }
    // Whole rows of `CHUNK` shared out, what is left over here.
    let body = out.len() - out.len() % CHUNK;
    let (rows, rest) = out.split_at_mut(body);
    split_rows(rows, CHUNK, |first, rows| sum(first * CHUNK, rows));
    sum(body, rest);
}

/// PReLU with one slope per channel (the last axis): `x` where `x >= 0`, else
/// `slope * x`.
pub fn prelu(x: &[f32], slopes: &[f32], out: &mut [f32]) {
    let c = slopes.len();
    assert!(
        c > 0 && x.len() == out.len() && x.len().is_multiple_of(c),
        "prelu sizes"
    );
    split_rows(out, c, |first, out| {
        let x = &x[first * c..first * c + out.len()];
        for (o, x) in out.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
            let mut done = 0;
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present; the three slices are `c` long.
                done = unsafe { avx2::prelu(x, slopes, o) };
            }
            for ((o, &x), &s) in o[done..].iter_mut().zip(&x[done..]).zip(&slopes[done..]) {
                *o = if x >= 0.0 { x } else { x * s };
            }
        }
    });
}

/// Zero padding: `input` of `shape` into `out`, which is `shape` grown by `before` and
/// `after` on each axis (up to 4, row-major).
pub fn pad(input: &[f32], shape: &[usize], before: &[usize], after: &[usize], out: &mut [f32]) {
    let rank = shape.len();
    assert!(
        rank <= 4 && before.len() == rank && after.len() == rank,
        "pad rank"
    );
    // As four axes, leading ones added.
    let lift = |v: &[usize], fill: usize| -> [usize; 4] {
        let mut l = [fill; 4];
        l[4 - rank..].copy_from_slice(v);
        l
    };
    let (shape, before, after) = (lift(shape, 1), lift(before, 0), lift(after, 0));
    let outer: [usize; 4] = std::array::from_fn(|d| shape[d] + before[d] + after[d]);
    assert_eq!(
        input.len(),
        shape.iter().product::<usize>(),
        "pad input size"
    );
    assert_eq!(
        out.len(),
        outer.iter().product::<usize>(),
        "pad output size"
    );
    let line = outer[3];
    // One output line (the last axis) per row.
    split_rows(out, line, |first, out| {
        for (r, o) in out.chunks_exact_mut(line.max(1)).enumerate() {
            let row = first + r;
            let at = [
                row / outer[2] / outer[1],
                row / outer[2] % outer[1],
                row % outer[2],
            ];
            let source: [Option<usize>; 3] =
                std::array::from_fn(|d| at[d].checked_sub(before[d]).filter(|&i| i < shape[d]));
            o.fill(0.0);
            if let [Some(s0), Some(s1), Some(s2)] = source {
                let from = ((s0 * shape[1] + s1) * shape[2] + s2) * shape[3];
                o[before[3]..before[3] + shape[3]].copy_from_slice(&input[from..from + shape[3]]);
            }
        }
    });
}

/// Max pooling over windows (positions outside the input never win), then `clamp`. A NaN
/// loses to any number here, where libtorch would pass it on; the models have none.
pub fn max_pool(
    input: &[f32],
    channels: usize,
    kernel: [usize; 2],
    geometry: &Geometry,
    clamp: Clamp,
    out: &mut [f32],
) {
    let [n, h, w] = geometry.input;
    let [oh, ow] = geometry.output;
    let c = channels;
    assert_eq!(input.len(), n * h * w * c, "max pool input size");
    assert_eq!(out.len(), n * oh * ow * c, "max pool output size");
    split_rows(out, ow * c, |first, rows| {
        for (r, row) in rows.chunks_exact_mut(ow * c).enumerate() {
            let (image, oy) = ((first + r) / oh, (first + r) % oh);
            let image = &input[image * h * w * c..(image + 1) * h * w * c];
            for (ox, o) in row.chunks_exact_mut(c).enumerate() {
                o.fill(f32::NEG_INFINITY);
                for ky in 0..kernel[0] {
                    let Some(iy) = geometry.source(0, oy, ky, h) else {
                        continue;
                    };
                    for kx in 0..kernel[1] {
                        let Some(ix) = geometry.source(1, ox, kx, w) else {
                            continue;
                        };
                        let from = (iy * w + ix) * c;
                        for (o, &x) in o.iter_mut().zip(&image[from..from + c]) {
                            *o = o.max(x);
                        }
                    }
                }
                for o in o.iter_mut() {
                    *o = clamp.apply(*o);
                }
            }
        }
    });
}

/// The mean over the rows and columns of each image: `[n][h][w][c]` to `[n][c]`.
pub fn spatial_mean(input: &[f32], [n, h, w]: [usize; 3], c: usize, out: &mut [f32]) {
    assert_eq!(input.len(), n * h * w * c, "mean input size");
    assert_eq!(out.len(), n * c, "mean output size");
    let pixels = h * w;
    for (image, o) in input
        .chunks_exact((pixels * c).max(1))
        .zip(out.chunks_exact_mut(c))
    {
        o.fill(0.0);
        for pixel in image.chunks_exact(c) {
            for (o, &x) in o.iter_mut().zip(pixel) {
                *o += x;
            }
        }
        for o in o.iter_mut() {
            *o /= pixels as f32;
        }
    }
}

/// The compiler leaves PReLU's select scalar (and branching on the sign of each value,
/// which activations make unpredictable); written out, it is a compare and a blend.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// PReLU of the first multiple of 8 values of `x` into `out`; returns how many.
    ///
    /// Safety: AVX2 must be available.
    #[target_feature(enable = "avx2")]
    pub unsafe fn prelu(x: &[f32], slopes: &[f32], out: &mut [f32]) -> usize {
        let n = x.len().min(slopes.len()).min(out.len()) / 8 * 8;
        for i in (0..n).step_by(8) {
            let v = _mm256_loadu_ps(x.as_ptr().add(i));
            let scaled = _mm256_mul_ps(v, _mm256_loadu_ps(slopes.as_ptr().add(i)));
            let negative = _mm256_cmp_ps::<_CMP_LT_OQ>(v, _mm256_setzero_ps());
            _mm256_storeu_ps(
                out.as_mut_ptr().add(i),
                _mm256_blendv_ps(v, scaled, negative),
            );
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919) % 201) as f32 / 100.0 - 1.0)
            .collect()
    }

    #[test]
    fn add_clamps_every_element_of_small_and_shared_out_arrays() {
        let relu6 = Clamp { min: 0.0, max: 6.0 };
        // Below the sharing threshold, and above it with a remainder past the last row.
        for n in [5, PARALLEL * 3 + 17] {
            let (a, b) = (values(n), values(n + 3)[3..].to_vec());
            let mut out = vec![f32::NAN; n];
            add(&a, &b, relu6, &mut out);
            for i in 0..n {
                assert_eq!(out[i], (a[i] + b[i]).clamp(0.0, 6.0), "{n} values, at {i}");
            }
        }
    }

    #[test]
    fn prelu_scales_negatives_by_their_channel_slope() {
        let x = values(3 * 50);
        let slopes = [0.5, -2.0, 0.0];
        let mut out = vec![f32::NAN; x.len()];
        prelu(&x, &slopes, &mut out);
        for (i, (&o, &x)) in out.iter().zip(&x).enumerate() {
            let want = if x >= 0.0 { x } else { x * slopes[i % 3] };
            assert_eq!(o, want, "at {i}");
        }
    }

    #[test]
    fn pad_places_the_input_among_zeros_on_every_axis() {
        let shape = [2, 3, 4, 5];
        let (before, after) = ([0, 1, 2, 0], [1, 0, 1, 3]);
        let x = values(shape.iter().product());
        let outer: Vec<usize> = (0..4).map(|d| shape[d] + before[d] + after[d]).collect();
        let mut out = vec![f32::NAN; outer.iter().product()];
        pad(&x, &shape, &before, &after, &mut out);
        let mut at = 0;
        for a in 0..outer[0] {
            for b in 0..outer[1] {
                for c in 0..outer[2] {
                    for d in 0..outer[3] {
                        let i = [a, b, c, d];
                        let source: Option<Vec<usize>> = (0..4)
                            .map(|k| i[k].checked_sub(before[k]).filter(|&j| j < shape[k]))
                            .collect();
                        let want = source.map_or(0.0, |s| {
                            x[((s[0] * shape[1] + s[1]) * shape[2] + s[2]) * shape[3] + s[3]]
                        });
                        assert_eq!(out[at], want, "at {i:?}");
                        at += 1;
                    }
                }
            }
        }
        // Lower ranks count from the last axis.
        let mut out = vec![f32::NAN; 7];
        pad(&[1.0, 2.0], &[2], &[2], &[3], &mut out);
        assert_eq!(out, [0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn max_pool_ignores_the_padding_and_clamps() {
        // 1 image, 5x5, 2 channels; 3x3 windows, stride 2, one padded row and column on
        // each side: corners see 2x2 of the input.
        let (h, w, c) = (5, 5, 2);
        let x: Vec<f32> = (0..h * w * c).map(|i| -(i as f32)).collect();
        let g = Geometry {
            input: [1, h, w],
            output: [3, 3],
            stride: [2, 2],
            dilation: [1, 1],
            padding: [1, 1],
        };
        let clamp = Clamp {
            min: -30.0,
            max: f32::INFINITY,
        };
        let mut out = vec![f32::NAN; 3 * 3 * c];
        max_pool(&x, c, [3, 3], &g, clamp, &mut out);
        for oy in 0..3usize {
            for ox in 0..3usize {
                for ch in 0..c {
                    let mut best = f32::NEG_INFINITY;
                    for iy in (2 * oy).saturating_sub(1)..(2 * oy + 2).min(h) {
                        for ix in (2 * ox).saturating_sub(1)..(2 * ox + 2).min(w) {
                            best = best.max(x[(iy * w + ix) * c + ch]);
                        }
                    }
                    assert_eq!(
                        out[(oy * 3 + ox) * c + ch],
                        best.max(-30.0),
                        "{oy} {ox} {ch}"
                    );
                }
            }
        }
    }

    #[test]
    fn spatial_mean_averages_each_channel_of_each_image() {
        let x = values(2 * 3 * 4 * 5);
        let mut out = vec![f32::NAN; 2 * 5];
        spatial_mean(&x, [2, 3, 4], 5, &mut out);
        for image in 0..2 {
            for ch in 0..5 {
                let sum: f32 = (0..12).map(|p| x[(image * 12 + p) * 5 + ch]).sum();
                assert!((out[image * 5 + ch] - sum / 12.0).abs() < 1e-6);
            }
        }
    }
}
