//! Per-stage timings for measuring the pipeline (docs/performance.md). Below every stage so any
//! of them can report, apart from the progress bar, which only the run's driver draws.

/// With `POVCHECK_TIMINGS` set, print how long a stage took (since `since`) and the resident
/// memory after it on stderr: the per-stage breakdown docs/performance.md is measured with.
/// Silent otherwise.
pub fn timing(stage: &str, since: std::time::Instant) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("POVCHECK_TIMINGS").is_some()) {
        // Linux only; elsewhere the memory column is left out.
        let rss = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map(|pages| format!(", RSS {} MB", (pages * 4096) >> 20))
            .unwrap_or_default();
        // The process's CPU time so far (user + system, all threads): where it grows less than
        // the wall time between two stages, a core sat idle.
        let cpu = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                let after = s.rsplit_once(')')?.1;
                let f: Vec<&str> = after.split_whitespace().collect();
                let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
                Some(format!(", CPU {:.2} s", ticks as f64 / 100.0))
            })
            .unwrap_or_default();
        eprintln!(
            "povcheck timing: {stage} {:.3} s{rss}{cpu}",
            since.elapsed().as_secs_f64()
        );
    }
}
