//! Stick figures: the images the GAN is conditioned on, drawn as the paper's code draws
//! OpenPose output (docs/architecture.md section 5).
//!
//! Sizes are given for a 1080-pixel-high image and scale with the canvas height. Body
//! joints are filled discs in OpenPose's BODY_25 colours; each limb is an ellipse in the
//! colour of its far joint, blended 0.4 canvas / 0.6 limb over what is drawn; hands are
//! 21-colour skeletons; face points are black dots, drawn when the face as a whole is
//! confident enough. Rendering is exact arithmetic on pixel centres, so it is
//! deterministic to the bit.

use image::{Rgb, RgbImage};

use crate::keypoints::{Frame, Keypoint, Person, FACE_POINTS};

/// The height at which the radii below hold.
pub const REFERENCE_HEIGHT: f32 = 1080.0;
pub const JOINT_RADIUS: f32 = 8.0;
pub const LIMB_HALF_WIDTH: f32 = 4.0;
pub const FACE_POINT_RADIUS: f32 = 4.0;
pub const HAND_POINT_RADIUS: f32 = 3.0;
pub const HAND_LIMB_HALF_WIDTH: f32 = 2.0;
/// Weight of the limb colour when a limb is blended over the canvas.
pub const LIMB_OPACITY: f32 = 0.6;
/// Body and hand points below this confidence are not drawn.
pub const POINT_MIN_CONFIDENCE: f32 = crate::keypoints::MIN_CONFIDENCE;
/// The face is drawn only when its 70 points' mean confidence reaches this.
pub const FACE_MIN_MEAN_CONFIDENCE: f32 = 0.2;

pub const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const BLACK: Rgb<u8> = Rgb([0, 0, 0]);

/// OpenPose's BODY_25 render colours, one per keypoint.
pub const BODY_COLORS: [[u8; 3]; 25] = [
    [255, 0, 85],
    [255, 0, 0],
    [255, 85, 0],
    [255, 170, 0],
    [255, 255, 0],
    [170, 255, 0],
    [85, 255, 0],
    [0, 255, 0],
    [255, 0, 0],
    [0, 255, 85],
    [0, 255, 170],
    [0, 255, 255],
    [0, 170, 255],
    [0, 85, 255],
    [0, 0, 255],
    [255, 0, 170],
    [170, 0, 255],
    [255, 0, 255],
    [85, 0, 255],
    [0, 0, 255],
    [0, 0, 255],
    [0, 0, 255],
    [0, 255, 255],
    [0, 255, 255],
    [0, 255, 255],
];

/// OpenPose's BODY_25 limbs; each is drawn in the colour of its second point.
pub const BODY_LIMBS: [(usize, usize); 24] = [
    (1, 8),
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (8, 9),
    (9, 10),
    (10, 11),
    (8, 12),
    (12, 13),
    (13, 14),
    (1, 0),
    (0, 15),
    (15, 17),
    (0, 16),
    (16, 18),
    (14, 19),
    (19, 20),
    (14, 21),
    (11, 22),
    (22, 23),
    (11, 24),
];

/// OpenPose's 21 hand colours: grey wrist, then one hue per finger, darker at the base.
pub const HAND_COLORS: [[u8; 3]; 21] = [
    [100, 100, 100],
    [100, 0, 0],
    [150, 0, 0],
    [200, 0, 0],
    [255, 0, 0],
    [100, 100, 0],
    [150, 150, 0],
    [200, 200, 0],
    [255, 255, 0],
    [0, 100, 50],
    [0, 150, 75],
    [0, 200, 100],
    [0, 255, 125],
    [0, 50, 100],
    [0, 75, 150],
    [0, 100, 200],
    [0, 125, 255],
    [100, 0, 100],
    [150, 0, 150],
    [200, 0, 200],
    [255, 0, 255],
];

/// Hand bones: wrist to each finger's base, then along the finger; coloured by the far point.
pub const HAND_LIMBS: [(usize, usize); 20] = [
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 4),
    (0, 5),
    (5, 6),
    (6, 7),
    (7, 8),
    (0, 9),
    (9, 10),
    (10, 11),
    (11, 12),
    (0, 13),
    (13, 14),
    (14, 15),
    (15, 16),
    (0, 17),
    (17, 18),
    (18, 19),
    (19, 20),
];

/// Draws stick figures at sizes scaled to one canvas height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StickFigure {
    scale: f32,
}

impl StickFigure {
    /// Sizes for a canvas `height` pixels high.
    pub fn for_height(height: u32) -> Self {
        Self {
            scale: height as f32 / REFERENCE_HEIGHT,
        }
    }

    /// A white canvas with every person of the frame drawn on it.
    pub fn render(frame: &Frame, width: u32, height: u32) -> RgbImage {
        let mut canvas = RgbImage::from_pixel(width, height, WHITE);
        let figure = Self::for_height(height);
        for person in &frame.people {
            figure.draw(&mut canvas, person);
        }
        canvas
    }

    /// Draws one person over whatever the canvas holds (white, or the video frame).
    pub fn draw(&self, canvas: &mut RgbImage, person: &Person) {
        self.draw_body(canvas, &person.body);
        for hand in [&person.left_hand, &person.right_hand] {
            self.draw_hand(canvas, hand);
        }
        self.draw_face(canvas, &person.face);
    }

    fn draw_body(&self, canvas: &mut RgbImage, body: &[Keypoint]) {
        let visible = |p: &Keypoint| p.is_confident(POINT_MIN_CONFIDENCE);
        for (point, color) in body.iter().zip(BODY_COLORS) {
            if visible(point) {
                fill_disc(canvas, *point, self.scale * JOINT_RADIUS, Rgb(color), 1.0);
            }
        }
        for (a, b) in BODY_LIMBS {
            if visible(&body[a]) && visible(&body[b]) && plausible_limb(body, a, b) {
                let half_width = self.scale * LIMB_HALF_WIDTH;
                fill_limb(
                    canvas,
                    body[a],
                    body[b],
                    half_width,
                    Rgb(BODY_COLORS[b]),
                    LIMB_OPACITY,
                );
            }
        }
    }

    fn draw_hand(&self, canvas: &mut RgbImage, hand: &[Keypoint]) {
        let visible = |p: &Keypoint| p.is_confident(POINT_MIN_CONFIDENCE);
        for (a, b) in HAND_LIMBS {
            if visible(&hand[a]) && visible(&hand[b]) {
                let half_width = self.scale * HAND_LIMB_HALF_WIDTH;
                fill_limb(
                    canvas,
                    hand[a],
                    hand[b],
                    half_width,
                    Rgb(HAND_COLORS[b]),
                    1.0,
                );
            }
        }
        for (point, color) in hand.iter().zip(HAND_COLORS) {
            if visible(point) {
                fill_disc(
                    canvas,
                    *point,
                    self.scale * HAND_POINT_RADIUS,
                    Rgb(color),
                    1.0,
                );
            }
        }
    }

    fn draw_face(&self, canvas: &mut RgbImage, face: &[Keypoint]) {
        let mean = face.iter().map(|p| p.confidence as f64).sum::<f64>() / FACE_POINTS as f64;
        // The tolerance keeps a face of exactly the threshold from failing on rounding.
        if mean + 1e-6 < FACE_MIN_MEAN_CONFIDENCE as f64 {
            return;
        }
        for point in face.iter().filter(|p| p.is_present()) {
            fill_disc(canvas, *point, self.scale * FACE_POINT_RADIUS, BLACK, 1.0);
        }
    }
}

/// Pixels whose centre lies within `radius` of `centre` (never fewer than the centre pixel).
fn fill_disc(canvas: &mut RgbImage, centre: Keypoint, radius: f32, color: Rgb<u8>, opacity: f32) {
    let radius = radius.max(0.5);
    fill_where(
        canvas,
        centre.x,
        centre.y,
        radius,
        color,
        opacity,
        |dx, dy| dx * dx + dy * dy <= radius * radius,
    );
}

/// The ellipse OpenPose draws for a limb: centred between the points, semi-axes of half
/// the length and `half_width`, along the limb.
fn fill_limb(
    canvas: &mut RgbImage,
    a: Keypoint,
    b: Keypoint,
    half_width: f32,
    color: Rgb<u8>,
    opacity: f32,
) {
    let (cx, cy) = ((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let half_length = (dx * dx + dy * dy).sqrt() / 2.0;
    let half_width = half_width.max(0.5);
    let (semi_major, semi_minor) = (half_length.max(half_width), half_width);
    let (cos, sin) = if half_length > 0.0 {
        (dx / (2.0 * half_length), dy / (2.0 * half_length))
    } else {
        (1.0, 0.0)
    };
    fill_where(canvas, cx, cy, semi_major, color, opacity, |px, py| {
        let along = px * cos + py * sin;
        let across = -px * sin + py * cos;
        (along / semi_major).powi(2) + (across / semi_minor).powi(2) <= 1.0
    });
}

/// Paints, within `reach` of (cx, cy), the pixels whose offset from the centre satisfies
/// `inside`, as `opacity * color + (1 - opacity) * canvas`.
fn fill_where(
    canvas: &mut RgbImage,
    cx: f32,
    cy: f32,
    reach: f32,
    color: Rgb<u8>,
    opacity: f32,
    inside: impl Fn(f32, f32) -> bool,
) {
    let (w, h) = (canvas.width() as i64, canvas.height() as i64);
    let x0 = ((cx - reach).floor() as i64).max(0);
    let x1 = ((cx + reach).ceil() as i64).min(w - 1);
    let y0 = ((cy - reach).floor() as i64).max(0);
    let y1 = ((cy + reach).ceil() as i64).min(h - 1);
    for y in y0..=y1 {
        for x in x0..=x1 {
            if !inside(x as f32 - cx, y as f32 - cy) {
                continue;
            }
            let pixel = canvas.get_pixel_mut(x as u32, y as u32);
            for (dst, src) in pixel.0.iter_mut().zip(color.0) {
                *dst = blend(*dst, src, opacity);
            }
        }
    }
}

fn blend(under: u8, over: u8, opacity: f32) -> u8 {
    (opacity * over as f32 + (1.0 - opacity) * under as f32).round() as u8
}

/// Fewest other seen body points against which a limb's length can be judged.
const PLAUSIBILITY_POINTS: usize = 4;

/// Whether the limb from body point `a` to `b` could belong to this body: no longer than
/// the extent of the other seen body points. A point that landed on someone else (or
/// across the frame) would draw a limb longer than the person is tall.
fn plausible_limb(body: &[Keypoint], a: usize, b: usize) -> bool {
    let others: Vec<&Keypoint> = body
        .iter()
        .enumerate()
        .filter(|&(i, p)| i != a && i != b && p.is_confident(POINT_MIN_CONFIDENCE))
        .map(|(_, p)| p)
        .collect();
    if others.len() < PLAUSIBILITY_POINTS {
        return true;
    }
    let (mut left, mut top, mut right, mut bottom) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in others {
        (left, top) = (left.min(p.x), top.min(p.y));
        (right, bottom) = (right.max(p.x), bottom.max(p.y));
    }
    let extent = (right - left).max(bottom - top);
    let length = (body[a].x - body[b].x).hypot(body[a].y - body[b].y);
    length <= extent
}
