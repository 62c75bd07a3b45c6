//! 1x1 convolution (and the matrix product behind it) on NHWC float32: each pixel's
//! channels times a weight matrix packed once at load. libtorch hands these small
//! products to a BLAS that repacks the weights on every call.

use super::{Clamp, SharedOut};

/// Output channels per packed panel: two AVX registers wide.
const PANEL: usize = 16;
/// Pixels per register tile: 6 x 2 sums, plus 2 weight loads and a broadcast, fill 15
/// of the 16 AVX registers.
pub(super) const ROWS: usize = 6;

/// A `[inputs][outputs]` weight matrix in panels of [`PANEL`] outputs (`[panel][input]
/// [PANEL]`, zero beyond the last output), with its bias likewise padded.
pub struct PackedWeights {
    inputs: usize,
    outputs: usize,
    panels: Vec<f32>,
    bias: Vec<f32>,
}

impl PackedWeights {
    /// From TFLite's `[outputs][inputs]` (a 1x1 convolution's OHWI with H = W = 1, or a
    /// fully connected layer's weights).
    pub fn new(weights: &[f32], bias: Option<&[f32]>, outputs: usize, inputs: usize) -> Self {
        assert_eq!(weights.len(), outputs * inputs, "pointwise weight size");
        let count = outputs.div_ceil(PANEL);
        let mut panels = vec![0.0; count * inputs * PANEL];
        for (o, row) in weights.chunks_exact(inputs).enumerate() {
            let (panel, lane) = (o / PANEL, o % PANEL);
            for (i, &w) in row.iter().enumerate() {
                panels[(panel * inputs + i) * PANEL + lane] = w;
            }
        }
        let mut padded_bias = vec![0.0; count * PANEL];
        if let Some(bias) = bias {
            assert_eq!(bias.len(), outputs, "pointwise bias size");
            padded_bias[..outputs].copy_from_slice(bias);
        }
        Self {
            inputs,
            outputs,
            panels,
            bias: padded_bias,
        }
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }

    pub(super) fn panels(&self) -> usize {
        self.outputs.div_ceil(PANEL)
    }

    fn panel(&self, p: usize) -> (&[f32], &[f32]) {
        let size = self.inputs * PANEL;
        (
            &self.panels[p * size..(p + 1) * size],
            &self.bias[p * PANEL..(p + 1) * PANEL],
        )
    }
}

/// `output[pixel][o] = clamp(bias[o] + sum_i input[pixel][i] * w[o][i])`, split across
/// the kernel threads by pixels, or by output panels when there are few pixels.
pub fn pointwise(input: &[f32], weights: &PackedWeights, clamp: Clamp, output: &mut [f32]) {
    let (k, n) = (weights.inputs, weights.outputs);
    let pixels = input.len() / k.max(1);
    assert_eq!(input.len(), pixels * k, "pointwise input size");
    assert_eq!(output.len(), pixels * n, "pointwise output size");
    let workers = super::workers();
    let panels = weights.panels();
    if split_by_rows(pixels, panels) {
        super::split_rows(output, n, |first, out| {
            let rows = first..first + out.len() / n.max(1);
            let input = &input[rows.start * k..rows.end * k];
            // SAFETY: `out` is exactly these rows of the output, so every write is in it.
            unsafe { product(input, weights, clamp, 0..panels, out.as_mut_ptr()) }
        });
    } else {
        let out = SharedOut(output.as_mut_ptr());
        let out = &out;
        let per = panels.div_ceil(workers.threads());
        workers.run(panels.div_ceil(per), &|part| {
            let range = part * per..((part + 1) * per).min(panels);
            // SAFETY: each part writes only its own panels' columns of the output,
            // which `output` holds in full.
            unsafe { product(input, weights, clamp, range, out.0) }
        });
    }
}

/// Whether a product over this many pixels is shared out among the kernel threads by
/// pixels (else by output panels).
pub(super) fn split_by_rows(pixels: usize, panels: usize) -> bool {
    let threads = super::workers().threads();
    pixels >= 8 * ROWS * threads || panels < 2 * threads
}

/// All rows of `input` times the panels in `panels`, written into the rows at `output`.
///
/// Safety: `output` must point to `input.len() / k` rows of `n` writable floats that no
/// one else writes in the columns of these panels.
pub(super) unsafe fn product(
    input: &[f32],
    weights: &PackedWeights,
    clamp: Clamp,
    panels: std::ops::Range<usize>,
    output: *mut f32,
) {
    let (k, n) = (weights.inputs, weights.outputs);
    let pixels = input.len() / k.max(1);
    for p in panels {
        let (panel, bias) = weights.panel(p);
        let first = p * PANEL;
        let width = PANEL.min(n - first);
        let mut row = 0;
        while row < pixels {
            let rows = (pixels - row).min(ROWS);
            let a = &input[row * k..(row + rows) * k];
            let tile = Tile {
                out: output.add(row * n + first),
                stride: n,
                width,
            };
            tile_product(a, k, panel, bias, clamp, rows, tile);
            row += rows;
        }
    }
}

/// Where a tile's sums go: `width` (at most [`PANEL`]) floats of each row, rows `stride`
/// apart.
#[derive(Clone, Copy)]
struct Tile {
    out: *mut f32,
    stride: usize,
    width: usize,
}

/// `rows` (at most [`ROWS`]) rows of `a` (each `k` long) times one panel, stored straight
/// into the output.
///
/// Safety: `tile` must address `rows` rows of `tile.width` writable floats.
unsafe fn tile_product(
    a: &[f32],
    k: usize,
    panel: &[f32],
    bias: &[f32],
    clamp: Clamp,
    rows: usize,
    tile: Tile,
) {
    debug_assert_eq!(a.len(), rows * k);
    debug_assert_eq!(panel.len(), k * PANEL);
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2_fma() {
        // SAFETY: AVX2 and FMA are present; the sizes are checked by the caller and above.
        match rows {
            6 => avx2::tile::<6>(a, k, panel, bias, clamp, tile),
            5 => avx2::tile::<5>(a, k, panel, bias, clamp, tile),
            4 => avx2::tile::<4>(a, k, panel, bias, clamp, tile),
            3 => avx2::tile::<3>(a, k, panel, bias, clamp, tile),
            2 => avx2::tile::<2>(a, k, panel, bias, clamp, tile),
            _ => avx2::tile::<1>(a, k, panel, bias, clamp, tile),
        }
        return;
    }
    for (r, row) in a.chunks_exact(k).take(rows).enumerate() {
        let mut sums: [f32; PANEL] = bias.try_into().expect("a panel's bias");
        for (&x, w) in row.iter().zip(panel.chunks_exact(PANEL)) {
            for (s, &w) in sums.iter_mut().zip(w) {
                *s = x.mul_add(w, *s);
            }
        }
        let out = std::slice::from_raw_parts_mut(tile.out.add(r * tile.stride), tile.width);
        for (o, &s) in out.iter_mut().zip(&sums) {
            *o = clamp.apply(s);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Clamp, Tile, PANEL};

    /// Safety: AVX2 and FMA must be available; `a` holds `R` rows of `k`, `panel` is
    /// `k * PANEL` long, `bias` `PANEL`, and `tile` addresses `R` rows.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tile<const R: usize>(
        a: &[f32],
        k: usize,
        panel: &[f32],
        bias: &[f32],
        clamp: Clamp,
        tile: Tile,
    ) {
        assert!(a.len() >= R * k && panel.len() >= k * PANEL && bias.len() >= PANEL);
        let a = a.as_ptr();
        let w = panel.as_ptr();
        let b = [
            _mm256_loadu_ps(bias.as_ptr()),
            _mm256_loadu_ps(bias.as_ptr().add(8)),
        ];
        let mut acc = [b; R];
        for i in 0..k {
            let w0 = _mm256_loadu_ps(w.add(i * PANEL));
            let w1 = _mm256_loadu_ps(w.add(i * PANEL + 8));
            for (r, sums) in acc.iter_mut().enumerate() {
                let x = _mm256_broadcast_ss(&*a.add(r * k + i));
                sums[0] = _mm256_fmadd_ps(x, w0, sums[0]);
                sums[1] = _mm256_fmadd_ps(x, w1, sums[1]);
            }
        }
        let (lo, hi) = (_mm256_set1_ps(clamp.min), _mm256_set1_ps(clamp.max));
        let full = tile.width == PANEL;
        // Lanes below `width` for a last, narrower panel.
        let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let masks =
            [0, 8].map(|j| _mm256_cmpgt_epi32(_mm256_set1_epi32(tile.width as i32 - j), lane));
        for (r, sums) in acc.iter().enumerate() {
            let out = tile.out.add(r * tile.stride);
            for (j, s) in sums.iter().enumerate() {
                let y = _mm256_min_ps(_mm256_max_ps(*s, lo), hi);
                if full {
                    _mm256_storeu_ps(out.add(8 * j), y);
                } else if 8 * j < tile.width {
                    // (A half wholly past the width would point past the output's end.)
                    _mm256_maskstore_ps(out.add(8 * j), masks[j], y);
                }
            }
        }
    }
}
