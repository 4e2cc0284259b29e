#!/usr/bin/env bash
# Cross-build povcheck.exe for Windows (x86_64-pc-windows-gnu, linked by Debian's mingw-w64) and
# smoke-test it under wine against the Linux build: `check` on every committed sample gives the
# same JSON and exit status, `serve` answers GET / and POST /api/check as `check` does, and the
# double-click and drop-on-exe starts open the desk (with the dropped files checked).
#
# Not part of .ci/run: the cross build of the whole dependency tree is too slow for every run.
# Environment:
#   CARGO_TARGET_DIR          Windows build cache (default /var/tmp/povcheck-win-target)
#   POVCHECK_LINUX_TARGET_DIR Linux build cache for the reference binary
#                             (default /var/tmp/povcheck-target, the one .ci/run uses)
#   PROFILE                   dev (default) or release
# The exe lands in $CARGO_TARGET_DIR/x86_64-pc-windows-gnu/{debug,release}/povcheck.exe.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

target=x86_64-pc-windows-gnu
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/povcheck-win-target}"
linux_target_dir="${POVCHECK_LINUX_TARGET_DIR:-/var/tmp/povcheck-target}"
profile="${PROFILE:-dev}"
export CARGO_TERM_COLOR=never
# The linker for this target only, for this build only: no global cargo config is touched.
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc

say() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

say "tools"
missing=()
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
command -v wine >/dev/null || missing+=(wine wine64)
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 && -e /etc/debian_version ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    fail "missing ${missing[*]} (run as root on Debian to install them)"
  fi
fi
rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target"

say "cross build ($profile) -> $CARGO_TARGET_DIR"
start=$(date +%s)
cargo build --quiet --bin povcheck --target "$target" --profile "$profile"
say "cross build took $(($(date +%s) - start)) s"
dir=debug
[[ $profile == dev ]] || dir=$profile
exe="$CARGO_TARGET_DIR/$target/$dir/povcheck.exe"
[[ -f $exe ]] || fail "no $exe"

say "linux reference build -> $linux_target_dir"
CARGO_TARGET_DIR="$linux_target_dir" cargo build --quiet --bin povcheck
linux="$linux_target_dir/debug/povcheck"

tmp=$(mktemp -d /tmp/povcheck-wine.XXXXXX)
export WINEPREFIX="$tmp/prefix" WINEDEBUG=-all WINEARCH=win64
# Prefer the shim beside the exe to wine's builtin bcryptprimitives; skip the Mono and Gecko
# installers a new prefix would otherwise ask for (a console exe needs neither).
export WINEDLLOVERRIDES="bcryptprimitives=n,b;mscoree=;mshtml="
unset DISPLAY WAYLAND_DISPLAY
desk_pid=
cleanup() {
  [[ -n $desk_pid ]] && kill "$desk_pid" 2>/dev/null
  wineserver -k 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

say "wine: exe and test-only ProcessPrng shim in $tmp/bin"
mkdir -p "$tmp/bin"
cp "$exe" "$tmp/bin/povcheck.exe"
x86_64-w64-mingw32-gcc -shared -O2 -o "$tmp/bin/bcryptprimitives.dll" \
  .ci/wine-shim/bcryptprimitives.c -ladvapi32
win_exe="$tmp/bin/povcheck.exe"
wine "$win_exe" --version >"$tmp/version.txt" 2>"$tmp/version.err" ||
  fail "povcheck.exe --version under wine: $(tail -3 "$tmp/version.err")"
say "$(tr -d '\r' <"$tmp/version.txt") runs under $(wine --version)"

# Findings in a fixed order: the desk's contract is the set of findings, not their order.
norm() { jq -S '.findings |= sort_by(tostring)' "$1"; }

# Both binaries run inside samples/ on bare file names, so the reports name the inputs alike
# and no path separator differs.
say "check --format json --as-of 2017-12-31 on each sample: windows vs linux"
cd "$root/samples"
n=0
for f in *.csv *.xlsx; do
  [[ $f == *.expected.csv ]] && continue # an injected-error manifest, not an export
  set +e
  "$linux" check "$f" --format json --as-of 2017-12-31 --quiet >"$tmp/linux.json" 2>/dev/null
  lc=$?
  wine "$win_exe" check "$f" --format json --as-of 2017-12-31 --quiet >"$tmp/win.json" 2>/dev/null
  wcode=$?
  set -e
  [[ $lc == "$wcode" ]] || fail "$f: exit status linux $lc, windows $wcode"
  cmp -s "$tmp/linux.json" "$tmp/win.json" ||
    fail "$f: JSON differs: $(diff <(norm "$tmp/linux.json") <(norm "$tmp/win.json") | head -5)"
  printf '   %-20s identical (%s bytes, exit %s)\n' "$f" "$(wc -c <"$tmp/win.json")" "$wcode"
  n=$((n + 1))
done
((n > 0)) || fail "no samples"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }

# Start the exe with the given arguments in the background; its URL is the first stdout line.
start_desk() {
  : >"$tmp/desk.out"
  wine "$win_exe" "$@" >"$tmp/desk.out" 2>"$tmp/desk.err" &
  desk_pid=$!
  for _ in $(seq 120); do
    url=$(head -n1 "$tmp/desk.out" | tr -d '\r')
    [[ $url == http://127.0.0.1:*/ ]] && return 0
    kill -0 "$desk_pid" 2>/dev/null || fail "desk exited: $(tail -3 "$tmp/desk.err")"
    sleep 0.5
  done
  fail "no URL from the desk"
}
stop_desk() {
  kill "$desk_pid" 2>/dev/null || true
  wait "$desk_pid" 2>/dev/null || true
  desk_pid=
  wineserver -k 2>/dev/null || true
}

port=$(free_port)
say "serve --no-open --port $port"
start_desk serve --no-open --port "$port"
[[ $url == "http://127.0.0.1:$port/" ]] || fail "URL $url"
code=$(curl -s -o "$tmp/page.html" -w '%{http_code}' "$url")
[[ $code == 200 ]] && grep -q '<html' "$tmp/page.html" || fail "GET / answered $code"
echo "   GET / -> 200, the page ($(wc -c <"$tmp/page.html") bytes)"
for f in sample.csv sample.xlsx; do
  code=$(curl -s -o "$tmp/api.json" -w '%{http_code}' -F "file=@$f" -F as_of=2017-12-31 \
    "${url}api/check")
  [[ $code == 200 ]] || fail "POST /api/check $f answered $code"
  "$linux" check "$f" --format json --as-of 2017-12-31 --quiet >"$tmp/linux.json" 2>/dev/null || true
  cmp -s <(norm "$tmp/linux.json") <(norm "$tmp/api.json") ||
    fail "POST /api/check $f differs from linux check: $(diff <(norm "$tmp/linux.json") <(norm "$tmp/api.json") | head -5)"
  echo "   POST /api/check $f -> 200, same JSON as linux check (findings order aside)"
done
stop_desk

# A double-click: no arguments. POVCHECK_NO_OPEN stands in for the browser.
say "double-click start (no arguments)"
POVCHECK_NO_OPEN=1 start_desk
code=$(curl -s -o /dev/null -w '%{http_code}' "${url}api/preloaded")
[[ $code == 204 ]] || fail "GET /api/preloaded without files answered $code"
echo "   the desk at $url, nothing preloaded (204)"
stop_desk

# A drop: the files' full Windows paths as the only arguments.
say "drop start (sample.csv and sample.xlsx dropped onto the exe)"
POVCHECK_NO_OPEN=1 start_desk "Z:${root//\//\\}\\samples\\sample.csv" "Z:${root//\//\\}\\samples\\sample.xlsx"
code=$(curl -s -o "$tmp/pre.json" -w '%{http_code}' "${url}api/preloaded")
[[ $code == 200 ]] || fail "GET /api/preloaded answered $code"
set +e
"$linux" check sample.csv sample.xlsx --format json --quiet >"$tmp/linux.json" 2>/dev/null
set -e
cmp -s <(norm "$tmp/linux.json") <(norm "$tmp/pre.json") ||
  fail "preloaded run differs from linux check: $(diff <(norm "$tmp/linux.json") <(norm "$tmp/pre.json") | head -5)"
echo "   the desk at $url, preloaded run = linux check of both files (findings order aside)"
stop_desk

say "windows smoke test passed ($n samples; exe: $exe)"
