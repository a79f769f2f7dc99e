#!/usr/bin/env bash
# `tern links import` of a 100,000-row CSV against a running server, beside the bulk API's own pace on the same
# machine at the same time: the same 100 batches of 1,000 links (slug, 2 tags, a title, a UTM source) posted straight
# to POST /api/v1/links/bulk one call at a time, as the CLI sends them. Each side gets a fresh Release server on
# SQLite in a throwaway folder. The CLI runs under `script`, so its progress bar is drawn as on a terminal and kept.
#
#   bench/run-cli-import.sh                 # 100,000 rows
#   ROWS=20000 bench/run-cli-import.sh
#
# Writes bench/results/cli-import-latest.md and bench/results/cli-import-progress.txt (the recorded terminal output).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need curl python3 script

ROWS=${ROWS:-100000}
PORT=${PORT:-5931}
KEY=tern_BenchCliImportKey00000000000000
WORK=$(mktemp -d /tmp/tern-cli-import-XXXX)
RESULTS="$BENCH_DIR/results/cli-import-latest.md"
PROGRESS="$BENCH_DIR/results/cli-import-progress.txt"
SERVER_PID=

cleanup() {
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

log "building Release"
dotnet build "$REPO_DIR/src/Tern.Server" -c Release -v q -o "$WORK/server" >/dev/null
dotnet build "$REPO_DIR/src/Tern.Cli" -c Release -v q -o "$WORK/cli" >/dev/null

start_server() {
    rm -rf "$WORK/data" && mkdir -p "$WORK/data"
    dotnet "$WORK/server/Tern.Server.dll" --urls "http://127.0.0.1:$PORT" "--Tern:DataDir=$WORK/data" "--Tern:AdminKey=$KEY" \
        --Tern:RateLimit:Enabled=false --Logging:LogLevel:Default=Warning >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    wait_http "http://127.0.0.1:$PORT/readyz" 60 || die "the server did not start: $(cat "$WORK/server.log")"
}

stop_server() {
    kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

log "writing $ROWS rows"
python3 - "$ROWS" "$WORK" <<'PY'
import json, sys
rows, work = int(sys.argv[1]), sys.argv[2]
with open(f"{work}/links.csv", "w") as csv:
    csv.write("url,slug,title,tags,utm_source\n")
    for i in range(rows):
        csv.write(f"https://shop.example/product/{i},imp-{i},Product {i},bench|import,cli\n")
for start in range(0, rows, 1000):
    items = [{"url": f"https://shop.example/product/{i}", "slug": f"raw-{i}", "title": f"Product {i}",
              "tags": ["bench", "import"], "utm": {"source": "cli"}} for i in range(start, min(start + 1000, rows))]
    with open(f"{work}/batch-{start // 1000:05d}.json", "w") as body:
        json.dump({"items": items}, body)
PY

log "bulk API directly: $ROWS links, one call in flight"
start_server
load_raw_before=$(cut -d' ' -f1-3 /proc/loadavg)
raw_start=$(date +%s.%N)
for body in "$WORK"/batch-*.json; do
    curl -sf -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        --data-binary @"$body" "http://127.0.0.1:$PORT/api/v1/links/bulk" || die "a bulk call failed"
done
raw_seconds=$(echo "$(date +%s.%N) - $raw_start" | bc)
load_raw_after=$(cut -d' ' -f1-3 /proc/loadavg)
stop_server

log "tern links import: $ROWS rows"
start_server
export TERN_URL="http://127.0.0.1:$PORT" TERN_API_KEY=$KEY
load_cli_before=$(cut -d' ' -f1-3 /proc/loadavg)
cli_start=$(date +%s.%N)
COLUMNS=100 script -q -e -c "dotnet $WORK/cli/tern.dll links import $WORK/links.csv" "$WORK/typescript" >/dev/null
cli_seconds=$(echo "$(date +%s.%N) - $cli_start" | bc)
load_cli_after=$(cut -d' ' -f1-3 /proc/loadavg)
rerun_start=$(date +%s.%N)
dotnet "$WORK/cli/tern.dll" links import "$WORK/links.csv" --json >"$WORK/rerun.json" 2>"$WORK/rerun.err"
rerun_seconds=$(echo "$(date +%s.%N) - $rerun_start" | bc)
stop_server

# The progress bar redraws in place; keep every frame, one per line, without the escape sequences.
sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r/\n/g' "$WORK/typescript" | grep -v '^\s*$' >"$PROGRESS"

rate() { echo "scale=0; $ROWS / $1" | bc; }
{
    echo "# tern links import, $ROWS rows ($(git -C "$REPO_DIR" rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "SQLite, Release, one bulk call of 1,000 in flight on both sides; $(nproc) cores shared with other work."
    echo
    echo "| run | seconds | links/s | load average before → after (1, 5, 15 min) |"
    echo "|---|---:|---:|---|"
    printf '| bulk API directly (curl, pre-built bodies) | %.1f | %s | %s → %s |\n' "$raw_seconds" "$(rate "$raw_seconds")" "$load_raw_before" "$load_raw_after"
    printf '| `tern links import` (CSV read, results CSV, state file) | %.1f | %s | %s → %s |\n' "$cli_seconds" "$(rate "$cli_seconds")" "$load_cli_before" "$load_cli_after"
    printf '| `tern links import` again (every row `existing`) | %.1f | %s | |\n' "$rerun_seconds" "$(rate "$rerun_seconds")"
    echo
    echo "Re-run summary: \`$(cat "$WORK/rerun.json")\`"
    echo
    echo "Last frames of the progress bar (all frames in \`cli-import-progress.txt\`):"
    echo
    echo '```'
    grep 'import' "$PROGRESS" | tail -4
    echo '```'
} >"$RESULTS"
cat "$RESULTS"
