//! Convolutions other than 1x1 as a matrix product: each output position's window is
//! unfolded into one row (`[kh][kw][c]`, zeros in the padding) and multiplied by the
//! packed weights. Rows are unfolded a block at a time, so they stay in cache: unfolding
//! the whole input first would copy it `kh * kw` times over (BlazePose's 3x3 stems).

use super::pointwise::{product, split_by_rows, ROWS};
use super::{pointwise, split_rows, Clamp, Geometry, PackedWeights};

/// Output positions unfolded at a time: a few register tiles, a few kilobytes.
const BLOCK: usize = 8 * ROWS;

/// `output` (NHWC) = the convolution of `input` (NHWC, `channels` deep) with `weights`
/// (`[outputs][kh * kw * channels]`, packed), clamped.
pub fn convolution(
    input: &[f32],
    channels: usize,
    kernel: [usize; 2],
    geometry: &Geometry,
    weights: &PackedWeights,
    clamp: Clamp,
    output: &mut [f32],
) {
    let [n, h, w] = geometry.input;
    let [oh, ow] = geometry.output;
    let (k, outputs) = (weights.inputs(), weights.outputs());
    assert_eq!(
        k,
        kernel[0] * kernel[1] * channels,
        "convolution weight size"
    );
    assert_eq!(input.len(), n * h * w * channels, "convolution input size");
    assert_eq!(
        output.len(),
        n * oh * ow * outputs,
        "convolution output size"
    );
    let window = Window {
        input,
        channels,
        kernel,
        geometry,
    };
    let pixels = n * oh * ow;
    let panels = weights.panels();
    if !split_by_rows(pixels, panels) {
        // Few positions and many outputs: unfold them all, share the panels out.
        let mut rows = vec![0.0; pixels * k];
        for (p, row) in rows.chunks_exact_mut(k).enumerate() {
            window.unfold(p, row);
        }
        return pointwise(&rows, weights, clamp, output);
    }
    split_rows(output, outputs, |first, out| {
        let count = out.len() / outputs.max(1);
        let mut block = vec![0.0; BLOCK.min(count) * k];
        for start in (0..count).step_by(BLOCK) {
            let rows = &mut block[..BLOCK.min(count - start) * k];
            for (r, row) in rows.chunks_exact_mut(k).enumerate() {
                window.unfold(first + start + r, row);
            }
            // SAFETY: these rows' outputs lie in `out`, from position `start` on.
            unsafe {
                product(
                    rows,
                    weights,
                    clamp,
                    0..panels,
                    out.as_mut_ptr().add(start * outputs),
                )
            }
        }
    });
}

/// Where output positions read from.
struct Window<'a> {
    input: &'a [f32],
    channels: usize,
    kernel: [usize; 2],
    geometry: &'a Geometry,
}

impl Window<'_> {
    /// Writes output position `p`'s window (batch-major, then row, then column) into `row`.
    fn unfold(&self, p: usize, row: &mut [f32]) {
        let [_, h, w] = self.geometry.input;
        let [oh, ow] = self.geometry.output;
        let kw = self.kernel[1];
        let c = self.channels;
        let (image, oy, ox) = (p / (oh * ow), p / ow % oh, p % ow);
        let image = &self.input[image * h * w * c..(image + 1) * h * w * c];
        // The columns the window's first and last taps read: when both are inside and
        // the taps adjacent, each kernel row is one run of `kw * c` values.
        let left = self.geometry.source(1, ox, 0, w);
        let right = self.geometry.source(1, ox, kw - 1, w);
        let contiguous = self.geometry.dilation[1] == 1 && left.is_some() && right.is_some();
        for (ky, taps) in row.chunks_exact_mut(kw * c).enumerate() {
            let Some(iy) = self.geometry.source(0, oy, ky, h) else {
                taps.fill(0.0);
                continue;
            };
            if let (true, Some(ix)) = (contiguous, left) {
                let from = (iy * w + ix) * c;
                taps.copy_from_slice(&image[from..from + kw * c]);
                continue;
            }
            for (kx, to) in taps.chunks_exact_mut(c).enumerate() {
                match self.geometry.source(1, ox, kx, w) {
                    Some(ix) => {
                        let from = (iy * w + ix) * c;
                        to.copy_from_slice(&image[from..from + c]);
                    }
                    None => to.fill(0.0),
                }
            }
        }
    }
}
