//! The kernels' threads: the calling thread plus helpers that spin for a while after
//! each job before they sleep. Kernels run back to back, tens of microseconds apart;
//! waking a sleeping thread costs about as much as a whole small kernel (more on a
//! virtual machine), which is why OpenMP spins too.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long an idle helper keeps checking for work before it sleeps: longer than the
/// gaps between one model's kernels, shorter than those between frames (measured in
/// docs/performance.md).
const SPIN: Duration = Duration::from_micros(500);

/// A job shared with the helpers: `f(part)` for parts 1..count (the caller runs 0).
type Job = *const (dyn Fn(usize) + Sync);

struct Helper {
    /// Bumped once per job given to this helper.
    epoch: AtomicUsize,
    /// Set by the helper when it has finished the job of the current epoch.
    done: AtomicBool,
    sleeping: AtomicBool,
    job: Mutex<Option<(SendJob, usize)>>,
    panicked: AtomicBool,
    thread: OnceLock<Thread>,
}

struct SendJob(Job);
// SAFETY: the job is `Sync`, and `Workers::run` keeps it alive until every helper has
// finished with it.
unsafe impl Send for SendJob {}

pub struct Workers {
    helpers: Vec<Arc<Helper>>,
    /// One caller at a time: jobs from two threads must not interleave.
    busy: Mutex<()>,
}

impl Workers {
    /// The caller plus `threads - 1` helpers.
    pub fn new(threads: usize) -> Self {
        let helpers = (1..threads.max(1))
            .map(|n| {
                let helper = Arc::new(Helper {
                    epoch: AtomicUsize::new(0),
                    done: AtomicBool::new(true),
                    sleeping: AtomicBool::new(false),
                    job: Mutex::new(None),
                    panicked: AtomicBool::new(false),
                    thread: OnceLock::new(),
                });
                let h = Arc::clone(&helper);
                let handle = thread::Builder::new()
                    .name(format!("dancenow-kernel-{n}"))
                    .spawn(move || serve(&h))
                    .expect("cannot start a kernel thread");
                let _ = helper.thread.set(handle.thread().clone());
                helper
            })
            .collect();
        Self {
            helpers,
            busy: Mutex::new(()),
        }
    }

    /// How many parts a job can run in at once.
    pub fn threads(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Runs `f(0)` .. `f(parts - 1)`, part 0 on this thread and the others on helpers,
    /// and returns when all are done. At most [`Self::threads`] parts.
    pub fn run(&self, parts: usize, f: &(dyn Fn(usize) + Sync)) {
        assert!(parts <= self.threads(), "more parts than kernel threads");
        if parts <= 1 || super::ALONE.with(|alone| alone.get()) {
            (0..parts).for_each(f);
            return;
        }
        let _one_caller = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY (lifetime erasure): every helper given this job is waited for below
        // before `f` goes out of scope, even if part 0 panics.
        let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(f) };
        let helpers = &self.helpers[..parts - 1];
        for (part, helper) in (1..).zip(helpers) {
            *helper.job.lock().unwrap_or_else(|e| e.into_inner()) = Some((SendJob(job), part));
            helper.done.store(false, Ordering::Release);
            helper.epoch.fetch_add(1, Ordering::SeqCst);
            if helper.sleeping.load(Ordering::SeqCst) {
                if let Some(t) = helper.thread.get() {
                    t.unpark();
                }
            }
        }
        let mine = panic::catch_unwind(AssertUnwindSafe(|| f(0)));
        for helper in helpers {
            let mut spins = 0u32;
            while !helper.done.load(Ordering::Acquire) {
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(4096) {
                    thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
        if let Err(payload) = mine {
            panic::resume_unwind(payload);
        }
        if helpers
            .iter()
            .any(|h| h.panicked.swap(false, Ordering::AcqRel))
        {
            panic!("a kernel thread panicked");
        }
    }
}

/// A helper's life: wait for the next epoch (spinning, then sleeping), run its part.
fn serve(helper: &Helper) {
    let mut seen = 0;
    loop {
        let start = Instant::now();
        let mut spins = 0u32;
        while helper.epoch.load(Ordering::Acquire) == seen {
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(1024) {
                std::hint::spin_loop();
                continue;
            }
            if start.elapsed() < SPIN {
                continue;
            }
            // Sequentially consistent with `run`'s bump-then-check, so that either this
            // check sees the new job or `run` sees the flag and unparks.
            helper.sleeping.store(true, Ordering::SeqCst);
            if helper.epoch.load(Ordering::SeqCst) == seen {
                thread::park();
            }
            helper.sleeping.store(false, Ordering::Release);
        }
        seen = helper.epoch.load(Ordering::Acquire);
        let job = helper.job.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((SendJob(job), part)) = job {
            // SAFETY: `Workers::run` keeps the job alive until `done` is set below.
            let f = unsafe { &*job };
            if panic::catch_unwind(AssertUnwindSafe(|| f(part))).is_err() {
                helper.panicked.store(true, Ordering::Release);
            }
        }
        helper.done.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_and_helpers_wake_after_sleeping() {
        let workers = Workers::new(3);
        for round in 0..200 {
            let hits: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
            workers.run(3, &|part| {
                hits[part].fetch_add(1, Ordering::Relaxed);
            });
            assert!(
                hits.iter().all(|h| h.load(Ordering::Relaxed) == 1),
                "round {round}"
            );
            if round % 50 == 0 {
                // Long enough for the helpers to go to sleep.
                thread::sleep(SPIN * 4);
            }
        }
    }

    #[test]
    fn single_threaded_kernels_run_every_part_on_the_calling_thread() {
        let workers = Workers::new(2);
        let me = thread::current().id();
        super::super::single_threaded(|| {
            workers.run(2, &|_| assert_eq!(thread::current().id(), me));
        });
        // Afterwards the helper takes its part again.
        let elsewhere = AtomicUsize::new(0);
        workers.run(2, &|_| {
            if thread::current().id() != me {
                elsewhere.fetch_add(1, Ordering::Relaxed);
            }
        });
        assert_eq!(elsewhere.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_panicking_part_panics_the_caller_and_the_workers_go_on() {
        let workers = Workers::new(2);
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            workers.run(2, &|part| assert!(part == 0, "part {part} fails"));
        }));
        assert!(result.is_err());
        let hits = AtomicUsize::new(0);
        workers.run(2, &|_| {
            hits.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(hits.load(Ordering::Relaxed), 2);
    }
}
