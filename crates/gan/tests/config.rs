//! Model configurations: a hand-edited `config.toml` with sizes out of range is an error
//! naming the file and the field, before any network is built (not a panic, an overflow
//! or an allocation that never ends), and the weight count that bounds memory is exact.

use dancenow_gan::config::generator_weights;
use dancenow_gan::generator::Generator;
use dancenow_gan::model_dir::ModelDirError;
use dancenow_gan::{ConfigError, ModelConfig, ModelDir, Preset, Stage, StageConfig};
use dancenow_nn::tch::Device;

/// `config` written to a model folder as a user could have edited it, then read back.
fn read_edited(config: &ModelConfig) -> ModelDirError {
    let tmp = tempfile::tempdir().unwrap();
    let model = ModelDir::new(tmp.path());
    model.write_config(config).unwrap();
    model.read_config().unwrap_err()
}

fn problem(err: &ModelDirError) -> &ConfigError {
    match err {
        ModelDirError::Config { path, source } => {
            assert!(path.ends_with("config.toml"), "{}", path.display());
            source
        }
        other => panic!("not a config error: {other}"),
    }
}

fn out_of_range_field(err: &ModelDirError) -> String {
    match problem(err) {
        ConfigError::OutOfRange { field, .. } => field.clone(),
        other => panic!("not a range error: {other}"),
    }
}

#[test]
fn absurd_sizes_in_config_toml_are_errors_naming_the_field() {
    let base = Preset::Small.config(256, 256);
    base.validate().unwrap();
    let edit = |f: &dyn Fn(&mut ModelConfig)| {
        let mut c = base.clone();
        f(&mut c);
        c
    };
    let cases: [(&str, ModelConfig); 9] = [
        (
            "generator.n_downsampling",
            edit(&|c| c.generator.n_downsampling = 32),
        ),
        (
            "generator.n_downsampling",
            edit(&|c| c.generator.n_downsampling = -1),
        ),
        ("generator.ngf", edit(&|c| c.generator.ngf = 1_000_000)),
        (
            "generator.n_local_enhancers",
            edit(&|c| c.generator.n_local_enhancers = 100),
        ),
        (
            "width",
            edit(&|c| {
                c.width = 100_000;
                c.height = 100_000;
            }),
        ),
        ("face.n_downsampling", edit(&|c| c.face.n_downsampling = 40)),
        ("discriminator.num_D", edit(&|c| c.discriminator.num_d = 0)),
        ("training.lr", edit(&|c| c.training.lr = f64::NAN)),
        (
            "training.vgg_weight",
            edit(&|c| c.training.vgg_weight = -1.0),
        ),
    ];
    for (field, config) in cases {
        let err = read_edited(&config);
        assert_eq!(out_of_range_field(&err), field);
        let message = problem(&err).to_string();
        assert!(message.contains("must be"), "{message}");
    }
    let err = read_edited(&edit(&|c| c.training.stages[1].steps = 0));
    assert!(out_of_range_field(&err).contains("local"));
    let err = read_edited(&edit(&|c| c.training.stages[0].steps = 2_000_000_000));
    assert!(out_of_range_field(&err).contains("global"));
}

#[test]
fn sizes_in_range_that_do_not_divide_or_fit_in_memory_are_errors() {
    let mut config = Preset::Small.config(256, 256);
    config.width = 250;
    assert!(matches!(
        problem(&read_edited(&config)),
        ConfigError::NotDivisible { factor: 16, .. }
    ));

    // Every count in range, together far too large: 1024 << 8 channels in 64 blocks.
    let mut config = Preset::Paper.config(256, 256);
    config.generator.ngf = 1024;
    config.generator.n_downsampling = 8;
    config.generator.n_blocks = 64;
    config.width = 4096;
    config.height = 4096;
    let err = read_edited(&config);
    assert!(
        matches!(
            problem(&err),
            ConfigError::TooLarge {
                stage: Stage::Global,
                ..
            }
        ),
        "{err}"
    );
    // The paper's own sizes pass.
    Preset::Paper.config(1024, 512).validate().unwrap();
}

/// The weight count that bounds memory is the count the networks really have.
#[test]
fn generator_weights_counts_what_the_generator_builds() {
    let mut small = Preset::Small.config(64, 64);
    small.generator.n_local_enhancers = 2;
    for config in [Preset::Tiny.config(64, 64), small] {
        for stage in config.training.stages.iter().map(|s| s.stage) {
            let built: i64 = Generator::new(&config, stage, Device::Cpu)
                .vs
                .trainable_variables()
                .iter()
                .map(|t| t.numel() as i64)
                .sum();
            assert_eq!(
                generator_weights(&config.stage_generator(stage)),
                built as u64,
                "{} preset, {stage} stage",
                config.preset
            );
        }
    }
}

/// A stage given other steps keeps its schedule's shape: the switch to pairs of frames and
/// to the adversarial terms at the same fraction, "never" still never, and the result valid.
#[test]
fn a_stage_given_other_steps_keeps_its_switch_points_in_proportion() {
    let stage = StageConfig {
        temporal_from: 250,
        adversarial_from: 300,
        ..StageConfig::new(Stage::Global, 300)
    };
    let longer = stage.with_steps(600);
    assert_eq!(
        (longer.steps, longer.temporal_from, longer.adversarial_from),
        (600, 500, 600)
    );
    let shorter = StageConfig {
        temporal_from: 100,
        adversarial_from: 150,
        ..stage
    }
    .with_steps(3);
    assert_eq!(
        (
            shorter.steps,
            shorter.temporal_from,
            shorter.adversarial_from
        ),
        (3, 1, 2)
    );
    let mut config = Preset::Quick.config(64, 64);
    for s in &mut config.training.stages {
        *s = s.with_steps(7);
    }
    config.validate().unwrap();
}
