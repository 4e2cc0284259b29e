//! Workbook bytes (xlsx/xlsm/xlsb/ods zip, xls CFB) through the real reader: zip-bomb checks,
//! calamine, the sparse sheet, merged cells and header search.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use povcheck::read::read_file;

fuzz_target!(|data: &[u8]| {
    let env = common::env();
    // The reader decides by content; the extension only matters for text, where a workbook
    // extension is refused. Name CFB bytes .xls so the message paths match real use.
    let name = if data.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        "input.xls"
    } else if data.len() % 2 == 0 {
        "input.xlsx"
    } else {
        "input.ods"
    };
    let path = common::scratch(name, data);
    let r = read_file(&path, name, &common::opts(), &env.matcher);
    common::check_invariants(&r);
});
