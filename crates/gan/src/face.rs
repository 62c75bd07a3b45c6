//! The face GAN's geometry (paper, section 3.3): the face box cut out of the stick figure
//! and of the generated frame at the face GAN's working size, and the generator's
//! residual added back inside the box, and nowhere else.

use dancenow_nn::tch::{TchError, Tensor};
use dancenow_pose::FaceBox;

use crate::generator::Generator;
use crate::images::f_resize;

/// The face box of a `[1, C, H, W]` tensor, resized to `side` x `side`.
pub fn crop(image: &Tensor, face: FaceBox, side: i64) -> Tensor {
    f_crop(image, face, side).unwrap_or_else(|e| panic!("face crop: {e}"))
}

/// [`crop`], with libtorch's failures (a box outside the image, say) as errors.
pub fn f_crop(image: &Tensor, face: FaceBox, side: i64) -> Result<Tensor, TchError> {
    let region = image
        .f_narrow(2, i64::from(face.y), i64::from(face.size))?
        .f_narrow(3, i64::from(face.x), i64::from(face.size))?;
    f_resize(&region, side, side)
}

/// The residual the face GAN predicts from crops of the stick figure and of the
/// generated frame.
fn residual(face_gan: &Generator, figure_crop: &Tensor, frame_crop: &Tensor) -> Tensor {
    f_residual(face_gan, figure_crop, frame_crop).unwrap_or_else(|e| panic!("face residual: {e}"))
}

fn f_residual(
    face_gan: &Generator,
    figure_crop: &Tensor,
    frame_crop: &Tensor,
) -> Result<Tensor, TchError> {
    face_gan.f_forward(&Tensor::f_cat(&[figure_crop, frame_crop], 1)?)
}

/// The face GAN's output on crops: the generated face plus the predicted residual.
pub fn refine_crop(face_gan: &Generator, figure_crop: &Tensor, frame_crop: &Tensor) -> Tensor {
    frame_crop + residual(face_gan, figure_crop, frame_crop)
}

/// `frame` with the face GAN's residual added inside `face` (at the box's own size);
/// every pixel outside the box is left as it is. libtorch's failures (out of memory, a
/// box outside the frame) are errors.
pub fn refine(
    face_gan: &Generator,
    figure: &Tensor,
    frame: &Tensor,
    face: FaceBox,
    side: i64,
) -> Result<Tensor, TchError> {
    let residual = f_residual(
        face_gan,
        &f_crop(figure, face, side)?,
        &f_crop(frame, face, side)?,
    )?;
    let size = i64::from(face.size);
    let residual = f_resize(&residual, size, size)?;
    let out = frame.f_detach_copy()?;
    let mut region =
        out.f_narrow(2, i64::from(face.y), size)?
            .f_narrow(3, i64::from(face.x), size)?;
    let _ = region.f_add_(&residual)?;
    let _ = region.f_clamp_(-1.0, 1.0)?;
    Ok(out)
}
