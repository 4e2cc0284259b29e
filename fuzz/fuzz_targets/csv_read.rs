//! CSV/text input through the real reader: encoding detection (and each forced encoding),
//! delimiter sniffing, quotes, embedded newlines, ragged records, header search.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use povcheck::read::{Encoding, read_file};

fuzz_target!(|data: &[u8]| {
    let env = common::env();
    let path = common::scratch("input.csv", data);
    let auto = read_file(&path, "input.csv", &common::opts(), &env.matcher);
    common::check_invariants(&auto);
    // The --encoding override takes other decoding paths; one per input keeps the speed.
    let forced = [
        Encoding::Utf8,
        Encoding::Gbk,
        Encoding::Utf16Le,
        Encoding::Utf16Be,
    ][data.len() % 4];
    let opts = povcheck::read::ReadOptions {
        encoding: forced,
        ..common::opts()
    };
    common::check_invariants(&read_file(&path, "input.csv", &opts, &env.matcher));
});
