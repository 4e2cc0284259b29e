//! The `povcheck` binary: parse arguments, run, print diagnostics, exit with the status.

use clap::Parser;

fn main() {
    let cli = povcheck::cli::Cli::parse();
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
