#!/usr/bin/env bash
# Dashboard render times at scale: N links seeded straight into the SQLite file of a stopped Tern (a tenth tagged),
# CLICKS clicks made by real redirects (wrk over the first HOT links), then each dashboard page requested ROUNDS
# times with a signed-in session; the time to the last byte on loopback is the server's render time plus a
# round trip.
#
#   bench/run-dashboard.sh                       # N=100000 links, CLICKS=1000000, HOT=1000, ROUNDS=20
#
# Writes bench/results/$RESULTS_NAME.md (RESULTS_NAME defaults to dashboard-latest).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-100000}
CLICKS=${CLICKS:-1000000}
HOT=${HOT:-1000}
ROUNDS=${ROUNDS:-20}
PORT=${PORT:-5095}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
RESULTS_NAME=${RESULTS_NAME:-dashboard-latest}
export THREADS=${THREADS:-2} CONNECTIONS=${CONNECTIONS:-64}
need dotnet wrk curl sqlite3 awk

work=$(mktemp -d /tmp/tern-bench-dashboard.XXXXXX)
TERN_PID=""
cleanup() {
    stop_pid "$TERN_PID" 60
    rm -rf "$work"
}
trap cleanup EXIT

cd "$REPO_DIR"
log "building (Release)"
for project in src/Tern.Server bench/alloc-hook; do
    dotnet build -c Release "$project" -nologo -v quiet -clp:ErrorsOnly >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; die "build of $project failed"; }
done

mkdir -p "$work/tern"
tern_start "$PORT" "$work/tern" "$work/alloc.log"
stop_pid "$TERN_PID" 60
TERN_PID=""

log "inserting $N links with sqlite3"
sqlite3 "$work/tern/tern.db" <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $N)
INSERT INTO links (id, workspace_id, domain, slug, base_url, url, title, tags, created_at, updated_at)
SELECT printf('lnk_%026d', i), 'ws_default', '127.0.0.1', 'b' || i,
       'https://example.com/p/' || i, 'https://example.com/p/' || i, 'Page ' || i,
       CASE WHEN i % 10 = 0 THEN '["spring"]' ELSE '[]' END,
       CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM seq;
WITH RECURSIVE seq(i) AS (SELECT 10 UNION ALL SELECT i + 10 FROM seq WHERE i + 10 <= $N)
INSERT INTO link_tags (workspace_id, tag, link_id) SELECT 'ws_default', 'spring', printf('lnk_%026d', i) FROM seq;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL

tern_start "$PORT" "$work/tern" "$work/alloc.log"
base="http://127.0.0.1:$PORT"
log "making $CLICKS clicks on the first $HOT links"
while (( $(sqlite3 "$work/tern/tern.db" "SELECT COUNT(*) FROM clicks") < CLICKS )); do
    run_wrk "$base" "$work/wrk.txt" 15s "$HOT"
done
sleep 3
clicks=$(sqlite3 "$work/tern/tern.db" "SELECT COUNT(*) FROM clicks")
log "$clicks clicks stored; waiting for the fold to catch up and the machine to calm down"
QUIET_WAIT=${QUIET_WAIT:-300} wait_quiet >/dev/null

jar="$work/cookies"
token=$(curl -s -c "$jar" "$base/dashboard/sign-in" | sed -n 's/.*name="__RequestVerificationToken" value="\([^"]*\)".*/\1/p' | head -1)
curl -s -b "$jar" -c "$jar" -o /dev/null -w '%{http_code}' "$base/dashboard/sign-in" \
    --data-urlencode "_handler=sign-in" --data-urlencode "__RequestVerificationToken=$token" --data-urlencode "Input.Key=$BENCH_KEY" |
    grep -q 302 || die "sign-in failed"

hot_id=$(printf 'lnk_%026d' 1)
mid_cursor=$(printf 'lnk_%026d' $((N / 2)))
declare -a pages=(
    "/dashboard"
    "/dashboard/links"
    "/dashboard/links?cursor=$mid_cursor"
    "/dashboard/links?tag=spring"
    "/dashboard/links?q=b$((N - 1))"
    "/dashboard/links/$hot_id"
    "/dashboard/links/$hot_id?range=90d"
)
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo "# Dashboard render times"
    echo
    echo "$N links ($((N / 10)) tagged), $clicks clicks over the first $HOT links (SQLite), $ROUNDS requests per page after one warm-up,"
    echo "time to the last byte on loopback with curl, after waiting for the machine to be at most ${QUIET_MAX_BUSY:-20} % busy. Load average before: $load ($(nproc) cores)."
    echo
    echo "| page | median ms | p95 ms | bytes |"
    echo "|---|---|---|---|"
} >"$work/result.md"
for page in "${pages[@]}"; do
    curl -s -b "$jar" -o /dev/null "$base$page"
    : >"$work/times"
    for ((r = 0; r < ROUNDS; r++)); do
        curl -s -b "$jar" -o "$work/body" -w '%{time_total} %{http_code}\n' "$base$page" >>"$work/times"
    done
    grep -qv ' 200$' "$work/times" && die "$page did not answer 200: $(sort -u -k2 "$work/times" | head -3)"
    bytes=$(wc -c <"$work/body")
    sort -n "$work/times" | awk -v page="$page" -v bytes="$bytes" '{ t[NR] = $1 * 1000 }
        END { printf "| `%s` | %.1f | %.1f | %d |\n", page, t[int((NR + 1) / 2)], t[int(NR * 0.95 + 0.5)], bytes }' >>"$work/result.md"
done
echo >>"$work/result.md"
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/result.md"
mkdir -p "$RESULTS_DIR"
cp "$work/result.md" "$RESULTS_DIR/$RESULTS_NAME.md"
cat "$work/result.md"
