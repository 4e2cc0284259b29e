//! The cross-shard pass: dataset rules run as SQL over the key tables that `check --keys-out`
//! writes, on polars locally or on an Apache DataFusion Ballista cluster.

#[cfg(feature = "distributed")]
pub mod distributed;
