//! A generated person over the background plate (DESIGN.md section 5b), as vid2vid's
//! `CompositeGenerator` and impersonator do it: the generator gives colours and an alpha,
//! the frame is `alpha * colours + (1 - alpha) * plate`. And the terms that teach the
//! alpha: a target from where the real frame differs from the plate near the stick figure,
//! and a total-variation smoothness term.
//!
//! Images are `[N, 3, H, W]` in [-1, 1] as in [`crate::images`]; masks `[N, 1, H, W]` in
//! [0, 1]. The plate may be one image (`N` = 1) for the whole batch.

use std::path::{Path, PathBuf};

use dancenow_nn::tch::{Device, Kind, TchError, Tensor};
use dancenow_pose::CropWindow;

/// Colour distance from the plate (Euclidean over RGB, in 8-bit levels) up to which a real
/// frame's pixel is taken for background: camera noise and compression stay below it.
pub const BACKGROUND_DISTANCE: f64 = 12.0;
/// Colour distance from which a real frame's pixel is taken for the person; between the
/// two the target rises along a smooth step, so faint shadows and soft edges get partial
/// alpha.
pub const PERSON_DISTANCE: f64 = 40.0;
/// Weight of [`guidance_loss`]: ten times impersonator's lambda_mask (0.1; DESIGN.md
/// section 5b). Where the painted person matches the plate, L1 leaves the alpha free, and
/// at 0.1 it drifted into a soft box around the figure on poses the target never made;
/// at 1 the dancer's body distance went from 1.61% to 1.48% of her height and her face
/// LPIPS from 0.196 to 0.177 (docs/performance.md).
pub const LAMBDA_MASK: f64 = 1.0;
/// Weight of [`total_variation`]: impersonator's smoothness weight of 1e-5 is on a sum over
/// every pair of neighbouring mask pixels; a 256x256 mask has about 2 x 256^2 of them, so on
/// this mean the same pull is 1e-5 x 131,072, about 1.3.
pub const LAMBDA_SMOOTH: f64 = 1.3;

/// Half an 8-bit level in [-1, 1] units: a channel below 1 by more than this is not white.
const HALF_LEVEL: f64 = 0.5 / 127.5;
/// 8-bit levels per unit of the [-1, 1] range.
const LEVELS_PER_UNIT: f64 = 127.5;

/// The stick figure's neighbourhood that may teach alpha, as a share of the frame height
/// (the person fills most of it): [`dancenow_pose::mask::DEFAULT_MASK_MARGIN`] of a
/// person about 60% of the frame tall.
pub const FIGURE_RADIUS_OF_HEIGHT: f64 = 0.07;

/// Why the background plate of a compositing model is not at hand.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackgroundError {
    #[error(
        "{path} is missing: a compositing model composes the person over the target's \
         background plate, which `dancenow prepare` writes; prepare the target again"
    )]
    Missing { path: PathBuf },
    #[error("{path}: cannot read the background plate")]
    Unreadable {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error(
        "{model} does not say where its frames lie in the target video (made before \
         dancenow kept it), so its plate cannot be cut; train it again"
    )]
    NoCrop { model: PathBuf },
    #[error("libtorch failed on the background plate")]
    Torch(#[from] TchError),
}

/// The part of the full-size plate image at `path` that the model's frames show (the
/// dataset's `crop`), at `width` x `height`: `[1, 3, H, W]` in [-1, 1].
pub fn read_plate(
    path: &Path,
    crop: &CropWindow,
    width: i64,
    height: i64,
    device: Device,
) -> Result<Tensor, BackgroundError> {
    if !path.is_file() {
        return Err(BackgroundError::Missing {
            path: path.to_path_buf(),
        });
    }
    let plate = image::open(path)
        .map_err(|source| BackgroundError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?
        .to_rgb8();
    let cut = crate::images::f_to_tensor(&crop.crop(&plate), device)?;
    Ok(crate::images::f_resize(&cut, height, width)?)
}

/// `alpha * person + (1 - alpha) * plate`: the plate exactly where alpha is 0, the person
/// exactly where it is 1.
pub fn composite(person: &Tensor, alpha: &Tensor, plate: &Tensor) -> Tensor {
    alpha * person + (1.0 - alpha) * plate
}

/// 1 where a stick figure (`[N, 3, H, W]`, drawn on white) is not white, grown by `radius`
/// pixels in every direction (a square of side `2 radius + 1`: the max-pool's shape, done
/// as a row pass and a column pass so that large radii stay cheap); 0 elsewhere.
/// `radius` is typically [`dancenow_pose::mask::DEFAULT_MASK_MARGIN`] times the person's
/// height in pixels.
pub fn figure_mask(figure: &Tensor, radius: i64) -> Tensor {
    let drawn = drawn(figure);
    if radius <= 0 {
        return drawn;
    }
    let side = 2 * radius + 1;
    drawn
        .max_pool2d([side, 1], [1, 1], [radius, 0], [1, 1], false)
        .max_pool2d([1, side], [1, 1], [0, radius], [1, 1], false)
}

fn drawn(figure: &Tensor) -> Tensor {
    figure
        .min_dim(1, true)
        .0
        .lt(1.0 - HALF_LEVEL)
        .to_kind(Kind::Float)
}

/// Where a compositing generator may show its person (`[N, 1, H, W]` in [0, 1]): within
/// `radius` pixels of the drawn stick figure, grown round (an octagon: 3x3 square and
/// cross steps in turn, so no box forms around the figure), fading to 0 over its last
/// quarter.
pub fn figure_reach(figure: &Tensor, radius: i64) -> Tensor {
    let feather = radius.max(0) / 8;
    let mut grown = drawn(figure);
    for step in 0..radius.max(0) - feather {
        grown = if step % 2 == 0 {
            grown.max_pool2d([3, 3], [1, 1], [1, 1], [1, 1], false)
        } else {
            let down = grown.max_pool2d([3, 1], [1, 1], [1, 0], [1, 1], false);
            let across = grown.max_pool2d([1, 3], [1, 1], [0, 1], [1, 1], false);
            down.maximum(&across)
        };
    }
    if feather == 0 {
        return grown;
    }
    // A box blur: 1 up to `feather` inside the grown edge, 0 from `feather` outside it.
    let side = 2 * feather + 1;
    grown.avg_pool2d(
        [side, side],
        [1, 1],
        [feather, feather],
        false,
        false,
        None::<i64>,
    )
}

/// What the alpha should be for a real `frame` over `plate`: a smooth step from 0 at
/// [`BACKGROUND_DISTANCE`] to 1 at [`PERSON_DISTANCE`] of colour distance, kept only within
/// `person_mask` (`[N, 1, H, W]`, e.g. [`figure_mask`]), so that a change of light or a
/// passer-by away from the person is not taught as the person. Carries no gradient.
pub fn alpha_target(frame: &Tensor, plate: &Tensor, person_mask: &Tensor) -> Tensor {
    let distance = ((frame - plate) * LEVELS_PER_UNIT)
        .square()
        .sum_dim_intlist(1, true, Kind::Float)
        .sqrt();
    let t = ((distance - BACKGROUND_DISTANCE) / (PERSON_DISTANCE - BACKGROUND_DISTANCE))
        .clamp(0.0, 1.0);
    let step: Tensor = &t * &t * (3.0 - 2.0 * &t);
    (step * person_mask).detach()
}

/// Mean absolute difference of `alpha` from its `target`.
pub fn guidance_loss(alpha: &Tensor, target: &Tensor) -> Tensor {
    (alpha - target).abs().mean(Kind::Float)
}

/// Total variation of `[N, C, H, W]` masks: the mean absolute difference between
/// horizontal neighbours plus that between vertical neighbours.
pub fn total_variation(mask: &Tensor) -> Tensor {
    let (h, w) = (mask.size()[2], mask.size()[3]);
    let across = mask.narrow(3, 1, w - 1) - mask.narrow(3, 0, w - 1);
    let down = mask.narrow(2, 1, h - 1) - mask.narrow(2, 0, h - 1);
    across.abs().mean(Kind::Float) + down.abs().mean(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dancenow_nn::tch::{self, Device};

    const OPTIONS: (Kind, Device) = (Kind::Float, Device::Cpu);

    fn images(n: i64, seed: i64) -> Tensor {
        tch::manual_seed(seed);
        Tensor::rand([n, 3, 16, 24], OPTIONS) * 2.0 - 1.0
    }

    #[test]
    fn alpha_0_gives_the_plate_and_alpha_1_the_person_exactly() {
        let (person, plate) = (images(2, 1), images(1, 2));
        let zeros = Tensor::zeros([2, 1, 16, 24], OPTIONS);
        let ones = Tensor::ones([2, 1, 16, 24], OPTIONS);
        assert!(composite(&person, &zeros, &plate).equal(&plate.expand([2, 3, 16, 24], false)));
        assert!(composite(&person, &ones, &plate).equal(&person));
        let quarter = composite(&person, &(zeros + 0.25), &plate);
        let expected = &person * 0.25 + &plate * 0.75;
        assert!(quarter.allclose(&expected, 1e-6, 1e-6, false));
    }

    /// Sets `t[.., .., rows, cols]` to `value`.
    fn fill(t: &Tensor, rows: (i64, i64), cols: (i64, i64), value: f64) {
        let _ = t
            .narrow(2, rows.0, rows.1 - rows.0)
            .narrow(3, cols.0, cols.1 - cols.0)
            .fill_(value);
    }

    #[test]
    fn the_target_is_1_on_the_person_and_0_on_the_background() {
        // A textured plate; the frame adds noise just under the background threshold, a
        // person (rows 4..12, columns 8..14, far from every plate colour) and, away from
        // the figure, a passer-by (columns 20..24).
        tch::manual_seed(3);
        let plate = Tensor::rand([1, 3, 16, 24], OPTIONS) * 0.6 - 0.3;
        let most_noise = 0.9 * BACKGROUND_DISTANCE / 3f64.sqrt() / LEVELS_PER_UNIT;
        let frame = &plate + (Tensor::rand([1, 3, 16, 24], OPTIONS) * 2.0 - 1.0) * most_noise;
        fill(&frame, (4, 12), (8, 14), 0.95);
        fill(&frame, (0, 16), (20, 24), -0.95);
        // Halfway between the thresholds, on one pixel next to the person.
        let halfway = (BACKGROUND_DISTANCE + PERSON_DISTANCE) / 2.0 / LEVELS_PER_UNIT;
        frame.narrow(2, 3, 1).narrow(3, 10, 1).copy_(
            &(plate.narrow(2, 3, 1).narrow(3, 10, 1)
                + Tensor::from_slice(&[halfway as f32, 0.0, 0.0]).view([1, 3, 1, 1])),
        );
        // The figure: a line down the person's middle, grown by 3 to rows 3..13, columns 8..15.
        let figure = Tensor::ones([1, 3, 16, 24], OPTIONS);
        fill(&figure, (6, 10), (11, 12), -1.0);
        let mask = figure_mask(&figure, 3);
        assert_eq!(mask.sum(Kind::Float).double_value(&[]), 10.0 * 7.0);

        let target = alpha_target(&frame, &plate, &mask);
        assert_eq!(target.size(), [1, 1, 16, 24]);
        let person = target.narrow(2, 4, 8).narrow(3, 8, 6);
        assert_eq!(person.min().double_value(&[]), 1.0);
        let half = target.double_value(&[0, 0, 3, 10]);
        assert!((half - 0.5).abs() < 1e-4, "{half}");
        // Everything else, in the mask or not, passer-by included: 0.
        let rest = target.sum(Kind::Float).double_value(&[]) - 48.0 - half;
        assert!(rest.abs() < 1e-4, "{rest}");
    }

    #[test]
    fn the_figure_mask_grows_by_the_radius() {
        let mut figure = Tensor::ones([1, 3, 9, 9], OPTIONS);
        let _ = figure
            .narrow(2, 4, 1)
            .narrow(3, 4, 1)
            .narrow(1, 0, 1)
            .fill_(0.9);
        let mask = figure_mask(&figure, 2);
        let expected = Tensor::zeros([1, 1, 9, 9], OPTIONS);
        let _ = expected.narrow(2, 2, 5).narrow(3, 2, 5).fill_(1.0);
        assert!(mask.equal(&expected), "{mask}");
        // Only white: nothing.
        figure = Tensor::ones([1, 3, 9, 9], OPTIONS);
        assert_eq!(
            figure_mask(&figure, 2).sum(Kind::Float).double_value(&[]),
            0.0
        );
    }

    #[test]
    fn smoothness_is_0_for_a_flat_mask_and_counts_every_edge() {
        assert_eq!(
            total_variation(&Tensor::full([2, 1, 4, 5], 0.7, OPTIONS)).double_value(&[]),
            0.0
        );
        // A checkerboard: every neighbour differs by 1 both ways.
        let checker =
            Tensor::from_slice(&[0f32, 1., 0., 1., 0., 1., 0., 1., 0.]).view([1, 1, 3, 3]);
        assert_eq!(total_variation(&checker).double_value(&[]), 2.0);
        // One vertical edge in a 4x4 mask: 4 of 12 horizontal pairs differ, no vertical one.
        let edge = Tensor::zeros([1, 1, 4, 4], OPTIONS);
        let _ = edge.narrow(3, 2, 2).fill_(1.0);
        assert!((total_variation(&edge).double_value(&[]) - 4.0 / 12.0).abs() < 1e-6);
        let target = Tensor::ones([1, 1, 4, 4], OPTIONS);
        assert_eq!(guidance_loss(&edge, &target).double_value(&[]), 0.5);
    }
}
