//! Running ffmpeg and ffprobe: stdout (and stdin) piped, stderr drained on its own thread
//! so a chatty child never blocks on a full pipe, and its last words kept for errors.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::process::{CommandExt as _, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

use crate::error::{MediaError, Result};

/// How much of a child's stderr an error message quotes.
const STDERR_TAIL: usize = 2000;

pub(crate) struct Process {
    child: Child,
    stderr: Option<JoinHandle<String>>,
}

impl Process {
    pub(crate) fn spawn<S: AsRef<OsStr>>(
        program: &'static str,
        args: impl IntoIterator<Item = S>,
        stdin: bool,
    ) -> Result<Self> {
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child =
            spawn_bound(command).map_err(|source| MediaError::ToolMissing { program, source })?;
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                text.push_str(&String::from_utf8_lossy(&bytes));
                tail(&text)
            })
        });
        Ok(Self { child, stderr })
    }

    pub(crate) fn stdin(&mut self) -> Option<&mut ChildStdin> {
        self.child.stdin.as_mut()
    }

    pub(crate) fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    pub(crate) fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Waits for the child to exit; returns its status and the tail of its stderr.
    pub(crate) fn finish(mut self) -> (ExitStatus, String) {
        drop(self.child.stdin.take());
        let status = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        match status {
            Ok(status) => (status, stderr),
            // Not knowing how the child ended must not read as success.
            Err(e) => (
                ExitStatus::from_raw(1 << 8),
                format!("{stderr}\n(waiting for ffmpeg: {e})"),
            ),
        }
    }
}

impl Drop for Process {
    /// A reader dropped early stops ffmpeg rather than leaving it decoding into a full pipe.
    fn drop(&mut self) {
        if self.stderr.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a program to completion and returns its status, stdout and stderr tail.
pub(crate) fn output<S: AsRef<OsStr>>(
    program: &'static str,
    args: impl IntoIterator<Item = S>,
) -> Result<(ExitStatus, Vec<u8>, String)> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = spawn_bound(command)
        .and_then(Child::wait_with_output)
        .map_err(|source| MediaError::ToolMissing { program, source })?;
    Ok((
        out.status,
        out.stdout,
        tail(&String::from_utf8_lossy(&out.stderr)),
    ))
}

/// Starts a child bound to this process: in a process group of its own, so a Ctrl-C at
/// the terminal reaches only dancenow, which then stops its children in order (a writer's
/// half-made file removed) instead of ffmpeg dying under it; and, on Linux, killed by the
/// kernel when dancenow ends in any way (`kill -9`, the OOM killer), so no decoder or
/// encoder lives on holding gigabytes.
fn spawn_bound(mut command: Command) -> std::io::Result<Child> {
    command.process_group(0);
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: between fork and exec the hook makes only two system calls, which are
        // async-signal-safe, and touches no memory of the parent.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died before the signal was armed: nobody is left to read.
                if libc::getppid() as u32 != parent {
                    return Err(std::io::Error::other(
                        "dancenow ended while starting ffmpeg",
                    ));
                }
                Ok(())
            })
        };
        // The death signal follows the thread that forked, not the process: forking from
        // a thread that lives as long as the process keeps a child whose starter thread
        // ended (a reader thread, a scoped worker) from being killed early.
        lasting_thread::spawn(command)
    }
    #[cfg(not(target_os = "linux"))]
    command.spawn()
}

#[cfg(target_os = "linux")]
mod lasting_thread {
    use std::io;
    use std::process::{Child, Command};
    use std::sync::mpsc::{channel, Sender};
    use std::sync::OnceLock;

    type Request = (Command, Sender<io::Result<Child>>);

    static STARTER: OnceLock<Option<Sender<Request>>> = OnceLock::new();

    /// Spawns `command` from one thread kept for the life of the process.
    pub(super) fn spawn(command: Command) -> io::Result<Child> {
        let starter = STARTER.get_or_init(|| {
            let (requests, incoming) = channel::<Request>();
            std::thread::Builder::new()
                .name("dancenow-ffmpeg-starter".into())
                .spawn(move || {
                    for (mut command, reply) in incoming {
                        let _ = reply.send(command.spawn());
                    }
                })
                .ok()
                .map(|_| requests)
        });
        let Some(starter) = starter else {
            return Err(io::Error::other(
                "cannot start the thread that starts ffmpeg",
            ));
        };
        let (reply, answer) = channel();
        starter
            .send((command, reply))
            .map_err(|_| io::Error::other("the thread that starts ffmpeg ended"))?;
        answer
            .recv()
            .map_err(|_| io::Error::other("the thread that starts ffmpeg ended"))?
    }
}

/// A file name as ffmpeg and ffprobe must get it to read it as that file: through the
/// `file:` protocol and absolute, so that a name beginning with `-` is not an option and
/// one holding `:` (`a:b.mp4`, `file:x.mp4`, `http:x`) is not a protocol.
pub(crate) fn file_arg(path: &Path) -> OsString {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| Path::new(".").join(path));
    let mut arg = OsString::from("file:");
    arg.push(absolute.as_os_str());
    arg
}

fn tail(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().rev().nth(STDERR_TAIL) {
        Some((cut, _)) => format!("...{}", &text[cut..]),
        None => text.to_string(),
    }
}
