"""Translate what per-field validators can express of povcheck's default schema.

Usage: schemas.py DEFAULT_TOML CSV TABLE_SCHEMA_OUT JSON_SCHEMA_OUT

Writes a Frictionless Table Schema and a JSON Schema (for qsv validate) for the CSV's header:
types (integer, number, date), required, enum (code lists), min/max, and patterns for the ID
number and phone. Everything else in povcheck (check digits, cross-field and household logic)
has no equivalent and is left out.
"""

import csv
import json
import re
import sys
import tomllib

ID_PATTERN = r"^[0-9]{17}[0-9X]$"
PHONE_PATTERN = r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$"


def main():
    toml_path, csv_path, ts_out, js_out = sys.argv[1:5]
    with open(toml_path, "rb") as f:
        fields = tomllib.load(f)["field"]
    by_name = {}
    for fd in fields:
        for n in [fd["name"], *fd.get("aliases", [])]:
            by_name.setdefault(n, fd)
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f))

    ts_fields, props, required = [], {}, []
    for h in header:
        fd = by_name.get(h) or by_name.get(re.sub(r"[（(][^）)]*[）)]$", "", h))
        t = fd["type"] if fd else "text"
        ts = {"name": h, "type": "string"}
        js = {"type": "string"}
        cons = {}
        if t == "integer":
            ts["type"], js["type"] = "integer", "integer"
        elif t == "decimal":
            ts["type"], js["type"] = "number", "number"
        elif t == "date":
            ts["type"] = "date"
            js["format"] = "date"
        elif t == "code":
            cons["enum"] = fd["codes"]
            js["enum"] = fd["codes"]
        elif t == "digits":
            cons["pattern"] = "^[0-9]+$"
            js["pattern"] = "^[0-9]+$"
        elif t == "id_number":
            cons["pattern"] = ID_PATTERN
            js["pattern"] = ID_PATTERN
        elif t == "phone":
            cons["pattern"] = PHONE_PATTERN
            js["pattern"] = PHONE_PATTERN
        if fd and "min" in fd:
            cons["minimum"] = fd["min"]
            js["minimum"] = fd["min"]
        if fd and "max" in fd:
            cons["maximum"] = fd["max"]
            js["maximum"] = fd["max"]
        if fd and fd.get("required"):
            cons["required"] = True
            required.append(h)
            if js["type"] == "string" and "enum" not in js:
                js["minLength"] = 1
        elif "enum" in js:
            # An optional code may be blank; qsv validate reads a blank cell as null.
            js["enum"] = [*js["enum"], "", None]
        if cons:
            ts["constraints"] = cons
        if not (fd and fd.get("required")):
            js["type"] = [js["type"], "null"]
        ts_fields.append(ts)
        props[h] = js

    with open(ts_out, "w", encoding="utf-8") as f:
        json.dump({"fields": ts_fields, "missingValues": [""]}, f, ensure_ascii=False)
    with open(js_out, "w", encoding="utf-8") as f:
        json.dump(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": props,
                "required": required,
            },
            f,
            ensure_ascii=False,
        )


if __name__ == "__main__":
    main()
