#!/usr/bin/env bash
# Run povcheck's cargo-fuzz targets for a set time each, two at a time, and summarise.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      (default: 600 s, all targets)
#
# Environment: FUZZ_JOBS (parallel targets, default 2), FUZZ_NO_BUILD=1 (reuse the last build),
# CARGO_TARGET_DIR (default /var/tmp/pc-fuzz-fuzz, kept out of the repository).
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); it runs on stable with
# RUSTC_BOOTSTRAP=1. Builds with --dev (see fuzz/Cargo.toml for why) and no sanitizer (safe Rust:
# the failures we hunt are panics, hangs and runaway memory, which libFuzzer catches itself).
#
# Writes fuzz/logs/<target>.log and fuzz/logs/summary.tsv; crash inputs land in
# fuzz/artifacts/<target>/. Exits 1 when any target crashed, hung or ran out of memory.
set -u -o pipefail

secs=${1:-600}
shift $(( $# > 0 ? 1 : 0 ))
all=(csv_read xlsx_read header schema_toml rule_sql id_number)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
jobs=${FUZZ_JOBS:-2}

root=$(cd "$(dirname "$0")/.." && pwd)
fuzz="$root/fuzz"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/pc-fuzz-fuzz}
triple=$(rustc -vV | sed -n 's/^host: //p')
bindir="$CARGO_TARGET_DIR/$triple/debug"

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    (cd "$root" && nice -n 15 cargo fuzz build --dev -s none) || { echo "fuzz build failed" >&2; exit 2; }
fi

mkdir -p "$fuzz/logs"
# Seed corpora from the project's own files (copies; the corpus directories are git-ignored).
seed() { # target, files...
    local t=$1; shift
    mkdir -p "$fuzz/corpus/$t"
    for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$fuzz/corpus/$t/" 2>/dev/null; done
    return 0
}
seed xlsx_read "$root"/tests/fixtures/*.xlsx "$root"/tests/fixtures/*.xls "$root"/tests/fixtures/*.ods \
    "$root"/samples/*.xlsx
seed csv_read "$root"/samples/*.csv "$root"/tests/fixtures/*.csv "$root"/tests/fixtures/*.txt
seed schema_toml "$root"/schemas/*.toml "$root"/tests/fixtures/*.toml
mkdir -p "$fuzz/corpus/rule_sql" "$fuzz/corpus/id_number" "$fuzz/corpus/header"
# Each rule's SQL (one-line `when =` / `assert =` values) is a rule_sql seed.
n=0
grep -hE '^\s*(when|assert)\s*=\s*"' "$root"/schemas/*.toml 2>/dev/null \
    | sed -E 's/^\s*(when|assert)\s*=\s*"(.*)"\s*$/\2/; s/\\"/"/g' \
    | while IFS= read -r sql; do n=$((n + 1)); printf '%s' "$sql" >"$fuzz/corpus/rule_sql/seed-$n"; done
# Synthetic IDs (generated, valid check digits), an old 15-digit form and a numeric-cell value.
printf '%s' '11010519491231002X' >"$fuzz/corpus/id_number/seed-18"
printf '%s' '110105491231002' >"$fuzz/corpus/id_number/seed-15"
printf '%s' '11010519491231002X11' >"$fuzz/corpus/id_number/seed-20"
printf '%s' '#1.10105194912310E+17' >"$fuzz/corpus/id_number/seed-num"

run_one() {
    local t=$1 log="$fuzz/logs/$1.log"
    mkdir -p "$fuzz/artifacts/$t"
    # -timeout: one input taking 30 s is a hang; -rss_limit_mb: libFuzzer's own OOM check.
    nice -n 15 "$bindir/$t" "$fuzz/corpus/$t" \
        -max_total_time="$secs" -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
        -artifact_prefix="$fuzz/artifacts/$t/" >"$log" 2>&1
    echo $? >"$fuzz/logs/$t.rc"
}

start=$(date -u +%FT%TZ)
running=0
for t in "${targets[@]}"; do
    [ -x "$bindir/$t" ] || { echo "no binary $bindir/$t (build first)" >&2; exit 2; }
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
    echo "fuzzing $t for ${secs}s" >&2
    run_one "$t" &
    running=$((running + 1))
done
wait

summary="$fuzz/logs/summary.tsv"
printf 'target\tseconds\texecutions\texec_per_s\tnew_units\tcoverage\tcorpus\tresult\n' >"$summary"
failed=0
for t in "${targets[@]}"; do
    log="$fuzz/logs/$t.log"
    rc=$(cat "$fuzz/logs/$t.rc" 2>/dev/null || echo '?')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    units=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    corp=$(ls "$fuzz/corpus/$t" | wc -l)
    crash=$(ls "$fuzz/artifacts/$t" 2>/dev/null | tr '\n' ' ')
    if [ "$rc" = 0 ] && [ -z "$crash" ]; then
        result=ok
    else
        result="FAIL rc=$rc ${crash}"
        failed=1
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$secs" "${execs:-?}" "${speed:-?}" \
        "${units:-?}" "${cov:-?}" "$corp" "$result" >>"$summary"
done
echo "fuzz run started $start, finished $(date -u +%FT%TZ)" >&2
column -t -s $'\t' "$summary"
exit "$failed"
