//! Seeded synthetic exports (fictitious people only) for samples, tests and benchmarks.
