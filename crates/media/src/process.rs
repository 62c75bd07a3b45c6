//! Running ffmpeg and ffprobe: stdout (and stdin) piped, stderr drained on its own thread
//! so a chatty child never blocks on a full pipe, and its last words kept for errors.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
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
        let mut child = Command::new(program)
            .args(args)
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| MediaError::ToolMissing { program, source })?;
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
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| MediaError::ToolMissing { program, source })?;
    Ok((
        out.status,
        out.stdout,
        tail(&String::from_utf8_lossy(&out.stderr)),
    ))
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
