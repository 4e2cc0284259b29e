//! What the JSON `inputs` list says of each sheet or file: checked, skipped or unreadable, and why.

use super::Reason;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputStatus {
    Checked,
    Skipped,
    Unreadable,
}

/// One entry of the JSON `inputs` list: a sheet, or a whole file when it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct InputEntry {
    pub file: String,
    pub sheet: Option<String>,
    pub header_row: Option<u32>,
    pub rows: usize,
    pub skipped_rows: usize,
    pub status: InputStatus,
    /// Why the entry was not checked, or what a checked one lacks (an xlsb's merged cells);
    /// rendered in the run's language by the writers.
    pub reason: Option<Reason>,
    /// Non-blank header texts, as written, that matched no field: a column the schema does not
    /// know must be shown to the clerk, never dropped silently.
    pub unmapped_columns: Vec<String>,
}

impl InputEntry {
    /// The reason in `lang`, as the writers show it.
    pub fn reason_text(&self, lang: crate::finding::Lang) -> Option<String> {
        self.reason.as_ref().map(|r| r.text(lang))
    }
}
