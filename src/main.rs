//! The `povcheck` binary: parse arguments, run, print diagnostics, exit with the status.

use clap::Parser;

fn main() {
    // A double-click or a drop onto the Windows exe means the desk (see `desk_args`).
    let args = povcheck::cli::desk_args(std::env::args_os().collect(), cfg!(windows));
    let cli = povcheck::cli::Cli::parse_from(args);
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let outcome = povcheck::cli::run(cli, &mut lock);
    drop(lock);
    for d in outcome.diagnostics {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("{d:?}");
        }
    }
    std::process::exit(outcome.status.code());
}
