//! Built-in field types written in Rust: checks SQL cannot say well (ID checksum, code lists
//! with "did you mean", digits lost to Excel). Pure functions over one value.
