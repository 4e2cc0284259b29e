//! povcheck: checks registered-poverty (建档立卡) record exports for missing items, wrong data and
//! broken logical relations (Article 27 item 6 of the district responsibility plan), per
//! responsible unit.
//!
//! Modules are declared in pipeline order, and each imports only modules declared above it
//! (tests/architecture.rs fails on an import pointing back up, and on any cycle). A run is
//! `read` → `check` (types, computed columns, rules) → `attribute` (per unit) → `ledger`
//! (optional) → `report`, driven by `pipeline` from a validated `config`; `cli` parses arguments
//! and renders the outcome.

// Shared vocabulary: findings and their severities, languages.
pub mod finding;

// The raw cell model readers produce and field types read.
pub mod cell;

// Per-stage timings (`POVCHECK_TIMINGS`).
pub mod timing;

// Single values: the built-in field types, their checks and registry.
pub mod types;

// Fields, units, rules, policy, and the computed columns rules may read.
pub mod schema;

// Stage 1: input files → tables of raw cells.
pub mod read;

// Stage 2: typed values, computed columns, rules → findings.
pub mod check;

// Stage 2b: the dataset rules (duplicates across files) as SQL over key rows and key tables, on
// polars or (feature `distributed`) Ballista.
pub mod dataset;

// Stage 3: findings per responsible unit.
pub mod attribute;

// Stage 4 (optional): the repeat-offence ledger.
pub mod ledger;

// Stage 5: reports in every format.
pub mod report;

// Synthetic exports for tests, docs and benchmarks.
pub mod sample;

// The progress bar the driver draws.
pub mod progress;

// Arguments and schema validated into a run's configuration, before any side effect.
pub mod config;

// The run itself, stage by stage.
pub mod pipeline;

// `povcheck fix`: corrected copies with only the fixes that have one right answer.
pub mod fix;
// The clerk's desk: a loopback web page over the same pipeline (`povcheck serve`).
pub mod serve;

// The command line: parsing, then config, pipeline and rendering.
pub mod cli;
