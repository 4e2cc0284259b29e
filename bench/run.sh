#!/usr/bin/env bash
# Benchmark povcheck against the bare cost of reading the same files (docs/performance.md).
#
# Usage: bench/run.sh [--rows "100000 1000000 2000000"] [--xlsx-rows 1000000] [--runs 3]
#                     [--dirty-rows 1000000] [--dirty-rate 0.45]
#                     [--compare] [--keep] [--no-build] [--data DIR] [--povcheck BIN]
# Data is generated under a temp dir (never in the repo) and removed unless --keep; --data DIR
# uses (and keeps) DIR instead and reuses files already there, for before/after comparisons;
# --povcheck BIN times another build (e.g. a copy of the binary before a change).
# The dirty file (--dirty-rows, 0 to skip) has the error density of a district's first
# submission (--dirty-rate 0.45: about one row in eight carries a finding); it is checked and
# read bare beside the clean file of the same size, and both ratios are printed side by side.
# Environment: CARGO_TARGET_DIR (as for cargo), NICE (default 10); with --compare also
# FRICTIONLESS_VENV and QSV_ROOT (reuse an install), QSV_VERSION (default 4.0.0),
# QSV_BUILD_TIMEOUT (seconds, default 1800).
set -euo pipefail

ROWS="100000 1000000 2000000"
XLSX_ROWS=1000000
DIRTY_ROWS=1000000
DIRTY_RATE=0.45
RUNS=3
COMPARE=0
KEEP=0
BUILD=1
DATA=""
BIN=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --xlsx-rows) XLSX_ROWS="$2"; shift 2 ;;
    --dirty-rows) DIRTY_ROWS="$2"; shift 2 ;;
    --dirty-rate) DIRTY_RATE="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --compare) COMPARE=1; shift ;;
    --keep) KEEP=1; shift ;;
    --no-build) BUILD=0; shift ;;
    --data) DATA="$2"; shift 2 ;;
    --povcheck) BIN="$2"; shift 2 ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
NICE="nice -n ${NICE:-10}"
POVCHECK="${BIN:-$TARGET/release/povcheck}"
BARE="$TARGET/release/examples/bench-read"

if [ ! -x /usr/bin/time ]; then
  echo "/usr/bin/time missing: apt-get install -y time" >&2
  exit 2
fi
if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && $NICE cargo build --release --bin povcheck --example bench-read)
fi

if [ -n "$DATA" ]; then
  mkdir -p "$DATA"
  TMP="$(cd "$DATA" && pwd)"
else
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/povcheck-bench.XXXXXX")"
  if [ "$KEEP" = 0 ]; then trap 'rm -rf "$TMP"' EXIT; else echo "data kept in $TMP"; fi
fi
RESULTS="$TMP/results.tsv"
: > "$RESULTS"

# measure LABEL FILE-FOR-SIZE CMD...: median wall seconds and median peak RSS (KB) of $RUNS runs.
measure() {
  local label="$1" file="$2"; shift 2
  local walls=() rsss=() i t
  for ((i = 0; i < RUNS; i++)); do
    t="$TMP/time.$i"
    # povcheck exits 1 when it finds errors: that is success here.
    $NICE /usr/bin/time -v -o "$t" "$@" > /dev/null 2> "$TMP/stderr" || {
      local rc=$?
      if [ "$rc" -gt 1 ]; then echo "$label failed ($rc):" >&2; cat "$TMP/stderr" "$t" >&2; exit 1; fi
    }
    walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (j = 1; j <= n; j++) s = s * 60 + p[j]; print s}' "$t")")
    rsss+=("$(awk -F': ' '/Maximum resident set size/ {print $2}' "$t")")
  done
  local wall rss size
  wall="$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
  rss="$(printf '%s\n' "${rsss[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
  size="$(stat -c %s "$file")"
  printf '%s\t%s\t%s\t%s\n' "$label" "$wall" "$rss" "$size" >> "$RESULTS"
  printf '%-34s wall %7.2f s   peak RSS %7.0f MB   RSS/file %5.2f\n' \
    "$label" "$wall" "$(echo "$rss / 1024" | bc -l)" "$(echo "$rss * 1024 / $size" | bc -l)"
}

# Value of column 2 (wall) or 3 (RSS) for a label.
get() { awk -F'\t' -v l="$1" -v c="$2" '$1 == l {print $c}' "$RESULTS"; }
ratio() {
  local a b
  a="$(get "$1" "${3:-2}")"; b="$(get "$2" "${3:-2}")"
  if [ -n "$a" ] && [ -n "$b" ]; then printf '%.2f' "$(echo "$a / $b" | bc -l)"; else printf 'n/a'; fi
}

ONE=(env RAYON_NUM_THREADS=1 POLARS_MAX_THREADS=1)
CHECK=(check --format json -o /dev/null)

echo "== generating data in $TMP"
for n in $ROWS; do
  [ -s "$TMP/s$n.csv" ] && [ -n "$DATA" ] && continue
  measure "sample csv $n" "$TMP/s$n.csv" "$POVCHECK" sample --rows "$n" -o "$TMP/s$n.csv"
done
DIRTY="$TMP/d$DIRTY_ROWS-$DIRTY_RATE.csv"
if [ "$DIRTY_ROWS" -gt 0 ] && ! { [ -s "$DIRTY" ] && [ -n "$DATA" ]; }; then
  measure "sample dirty csv $DIRTY_ROWS" "$DIRTY" "$POVCHECK" sample --rows "$DIRTY_ROWS" \
    --error-rate "$DIRTY_RATE" --seed 7 -o "$DIRTY"
fi
if [ "$XLSX_ROWS" -gt 0 ] && ! { [ -s "$TMP/s$XLSX_ROWS.xlsx" ] && [ -n "$DATA" ]; }; then
  measure "sample xlsx $XLSX_ROWS" "$TMP/s$XLSX_ROWS.xlsx" "$POVCHECK" sample --rows "$XLSX_ROWS" -o "$TMP/s$XLSX_ROWS.xlsx"
fi

echo "== reading and checking (median of $RUNS)"
for n in $ROWS; do
  f="$TMP/s$n.csv"
  measure "bare polars csv $n" "$f" "$BARE" csv "$f"
  measure "check csv $n" "$f" "$POVCHECK" "${CHECK[@]}" "$f"
  measure "check csv $n 1core" "$f" "${ONE[@]}" "$POVCHECK" "${CHECK[@]}" "$f"
done
if [ "$DIRTY_ROWS" -gt 0 ]; then
  measure "bare polars dirty csv $DIRTY_ROWS" "$DIRTY" "$BARE" csv "$DIRTY"
  measure "check dirty csv $DIRTY_ROWS" "$DIRTY" "$POVCHECK" "${CHECK[@]}" "$DIRTY"
fi
if [ "$XLSX_ROWS" -gt 0 ]; then
  f="$TMP/s$XLSX_ROWS.xlsx"
  measure "bare calamine xlsx $XLSX_ROWS" "$f" "$BARE" xlsx "$f"
  measure "check xlsx $XLSX_ROWS" "$f" "$POVCHECK" "${CHECK[@]}" "$f"
  measure "check xlsx $XLSX_ROWS 1core" "$f" "${ONE[@]}" "$POVCHECK" "${CHECK[@]}" "$f"
fi

echo "== ratios (targets in brackets)"
for n in $ROWS; do
  echo "csv $n: check / bare polars read   $(ratio "check csv $n" "bare polars csv $n")   [<= 1.5 at 1M]"
  echo "csv $n: peak RSS / file size       $(awk -F'\t' -v l="check csv $n" '$1 == l {printf "%.2f", $3 * 1024 / $4}' "$RESULTS")   [<= 2.5]"
  echo "csv $n: speed-up 1 -> 2 cores      $(ratio "check csv $n 1core" "check csv $n")"
done
if [ "$XLSX_ROWS" -gt 0 ]; then
  n=$XLSX_ROWS
  echo "xlsx $n: check / bare calamine read $(ratio "check xlsx $n" "bare calamine xlsx $n")   [<= 1.2]"
  echo "xlsx $n: speed-up 1 -> 2 cores      $(ratio "check xlsx $n 1core" "check xlsx $n")"
fi
echo "growth 1M / 100k time               $(ratio "check csv 1000000" "check csv 100000")   [linear: 10]"
if [ "$DIRTY_ROWS" -gt 0 ]; then
  # Side by side: the committed sample's density (nearly clean) and a first submission's.
  injected="$(($(wc -l < "${DIRTY%.csv}.expected.csv") - 1))"
  echo "== clean and dirty side by side, $DIRTY_ROWS rows (target: check / bare read <= 3, RSS / file <= 3)"
  printf '%-46s %10s %10s %8s %14s\n' file "bare read" check ratio "peak RSS/file"
  for kind in clean dirty; do
    if [ "$kind" = clean ]; then l="csv $DIRTY_ROWS"; what="clean (sample defaults)"; else
      l="dirty csv $DIRTY_ROWS"; what="dirty (--error-rate $DIRTY_RATE, $injected errors)"; fi
    b="$(get "bare polars $l" 2)"; c="$(get "check $l" 2)"
    [ -n "$b" ] && [ -n "$c" ] || { echo "$what: not measured (add $DIRTY_ROWS to --rows)"; continue; }
    printf '%-46s %8.2f s %8.2f s %8s %14s\n' "$what" "$b" "$c" "$(ratio "check $l" "bare polars $l")" \
      "$(awk -F'\t' -v l="check $l" '$1 == l {printf "%.2f", $3 * 1024 / $4}' "$RESULTS")"
  done
fi
echo "growth 2M / 1M time                 $(ratio "check csv 2000000" "check csv 1000000")   [<= 2.1]"

# Where the time and memory go: one more run of the largest CSV up to 1M rows with povcheck's
# own per-stage timings (wall time of each stage, resident memory after it).
n="$(for x in $ROWS; do echo "$x"; done | sort -g | awk '$1 <= 1000000' | tail -1)"
if [ -n "$n" ]; then
  echo "== stages of one check of s$n.csv (POVCHECK_TIMINGS=1)"
  POVCHECK_TIMINGS=1 $NICE "$POVCHECK" check --format json -o "$TMP/stages-clean.json" "$TMP/s$n.csv" 2>&1 >/dev/null \
    | sed -n 's/^povcheck timing: /  /p' || true
fi
if [ "$DIRTY_ROWS" -gt 0 ]; then
  echo "== stages of one check of $(basename "$DIRTY") (POVCHECK_TIMINGS=1)"
  POVCHECK_TIMINGS=1 $NICE "$POVCHECK" check --format json -o "$TMP/stages-dirty.json" "$DIRTY" 2>&1 >/dev/null \
    | sed -n 's/^povcheck timing: /  /p' || true
fi
# What one more finding costs: the dirty file's extra time over the clean file's, per extra
# finding (both DIRTY_ROWS rows; the counts from the summary of the stage runs above).
findings_in() {
  awk '/"summary"/ {s = 1} s && /"errors"|"warnings"/ {gsub(/[^0-9]/, ""); n += $0; k++}
       k == 2 {print n; exit}' "$1" 2>/dev/null
}
if [ "$DIRTY_ROWS" -gt 0 ] && [ "$n" = "$DIRTY_ROWS" ] && [ -s "$TMP/stages-clean.json" ] \
  && [ -s "$TMP/stages-dirty.json" ]; then
  fc="$(findings_in "$TMP/stages-clean.json")"; fd="$(findings_in "$TMP/stages-dirty.json")"
  tc="$(get "check csv $DIRTY_ROWS" 2)"; td="$(get "check dirty csv $DIRTY_ROWS" 2)"
  if [ -n "$fc" ] && [ -n "$fd" ] && [ "$fd" -gt "$fc" ] && [ -n "$tc" ] && [ -n "$td" ]; then
    printf 'cost of a finding (dirty - clean) / (%s - %s findings): %.1f µs' "$fd" "$fc" \
      "$(echo "($td - $tc) * 1000000 / ($fd - $fc)" | bc -l)"
    # A noisy machine can make the clean file the slower one: say so instead of a bare number.
    if [ "$(echo "$td < $tc" | bc -l)" = 1 ]; then printf '   (noise exceeds the difference: more --runs)'; fi
    echo
  fi
fi

if [ "$COMPARE" = 1 ]; then
  # The other tools want the header on the first line: the same data without the title rows.
  n="$(for x in $ROWS; do echo "$x"; done | sort -g | awk '$1 <= 1000000' | tail -1)"
  [ -n "$n" ] || n="$(echo "$ROWS" | awk '{print $1}')"
  src="$TMP/s$n.csv"
  plain="$TMP/plain$n.csv"
  tail -n +3 "$src" | sed '1s/^\xEF\xBB\xBF//' > "$plain"
  SUBSET="C101,V101,V201,V301,V302,V401,V501"
  python3 "$ROOT/bench/schemas.py" "$ROOT/schemas/default.toml" "$plain" "$TMP/table-schema.json" "$TMP/json-schema.json"
  echo "== side by side on $n rows (header on line 1)"
  measure "povcheck subset $n" "$plain" "$POVCHECK" "${CHECK[@]}" --select "$SUBSET" "$plain"
  measure "povcheck full $n" "$plain" "$POVCHECK" "${CHECK[@]}" "$plain"
  # FRICTIONLESS_VENV / QSV_ROOT: reuse an earlier install instead of a fresh one in $TMP.
  VENV="${FRICTIONLESS_VENV:-$TMP/venv}"
  if [ -x "$VENV/bin/frictionless" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q frictionless; }; then
    measure "frictionless $n" "$plain" "$VENV/bin/frictionless" validate --trusted --json \
      --schema "$TMP/table-schema.json" --limit-errors 100000000 "$plain"
    echo "frictionless / povcheck subset       $(ratio "frictionless $n" "povcheck subset $n")   [>= 15]"
    echo "frictionless / povcheck full         $(ratio "frictionless $n" "povcheck full $n")"
  else
    echo "frictionless: could not be installed" >&2
  fi
  QSV="${QSV_ROOT:-$TMP/qsv}"
  # The lite variant (no optional features) has validate and builds in minutes. qsv 16.1.0 does
  # not build from crates.io (its lock file expects a patched json2csv), so 4.0.0 is the
  # default; its zlib-ng needs cmake (apt-get install cmake).
  QSV_BIN="$(ls "$QSV"/bin/qsv "$QSV"/bin/qsvlite 2>/dev/null | head -1 || true)"
  if [ -z "$QSV_BIN" ] && ! command -v cmake > /dev/null; then
    echo "qsv: building it needs cmake (apt-get install cmake)" >&2
  elif [ -z "$QSV_BIN" ] && timeout "${QSV_BUILD_TIMEOUT:-1800}" $NICE cargo install -q qsv --locked \
      --version "${QSV_VERSION:-4.0.0}" --no-default-features --features lite \
      --root "$QSV" 2> "$TMP/qsv-build.log"; then
    QSV_BIN="$(ls "$QSV"/bin/qsv "$QSV"/bin/qsvlite 2>/dev/null | head -1 || true)"
  fi
  if [ -n "$QSV_BIN" ]; then
    # validate writes .valid/.invalid/.validation-errors.tsv beside its input: a copy of its own.
    cp "$plain" "$TMP/qsv$n.csv"
    measure "qsv validate $n" "$plain" "$QSV_BIN" validate "$TMP/qsv$n.csv" "$TMP/json-schema.json"
    rm -f "$TMP/qsv$n.csv".*
    echo "qsv validate / povcheck subset       $(ratio "qsv validate $n" "povcheck subset $n")   [>= 2]"
    echo "qsv validate / povcheck full         $(ratio "qsv validate $n" "povcheck full $n")"
  else
    echo "qsv: not available (see $TMP/qsv-build.log if it was built)" >&2
  fi
  cat <<'NOTE'
Not expressible (per-field constraints only, no cross-field or cross-row logic):
  both tools: ID check digit, ID birth date and region (V102-V104), numbers stored as floats
    (V105), normalisation hints (V106, V201 suggestions), white space (V602), names (V601),
    Luhn (V502), every L (person, household, policy lines) and D (duplicates) rule, household
    inheritance of blank member cells, per-unit attribution and repeat offences.
  Frictionless: a pattern or enum is an exact match, so "初 中" and 初中 are both only "not in enum".
  qsv (JSON Schema): no date type without a format extension; a blank cell is null, so
    "required" is a type that excludes null.
NOTE
fi
