//! Signals as `kill`, systemd, Slurm and Kubernetes send them (issue 18): SIGTERM saves
//! training as Ctrl-C does and says so in the exit status; a job writing a video stops,
//! leaving neither its ffmpeg nor a `.partial`; and even `kill -9` takes ffmpeg with it.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::{s, short_clip, succeed};
use dancenow_pose::openpose;
use dancenow_pose::{body, Frame, Keypoint, Person, PoseSequence};

/// 128 + SIGINT, dancenow's status for any stopping signal.
const EXIT_INTERRUPTED: i32 = 130;

fn start(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dancenow"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting dancenow")
}

/// The child's stderr, line by line, on a thread of its own.
fn stderr_lines(child: &mut Child) -> Receiver<String> {
    let stderr = child.stderr.take().unwrap();
    let (lines, receiver) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} failed");
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("dancenow did not end within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Processes whose command line mentions `dir` (an ffmpeg left writing or reading there).
fn processes_using(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            entry.file_name().to_str()?.parse::<u32>().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains(&needle).then_some(cmdline)
        })
        .collect()
}

fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.ends_with(".partial").then_some(name)
        })
        .collect()
}

/// `frames` frames of a standing person in a 1280x720 video: enough drawing and encoding
/// that a signal arrives while ffmpeg is at work.
fn long_poses(dir: &Path, frames: usize) {
    let mut person = Person::default();
    for (i, x, y) in [
        (body::NOSE, 640.0, 150.0),
        (body::NECK, 640.0, 220.0),
        (body::MID_HIP, 640.0, 420.0),
        (body::R_ANKLE, 610.0, 650.0),
        (body::L_ANKLE, 670.0, 650.0),
    ] {
        person.body[i] = Keypoint::new(x, y, 0.9);
    }
    let sequence = PoseSequence {
        fps: 30.0,
        width: 1280,
        height: 720,
        frames: vec![
            Frame {
                people: vec![person]
            };
            frames
        ],
    };
    openpose::write_sequence(dir, "long", &sequence).unwrap();
}

/// Starts `render` of a long sequence and waits until ffmpeg is writing the video.
fn render_under_way(tmp: &Path) -> (Child, Receiver<String>) {
    let poses = tmp.join("long.poses");
    long_poses(&poses, 3000);
    let out = tmp.join("out.mp4");
    let mut child = start(&["render", s(&poses), "-o", s(&out)]);
    let lines = stderr_lines(&mut child);
    let partial = tmp.join("out.mp4.partial");
    wait_for("the video to be started", Duration::from_secs(60), || {
        partial.exists()
    });
    // A few frames into the encoder.
    std::thread::sleep(Duration::from_millis(300));
    (child, lines)
}

#[test]
fn sigterm_stops_render_with_no_ffmpeg_and_no_partial_left() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, lines) = render_under_way(tmp.path());
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(20));
    let stderr: Vec<String> = lines.try_iter().collect();
    assert_eq!(status.code(), Some(EXIT_INTERRUPTED), "{stderr:#?}");
    assert!(
        stderr.iter().any(|l| l.contains("interrupted")),
        "{stderr:#?}"
    );
    assert_eq!(partials(tmp.path()), Vec::<String>::new());
    assert!(!tmp.path().join("out.mp4").exists(), "a cut video was kept");
    assert_eq!(processes_using(tmp.path()), Vec::<String>::new());
}

/// An ffmpeg stand-in that creates its output, records its process id and then sleeps
/// without reading its input, as an ffmpeg busy with huge frames would for minutes.
const SLEEPING_FFMPEG: &str = "#!/bin/sh\nfor last; do :; done\n: >\"${last#file:}\"\n\
                               echo $$ >\"$FFMPEG_PID_FILE\"\nexec sleep 600\n";

/// Whether process `pid` still runs (a zombie waiting for a reaper has ended).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|s| !s.starts_with('Z'))
    })
}

/// `kill -9` runs no code of dancenow's; the kernel ends its ffmpeg all the same.
#[test]
fn sigkill_takes_ffmpeg_with_it() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let tools = tmp.path().join("bin");
    std::fs::create_dir(&tools).unwrap();
    std::fs::write(tools.join("ffmpeg"), SLEEPING_FFMPEG).unwrap();
    std::fs::set_permissions(tools.join("ffmpeg"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let search = std::env::join_paths(std::iter::once(tools.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let pid_file = tmp.path().join("ffmpeg.pid");

    let poses = tmp.path().join("poses");
    long_poses(&poses, 10);
    let mut child = Command::new(env!("CARGO_BIN_EXE_dancenow"))
        .args(["render", s(&poses), "-o", s(&tmp.path().join("out.mp4"))])
        .env("PATH", search)
        .env("FFMPEG_PID_FILE", &pid_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = || {
        std::fs::read_to_string(&pid_file)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    wait_for("ffmpeg to start", Duration::from_secs(30), || {
        !pid().is_empty()
    });
    let ffmpeg = Survivor(pid());
    assert!(running(&ffmpeg.0));
    signal(&child, "KILL");
    wait_exit(&mut child, Duration::from_secs(5));
    wait_for("ffmpeg to end", Duration::from_secs(5), || {
        !running(&ffmpeg.0)
    });
}

/// A stand-in that outlived dancenow (a failing test) is ended by the test itself.
struct Survivor(String);

impl Drop for Survivor {
    fn drop(&mut self) {
        if running(&self.0) {
            let _ = Command::new("kill").args(["-KILL", &self.0]).status();
        }
    }
}

/// SIGTERM during training saves a checkpoint and exits 130; `--resume` continues from
/// that checkpoint. SIGTERM during transfer leaves no video, partial or ffmpeg.
#[test]
fn sigterm_saves_training_and_stops_transfer_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name);
    let (clip, data, model) = (p("clip.mp4"), p("me.data"), p("me.model"));
    short_clip(&clip, 16);
    succeed(&common::prepare_64(&clip, &data, &[]));

    let mut child = start(&common::tiny_training(&data, &model, "100000", &[]));
    let lines = stderr_lines(&mut child);
    let mut seen = Vec::new();
    wait_for("training to start", Duration::from_secs(120), || {
        seen.extend(lines.try_iter());
        seen.iter().any(|l| l.contains("global stage: started"))
    });
    std::thread::sleep(Duration::from_secs(2));
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(60));
    seen.extend(lines.iter());
    assert_eq!(status.code(), Some(EXIT_INTERRUPTED), "{seen:#?}");

    let global = dancenow_gan::ModelDir::new(&model).checkpoint_path(dancenow_gan::Stage::Global);
    let step = |path: &Path| {
        dancenow_gan::checkpoint::Checkpoint::read(path, dancenow_nn::tch::Device::Cpu)
            .unwrap()
            .step()
            .unwrap()
    };
    let stopped_at = step(&global);
    assert!(stopped_at >= 1, "no step before the signal: {seen:#?}");
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("stopped in the global stage at step {stopped_at}"))),
        "{seen:#?}"
    );

    // Two more global steps and one face step: the run picks up at the checkpoint.
    let steps = format!("global={},face=1", stopped_at + 2);
    let out = common::dancenow(&[
        "train",
        s(&data),
        "-o",
        s(&model),
        "--resume",
        "--steps",
        &steps,
        "--device",
        "cpu",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resuming"), "{stderr}");
    assert_eq!(step(&global), stopped_at + 2);
    let losses = dancenow_gan::ModelDir::new(&model).read_losses().unwrap();
    let global_steps: Vec<u64> = losses
        .iter()
        .filter(|r| r.stage == dancenow_gan::Stage::Global)
        .map(|r| r.step)
        .collect();
    assert_eq!(
        global_steps,
        (1..=stopped_at + 2).collect::<Vec<_>>(),
        "each global step once, the last two after the resume"
    );

    // Transfer: stopped while writing its video.
    let long_clip = p("long.mp4");
    short_clip(&long_clip, 100);
    let video = p("out.mp4");
    let mut child = start(&[
        "transfer",
        s(&long_clip),
        "--model",
        s(&model),
        "-o",
        s(&video),
        "--side-by-side",
        "--device",
        "cpu",
    ]);
    let lines = stderr_lines(&mut child);
    let partial = p("out.mp4.partial");
    wait_for(
        "transfer to start writing",
        Duration::from_secs(120),
        || partial.exists(),
    );
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(30));
    let stderr: Vec<String> = lines.iter().collect();
    assert_eq!(status.code(), Some(EXIT_INTERRUPTED), "{stderr:#?}");
    assert!(!video.exists() && !partial.exists(), "{stderr:#?}");
    assert_eq!(processes_using(tmp.path()), Vec::<String>::new());
}
