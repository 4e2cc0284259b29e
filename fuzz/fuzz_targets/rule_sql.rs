//! Rule SQL compilation (parameter substitution + polars' SQL front-end) on arbitrary strings
//! with the default schema's policy parameters: Ok or Err, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn params() -> &'static std::collections::BTreeMap<String, f64> {
    static P: OnceLock<std::collections::BTreeMap<String, f64>> = OnceLock::new();
    P.get_or_init(|| povcheck::schema::default_schema().policy.params)
}

fuzz_target!(|sql: &str| {
    if let Ok(expr) = povcheck::check::engine::compile_sql(sql, params()) {
        // The engine reads an expression's root names to check columns up front.
        let _ = povcheck::check::engine::root_names(&expr);
    }
});
