//! The ledger side of one `check` run.

use std::path::{Path, PathBuf};

use crate::attribute::UnitReport;
use crate::check::Population;
use crate::finding::{Finding, Lang};
use crate::schema::Schema;

use super::{Error, InputFile, Ledger, Period, Result, Round, parse_period, resolve_path};

/// The ledger side of one `check` run: opened and validated before any input is read.
#[derive(Debug)]
pub struct Session {
    pub ledger: Ledger,
    /// `--record PERIOD`; without it the ledger is only read.
    pub period: Option<Period>,
}

impl Session {
    /// `None` when neither `--record` nor `--ledger` is given: a clerk's pre-upload check
    /// neither reads nor writes a ledger. A bad period is refused before the file is opened.
    pub fn start(record: Option<&str>, ledger_flag: Option<&Path>) -> Result<Option<Session>> {
        if record.is_none() && ledger_flag.is_none() {
            return Ok(None);
        }
        let period = record.map(parse_period).transpose()?;
        Session::open(&resolve_path(ledger_flag), period).map(Some)
    }

    /// Open (or create) the ledger at `path` for a period already parsed: the first side effect
    /// of a run, once every argument has been validated.
    pub fn open(path: &Path, period: Option<Period>) -> Result<Session> {
        let ledger = Ledger::open(path)?;
        if let Some(p) = &period {
            ledger.check_period(p)?;
        }
        Ok(Session { ledger, period })
    }

    /// Record the run (with `--record`) and fill every unit's `repeat`. Returns the period
    /// label for the report. A run with unreadable inputs is not recorded: its counts would
    /// understate the round.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        schema: &Schema,
        files: &[PathBuf],
        tool_version: &str,
        inputs_failed: bool,
        findings: &[Finding],
        population: &[Population],
        units: &mut [UnitReport],
        lang: Lang,
    ) -> Result<Option<String>> {
        if let Some(period) = &self.period {
            if inputs_failed {
                return Err(Error::NotRecorded {
                    period: period.to_string(),
                });
            }
            let inputs = files
                .iter()
                .map(|f| InputFile::hash(f))
                .collect::<Result<Vec<_>>>()?;
            self.ledger.record(&Round {
                period,
                schema,
                tool_version,
                inputs: &inputs,
                findings,
                population,
            })?;
        }
        self.ledger.annotate(
            schema,
            self.period.as_ref(),
            findings,
            population,
            units,
            lang,
        )?;
        Ok(self.period.as_ref().map(ToString::to_string))
    }
}
