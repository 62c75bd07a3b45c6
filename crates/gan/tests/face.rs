//! The face GAN stage: it refines only the face box, leaves the body model alone, and
//! every stage (global, local, face) resumes exactly.

mod common;

use std::sync::atomic::AtomicBool;

use dancenow_gan::dataset::Split;
use dancenow_gan::{
    train, Dataset, ModelConfig, ModelDir, Outcome, Preset, Renderer, Stage, Target, TrainOptions,
};
use dancenow_nn::tch::{Device, Tensor};

const SIZE: u32 = 64;

fn new_model(dir: &std::path::Path, config: &ModelConfig, dataset: &Dataset) -> ModelDir {
    let model = ModelDir::new(dir);
    let target = Target {
        dataset: "synthetic".into(),
        fps: 30.0,
        stats: dataset.info.stats.clone(),
        crop: None,
        video_size: None,
    };
    model.initialize(config, &target).unwrap();
    model
}

fn options(
    stop: &AtomicBool,
    only_stage: Option<Stage>,
    max_steps: Option<u64>,
) -> TrainOptions<'_> {
    TrainOptions {
        only_stage,
        ..common::cpu_options(stop, max_steps)
    }
}

fn tensors(model: &ModelDir, stage: Stage) -> Vec<(String, Tensor)> {
    let mut t = Tensor::read_safetensors(model.checkpoint_path(stage)).unwrap();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

fn same(a: &[(String, Tensor)], b: &[(String, Tensor)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((n, x), (m, y))| n == m && x.equal(y))
}

#[test]
fn the_face_stage_refines_only_the_face_box_and_leaves_the_body_model_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = common::write_dataset(&tmp.path().join("data"), 24, 4, SIZE);
    let mut config = Preset::Tiny.config(SIZE, SIZE);
    config.training.stages[0].steps = 20;
    config.training.stages[1].steps = 20;
    assert_eq!(config.training.stages[1].stage, Stage::Face);
    let model = new_model(&tmp.path().join("model"), &config, &dataset);
    let stop = AtomicBool::new(false);

    train(
        &model,
        &dataset,
        &options(&stop, Some(Stage::Global), None),
        &mut |_| {},
    )
    .unwrap();
    let body_before = tensors(&model, Stage::Global);
    let outcome = train(
        &model,
        &dataset,
        &options(&stop, Some(Stage::Face), None),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(outcome, Outcome::Finished);
    assert!(
        same(&body_before, &tensors(&model, Stage::Global)),
        "the body model changed"
    );
    let face_names: Vec<String> = tensors(&model, Stage::Face)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        face_names.iter().any(|n| n.starts_with("g.face.")),
        "{face_names:?}"
    );
    assert!(
        !face_names.iter().any(|n| n.starts_with("g.global.")),
        "no body weights in face.safetensors"
    );
    assert!(model.sample_path(Stage::Face, 20).is_file());

    // Without the face checkpoint: the body model alone.
    let body_only = tmp.path().join("body_only");
    std::fs::create_dir_all(body_only.join("checkpoints")).unwrap();
    for file in [
        "config.toml",
        "target.json",
        "checkpoints/global.safetensors",
    ] {
        std::fs::copy(model.root().join(file), body_only.join(file)).unwrap();
    }
    let mut with_face = Renderer::load(&model, Device::Cpu).unwrap();
    let mut without = Renderer::load(&ModelDir::new(&body_only), Device::Cpu).unwrap();
    assert!(with_face.has_face() && !without.has_face());

    let entry = dataset.split(Split::Val)[0].clone();
    let face = entry.face.expect("the synthetic person shows a face");
    let figure = dataset
        .load_image(&dataset.layout.figure_path(entry.index))
        .unwrap();
    let refined = with_face.render(&figure, Some(face)).unwrap();
    with_face.reset();
    let no_face_in_view = with_face.render(&figure, None).unwrap();
    let body = without.render(&figure, Some(face)).unwrap();
    assert_eq!(
        no_face_in_view, body,
        "no face box: the body model's frame unchanged"
    );
    let (mut inside, mut outside) = (0, 0);
    for (x, y, p) in refined.enumerate_pixels() {
        if p != body.get_pixel(x, y) {
            if face.contains(x, y) {
                inside += 1;
            } else {
                outside += 1;
            }
        }
    }
    assert_eq!(outside, 0, "pixels changed outside the face box");
    assert!(inside > 0, "the face GAN changed nothing");
}

#[test]
fn every_stage_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = common::write_dataset(&tmp.path().join("data"), 12, 2, SIZE);
    let mut config = Preset::Tiny.config(SIZE, SIZE);
    config.generator.n_local_enhancers = 1;
    config.training.stages = [Stage::Global, Stage::Local, Stage::Face]
        .map(|stage| dancenow_gan::config::StageConfig::new(stage, 4))
        .to_vec();
    config.training.checkpoint_every = 100;
    config.validate().unwrap();
    let stop = AtomicBool::new(false);

    let straight = new_model(&tmp.path().join("straight"), &config, &dataset);
    train(
        &straight,
        &dataset,
        &options(&stop, None, None),
        &mut |_| {},
    )
    .unwrap();

    // Three steps a run: stops inside the global, local and face stages.
    let resumed = new_model(&tmp.path().join("resumed"), &config, &dataset);
    let mut stops = Vec::new();
    loop {
        match train(
            &resumed,
            &dataset,
            &options(&stop, None, Some(3)),
            &mut |_| {},
        )
        .unwrap()
        {
            Outcome::Finished => break,
            Outcome::Stopped { stage, step } => stops.push((stage, step)),
        }
    }
    assert_eq!(
        stops,
        [(Stage::Global, 3), (Stage::Local, 2), (Stage::Face, 1)]
    );
    for stage in [Stage::Global, Stage::Local, Stage::Face] {
        assert!(
            same(&tensors(&straight, stage), &tensors(&resumed, stage)),
            "{stage} differs after resuming"
        );
    }
    assert_eq!(
        straight.read_losses().unwrap(),
        resumed.read_losses().unwrap()
    );
}
