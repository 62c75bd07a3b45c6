//! Stick figures, pixel by pixel, and the face box.

use std::path::Path;

use dancenow_pose::render::{StickFigure, BODY_COLORS, HAND_COLORS, WHITE};
use dancenow_pose::{body, openpose, FaceBox, Frame, Keypoint, Person};
use image::{Rgb, RgbImage};

fn px(image: &RgbImage, x: u32, y: u32) -> [u8; 3] {
    image.get_pixel(x, y).0
}

/// Nose and neck only, on a 540-high canvas: joints of radius 4, a limb of half-width 2.
fn nose_and_neck() -> Frame {
    let mut p = Person::default();
    p.body[body::NOSE] = Keypoint::new(60.0, 100.0, 0.9);
    p.body[body::NECK] = Keypoint::new(60.0, 200.0, 0.9);
    Frame { people: vec![p] }
}

#[test]
fn joints_and_limbs_have_the_papers_colours_sizes_and_blending() {
    let image = StickFigure::render(&nose_and_neck(), 120, 540);
    let nose_color = BODY_COLORS[body::NOSE];
    assert_eq!(nose_color, [255, 0, 85]);
    // The neck-nose limb takes the nose's colour, blended 0.6 over white.
    assert_eq!(px(&image, 60, 150), [255, 102, 153]);
    assert_eq!(px(&image, 62, 150), [255, 102, 153]); // on the edge of the half-width
    assert_eq!(px(&image, 63, 150), WHITE.0);
    // Joint discs: the nose blended with its own colour stays itself...
    assert_eq!(px(&image, 60, 100), nose_color);
    assert_eq!(px(&image, 64, 100), nose_color); // radius 4 reaches here, the limb does not
    assert_eq!(px(&image, 65, 100), WHITE.0);
    // ...and the neck's red shows through the limb at 0.4.
    assert_eq!(px(&image, 60, 200), [255, 0, 51]);
    assert_eq!(px(&image, 56, 200), BODY_COLORS[body::NECK]);
}

#[test]
fn sizes_scale_with_the_output_height() {
    let mut p = Person::default();
    p.body[body::NOSE] = Keypoint::new(100.0, 100.0, 1.0);
    let small = StickFigure::render(
        &Frame {
            people: vec![p.clone()],
        },
        200,
        540,
    );
    p.map_positions(|x, y| (2.0 * x, 2.0 * y));
    let large = StickFigure::render(&Frame { people: vec![p] }, 400, 1080);
    let nose = BODY_COLORS[body::NOSE];
    assert_eq!(px(&small, 104, 100), nose);
    assert_eq!(px(&small, 105, 100), WHITE.0);
    assert_eq!(px(&large, 208, 200), nose);
    assert_eq!(px(&large, 209, 200), WHITE.0);
}

#[test]
fn low_confidence_points_hands_and_faces_follow_the_thresholds() {
    let mut p = Person::default();
    p.body[body::NOSE] = Keypoint::new(20.0, 20.0, 0.04); // below 0.05: not drawn
    p.left_hand[0] = Keypoint::new(50.0, 50.0, 0.05); // at the threshold: drawn
    for (i, point) in p.face.iter_mut().enumerate() {
        *point = Keypoint::new(10.0 + i as f32, 90.0, 0.19);
    }
    let frame = Frame {
        people: vec![p.clone()],
    };
    let image = StickFigure::render(&frame, 100, 1080);
    assert_eq!(px(&image, 20, 20), WHITE.0);
    assert_eq!(px(&image, 50, 50), HAND_COLORS[0]);
    assert_eq!(
        px(&image, 40, 90),
        WHITE.0,
        "face mean confidence 0.19 < 0.2"
    );
    for point in p.face.iter_mut() {
        point.confidence = 0.2;
    }
    let image = StickFigure::render(&Frame { people: vec![p] }, 100, 1080);
    assert_eq!(px(&image, 40, 90), [0, 0, 0]);
}

#[test]
fn drawing_over_a_video_frame_keeps_the_frame_elsewhere() {
    let mut canvas = RgbImage::from_pixel(120, 540, Rgb([10, 20, 30]));
    StickFigure::for_height(540).draw(&mut canvas, &nose_and_neck().people[0]);
    assert_eq!(px(&canvas, 5, 5), [10, 20, 30]);
    // 0.6 * limb colour + 0.4 * frame.
    assert_eq!(px(&canvas, 60, 150), [157, 8, 63]);
}

/// The full BODY_25 + face + hand sample, at a quarter of its 1080p size, against a PNG
/// made by this renderer and checked by eye. Set DANCENOW_UPDATE_GOLDEN=1 to remake it
/// after a deliberate change.
#[test]
fn full_person_matches_the_golden_image() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut frame = openpose::read_frame(&data.join("body25_000000000000_keypoints.json")).unwrap();
    for p in &mut frame.people {
        p.map_positions(|x, y| (x / 4.0 - 120.0, y / 4.0));
    }
    let image = StickFigure::render(&frame, 240, 270);
    let golden = data.join("body25_golden.png");
    if std::env::var_os("DANCENOW_UPDATE_GOLDEN").is_some() {
        image.save(&golden).unwrap();
        panic!(
            "rewrote {}; look at it, then run again without DANCENOW_UPDATE_GOLDEN",
            golden.display()
        );
    }
    let expected = image::open(&golden).expect("golden image").to_rgb8();
    let differing = image
        .pixels()
        .zip(expected.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differing,
        0,
        "{differing} pixels differ from {}",
        golden.display()
    );
}

#[test]
fn face_box_centres_on_the_nose_and_scales_with_height() {
    let mut p = Person::default();
    p.body[body::NOSE] = Keypoint::new(960.0, 300.0, 0.9);
    assert_eq!(
        FaceBox::of(&p, 1920, 1080),
        Some(FaceBox {
            x: 890,
            y: 230,
            size: 140
        })
    );
    p.map_positions(|x, y| (x / 2.0, y / 2.0));
    assert_eq!(
        FaceBox::of(&p, 960, 540),
        Some(FaceBox {
            x: 445,
            y: 115,
            size: 70
        })
    );
}

#[test]
fn face_box_falls_back_to_the_ears_and_stays_inside_the_image() {
    let mut p = Person::default();
    p.body[body::L_EAR] = Keypoint::new(20.0, 40.0, 0.9);
    p.body[body::R_EAR] = Keypoint::new(40.0, 40.0, 0.9);
    let face = FaceBox::of(&p, 1920, 1080).unwrap();
    assert_eq!(
        face,
        FaceBox {
            x: 0,
            y: 0,
            size: 140
        }
    );
    assert!(face.contains(139, 139) && !face.contains(140, 0));
    p.body[body::R_EAR] = Keypoint::MISSING;
    assert_eq!(FaceBox::of(&p, 1920, 1080), None);
}

/// A wrist that landed far from its body (on someone else, across the frame) is drawn as
/// a joint, but no limb leads to it; the body's own limbs are drawn.
#[test]
fn a_limb_longer_than_the_person_is_not_drawn() {
    let mut p = Person::default();
    for (i, x, y) in [
        (body::NOSE, 100.0, 100.0),
        (body::NECK, 100.0, 140.0),
        (body::R_SHOULDER, 80.0, 140.0),
        (body::R_ELBOW, 75.0, 180.0),
        (body::MID_HIP, 100.0, 240.0),
        (body::R_ANKLE, 90.0, 340.0),
        (body::L_ANKLE, 110.0, 340.0),
        (body::R_WRIST, 900.0, 180.0),
    ] {
        p.body[i] = Keypoint::new(x, y, 0.9);
    }
    let image = StickFigure::render(&Frame { people: vec![p] }, 1000, 400);
    // Halfway along elbow -> stray wrist: white. Halfway along shoulder -> elbow: drawn.
    assert_eq!(px(&image, 487, 180), WHITE.0);
    assert_ne!(px(&image, 77, 160), WHITE.0);
    // The stray wrist itself is still a dot where it was seen.
    assert_eq!(px(&image, 900, 180), BODY_COLORS[body::R_WRIST]);
}

/// A limb needs both its points confident: an unconfident end (a guess the detector made,
/// or a point left from before a gap) draws neither the limb nor its own disc, even when
/// the other end is sure.
#[test]
fn an_unconfident_point_never_draws_a_limb() {
    for unsure in [0.0, 0.04] {
        let mut frame = nose_and_neck();
        frame.people[0].body[body::NECK].confidence = unsure;
        let image = StickFigure::render(&frame, 120, 540);
        for y in 106..=200 {
            assert_eq!(
                px(&image, 60, y),
                WHITE.0,
                "neck at confidence {unsure}: pixel (60, {y}) drawn"
            );
        }
        // The sure nose alone is still a dot.
        assert_eq!(px(&image, 60, 100), BODY_COLORS[body::NOSE]);
    }
}
