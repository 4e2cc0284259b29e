//! The repeat-offence ledger: submission rounds per unit in a SQLite file.
