//! Finding the header row and mapping header cells to schema fields.

use std::collections::HashMap;

/// Normalise a header cell for matching: trim, drop inner white space and line breaks, fold
/// full-width ASCII (brackets, letters, digits) to half-width. Idempotent.
pub fn normalize_header(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// Maps normalised header text to canonical field names.
#[derive(Debug, Clone, Default)]
pub struct HeaderMatcher {
    names: HashMap<String, String>,
}

impl HeaderMatcher {
    /// Build from (canonical name, aliases) pairs.
    pub fn new<'a>(fields: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        let mut names = HashMap::new();
        for (name, aliases) in fields {
            names.insert(normalize_header(name), name.to_string());
            for a in aliases {
                names
                    .entry(normalize_header(a))
                    .or_insert_with(|| name.to_string());
            }
        }
        HeaderMatcher { names }
    }

    pub fn from_schema(schema: &crate::schema::Schema) -> Self {
        Self::new(
            schema
                .fields
                .iter()
                .map(|f| (f.name.as_str(), f.aliases.as_slice())),
        )
    }

    /// The canonical field a header cell names, if any.
    pub fn field(&self, header: &str) -> Option<&str> {
        self.names
            .get(&normalize_header(header))
            .map(String::as_str)
    }
}
