//! Schema TOML loading: any bytes give Ok or a typed error, never a panic. A schema that loads
//! must have every rule's SQL compile (the loader promises to check that up front).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `extends` paths resolve against the working directory; run from an empty one so a
    // generated path cannot name a large or special file of the checkout.
    static CWD: std::sync::Once = std::sync::Once::new();
    CWD.call_once(|| {
        let dir = std::env::temp_dir().join(format!("povcheck-fuzz-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::env::set_current_dir(&dir).expect("chdir");
    });
    match povcheck::schema::load_str("fuzz.toml", text) {
        Ok(schema) => {
            for rule in &schema.rules {
                for sql in [rule.when.as_deref(), rule.assert.as_deref()]
                    .into_iter()
                    .flatten()
                {
                    // The loader checks every rule's SQL, so what it accepted must compile.
                    let compiled = povcheck::check::engine::compile_sql(sql, &schema.policy.params);
                    assert!(
                        compiled.is_ok(),
                        "loaded rule {} does not compile: {compiled:?}",
                        rule.code
                    );
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.message();
        }
    }
});
