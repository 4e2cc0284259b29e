#!/usr/bin/env bash
# Render an HTML report in headless Chromium and save a PNG screenshot, so a person can look at
# the page as a browser draws it (issue 4 item 4). Console errors are printed and fail the run.
#
# Usage: tests/html_screenshot.sh [REPORT.html] [OUT.png]
#   Without REPORT.html, the synthetic sample run (src/report/sample.rs) is rendered first.
# Installs Debian's chromium package when no Chromium is found (needs root and apt).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
html="${1:-}"
png="${2:-${TMPDIR:-/tmp}/povcheck-report.png}"

if [[ -z "$html" ]]; then
    html="${TMPDIR:-/tmp}/povcheck-sample-report.html"
    (cd "$here" && POVCHECK_SAMPLE_HTML="$html" \
        cargo test --quiet --test report -- --ignored --exact write_sample_html >/dev/null)
fi
[[ -f "$html" ]] || { echo "no such report: $html" >&2; exit 2; }

browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$browser" ]]; then
    echo "installing chromium (apt-get)…" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    browser="$(command -v chromium)"
fi

# Without a CJK font every Chinese character renders as a box; WenQuanYi is small.
if command -v fc-list >/dev/null && [[ -z "$(fc-list :lang=zh 2>/dev/null)" ]]; then
    echo "installing a CJK font (apt-get)…" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null \
        || echo "no CJK font: Chinese will show as boxes" >&2
fi

profile="$(mktemp -d)"
log="$(mktemp)"
trap 'rm -rf "$profile" "$log"' EXIT

flags=(--headless --no-sandbox --disable-gpu --disable-background-networking
       --disable-component-update --no-first-run --user-data-dir="$profile"
       --enable-logging=stderr --v=0 --window-size=1280,1600)

# Screenshot, then a DOM dump with logging on to catch console errors (CSP violations included).
"$browser" "${flags[@]}" --screenshot="$png" "file://$(realpath "$html")" >/dev/null 2>"$log" || true
"$browser" "${flags[@]}" --dump-dom "file://$(realpath "$html")" >/dev/null 2>>"$log" || true

if grep -E 'CONSOLE|Uncaught|Content Security Policy' "$log" | grep -v -i 'dbus' >&2; then
    echo "console errors while rendering $html" >&2
    exit 1
fi
[[ -s "$png" ]] || { echo "no screenshot written" >&2; cat "$log" >&2; exit 1; }

# For the sample report, check the filter script really runs in the browser: preset to V601
# (three warnings in the sample), the count must read 3 and the other rows must be hidden.
if [[ -z "${1:-}" ]]; then
    dom="$("$browser" "${flags[@]}" --dump-dom "file://$(realpath "$html")#rule=V601" 2>/dev/null)"
    grep -q 'id="f-count">3<' <<<"$dom" || { echo "filter did not apply (count != 3)" >&2; exit 1; }
    # data-units holds line breaks, so join the lines before matching the row tags.
    hidden="$(tr -d '\n' <<<"$dom" | grep -o '<tr class="[a-z]*" data-rule=[^>]*>' | grep -c 'hidden' || true)"
    [[ "$hidden" == 7 ]] || { echo "filter hid $hidden rows, expected 7" >&2; exit 1; }
fi
echo "$png"
