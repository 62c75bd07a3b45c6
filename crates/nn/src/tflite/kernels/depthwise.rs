//! Depthwise convolution on NHWC float32 slices. libtorch's CPU path runs these small,
//! many-channel filters at a few GFLOP/s; with channels innermost every tap is a run of
//! contiguous multiply-adds, which vectorizes directly.

use super::{Clamp, Geometry};

/// A depthwise filter with one kernel per channel (channel multiplier 1), laid out as
/// TFLite stores it: `[kh][kw][channels]`.
pub struct DepthwiseFilter {
    pub taps: Vec<f32>,
    pub bias: Vec<f32>,
    pub kernel: [usize; 2],
}

impl DepthwiseFilter {
    pub fn channels(&self) -> usize {
        self.bias.len()
    }
}

/// Writes `output` ([n][out_h][out_w][c]) from `input` ([n][h][w][c]).
pub fn depthwise(
    input: &[f32],
    filter: &DepthwiseFilter,
    geometry: &Geometry,
    clamp: Clamp,
    output: &mut [f32],
) {
    let c = filter.channels();
    let [n, h, w] = geometry.input;
    let [oh, ow] = geometry.output;
    assert_eq!(input.len(), n * h * w * c, "depthwise input size");
    assert_eq!(output.len(), n * oh * ow * c, "depthwise output size");
    assert_eq!(filter.taps.len(), filter.kernel[0] * filter.kernel[1] * c);
    let [kh, kw] = filter.kernel;
    let [stride, dilation, pad] = [
        geometry.stride[1],
        geometry.dilation[1],
        geometry.padding[1],
    ];
    // Output columns whose whole window lies inside the input: they share one list of
    // tap offsets per row, relative to where their window starts.
    let first = pad.div_ceil(stride).min(ow);
    let last = ((w + pad)
        .checked_sub((kw - 1) * dilation + 1)
        .map_or(0, |x| x / stride + 1))
    .clamp(first, ow);
    super::split_rows(output, ow * c, |first_row, out_rows| {
        let mut row_taps = Vec::with_capacity(kh * kw);
        let mut pixel_taps = Vec::with_capacity(kh * kw);
        for (r, out_row) in out_rows.chunks_exact_mut(ow * c).enumerate() {
            let (image, oy) = ((first_row + r) / oh, (first_row + r) % oh);
            let image = &input[image * h * w * c..(image + 1) * h * w * c];
            row_taps.clear();
            for ky in 0..kh {
                if let Some(iy) = geometry.source(0, oy, ky, h) {
                    for kx in 0..kw {
                        row_taps.push(((iy * w + kx * dilation) * c, (ky * kw + kx) * c));
                    }
                }
            }
            let window_start = |ox: usize| (ox * stride - pad) * c;
            let mut ox = first;
            while ox + PIXELS <= last {
                let starts = std::array::from_fn(|p| window_start(ox + p));
                let out = &mut out_row[ox * c..(ox + PIXELS) * c];
                pixels::<PIXELS, GROUP_VECTORS>(image, starts, &row_taps, filter, clamp, out);
                ox += PIXELS;
            }
            for ox in (0..first).chain(ox..ow) {
                let out = &mut out_row[ox * c..(ox + 1) * c];
                if (first..last).contains(&ox) {
                    let start = [window_start(ox)];
                    pixels::<1, SINGLE_VECTORS>(image, start, &row_taps, filter, clamp, out);
                    continue;
                }
                pixel_taps.clear();
                for ky in 0..kh {
                    let Some(iy) = geometry.source(0, oy, ky, h) else {
                        continue;
                    };
                    for kx in 0..kw {
                        if let Some(ix) = geometry.source(1, ox, kx, w) {
                            pixel_taps.push(((iy * w + ix) * c, (ky * kw + kx) * c));
                        }
                    }
                }
                pixels::<1, SINGLE_VECTORS>(image, [0], &pixel_taps, filter, clamp, out);
            }
        }
    });
}

/// Adjacent output pixels computed together, so each weight load serves several.
const PIXELS: usize = 4;
/// AVX registers of channels per pixel: 4 x 3 sums in a group, 6 for a lone pixel.
const GROUP_VECTORS: usize = 3;
const SINGLE_VECTORS: usize = 6;

/// `P` output pixels, stored one after another in `out`: pixel `p` reads input offset
/// `starts[p] + tap.0` with weight offset `tap.1`, for every tap.
fn pixels<const P: usize, const V: usize>(
    image: &[f32],
    starts: [usize; P],
    taps: &[(usize, usize)],
    filter: &DepthwiseFilter,
    clamp: Clamp,
    out: &mut [f32],
) {
    let c = filter.channels();
    assert_eq!(out.len(), P * c);
    for &(i, t) in taps {
        assert!(starts.iter().all(|s| s + i + c <= image.len()) && t + c <= filter.taps.len());
    }
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA, and every offset was checked just above.
        unsafe { avx2::pixels::<P, V>(image, starts, taps, filter, clamp, out) };
        return;
    }
    for (p, out) in out.chunks_exact_mut(c).enumerate() {
        for (k, o) in out.iter_mut().enumerate() {
            let mut acc = filter.bias[k];
            for &(i, t) in taps {
                acc = image[starts[p] + i + k].mul_add(filter.taps[t + k], acc);
            }
            *o = clamp.apply(acc);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Clamp, DepthwiseFilter};

    /// Channels `8 * V` at a time for all `P` pixels (`P * V` independent sums hide the
    /// FMA latency), then 8 at a time, then one at a time.
    ///
    /// Safety: AVX2 and FMA must be available, and every `starts[p] + tap.0 + c` and
    /// `tap.1 + c` must lie within `image` and the filter.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn pixels<const P: usize, const V: usize>(
        image: &[f32],
        starts: [usize; P],
        taps: &[(usize, usize)],
        filter: &DepthwiseFilter,
        clamp: Clamp,
        out: &mut [f32],
    ) {
        let c = filter.channels();
        let (lo, hi) = (_mm256_set1_ps(clamp.min), _mm256_set1_ps(clamp.max));
        let image = image.as_ptr();
        let weights = filter.taps.as_ptr();
        let bias = filter.bias.as_ptr();
        let out = out.as_mut_ptr();
        let mut k = 0;
        while k + 8 * V <= c {
            let b: [__m256; V] = std::array::from_fn(|j| _mm256_loadu_ps(bias.add(k + 8 * j)));
            let mut acc = [b; P];
            for &(i, t) in taps {
                let w: [__m256; V] =
                    std::array::from_fn(|j| _mm256_loadu_ps(weights.add(t + k + 8 * j)));
                for (a, s) in acc.iter_mut().zip(starts) {
                    let x = image.add(s + i + k);
                    for j in 0..V {
                        a[j] = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(8 * j)), w[j], a[j]);
                    }
                }
            }
            for (p, a) in acc.iter().enumerate() {
                for (j, v) in a.iter().enumerate() {
                    let y = _mm256_min_ps(_mm256_max_ps(*v, lo), hi);
                    _mm256_storeu_ps(out.add(p * c + k + 8 * j), y);
                }
            }
            k += 8 * V;
        }
        while k + 8 <= c {
            let mut acc = [_mm256_loadu_ps(bias.add(k)); P];
            for &(i, t) in taps {
                let w = _mm256_loadu_ps(weights.add(t + k));
                for (a, s) in acc.iter_mut().zip(starts) {
                    *a = _mm256_fmadd_ps(_mm256_loadu_ps(image.add(s + i + k)), w, *a);
                }
            }
            for (p, a) in acc.iter().enumerate() {
                let y = _mm256_min_ps(_mm256_max_ps(*a, lo), hi);
                _mm256_storeu_ps(out.add(p * c + k), y);
            }
            k += 8;
        }
        for k in k..c {
            for (p, s) in starts.into_iter().enumerate() {
                let mut acc = *bias.add(k);
                for &(i, t) in taps {
                    acc = (*image.add(s + i + k)).mul_add(*weights.add(t + k), acc);
                }
                *out.add(p * c + k) = clamp.apply(acc);
            }
        }
    }
}
