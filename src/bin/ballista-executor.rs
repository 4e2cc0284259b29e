//! A Ballista executor for `povcheck dataset --engine df://HOST:PORT` (`--features distributed`).
//!
//! Built from the executor library povcheck already links (see src/bin/ballista-scheduler.rs for
//! why not Ballista's own binary). Every executor must see the key tables at the same path as
//! the machine that runs `povcheck dataset`.

use std::sync::Arc;

use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use clap::Parser;

/// Ballista executor for povcheck's cross-shard pass (docs/scale.md).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (0.0.0.0 to serve other machines).
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// Host name the scheduler and clients reach this executor by (default: --bind-host).
    #[arg(long)]
    external_host: Option<String>,
    /// Arrow Flight port, from which results and shuffle data are fetched.
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// gRPC port the scheduler sends tasks to.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    #[arg(long, default_value = "localhost")]
    scheduler_host: String,
    #[arg(long, default_value_t = 50050)]
    scheduler_port: u16,
    /// Tasks run at once (default: the machine's cores).
    #[arg(long, default_value_t = 0)]
    vcores: usize,
    /// Directory for shuffle files (default: a temporary directory).
    #[arg(long)]
    work_dir: Option<String>,
    /// Seconds between heartbeats to the scheduler; below its --executor-timeout-seconds.
    #[arg(long, default_value_t = 15)]
    heartbeat_interval_seconds: u64,
}

fn main() {
    let args = Args::parse();
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        bind_host: args.bind_host,
        external_host: args.external_host,
        port: args.port,
        grpc_port: args.grpc_port,
        scheduler_host: args.scheduler_host,
        scheduler_port: args.scheduler_port,
        vcores: if args.vcores == 0 {
            defaults.vcores
        } else {
            args.vcores
        },
        work_dir: args.work_dir,
        executor_heartbeat_interval_seconds: args.heartbeat_interval_seconds,
        ..defaults
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()
    {
        Ok(r) => r,
        Err(e) => fail(&e.to_string()),
    };
    eprintln!(
        "ballista-executor on {}:{} (flight) / {} (grpc), scheduler {}:{}",
        config.bind_host,
        config.port,
        config.grpc_port,
        config.scheduler_host,
        config.scheduler_port
    );
    if let Err(e) = runtime.block_on(start_executor_process(Arc::new(config))) {
        fail(&e.to_string());
    }
}

fn fail(message: &str) -> ! {
    eprintln!("ballista-executor: {message}");
    std::process::exit(2);
}
