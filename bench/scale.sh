#!/bin/sh
# The national-scale measurements of docs/scale.md: peak memory of one shard vs ten in one
# `check`, the key tables' size, and `povcheck dataset --engine local` over 10 M synthetic key
# rows. Usage: bench/scale.sh [WORKDIR]   (POVCHECK=path/to/binary, BEFORE=an older binary to
# compare the ten-shard JSON with, ROWS=key rows for the last step, default 10000000).
set -eu
W=${1:-/var/tmp/povcheck-scale}
P=${POVCHECK:-${CARGO_TARGET_DIR:-target}/debug/povcheck}
ROWS=${ROWS:-10000000}
mkdir -p "$W/shards"
cd "$W"
t() { # label, command...: wall time and peak RSS
    label=$1; shift
    /usr/bin/time -f "$label: %e s, %M KB peak RSS" "$@" 2>time.err >/dev/null || true
    tail -1 time.err
}
[ -e s200k.csv ] || "$P" sample --rows 200000 -o s200k.csv >/dev/null
# Ten shards by row ranges, each with the three title/header lines.
awk 'NR<=3{h=h $0 "\n"; next} {n=int((NR-4)/20000); f=sprintf("shards/c%02d.csv",n);
     if(!(f in seen)){seen[f]=1; printf "%s", h > f} print >> f}' s200k.csv
t "check, one shard (20k rows)" "$P" check shards/c00.csv --format json -o one.json -q
t "check, ten shards (200k rows)" "$P" check shards/*.csv --format json -o ten.json -q
t "check, the last shard alone" "$P" check shards/c09.csv --format json -o c09.json -q
if [ -n "${BEFORE:-}" ]; then
    t "check, ten shards, before (every table held)" "$BEFORE" check shards/*.csv --format json -o ten.before.json -q
    cmp ten.json ten.before.json && echo "ten-shard JSON byte-identical to BEFORE"
fi
head -c 32 /dev/urandom | base64 > secret.key
rm -rf keys && t "check --keys-out, ten shards" "$P" check shards/*.csv --keys-out keys --key-file secret.key -q
echo "key tables: $(cat keys/*.parquet | wc -c) bytes for 200000 rows"
t "dataset --engine local, 200k key rows" "$P" dataset keys --format json -o dataset.json -q
rm -rf keys10m
cargo run -q --example scale-keys -- "$W/keys10m" "$ROWS" 10
echo "synthetic key tables: $(cat keys10m/*.parquet | wc -c) bytes for $ROWS rows"
t "dataset --engine local, $ROWS key rows" "$P" dataset keys10m --format json -o dataset10m.json -q
