//! povcheck: checks registered-poverty (建档立卡) record exports for missing items, wrong data and
//! broken logical relations (Article 27 item 6 of the district responsibility plan), per
//! responsible unit.
//!
//! Pipeline, one module per stage: `read` → `check` (types, computed columns, rules) →
//! `attribute` (per unit) → `ledger` (optional) → `report`. `cli` turns arguments into a run.

pub mod attribute;
pub mod check;
pub mod cli;
pub mod finding;
pub mod ledger;
pub mod progress;
pub mod read;
pub mod report;
pub mod sample;
pub mod schema;
pub mod types;
