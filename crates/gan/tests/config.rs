//! Model configurations: a hand-edited `config.toml` with sizes out of range is an error
//! naming the file and the field, before any network is built (not a panic, an overflow
//! or an allocation that never ends), and the weight count that bounds memory is exact.

use dancenow_gan::config::generator_weights;
use dancenow_gan::generator::Generator;
use dancenow_gan::model_dir::ModelDirError;
use dancenow_gan::{ConfigError, ModelConfig, ModelDir, Preset, Stage};
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
