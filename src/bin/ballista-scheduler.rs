//! A Ballista scheduler for `povcheck dataset --engine df://HOST:PORT` (`--features distributed`).
//!
//! Ballista's own `ballista-scheduler` binary would be a second build of the whole DataFusion
//! stack with other features; this one links the library already built for povcheck, so it costs
//! a link, not a build. It keeps cluster state in memory, as the dataset pass needs nothing more.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use clap::Parser;

/// Ballista scheduler for povcheck's cross-shard pass (docs/scale.md).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (0.0.0.0 for executors on other machines).
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// Port to listen on; clients use df://HOST:PORT.
    #[arg(long, default_value_t = 50050)]
    bind_port: u16,
    /// Host name others reach this scheduler by.
    #[arg(long, default_value = "localhost")]
    external_host: String,
    /// Seconds without a heartbeat after which an executor is taken as lost and its tasks are
    /// run elsewhere. Must exceed the executors' --heartbeat-interval-seconds.
    #[arg(long, default_value_t = 60)]
    executor_timeout_seconds: u64,
    /// How often to look for lost executors, in seconds.
    #[arg(long, default_value_t = 15)]
    expire_dead_executor_interval_seconds: u64,
    /// Seconds to wait for an executor to come back once none is left, before failing the jobs.
    #[arg(long, default_value_t = 60)]
    no_executors_grace_period_seconds: u64,
}

fn main() {
    let args = Args::parse();
    let addr: SocketAddr = match format!("{}:{}", args.bind_host, args.bind_port).parse() {
        Ok(a) => a,
        Err(e) => fail(&format!("--bind-host/--bind-port: {e}")),
    };
    let config = SchedulerConfig {
        bind_host: args.bind_host,
        bind_port: args.bind_port,
        external_host: args.external_host,
        executor_timeout_seconds: args.executor_timeout_seconds,
        expire_dead_executor_interval_seconds: args.expire_dead_executor_interval_seconds,
        no_executors_grace_period_seconds: args.no_executors_grace_period_seconds,
        ..SchedulerConfig::default()
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // DataFusion plans recursively; Ballista's own binary asks for the same.
        .thread_stack_size(32 * 1024 * 1024)
        .build()
    {
        Ok(r) => r,
        Err(e) => fail(&e.to_string()),
    };
    let result = runtime.block_on(async {
        let cluster = BallistaCluster::new_from_config(&config).await?;
        eprintln!("ballista-scheduler listening on {addr}");
        start_server(cluster, addr, Arc::new(config)).await
    });
    if let Err(e) = result {
        fail(&e.to_string());
    }
}

fn fail(message: &str) -> ! {
    eprintln!("ballista-scheduler: {message}");
    std::process::exit(2);
}
