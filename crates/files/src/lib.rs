//! Outputs that replace earlier ones only when complete (docs/architecture.md,
//! "Nothing lost"): a file is written beside its place and renamed over it; a folder is built
//! beside its place ([`StagedDir`]) and exchanged with the earlier one in one step. A job
//! that fails or is interrupted leaves the earlier output as it was.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What went wrong putting an output in place, and where.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// A folder in the way that dancenow did not write; nothing in it was touched.
    #[error("{}: the folder holds files dancenow did not write; it was left as it is", path.display())]
    Foreign { path: PathBuf },
    #[error("{}: an output needs a name of its own, not a root or `..`", path.display())]
    NoName { path: PathBuf },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StageError {
    let path = path.to_path_buf();
    move |source| StageError::Io { path, source }
}

/// `PATH.partial`: where a file is written before it is renamed to `path`.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    PathBuf::from(partial)
}

/// Writes `bytes` to `PATH.partial`, every write checked, and renames it to `path`; on
/// failure the partial file is removed and `path` keeps what it held.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let partial = partial_path(path);
    let written = std::fs::File::create(&partial).and_then(|mut file| {
        file.write_all(bytes)?;
        file.flush()
    });
    let renamed = written.and_then(|()| std::fs::rename(&partial, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    renamed
}

/// `dir` is missing, an empty folder, or a folder holding the file `mark`.
pub fn is_missing_empty_or_marked(dir: &Path, mark: &str) -> io::Result<bool> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
        Ok(meta) if !meta.is_dir() => Ok(false),
        Ok(_) => Ok(std::fs::read_dir(dir)?.next().is_none() || dir.join(mark).is_file()),
    }
}

/// Removes `dir` and what it holds; a missing `dir` is no error.
pub fn remove_dir_if_present(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `PATH.SUFFIX` beside `path` (not inside it, even when `path` ends in a slash).
pub fn sibling(path: &Path, suffix: &str) -> Result<PathBuf, StageError> {
    let absolute = std::path::absolute(path).map_err(io_error(path))?;
    let name = absolute.file_name().ok_or_else(|| StageError::NoName {
        path: path.to_path_buf(),
    })?;
    let mut name = name.to_os_string();
    name.push(suffix);
    Ok(absolute.with_file_name(name))
}

/// Marks a staging folder as dancenow's while it fills, so a later run may remove it.
const UNFINISHED_MARK: &str = ".dancenow-unfinished";

/// What a kind of output folder is to dancenow.
#[derive(Debug, Clone, Copy)]
pub struct FolderKind {
    /// Whether a folder in the output's place may be replaced: it is missing, empty, or
    /// dancenow wrote it. Asked again just before the exchange, since the folder may have
    /// changed while the job ran.
    pub replaceable: fn(&Path) -> io::Result<bool>,
    /// Whether an entry of such a folder is one dancenow writes there. Others (a user's
    /// notes) are carried into the new folder, so that replacing it deletes only what
    /// dancenow made.
    pub written_here: fn(&std::ffi::OsStr) -> bool,
}

/// A folder built in `TARGET.partial` beside `TARGET`, which takes `TARGET`'s place in
/// [`commit`](Self::commit). Until then an earlier output in `TARGET` stays as it was;
/// dropped uncommitted (an error, Ctrl-C), the staging folder is removed.
#[derive(Debug)]
pub struct StagedDir {
    target: PathBuf,
    staging: PathBuf,
    kind: FolderKind,
    committed: bool,
}

impl StagedDir {
    /// Refuses a `target` that `replaceable` rejects, then starts an empty staging folder
    /// beside it (an unfinished one of an earlier run is removed; a folder of that name
    /// that dancenow did not start is refused).
    pub fn create(target: &Path, kind: FolderKind) -> Result<Self, StageError> {
        check(target, kind)?;
        let staging = sibling(target, ".partial")?;
        if !is_missing_empty_or_marked(&staging, UNFINISHED_MARK).map_err(io_error(&staging))? {
            return Err(StageError::Foreign { path: staging });
        }
        remove_dir_if_present(&staging).map_err(io_error(&staging))?;
        std::fs::create_dir_all(&staging).map_err(io_error(&staging))?;
        let staged = Self {
            target: target.to_path_buf(),
            staging,
            kind,
            committed: false,
        };
        let mark = staged.staging.join(UNFINISHED_MARK);
        std::fs::write(&mark, b"").map_err(io_error(&mark))?;
        Ok(staged)
    }

    /// Where the output is built.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Where the output goes.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Puts the finished folder in `target`'s place; an earlier output there is removed
    /// after the exchange (what dancenow did not write in it lives on in the new one), or,
    /// where the exchange fails, stays as it was.
    pub fn commit(mut self) -> Result<(), StageError> {
        let mark = self.staging.join(UNFINISHED_MARK);
        std::fs::remove_file(&mark).map_err(io_error(&mark))?;
        check(&self.target, self.kind)?;
        if self.target.is_dir() {
            self.carry_foreign_entries()?;
        }
        if !self.target.exists() {
            std::fs::rename(&self.staging, &self.target).map_err(io_error(&self.target))?;
            self.committed = true;
            return Ok(());
        }
        // One atomic exchange where the file system has it: no moment, not even a crash,
        // leaves `target` without a whole output. The earlier one is then at `staging`.
        match exchange(&self.staging, &self.target) {
            Ok(()) => {
                self.committed = true;
                return remove_dir_if_present(&self.staging).map_err(io_error(&self.staging));
            }
            Err(e) if !matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL)) => {
                return Err(io_error(&self.target)(e));
            }
            Err(_) => {}
        }
        let old = sibling(&self.target, ".old")?;
        check(&old, self.kind)?;
        remove_dir_if_present(&old).map_err(io_error(&old))?;
        std::fs::rename(&self.target, &old).map_err(io_error(&self.target))?;
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            let _ = std::fs::rename(&old, &self.target);
            return Err(io_error(&self.target)(e));
        }
        self.committed = true;
        remove_dir_if_present(&old).map_err(io_error(&old))
    }

    /// Links (or, where links are not possible, copies) into the staging folder every
    /// entry of the earlier output that dancenow did not write and the new one lacks. The
    /// earlier folder keeps its own, so a crash at any point loses nothing.
    fn carry_foreign_entries(&self) -> Result<(), StageError> {
        for entry in std::fs::read_dir(&self.target).map_err(io_error(&self.target))? {
            let entry = entry.map_err(io_error(&self.target))?;
            let name = entry.file_name();
            let to = self.staging.join(&name);
            if (self.kind.written_here)(&name) || to.exists() {
                continue;
            }
            link_or_copy(&entry.path(), &to)?;
        }
        Ok(())
    }
}

/// A hard link of `from` at `to` (a folder: a new folder of links), or a copy where the
/// file system has no links.
fn link_or_copy(from: &Path, to: &Path) -> Result<(), StageError> {
    let meta = std::fs::symlink_metadata(from).map_err(io_error(from))?;
    if meta.is_dir() {
        std::fs::create_dir(to).map_err(io_error(to))?;
        for entry in std::fs::read_dir(from).map_err(io_error(from))? {
            let entry = entry.map_err(io_error(from))?;
            link_or_copy(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    if meta.file_type().is_symlink() {
        let points_to = std::fs::read_link(from).map_err(io_error(from))?;
        return std::os::unix::fs::symlink(points_to, to).map_err(io_error(to));
    }
    std::fs::hard_link(from, to)
        .or_else(|_| std::fs::copy(from, to).map(|_| ()))
        .map_err(io_error(to))
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

fn check(dir: &Path, kind: FolderKind) -> Result<(), StageError> {
    if (kind.replaceable)(dir).map_err(io_error(dir))? {
        Ok(())
    } else {
        Err(StageError::Foreign {
            path: dir.to_path_buf(),
        })
    }
}

/// Swaps two paths in one step (Linux's `renameat2` with `RENAME_EXCHANGE`); ENOSYS or
/// EINVAL where the kernel or file system cannot.
#[cfg(target_os = "linux")]
pub fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are NUL-terminated paths that live across the call.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
pub fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: FolderKind = FolderKind {
        replaceable: |dir| is_missing_empty_or_marked(dir, "ours.json"),
        written_here: |name| name == "ours.json" || name == "only-first",
    };

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn a_committed_folder_replaces_the_earlier_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        for run in ["first", "second"] {
            let staged = StagedDir::create(&target, OURS).unwrap();
            std::fs::write(staged.path().join("ours.json"), run).unwrap();
            if run == "first" {
                std::fs::write(staged.path().join("only-first"), "").unwrap();
            }
            staged.commit().unwrap();
        }
        assert_eq!(read(&target.join("ours.json")), "second");
        assert!(!target.join("only-first").exists());
        assert!(!target.join(UNFINISHED_MARK).exists());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the output is left: {left:?}");
    }

    #[test]
    fn an_uncommitted_folder_leaves_the_earlier_output_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("ours.json"), "old").unwrap();
        let staged = StagedDir::create(&target, OURS).unwrap();
        std::fs::write(staged.path().join("ours.json"), "half").unwrap();
        let staging = staged.path().to_path_buf();
        drop(staged);
        assert_eq!(read(&target.join("ours.json")), "old");
        assert!(!staging.exists());
    }

    #[test]
    fn a_foreign_folder_is_refused_before_and_at_the_exchange() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("photos");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("holiday.jpg"), "mine").unwrap();
        let err = StagedDir::create(&target, OURS).unwrap_err();
        assert!(matches!(err, StageError::Foreign { .. }), "{err}");

        // A folder that became someone else's while the job ran is not replaced either.
        let late = dir.path().join("late");
        let staged = StagedDir::create(&late, OURS).unwrap();
        std::fs::create_dir(&late).unwrap();
        std::fs::write(late.join("notes.txt"), "mine").unwrap();
        assert!(matches!(staged.commit(), Err(StageError::Foreign { .. })));
        assert_eq!(read(&late.join("notes.txt")), "mine");
    }

    #[test]
    fn what_dancenow_did_not_write_lives_on_in_the_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let first = StagedDir::create(&target, OURS).unwrap();
        std::fs::write(first.path().join("ours.json"), "first").unwrap();
        first.commit().unwrap();
        std::fs::write(target.join("notes.txt"), "mine").unwrap();
        std::fs::create_dir(target.join("sketches")).unwrap();
        std::fs::write(target.join("sketches/a.txt"), "a").unwrap();

        let second = StagedDir::create(&target, OURS).unwrap();
        std::fs::write(second.path().join("ours.json"), "second").unwrap();
        second.commit().unwrap();
        assert_eq!(read(&target.join("ours.json")), "second");
        assert_eq!(read(&target.join("notes.txt")), "mine");
        assert_eq!(read(&target.join("sketches/a.txt")), "a");
    }

    #[test]
    fn a_stale_staging_folder_is_removed_only_when_ours() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let stale = StagedDir::create(&target, OURS).unwrap();
        std::fs::write(stale.path().join("frame"), "").unwrap();
        std::mem::forget(stale); // as a crash leaves it
        StagedDir::create(&target, OURS).unwrap().commit().unwrap();
        assert!(!dir.path().join("out.partial").exists());

        let foreign = dir.path().join("x.partial");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("mine"), "").unwrap();
        let err = StagedDir::create(&dir.path().join("x"), OURS).unwrap_err();
        assert!(matches!(err, StageError::Foreign { .. }), "{err}");
        assert!(foreign.join("mine").exists());
    }

    #[test]
    fn a_failed_file_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomically(&path, b"old").unwrap();
        // A folder in the partial file's place makes the write fail.
        std::fs::create_dir(partial_path(&path)).unwrap();
        assert!(write_atomically(&path, b"new").is_err());
        assert_eq!(read(&path), "old");
    }
}
