//! The face GAN's geometry (paper, section 3.3): the face box cut out of the stick figure
//! and of the generated frame at the face GAN's working size, and the generator's
//! residual added back inside the box, and nowhere else.

use dancenow_nn::tch::Tensor;
use dancenow_pose::FaceBox;

use crate::generator::Generator;
use crate::images::resize;

/// The face box of a `[1, C, H, W]` tensor, resized to `side` x `side`.
pub fn crop(image: &Tensor, face: FaceBox, side: i64) -> Tensor {
    let region = image
        .narrow(2, i64::from(face.y), i64::from(face.size))
        .narrow(3, i64::from(face.x), i64::from(face.size));
    resize(&region, side, side)
}

/// The residual the face GAN predicts from crops of the stick figure and of the
/// generated frame.
fn residual(face_gan: &Generator, figure_crop: &Tensor, frame_crop: &Tensor) -> Tensor {
    face_gan.forward(&Tensor::cat(&[figure_crop, frame_crop], 1))
}

/// The face GAN's output on crops: the generated face plus the predicted residual.
pub fn refine_crop(face_gan: &Generator, figure_crop: &Tensor, frame_crop: &Tensor) -> Tensor {
    frame_crop + residual(face_gan, figure_crop, frame_crop)
}

/// `frame` with the face GAN's residual added inside `face` (at the box's own size);
/// every pixel outside the box is left as it is.
pub fn refine(
    face_gan: &Generator,
    figure: &Tensor,
    frame: &Tensor,
    face: FaceBox,
    side: i64,
) -> Tensor {
    let residual = residual(
        face_gan,
        &crop(figure, face, side),
        &crop(frame, face, side),
    );
    let residual = resize(&residual, i64::from(face.size), i64::from(face.size));
    let out = frame.copy();
    let mut region = out
        .narrow(2, i64::from(face.y), i64::from(face.size))
        .narrow(3, i64::from(face.x), i64::from(face.size));
    let _ = region.g_add_(&residual);
    let _ = region.clamp_(-1.0, 1.0);
    out
}
