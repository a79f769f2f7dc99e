#!/usr/bin/env bash
# Memory with a million links: seeds N links straight into the SQLite file of a stopped Tern (recursive CTE
# through the sqlite3 CLI), starts Tern, requests every slug once so that each link is loaded into the redirect
# cache, then runs the random-slug wrk load, and records the server's RSS at each step.
#
#   bench/run-memory.sh                          # N=1000000, 30 s of wrk -t2 -c64 afterwards
#   SRC_REF=HEAD bench/run-memory.sh             # on the last commit, not the work tree's src/
#   DOTNET_gcServer=0 bench/run-memory.sh        # any DOTNET_* setting reaches the server
#   HEAPSTAT=1 bench/run-memory.sh               # adds the heap's largest types after the load (dotnet-dump)
#
# Writes bench/results/$RESULTS_NAME.md (RESULTS_NAME defaults to memory-latest).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
snapshot_and_reexec run-memory.sh "$@"

N=${N:-1000000}
PORT=${PORT:-5090}
DURATION=${DURATION:-30s}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
RESULTS_NAME=${RESULTS_NAME:-memory-latest}
export THREADS=${THREADS:-2} CONNECTIONS=${CONNECTIONS:-64}
need dotnet wrk curl sqlite3 awk

work=$(mktemp -d /tmp/tern-bench-memory.XXXXXX)
TERN_PID=""
cleanup() {
    stop_pid "$TERN_PID" 60
    rm -rf "$work"
    remove_snapshot
}
trap cleanup EXIT

cd "$REPO_DIR"
log "building (Release)"
for project in src/Tern.Server bench/seed bench/alloc-hook; do
    dotnet build -c Release "$project" -nologo -v quiet -clp:ErrorsOnly >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; die "build of $project failed"; }
done

mkdir -p "$work/tern"
log "creating the schema (first start), then stopping"
tern_start "$PORT" "$work/tern" "$work/alloc.log"
stop_pid "$TERN_PID" 60
TERN_PID=""

log "inserting $N links with sqlite3"
started=$SECONDS
sqlite3 "$work/tern/tern.db" <<SQL
PRAGMA journal_mode=WAL;
PRAGMA synchronous=OFF;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $N)
INSERT INTO links (id, workspace_id, domain, slug, base_url, url, created_at, updated_at)
SELECT printf('lnk_%026d', i), 'ws_default', '127.0.0.1', 'b' || i,
       'https://example.com/p/' || i || '?member=usr_' || i,
       'https://example.com/p/' || i || '?member=usr_' || i,
       CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM seq;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
count=$(sqlite3 "$work/tern/tern.db" "SELECT COUNT(*) FROM links")
db_mib=$(du -m "$work/tern/tern.db" | cut -f1)
log "$count links in a ${db_mib} MiB database after $((SECONDS - started)) s"

tern_start "$PORT" "$work/tern" "$work/alloc.log"
sleep 2
rss_start=$(status_kb VmRSS "$TERN_PID")
log "Tern started: RSS $(mib "$rss_start") MiB; requesting each of the $N slugs once"
wait_quiet >/dev/null
dotnet "$BENCH_DIR/seed/bin/Release/net10.0/Tern.Bench.Seed.dll" warm --base "http://127.0.0.1:$PORT" --count "$N" --concurrency 64 |
    tee "$work/warm.txt" >&2
rss_warm=$(status_kb VmRSS "$TERN_PID")
log "all links loaded: RSS $(mib "$rss_warm") MiB; random-slug load for $DURATION"
busy=$(wait_quiet)
rss_quiet=$(status_kb VmRSS "$TERN_PID")
gc_before=$(tail -1 "$work/alloc.log")
run_wrk "http://127.0.0.1:$PORT" "$work/wrk.txt" "$DURATION" "$N"
cat "$work/wrk.txt" >&2
sleep 2
gc_after=$(tail -1 "$work/alloc.log")
rss_load=$(status_kb VmRSS "$TERN_PID")
hwm=$(status_kb VmHWM "$TERN_PID")
heap=$(tail -1 "$work/alloc.log" | awk '{ printf "%.0f", $6 / 1048576 }')
committed=$(tail -1 "$work/alloc.log" | awk '{ printf "%.0f", $7 / 1048576 }')
if [[ -n "${HEAPSTAT:-}" ]]; then
    need dotnet-dump
    log "dumping the process for the heap's largest types"
    dotnet-dump collect -p "$TERN_PID" --type Heap -o "$work/core" >/dev/null
    dotnet-dump analyze "$work/core" -c "dumpheap -stat" -c exit >"$work/dumpheap.txt"
    rm -f "$work/core"
    # The largest types by bytes, then the process's anonymous and file-backed memory.
    { awk '$1 ~ /^[0-9a-f]+$/ && NF >= 4 { gsub(",", "", $3); print }' "$work/dumpheap.txt" | sort -k3,3nr | awk 'NR <= 25'
      grep -E '^Total' "$work/dumpheap.txt" || true
      echo
      grep -E '^(Rss|Anonymous|Private_Clean|Shared_Clean)' "/proc/$TERN_PID/smaps_rollup"
    } >"$work/heap.txt"
fi
requests=$(result_field requests "$work/wrk.txt")
touched=$(awk -v n="$N" -v r="$requests" 'BEGIN { printf "%.0f", n * (1 - exp(-r / n)) }')

mkdir -p "$RESULTS_DIR"
{
    echo "### Memory with $N links, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Source $(source_version); SQLite file ${db_mib} MiB; server environment: $(env | grep -E '^DOTNET_(gc|GC)' | tr '\n' ' ' || true)(defaults: Server GC, non-concurrent, as Tern.Server.csproj sets)."
    echo
    echo "| step | Tern RSS MiB |"
    echo "|---|---:|"
    echo "| started, nothing cached | $(mib "$rss_start") |"
    echo "| every link requested once ($(grep -o '[0-9]* requests in [0-9.]* s = [0-9]*/s; statuses [0-9= ]*' "$work/warm.txt" | tail -1)) | $(mib "$rss_warm") |"
    echo "| the first pass's clicks written, machine quiet | $(mib "$rss_quiet") |"
    echo "| after $DURATION of random slugs, $requests requests at $(result_field rps "$work/wrk.txt")/s (≈ $touched distinct links) | $(mib "$rss_load") |"
    echo "| peak (VmHWM) | $(mib "$hwm") |"
    echo
    echo "GC heap after the load: $heap MiB in use, $committed MiB committed; $(awk -v a="$rss_warm" -v b="$rss_start" -v n="$N" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }') bytes of RSS per cached link."
    echo "During the load: p50 $(ms "$(result_field p50_us "$work/wrk.txt")") ms, p99 $(ms "$(result_field p99_us "$work/wrk.txt")") ms, p99.9 $(ms "$(result_field p999_us "$work/wrk.txt")") ms;" \
        "$(awk -v a="$gc_before" -v b="$gc_after" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%d gen0, %d gen1, %d gen2 collections", y[3] - x[3], y[4] - x[4], y[5] - x[5] }');" \
        "machine ${busy}% busy just before it."
    echo "Target: RSS ≤ 400 MiB with a million links."
    if [[ -s "$work/heap.txt" ]]; then
        echo
        echo "Largest types on the heap after the load (dotnet-dump, dumpheap -stat: method table, count, bytes, type), and the process's memory:"
        echo
        echo '```'
        cat "$work/heap.txt"
        echo '```'
    fi
} >"$RESULTS_DIR/$RESULTS_NAME.md"
cat "$RESULTS_DIR/$RESULTS_NAME.md"
