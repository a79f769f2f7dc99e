#!/usr/bin/env bash
# Bulk link creation: bench/Tern.Bench.Bulk hosts Tern in its own process (Kestrel on 127.0.0.1, a throwaway data
# folder per run) and times repeated POST /api/v1/links/bulk calls of 1,000 new links over HTTP: sustained links/s
# and the latency of one call (p50/p95), one call in flight and two. Every measurement first waits for the machine
# to be idle (< 20 % busy), as the other bench scripts do.
#
#   bench/run-bulk.sh                                  # SQLite (about a minute)
#   POSTGRES=1 bench/run-bulk.sh                       # SQLite, then a throwaway PostgreSQL cluster
#   bench/run-bulk.sh --calls 200 --concurrency 1      # longer, one call in flight
#   SRC_REF=HEAD bench/run-bulk.sh                     # measure the last commit, not the work tree's src/
#
# Arguments go to the program (options at the top of bench/Tern.Bench.Bulk/Program.cs). Environment: POSTGRES,
# PG_BIN (/usr/lib/postgresql/15/bin), PG_PORT (55432), PG_DIR (/tmp/pgb), QUIET_MAX_BUSY (20), QUIET_WAIT_RUN (600 s),
# RESULTS_NAME. Writes bench/results/$RESULTS_NAME.md (default bulk-latest).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-cw.sh"
snapshot_and_reexec run-bulk.sh "$@"

RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
RESULTS_NAME=${RESULTS_NAME:-bulk-latest}
need dotnet
work=$(mktemp -d /tmp/tern-bench-bulk.XXXXXX)
BENCH_PID=""
cleanup() {
    [[ -n $BENCH_PID ]] && kill -KILL "$BENCH_PID" 2>/dev/null || true
    pg_stop
    rm -rf "$work"
    remove_snapshot
}
trap cleanup EXIT
trap "exit 143" INT TERM

log "building bench/Tern.Bench.Bulk (Release)"
build_project bench/Tern.Bench.Bulk
args=(--quiet-max-busy "${QUIET_MAX_BUSY:-20}" --quiet-wait-seconds "${QUIET_WAIT_RUN:-600}" --out "$work/result.md")
if [[ -n ${POSTGRES:-} ]]; then
    pg_start
    args+=(--postgres "$PG_CS")
fi

mkdir -p "$RESULTS_DIR"
header=$(results_header "Bulk creation: links/s and latency of 1,000-link calls" "bench/run-bulk.sh $*${POSTGRES:+ (POSTGRES=1)}")
log "waiting for an idle machine"
wait_quiet >/dev/null
TMPDIR="$work" dotnet "$REPO_DIR/bench/Tern.Bench.Bulk/bin/Release/net10.0/Tern.Bench.Bulk.dll" "${args[@]}" "$@" &
BENCH_PID=$!
wait "$BENCH_PID" || die "the benchmark failed"
BENCH_PID=""
[[ -s $work/result.md ]] || die "the benchmark wrote no result"

{
    echo "$header"
    cat "$work/result.md"
} >"$RESULTS_DIR/$RESULTS_NAME.md"
log "wrote $RESULTS_DIR/$RESULTS_NAME.md"
