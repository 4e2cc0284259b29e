//! The progress bar on stderr (indicatif) over the steps of a run: reading each input, checking,
//! writing each annotated copy.
//!
//! It appears only when a run takes more than a moment (a quick check must not flash a bar), only
//! on a terminal (a piped or redirected stderr is for diagnostics a program reads), and never with
//! `--quiet`.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a run goes before the bar is shown.
pub const SHOW_AFTER: Duration = Duration::from_millis(500);

/// Whether a bar may be drawn at all: not with `--quiet`, not when stderr is not a terminal.
pub fn enabled(quiet: bool, stderr_is_terminal: bool) -> bool {
    !quiet && stderr_is_terminal
}

/// A progress bar that stays invisible until [`SHOW_AFTER`] has passed, and forever when
/// disabled. Cheap to update from the pipeline either way.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    /// Set when the run is over, so a late timer cannot draw a finished bar again.
    done: Arc<Mutex<bool>>,
}

impl Progress {
    /// A bar over `steps` steps for this process's stderr.
    pub fn new(steps: u64, quiet: bool) -> Self {
        Self::start(
            steps,
            enabled(quiet, std::io::stderr().is_terminal()),
            SHOW_AFTER,
        )
    }

    /// A bar that is drawn (to stderr) after `delay` when `enabled`.
    pub fn start(steps: u64, enabled: bool, delay: Duration) -> Self {
        let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::hidden());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
        {
            bar.set_style(style);
        }
        let done = Arc::new(Mutex::new(false));
        if enabled {
            let (bar, done) = (bar.clone(), Arc::clone(&done));
            // A timer thread, because a single slow file gives the pipeline no moment to look
            // at the clock. Detached: it ends with the process or after its one job.
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let Ok(finished) = done.lock() else { return };
                if !*finished {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
            });
        }
        Progress { bar, done }
    }

    /// A step begins: show what is being worked on.
    pub fn step(&self, what: &str) {
        self.bar.set_message(what.to_string());
    }

    /// Rows read from `what`, shown in the bar's message as they are read: one large file
    /// otherwise leaves the bar still for the whole read.
    pub fn rows(&self, what: &str, lang: crate::finding::Lang) -> crate::read::RowProgress {
        let bar = self.bar.clone();
        let what = what.to_string();
        let total = Arc::new(std::sync::atomic::AtomicU64::new(0));
        crate::read::RowProgress(Arc::new(move |more| {
            let n = total.fetch_add(more, std::sync::atomic::Ordering::Relaxed) + more;
            bar.set_message(match lang {
                crate::finding::Lang::Zh => format!("{what}：已读 {n} 行"),
                crate::finding::Lang::En => format!("{what}: {n} rows read"),
            });
        }))
    }

    /// A step is done.
    pub fn inc(&self) {
        self.bar.inc(1);
    }

    /// Whether the bar is currently drawn anywhere.
    pub fn is_visible(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// Remove the bar before the report and diagnostics are printed.
    pub fn finish(&self) {
        if let Ok(mut d) = self.done.lock() {
            *d = true;
        }
        self.bar.finish_and_clear();
        self.bar.set_draw_target(ProgressDrawTarget::hidden());
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_or_not_a_terminal_disables() {
        assert!(enabled(false, true));
        assert!(!enabled(true, true));
        assert!(!enabled(false, false));
        assert!(!enabled(true, false));
    }

    #[test]
    fn disabled_bar_stays_hidden() {
        let p = Progress::start(3, false, Duration::ZERO);
        std::thread::sleep(Duration::from_millis(50));
        p.step("a.xlsx");
        p.inc();
        assert!(!p.is_visible());
    }

    #[test]
    fn bar_is_hidden_before_the_delay() {
        let p = Progress::start(3, true, Duration::from_secs(3600));
        p.inc();
        assert!(!p.is_visible());
        p.finish();
        assert!(!p.is_visible());
    }
}
