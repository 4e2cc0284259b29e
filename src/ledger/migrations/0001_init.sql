-- povcheck ledger, schema version 1.
-- A round is recorded per (period, township): townships are checked and recorded separately,
-- and a corrected resubmission replaces only its own townships' results.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per `record` call: what was run, on what, when. Kept when superseded (audit trail).
CREATE TABLE runs (
    id             INTEGER PRIMARY KEY,
    period         TEXT NOT NULL,
    recorded_at    TEXT NOT NULL,
    schema_name    TEXT NOT NULL,
    schema_version TEXT NOT NULL,
    tool_version   TEXT NOT NULL
);

CREATE TABLE run_inputs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    file   TEXT NOT NULL,
    sha256 TEXT NOT NULL
);

-- The current results of one township in one period.
CREATE TABLE submissions (
    id       INTEGER PRIMARY KEY,
    period   TEXT NOT NULL,
    township TEXT NOT NULL,
    run_id   INTEGER NOT NULL REFERENCES runs(id),
    UNIQUE (period, township)
);

-- `path` is the unit path as a JSON array of strings, e.g. ["湖光镇","某村"].
CREATE TABLE unit_results (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    level         TEXT NOT NULL,
    path          TEXT NOT NULL,
    rows          INTEGER NOT NULL,
    households    INTEGER NOT NULL,
    errors        INTEGER NOT NULL,
    warnings      INTEGER NOT NULL,
    PRIMARY KEY (submission_id, level, path)
);

CREATE TABLE unit_rules (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    level         TEXT NOT NULL,
    path          TEXT NOT NULL,
    rule          TEXT NOT NULL,
    errors        INTEGER NOT NULL,
    warnings      INTEGER NOT NULL,
    PRIMARY KEY (submission_id, level, path, rule)
);

-- Finding fingerprints: rule + household + salted SHA-256 of the person (never the ID itself).
CREATE TABLE fingerprints (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    level         TEXT NOT NULL,
    path          TEXT NOT NULL,
    rule          TEXT NOT NULL,
    household     TEXT NOT NULL,
    person        TEXT NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (submission_id, level, path, rule, household, person)
);

CREATE INDEX unit_results_unit ON unit_results (level, path);
CREATE INDEX runs_period ON runs (period);
