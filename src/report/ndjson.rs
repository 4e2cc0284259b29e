//! `--format ndjson`: the JSON contract (see [`super::json`]) one object per line, each tagged
//! with `"type"`: every `input`, every `finding`, every `unit`, then one `summary` line carrying
//! tool, schema, as_of, period, skipped_rules, exclusion_lists and summary. A consumer can act
//! on findings as lines arrive and knows the run is complete when the summary line comes.

use std::io::{self, Write};

use serde::Serialize;

use super::json::{Head, JsonFinding, JsonInput, JsonUnit};
use super::{Destination, Reporter, Run};

pub struct Ndjson;

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Line<'a> {
    Input(JsonInput<'a>),
    Finding(JsonFinding<'a>),
    Unit(JsonUnit<'a>),
    Summary(Head<'a>),
}

fn line(out: &mut dyn Write, l: &Line) -> io::Result<()> {
    serde_json::to_writer(&mut *out, l).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

impl Reporter for Ndjson {
    fn destination(&self) -> Destination {
        Destination::Json
    }

    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        for i in &run.inputs {
            line(out, &Line::Input(JsonInput::new(i, run.lang)))?;
        }
        for f in &run.findings {
            line(out, &Line::Finding(f.into()))?;
        }
        for u in &run.units {
            line(out, &Line::Unit(u.into()))?;
        }
        line(out, &Line::Summary(Head::of(run)))
    }
}
